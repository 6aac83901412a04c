"""OAuth 2.0 / OIDC JWT validation, usable without Lambda."""

from authorizers.jwt.config import IssuerConfig
from authorizers.jwt.jwks import JwkSet, VerificationKey, parse_jwks
from authorizers.jwt.keysource import KeySource, StaticKeySource
from authorizers.jwt.token import UnverifiedJwt, parse_unverified
from authorizers.jwt.validator import JwtValidator, VerifiedJwt

__all__ = [
    "IssuerConfig",
    "JwkSet",
    "JwtValidator",
    "KeySource",
    "StaticKeySource",
    "UnverifiedJwt",
    "VerificationKey",
    "VerifiedJwt",
    "parse_jwks",
    "parse_unverified",
]
