"""Lambda entry point: ``authorizers.handlers.multi.handler``, one authorizer for several schemes.

``AUTHORIZER_SCHEMES`` names the schemes (``jwt,cognito,saml,sigv4``); each is configured by
its own variables, exactly as for its own handler, and one set of ``AUTHZ_*`` rules applies
to every kind of principal (``when: {schemes: [...]}`` narrows a rule to some of them).
The credential's form picks the validator; nothing else about it is trusted until that
validator has verified it:

* ``Authorization: Bearer <JWT>`` (or a bare token): by the token's unverified ``iss``, the
  JWT validator for ``JWT_ISSUER``, the Cognito validator for the user pools' issuers
* ``Authorization: SAML <base64>`` (or the ``SAML_HEADER`` header): SAML
* ``Authorization: AWS4-HMAC-SHA256 ...`` or a presigned ``X-Amz-Signature`` query: SigV4 keys
* ``Authorization: AWS-STS <credential>``: SigV4 sts mode

Only the validators of the configured schemes are imported. SigV4 keys-mode answers cover
the signed route only, whatever ``AUTHZ_POLICY_SCOPE`` says for the other principals.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from authorizers.credentials import authorization_value, bearer_token
from authorizers.errors import ConfigurationError, CredentialRejected, Reason
from authorizers.handlers.runtime import Authenticator, AuthorizerHandler, handler_on_first_access
from authorizers.jwt.token import parse_unverified
from authorizers.settings import MultiSettings, load_multi_settings
from policies.errors import InvalidEvent
from policies.principal import Principal
from policies.request import AuthorizerRequest

SIGV4_ALGORITHM = "aws4-hmac-sha256"
STS_SCHEME = "aws-sts"
SAML_SCHEME = "saml"
BEARER_SCHEME = "bearer"


class MultiSchemeAuthenticator:
    """Routes each request to the one validator its credential's form names."""

    scheme = "multi"

    def __init__(
        self,
        by_issuer: Mapping[str, tuple[str, Authenticator]],
        saml: Authenticator | None = None,
        saml_header: str | None = None,
        sigv4: Authenticator | None = None,
        sts: Authenticator | None = None,
    ) -> None:
        self._by_issuer = dict(by_issuer)
        self._saml = saml
        self._saml_header = saml_header
        self._sigv4 = sigv4
        self._sts = sts

    def authenticate(self, request: AuthorizerRequest) -> Principal:
        scheme, authenticator = self._route(request)
        try:
            return authenticator.authenticate(request)
        except CredentialRejected as exc:
            exc.detail = f"{scheme}: {exc.detail}"  # which validator refused it, for the log
            raise

    def _route(self, request: AuthorizerRequest) -> tuple[str, Authenticator]:
        credentials = self._credential_forms(request)
        if len(credentials) > 1:
            # Two credentials in one request: which one API Gateway's cache keyed on is unknown.
            raise CredentialRejected(Reason.AMBIGUOUS_CREDENTIAL, f"several credentials: {', '.join(credentials)}")
        if not credentials:
            raise CredentialRejected(Reason.MISSING_CREDENTIAL, "no Authorization value")
        form = credentials[0]
        if form in ("presigned", SIGV4_ALGORITHM):
            return self._configured("sigv4", self._sigv4)
        if form == STS_SCHEME:
            return self._configured("sigv4-sts", self._sts)
        if form in (SAML_SCHEME, "saml-header"):
            return self._configured("saml", self._saml)
        if form == BEARER_SCHEME:
            return self._by_unverified_issuer(bearer_token(request))
        raise CredentialRejected(Reason.UNSUPPORTED_SCHEME, "the Authorization scheme is not one this API accepts")

    def _credential_forms(self, request: AuthorizerRequest) -> list[str]:
        forms = []
        if any(name.lower() == "x-amz-signature" for name in request.query):
            forms.append("presigned")
        if self._saml_header is not None:
            try:
                value = request.header(self._saml_header)
            except InvalidEvent as exc:
                raise CredentialRejected(Reason.AMBIGUOUS_CREDENTIAL, f"several {self._saml_header} headers") from exc
            if value is not None and value.strip():
                forms.append("saml-header")
        try:
            value = authorization_value(request)
        except CredentialRejected as exc:
            if exc.reason is not Reason.MISSING_CREDENTIAL:
                raise
        else:
            word, space, _ = value.partition(" ")
            # No space: a bare token, as TOKEN authorizers are often sent.
            forms.append(word.lower() if space else BEARER_SCHEME)
        return forms

    def _by_unverified_issuer(self, token: str) -> tuple[str, Authenticator]:
        # Only picks the validator; that validator checks the issuer, signature and all again.
        unverified_issuer = parse_unverified(token).unverified_claims.get("iss")
        route = self._by_issuer.get(unverified_issuer) if isinstance(unverified_issuer, str) else None
        if route is None:
            raise CredentialRejected(Reason.UNKNOWN_ISSUER, "bearer: iss is not a configured issuer")
        return route

    @staticmethod
    def _configured(scheme: str, authenticator: Authenticator | None) -> tuple[str, Authenticator]:
        if authenticator is None:
            raise CredentialRejected(Reason.UNSUPPORTED_SCHEME, f"{scheme} is not accepted by this API")
        return scheme, authenticator


def build_authenticator(settings: MultiSettings) -> MultiSchemeAuthenticator:
    by_issuer: dict[str, tuple[str, Authenticator]] = {}
    if settings.jwt is not None:
        jwt = _scheme_module("jwt").build_authenticator(settings.jwt)
        for config in settings.jwt.issuers:
            by_issuer[config.issuer] = ("jwt", jwt)
    if settings.cognito is not None:
        cognito = _scheme_module("cognito").build_authenticator(settings.cognito)
        for issuer in cognito.validator.pools:
            if issuer in by_issuer:  # one token, two sets of checks: refuse rather than pick one
                raise ConfigurationError(f"issuer {issuer} is both a JWT_ISSUER and a Cognito user pool")
            by_issuer[issuer] = ("cognito", cognito)
    saml = saml_header = None
    if settings.saml is not None:
        saml = _scheme_module("saml").build_authenticator(settings.saml)
        saml_header = settings.saml.header
    sigv4 = sts = None
    if settings.sigv4 is not None:
        built = _scheme_module("sigv4").build_authenticator(settings.sigv4)
        if settings.sigv4.mode == "sts":
            sts = built
        else:
            sigv4 = built
    return MultiSchemeAuthenticator(by_issuer, saml=saml, saml_header=saml_header, sigv4=sigv4, sts=sts)


def _scheme_module(scheme: str) -> Any:
    # Imported only when the scheme is used: SAML's native libraries load only with SAML.
    return importlib.import_module(f"authorizers.handlers.{scheme}")


def create_handler(environ: Mapping[str, str]) -> AuthorizerHandler:
    settings = load_multi_settings(environ)
    response = settings.response
    if settings.cognito is not None:
        response = _scheme_module("cognito").with_context_claims(response)
    return AuthorizerHandler(build_authenticator(settings), response)


__getattr__ = handler_on_first_access(globals(), create_handler)
