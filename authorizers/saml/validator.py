"""SAML 2.0 Responses: python3-saml strict mode, then the checks it leaves to its caller.

Order: size, base64 and no DOCTYPE (:mod:`authorizers.saml.credential`); then python3-saml
in strict mode with signed assertions required and SHA-1/DSA refused (schema, one
assertion, signature by the IdP's certificate over the element whose data is read,
issuer, status, timestamps); then what python3-saml accepts but we do not:

* a missing AudienceRestriction (it only checks audiences that are present);
* a Recipient that merely contains the ACS URL, a Destination that merely starts with it
  (both must equal the configured ``acs_url``: never taken from the request's Host);
* encrypted assertions (refused whole, never half-read);
* its 300 s clock drift on Conditions (ours is ``clock_skew_seconds``, default 60 s;
  SubjectConfirmationData times python3-saml itself holds to no drift at all);
* an AudienceRestriction, among several, that does not name us (each must hold);
* a replayed assertion ID (``replay=once``).

Principal data is read only after all of this, from the signed assertion.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from authorizers.errors import ConfigurationError, CredentialRejected, Reason

try:
    from onelogin.saml2.constants import OneLogin_Saml2_Constants
    from onelogin.saml2.errors import OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError
    from onelogin.saml2.response import OneLogin_Saml2_Response
    from onelogin.saml2.settings import OneLogin_Saml2_Settings
    from onelogin.saml2.utils import OneLogin_Saml2_Utils
except ImportError as exc:  # the slim layer, or an install without the saml extra
    raise ConfigurationError(
        f"SAML needs python3-saml, lxml and xmlsec ({exc.name} is missing): "
        "use the full layer, or install apigw-authorizers[saml]"
    ) from exc

from authorizers.saml.credential import decode
from authorizers.saml.replay import ReplayCache
from policies.principal import Principal

Clock = Callable[[], float]
DEFAULT_CLOCK_SKEW_SECONDS = 60
_NS = {"saml": OneLogin_Saml2_Constants.NS_SAML}
_E = OneLogin_Saml2_ValidationError
# python3-saml's error codes, mapped to our reasons; anything else is "invalid_saml".
_REASONS: Mapping[int, Reason] = {
    _E.ASSERTION_EXPIRED: Reason.EXPIRED,
    _E.SESSION_EXPIRED: Reason.EXPIRED,
    _E.RESPONSE_EXPIRED: Reason.EXPIRED,
    _E.ASSERTION_TOO_EARLY: Reason.NOT_YET_VALID,
    _E.WRONG_AUDIENCE: Reason.INVALID_AUDIENCE,
    _E.WRONG_ISSUER: Reason.UNKNOWN_ISSUER,
    _E.ISSUER_NOT_FOUND_IN_ASSERTION: Reason.UNKNOWN_ISSUER,
    _E.ISSUER_MULTIPLE_IN_RESPONSE: Reason.UNKNOWN_ISSUER,
    _E.WRONG_DESTINATION: Reason.WRONG_RECIPIENT,
    _E.EMPTY_DESTINATION: Reason.WRONG_RECIPIENT,
    # No bearer SubjectConfirmation whose Recipient and times hold (times without skew here).
    _E.WRONG_SUBJECTCONFIRMATION: Reason.INVALID_SUBJECT_CONFIRMATION,
    _E.INVALID_SIGNATURE: Reason.INVALID_SIGNATURE,
    _E.NO_SIGNATURE_FOUND: Reason.UNSIGNED_ASSERTION,
    _E.NO_SIGNED_ASSERTION: Reason.UNSIGNED_ASSERTION,
    _E.DEPRECATED_SIGNATURE_METHOD: Reason.DEPRECATED_ALGORITHM,
    _E.DEPRECATED_DIGEST_METHOD: Reason.DEPRECATED_ALGORITHM,
    _E.INVALID_XML_FORMAT: Reason.MALFORMED_SAML,
    _E.NO_NAMEID: Reason.INVALID_SUBJECT,
    _E.EMPTY_NAMEID: Reason.INVALID_SUBJECT,
    _E.NO_ENCRYPTED_ASSERTION: Reason.ENCRYPTED_ASSERTION,
    _E.ENCRYPTED_ATTRIBUTES: Reason.ENCRYPTED_ASSERTION,
}


@dataclass(frozen=True, slots=True)
class SamlConfig:
    """One identity provider and this API as its service provider."""

    idp_entity_id: str
    idp_certificates: tuple[str, ...]  # PEM or base64 DER; several for rotation
    sp_entity_id: str  # the audience
    acs_url: str  # the expected Recipient and Destination
    groups_attribute: str | None = None
    context_attributes: Mapping[str, str] = field(default_factory=dict)  # context key -> attribute name
    clock_skew_seconds: int = DEFAULT_CLOCK_SKEW_SECONDS
    settings: Any = field(init=False, repr=False, compare=False)  # python3-saml's, built once

    def __post_init__(self) -> None:
        for name in ("idp_entity_id", "sp_entity_id", "acs_url"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ConfigurationError(f"SAML {name} is required")
        if not self.idp_certificates:
            raise ConfigurationError("at least one IdP signing certificate is required")
        parts = urllib.parse.urlsplit(self.acs_url)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
            raise ConfigurationError(f"the ACS URL must be an absolute URL without query, not {self.acs_url!r}")
        if not 0 <= self.clock_skew_seconds <= 300:
            raise ConfigurationError("the SAML clock skew must be between 0 and 300 seconds")
        object.__setattr__(self, "settings", self._python3_saml_settings())

    def _python3_saml_settings(self) -> Any:
        certificates = [OneLogin_Saml2_Utils.format_cert(cert, heads=False) for cert in self.idp_certificates]
        settings = {
            "strict": True,
            "debug": False,
            "sp": {
                "entityId": self.sp_entity_id,
                "assertionConsumerService": {
                    "url": self.acs_url,
                    "binding": OneLogin_Saml2_Constants.BINDING_HTTP_POST,
                },
            },
            "idp": {
                "entityId": self.idp_entity_id,
                "x509certMulti": {"signing": certificates},
            },
            "security": {
                "wantAssertionsSigned": True,
                "wantMessagesSigned": False,
                "wantAssertionsEncrypted": False,
                "wantNameId": True,
                "wantNameIdEncrypted": False,
                "wantAttributeStatement": False,
                "rejectDeprecatedAlgorithm": True,
                "allowRepeatAttributeName": False,
                "requestedAuthnContext": False,
            },
        }
        try:
            return OneLogin_Saml2_Settings(settings, sp_validation_only=True)
        except OneLogin_Saml2_Error as exc:
            raise ConfigurationError(f"SAML settings refused by python3-saml: {exc}") from None

    def request_data(self) -> dict[str, Any]:
        """What python3-saml calls "the current URL": always the configured ACS URL."""
        parts = urllib.parse.urlsplit(self.acs_url)
        https = "on" if parts.scheme == "https" else "off"
        return {"https": https, "http_host": parts.netloc, "script_name": parts.path, "get_data": {}, "post_data": {}}


class SamlValidator:
    scheme = "saml"

    def __init__(self, config: SamlConfig, replay: ReplayCache | None, clock: Clock = time.time) -> None:
        self._config = config
        self._replay = replay  # None: a bearer assertion may be reused until it expires
        self._clock = clock
        self._request_data = config.request_data()

    def validate(self, encoded: str) -> Principal:
        xml = decode(encoded)
        if b":EncryptedAssertion" in xml or b"<EncryptedAssertion" in xml:
            raise CredentialRejected(Reason.ENCRYPTED_ASSERTION, "encrypted assertions are not supported")
        try:
            response = OneLogin_Saml2_Response(self._config.settings, _b64(xml))
            response.is_valid(self._request_data, raise_exceptions=True)
        except OneLogin_Saml2_ValidationError as exc:
            raise CredentialRejected(_REASONS.get(exc.code, Reason.INVALID_SAML), _detail(exc)) from None
        except CredentialRejected:
            raise
        except Exception as exc:  # lxml/xmlsec parse errors and the like: a malformed credential
            raise CredentialRejected(Reason.MALFORMED_SAML, type(exc).__name__) from None
        # From here on the assertion is signed by the IdP and python3-saml's checks passed.
        expires_at = self._check_what_python3_saml_leaves(response)
        if self._replay is not None:
            self._replay.first_use(self._config.idp_entity_id, response.get_assertion_id(), expires_at)
        return self._principal(response, expires_at)

    def _check_what_python3_saml_leaves(self, response: Any) -> float:
        config, now, skew = self._config, self._clock(), self._config.clock_skew_seconds
        restrictions = response._query_assertion("/saml:Conditions/saml:AudienceRestriction")
        if not restrictions:
            raise CredentialRejected(Reason.MISSING_AUDIENCE, "the assertion has no AudienceRestriction")
        for restriction in restrictions:
            # Each restriction must hold (SAML core 2.5.1.4): one naming only others excludes us.
            audiences = [(node.text or "").strip() for node in restriction.findall("saml:Audience", _NS)]
            if config.sp_entity_id not in audiences:
                raise CredentialRejected(Reason.INVALID_AUDIENCE, "the assertion is for another audience")
        destination = response.document.get("Destination")
        if destination is not None and destination != config.acs_url:
            raise CredentialRejected(Reason.WRONG_RECIPIENT, "the Destination is not this API's ACS URL")
        confirmations = response._query_assertion("/saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData")
        recipients = [node.get("Recipient") for node in confirmations]
        if not recipients or any(recipient != config.acs_url for recipient in recipients):
            raise CredentialRejected(Reason.WRONG_RECIPIENT, "the Recipient is not this API's ACS URL")
        ends: list[float] = []
        for node in (*response._query_assertion("/saml:Conditions"), *confirmations):
            not_before, not_on_or_after = node.get("NotBefore"), node.get("NotOnOrAfter")
            if not_before is not None and _instant(not_before) - skew > now:
                raise CredentialRejected(Reason.NOT_YET_VALID, "the assertion is not valid yet")
            if not_on_or_after is not None:
                end = _instant(not_on_or_after)
                if now >= end + skew:
                    raise CredentialRejected(Reason.EXPIRED, "the assertion has expired")
                ends.append(end)
        if not ends:
            raise CredentialRejected(Reason.INVALID_SAML, "the assertion has no NotOnOrAfter")
        return max(ends) + skew  # as long as it could be accepted: so long must a replay be refused

    def _principal(self, response: Any, expires_at: float) -> Principal:
        name_id = response.get_nameid()  # the whole text: comments are removed when parsing, not cut at
        if not isinstance(name_id, str) or not name_id.strip():
            raise CredentialRejected(Reason.INVALID_SUBJECT, "the NameID is empty")
        attributes: dict[str, list[str]] = {
            name: [value for value in values if isinstance(value, str)]
            for name, values in response.get_attributes().items()
        }
        groups: Sequence[str] = (
            attributes.get(self._config.groups_attribute, []) if self._config.groups_attribute else []
        )
        claims: dict[str, Any] = {**attributes, "name_id": name_id}
        for key, attribute in self._config.context_attributes.items():
            if attribute in attributes:  # a short context key for an attribute named by URI
                claims[key] = attributes[attribute]
        name_id_format = response.get_nameid_format()
        if isinstance(name_id_format, str):
            claims["name_id_format"] = name_id_format
        return Principal(
            principal_id=name_id,
            scheme=self.scheme,
            issuer=self._config.idp_entity_id,
            groups=frozenset(groups),
            expires_at=int(expires_at),
            claims=claims,
        )


def _b64(xml: bytes) -> str:
    import base64

    return base64.b64encode(xml).decode("ascii")


def _instant(text: str) -> float:
    try:
        return float(OneLogin_Saml2_Utils.parse_SAML_to_time(text))
    except (ValueError, TypeError):
        raise CredentialRejected(Reason.INVALID_TIME_CLAIM, "a SAML time is not an xs:dateTime in UTC") from None


def _detail(exc: OneLogin_Saml2_ValidationError) -> str:
    # python3-saml's messages can quote attacker-chosen values (issuers, URLs): keep them short.
    return str(exc)[:160]
