"""Lambda entry point: ``authorizers.handlers.saml.handler``.

Validates a base64 SAML 2.0 Response (``Authorization: SAML <base64>``, or the header named
by ``SAML_HEADER``) with python3-saml in strict mode and the checks it leaves to callers;
the NameID is the principal, ``SAML_GROUPS_ATTRIBUTE`` its groups for the rules. Configured
by ``SAML_*`` and ``AUTHZ_*`` variables, read once at cold start (the IdP metadata too).
"""

from __future__ import annotations

from collections.abc import Mapping

from authorizers.handlers.runtime import AuthorizerHandler, handler_on_first_access
from authorizers.saml.credential import saml_response
from authorizers.saml.replay import DynamoDbReplayCache, InMemoryReplayCache, ReplayCache
from authorizers.saml.validator import SamlValidator
from authorizers.settings import SamlSettings, load_saml_settings
from policies.principal import Principal
from policies.request import AuthorizerRequest


class SamlAuthenticator:
    scheme = "saml"

    def __init__(self, validator: SamlValidator, header: str | None) -> None:
        self.validator = validator
        self.header = header

    def authenticate(self, request: AuthorizerRequest) -> Principal:
        return self.validator.validate(saml_response(request, self.header))


def build_authenticator(settings: SamlSettings) -> SamlAuthenticator:
    replay: ReplayCache | None = None
    if settings.replay == "once":
        replay = DynamoDbReplayCache(settings.replay_table) if settings.replay_table else InMemoryReplayCache()
    return SamlAuthenticator(SamlValidator(settings.config, replay), settings.header)


def create_handler(environ: Mapping[str, str]) -> AuthorizerHandler:
    settings = load_saml_settings(environ)
    return AuthorizerHandler(build_authenticator(settings), settings.response)


__getattr__ = handler_on_first_access(globals(), create_handler)
