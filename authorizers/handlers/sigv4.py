"""Lambda entry point: ``authorizers.handlers.sigv4.handler`` (REQUEST authorizers only).

Verifies AWS Signature Version 4 requests (``Authorization: AWS4-HMAC-SHA256 ...`` or a
presigned query) signed with key pairs the API owner issued (``SIGV4_MODE=keys``). The
answer covers the signed route only, and the authorizer's result cache must be off: API
Gateway caches by identity source, and one signature must not let another request in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from authorizers.handlers.runtime import AuthorizerHandler, cold_start
from authorizers.settings import load_sigv4_settings
from authorizers.sigv4.validator import SigV4Validator
from policies.principal import Principal
from policies.request import AuthorizerRequest


class SigV4Authenticator:
    scheme = "sigv4"

    def __init__(self, validator: SigV4Validator) -> None:
        self.validator = validator

    def authenticate(self, request: AuthorizerRequest) -> Principal:
        return self.validator.validate(request)


def create_handler(environ: Mapping[str, str]) -> AuthorizerHandler:
    settings = load_sigv4_settings(environ)
    settings.keys.prefetch()  # a missing parameter or secret fails the cold start
    return AuthorizerHandler(SigV4Authenticator(SigV4Validator(settings.config, settings.keys)), settings.response)


def __getattr__(name: str) -> AuthorizerHandler:
    # Resolved by the Lambda runtime during its init phase, so this runs at cold start.
    if name != "handler":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = cold_start(create_handler, os.environ)
    globals()["handler"] = built
    return built
