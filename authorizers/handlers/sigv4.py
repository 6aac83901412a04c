"""Lambda entry point: ``authorizers.handlers.sigv4.handler``.

``SIGV4_MODE=keys``: AWS Signature Version 4 requests (``Authorization: AWS4-HMAC-SHA256 ...``
or a presigned query, REQUEST authorizers) signed with key pairs the API owner issued. The
answer covers the signed route only, and the authorizer's result cache must be off: API
Gateway caches by identity source, and one signature must not let another request in.

``SIGV4_MODE=sts``: IAM users and roles, proven by a presigned ``sts:GetCallerIdentity``
(``Authorization: AWS-STS <base64url>``) bound to this API's audience.
"""

from __future__ import annotations

from collections.abc import Mapping

from authorizers.credentials import authorization_value
from authorizers.errors import CredentialRejected, Reason
from authorizers.handlers.runtime import AuthorizerHandler, handler_on_first_access
from authorizers.settings import SigV4Settings, load_sigv4_settings
from authorizers.sigv4.sts import AUTHORIZATION_SCHEME, StsValidator
from authorizers.sigv4.validator import SigV4Validator
from policies.principal import Principal
from policies.request import AuthorizerRequest


class SigV4Authenticator:
    scheme = "sigv4"

    def __init__(self, validator: SigV4Validator) -> None:
        self.validator = validator

    def authenticate(self, request: AuthorizerRequest) -> Principal:
        return self.validator.validate(request)


class StsAuthenticator:
    scheme = "sigv4-sts"

    def __init__(self, validator: StsValidator) -> None:
        self.validator = validator

    def authenticate(self, request: AuthorizerRequest) -> Principal:
        scheme, _, credential = authorization_value(request).partition(" ")
        if scheme.lower() != AUTHORIZATION_SCHEME.lower() or not credential.strip():
            raise CredentialRejected(
                Reason.UNSUPPORTED_SCHEME, f"expected Authorization: {AUTHORIZATION_SCHEME} <credential>"
            )
        return self.validator.validate(credential.strip())


def build_authenticator(settings: SigV4Settings) -> SigV4Authenticator | StsAuthenticator:
    if settings.sts is not None:
        return StsAuthenticator(StsValidator(settings.sts))
    assert settings.keys is not None and settings.config is not None
    settings.keys.prefetch()  # a missing parameter or secret fails the cold start
    return SigV4Authenticator(SigV4Validator(settings.config, settings.keys))


def create_handler(environ: Mapping[str, str]) -> AuthorizerHandler:
    settings = load_sigv4_settings(environ)
    return AuthorizerHandler(build_authenticator(settings), settings.response)


__getattr__ = handler_on_first_access(globals(), create_handler)
