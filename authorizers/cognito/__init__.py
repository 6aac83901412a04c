"""Amazon Cognito user pool tokens, verified on top of the JWT validator."""

from authorizers.cognito.pools import UserPool, parse_pool_id
from authorizers.cognito.validator import CognitoPool, CognitoValidator, TokenUse

__all__ = ["CognitoPool", "CognitoValidator", "TokenUse", "UserPool", "parse_pool_id"]
