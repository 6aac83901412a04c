"""Lambda entry point: ``authorizers.handlers.cognito.handler``.

Verifies Amazon Cognito user pool tokens (access tokens by default) with the pool's keys,
``token_use``, app client, optional groups and scopes, and an opt-in revocation check.
Configured by ``COGNITO_*`` and ``AUTHZ_*`` variables (see :mod:`authorizers.settings`),
read once at cold start, when the pools' keys are fetched too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from authorizers.cognito.validator import CognitoValidator
from authorizers.credentials import bearer_token
from authorizers.handlers.runtime import AuthorizerHandler, handler_on_first_access
from authorizers.settings import CognitoSettings, ResponseSettings, load_cognito_settings
from policies.principal import Principal
from policies.request import AuthorizerRequest

# Always in the context when the token has them: who the user is in the pool, and what
# kind of token it was. AUTHZ_CONTEXT_CLAIMS adds more (email, custom:tenant, ...).
CONTEXT_CLAIMS = ("cognito:username", "username", "token_use")


class CognitoAuthenticator:
    scheme = "cognito"

    def __init__(self, validator: CognitoValidator) -> None:
        self.validator = validator

    def authenticate(self, request: AuthorizerRequest) -> Principal:
        return self.validator.validate(bearer_token(request))


def build_authenticator(settings: CognitoSettings) -> CognitoAuthenticator:
    revocation = None
    if settings.check_revocation:
        from authorizers.cognito.revocation import GetUserRevocationCheck

        revocation = GetUserRevocationCheck(settings.revocation_cache_seconds, endpoint=settings.endpoint)
    validator = CognitoValidator(settings.pools, revocation=revocation)
    validator.prefetch()
    return CognitoAuthenticator(validator)


def create_handler(environ: Mapping[str, str]) -> AuthorizerHandler:
    settings = load_cognito_settings(environ)
    authenticator = build_authenticator(settings)
    return AuthorizerHandler(authenticator, with_context_claims(settings.response))


def with_context_claims(response: ResponseSettings) -> ResponseSettings:
    """The response settings with the Cognito claims always in the context first."""
    claims = tuple(dict.fromkeys((*CONTEXT_CLAIMS, *response.context_claims)))
    return dataclasses.replace(response, context_claims=claims)


__getattr__ = handler_on_first_access(globals(), create_handler)
