"""Lambda entry point: ``authorizers.handlers.jwt.handler``.

Configured only by environment variables (see :mod:`authorizers.settings`), read once
at cold start; keys are fetched then too, so the first request does not wait for them.
A bad configuration fails the cold start with a clear, logged message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from authorizers.credentials import bearer_token
from authorizers.handlers.runtime import AuthorizerHandler, cold_start
from authorizers.jwt.validator import JwtValidator
from authorizers.settings import load_jwt_settings
from policies.principal import Principal
from policies.request import AuthorizerRequest


class JwtAuthenticator:
    """Adapts :class:`JwtValidator` to the handler: the bearer token of the request."""

    scheme = "jwt"

    def __init__(self, validator: JwtValidator) -> None:
        self.validator = validator

    def authenticate(self, request: AuthorizerRequest) -> Principal:
        return self.validator.validate(bearer_token(request))


def create_handler(environ: Mapping[str, str]) -> AuthorizerHandler:
    settings = load_jwt_settings(environ)
    validator = JwtValidator(settings.issuers)
    if settings.prefetch_keys:
        validator.prefetch()
    return AuthorizerHandler(JwtAuthenticator(validator), settings.response)


def __getattr__(name: str) -> AuthorizerHandler:
    # The Lambda runtime resolves ``handler`` during its init phase, so this still runs
    # at cold start; importing the module for create_handler() reads no environment.
    if name != "handler":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = cold_start(create_handler, os.environ)
    globals()["handler"] = built
    return built
