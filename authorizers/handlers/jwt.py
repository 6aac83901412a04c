"""Lambda entry point: ``authorizers.handlers.jwt.handler``.

Configured only by environment variables (see :mod:`authorizers.settings`), read once
at cold start; keys are fetched then too, so the first request does not wait for them.
A bad configuration fails the cold start with a clear, logged message.
"""

from __future__ import annotations

from collections.abc import Mapping

from authorizers.credentials import bearer_token
from authorizers.handlers.runtime import AuthorizerHandler, handler_on_first_access
from authorizers.jwt.validator import JwtValidator
from authorizers.settings import JwtSettings, load_jwt_settings
from policies.principal import Principal
from policies.request import AuthorizerRequest


class JwtAuthenticator:
    """Adapts :class:`JwtValidator` to the handler: the bearer token of the request."""

    scheme = "jwt"

    def __init__(self, validator: JwtValidator) -> None:
        self.validator = validator

    def authenticate(self, request: AuthorizerRequest) -> Principal:
        return self.validator.validate(bearer_token(request))


def build_authenticator(settings: JwtSettings) -> JwtAuthenticator:
    validator = JwtValidator(settings.issuers)
    if settings.prefetch_keys:
        validator.prefetch()
    return JwtAuthenticator(validator)


def create_handler(environ: Mapping[str, str]) -> AuthorizerHandler:
    settings = load_jwt_settings(environ)
    return AuthorizerHandler(build_authenticator(settings), settings.response)


__getattr__ = handler_on_first_access(globals(), create_handler)
