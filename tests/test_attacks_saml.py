"""SECURITY.md, SAML part: every attack, through the real SAML handler, with its exact outcome.

Each row builds a credential with the test IdP of ``tests/samlkit.py`` (real signatures,
real wrapping attacks), runs it through ``authorizers.handlers.saml.create_handler`` in a
REST TOKEN event (``Authorization: SAML <base64>``), and checks: the outcome API Gateway
would see (always a 401, never an Allow, never a 500), the reason code in the structured
decision log line, and that no log line carries the credential, the XML, a signature
value or the attacker's NameID. A sample of rows runs again in the REST REQUEST and HTTP
API 2.0 event shapes and with ``SAML_HEADER``.

Where several checks could refuse a row, the expected reason is the one that fires first
in the product's order (see ``authorizers/saml/validator.py`` and python3-saml's
``OneLogin_Saml2_Response.is_valid``: status, number of assertions, signed-element rules
and algorithms, schema, Conditions times with its 300 s drift, destination, audience,
issuer, session, SubjectConfirmation, "assertion signed", then the signature itself; then
our audience / Destination / Recipient / 60 s skew checks, then replay).

A row may carry ``bug=``: it then xfails (strict) until the product is fixed; none does now.
"""

from __future__ import annotations

import base64
import re
import secrets
import statistics
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from authorizers.errors import Reason
from authorizers.handlers.runtime import AuthorizerHandler
from authorizers.handlers.saml import create_handler
from authorizers.saml.credential import MAX_ENCODED_BYTES
from authorizers.saml.validator import DEFAULT_CLOCK_SKEW_SECONDS, SamlValidator
from authorizers.settings import load_saml_settings
from tests import samlkit
from tests.conftest import load_event, outcome
from tests.samlkit import ACS_URL, IDP_ENTITY_ID, NSMAP, SP_ENTITY_ID, IdpKey, SamlIdp, b64, shared_key

R = Reason
EVIL = "mallory@example.com"  # the NameID an attacker wants to be
LONGER_NAME_ID = "alice@example.com.evil.com"  # registered by the attacker at the IdP
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets"
SAML_HEADER = "X-Saml-Response"
LEAK_SLICE = 40  # a slice this long of the credential, the XML or a signature must never be logged
XENC_NS = "http://www.w3.org/2001/04/xmlenc#"
SIGNATURE_VALUE = re.compile(r"<ds:SignatureValue>([^<]+)</ds:SignatureValue>")
XML_DECLARATION = b"<?xml version='1.0' encoding='UTF-8'?>"


def saml_env(idp_key: IdpKey, **changes: str) -> dict[str, str]:
    """The handler's environment: one IdP, this API as the SP, groups from ``groups``."""
    return {
        "SAML_IDP_ENTITY_ID": IDP_ENTITY_ID,
        "SAML_IDP_CERT": idp_key.cert_pem,
        "SAML_SP_ENTITY_ID": SP_ENTITY_ID,
        "SAML_ACS_URL": ACS_URL,
        "SAML_GROUPS_ATTRIBUTE": "groups",
        "POWERTOOLS_METRICS_NAMESPACE": "Tests",
        **changes,
    }


# --- what is sent ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One credential: the Authorization value (``None``: no header at all) and the XML behind it."""

    value: str | None
    xml: bytes | None = None  # the UTF-8 document, for the leak check (None: not XML)

    @property
    def encoded(self) -> str | None:
        """The bare credential, as ``SAML_HEADER`` carries it."""
        if self.value is None:
            return None
        return self.value.removeprefix("SAML ")

    def forbidden_in_logs(self) -> list[str]:
        """Slices of the credential, the XML and every signature value that no log line may carry."""
        found: list[str] = []
        encoded = self.encoded
        if encoded is not None and len(encoded) >= LEAK_SLICE:
            middle = len(encoded) // 2
            found += [encoded[:LEAK_SLICE], encoded[middle : middle + LEAK_SLICE], encoded[-LEAK_SLICE:]]
        if self.xml is not None:
            text = self.xml.decode("utf-8")
            for marker in ("<samlp:Response", "<saml:Assertion", "<saml:EncryptedAssertion"):
                at = text.find(marker)
                if at >= 0:
                    found.append(text[at : at + LEAK_SLICE])
            # Read with a regular expression: the billion-laughs document cannot be parsed.
            for value in SIGNATURE_VALUE.findall(text):
                found.append("".join(value.split())[:LEAK_SLICE])
        return found


def saml(xml: bytes) -> Sent:
    return Sent("SAML " + b64(xml), xml)


def utf16(xml: bytes) -> bytes:
    """The same document in UTF-16LE without a BOM: it still starts with the byte ``<``."""
    assert xml.startswith(XML_DECLARATION)
    return xml.replace(b"encoding='UTF-8'", b"encoding='UTF-16'", 1).decode("utf-8").encode("utf-16-le")


def saml_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def serialize(root: Any) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# --- the parties ---------------------------------------------------------------------------------------------


class Kit:
    """What a row needs: the IdP, an attacker's key, one ``now`` for every document of the row."""

    def __init__(self, idp: SamlIdp, attacker: IdpKey) -> None:
        self.idp = idp
        self.attacker = attacker
        self.now = time.time()

    def response(self, **options: Any) -> bytes:
        """A response signed by the IdP (assertion signed unless told), issued ``now``."""
        return self.idp.response(now=self.now, **options)

    def valid(self) -> Sent:
        return saml(self.response())

    def resigned(self, mutate: Callable[[Any], None], **options: Any) -> bytes:
        """The IdP's own signature over an assertion that ``mutate`` changed first.

        What an IdP that sends an odd document signs: the signature is genuine, so only the
        profile checks can refuse it.
        """
        root = samlkit.parse(self.response(sign_assertion=False, **options))
        assertion = root.find("saml:Assertion", NSMAP)
        mutate(assertion)
        root.replace(assertion, samlkit.sign_element(assertion, self.idp.key))
        return serialize(root)

    def encrypted(self) -> bytes:
        """The IdP's response with its Assertion replaced by an ``saml:EncryptedAssertion``."""
        root = samlkit.parse(self.response(sign_assertion=False))
        wrapper = etree.Element(f"{{{samlkit.SAML_NS}}}EncryptedAssertion")
        data = etree.SubElement(wrapper, f"{{{XENC_NS}}}EncryptedData", nsmap={"xenc": XENC_NS})
        data.set("Type", f"{XENC_NS}Element")
        etree.SubElement(data, f"{{{XENC_NS}}}EncryptionMethod").set("Algorithm", f"{XENC_NS}aes256-cbc")
        cipher = etree.SubElement(data, f"{{{XENC_NS}}}CipherData")
        etree.SubElement(cipher, f"{{{XENC_NS}}}CipherValue").text = base64.b64encode(secrets.token_bytes(96)).decode()
        root.replace(root.find("saml:Assertion", NSMAP), wrapper)
        return serialize(root)


def set_on(path: str, attribute: str, value: str | None) -> Callable[[Any], None]:
    """A mutation setting (or, with ``None``, removing) an attribute of the element at ``path`` in the assertion."""

    def mutate(assertion: Any) -> None:
        element = assertion.find(path, NSMAP)
        if value is None:
            del element.attrib[attribute]
        else:
            element.set(attribute, value)

    return mutate


CONDITIONS = "saml:Conditions"
CONFIRMATION_DATA = "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"


def second_audience_restriction(assertion: Any) -> None:
    """A second AudienceRestriction naming only another SP: the conditions are ANDed (SAML core 2.5.1.4)."""
    conditions = assertion.find(CONDITIONS, NSMAP)
    restriction = etree.SubElement(conditions, f"{{{samlkit.SAML_NS}}}AudienceRestriction")
    etree.SubElement(restriction, f"{{{samlkit.SAML_NS}}}Audience").text = "https://other.example.com/sp"


def without_not_on_or_after(assertion: Any) -> None:
    set_on(CONDITIONS, "NotOnOrAfter", None)(assertion)
    set_on(CONFIRMATION_DATA, "NotOnOrAfter", None)(assertion)


def deflated(xml: bytes, wbits: int) -> str:
    compressor = zlib.compressobj(wbits=wbits)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode("ascii")


def oversized(k: Kit) -> Sent:
    sent = saml(k.response(attributes={**samlkit.DEFAULT_ATTRIBUTES, "padding": ["x" * 100_000]}))
    assert sent.encoded is not None and len(sent.encoded) > MAX_ENCODED_BYTES
    return sent


def xsw_row(n: int, both_signed: bool) -> Any:
    """XSW``n`` on the IdP's response; XSW1-2 wrap a signed Response, so they need one."""
    sign_response = both_signed or n <= 2
    kind = "both-signed" if both_signed else ("response-signed" if n <= 2 else "assertion-signed")

    def build(k: Kit) -> Sent:
        return saml(samlkit.xsw(n, k.response(sign_response=sign_response), EVIL))

    # python3-saml counts every saml:Assertion in the document before it looks at a signature.
    return row(f"xsw{n}-{kind}", build, R.INVALID_SAML)


# --- the table --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    build: Callable[[Kit], Sent]
    reason: Reason


def row(row_id: str, build: Callable[[Kit], Sent], reason: Reason, *, bug: str | None = None) -> Any:
    """One attack, refused with ``reason``; ``bug``: a product bug, the row xfails (strict) until it is fixed."""
    marks = [pytest.mark.xfail(strict=True, reason=f"product bug: {bug}")] if bug else []
    return pytest.param(Row(build, reason), id=row_id, marks=marks)


ROWS: list[Any] = [
    # Signature wrapping, every variant, on each signed form.
    *[xsw_row(n, both_signed=False) for n in range(1, 9)],
    *[xsw_row(n, both_signed=True) for n in range(1, 9)],
    # Signatures.
    row("unsigned-response", lambda k: saml(samlkit.strip_signature(k.response())), R.UNSIGNED_ASSERTION),
    row(
        "both-signatures-stripped",
        lambda k: saml(samlkit.strip_signature(k.response(sign_response=True))),
        R.UNSIGNED_ASSERTION,
    ),
    row("assertion-signed-by-another-key", lambda k: saml(k.response(signing_key=k.attacker)), R.INVALID_SIGNATURE),
    row(
        "both-signed-by-another-key",
        lambda k: saml(k.response(sign_response=True, signing_key=k.attacker)),
        R.INVALID_SIGNATURE,
    ),
    # "Assertion signed" is required, and checked before any signature is verified.
    row(
        "response-only-signed-by-another-key",
        lambda k: saml(k.response(sign_assertion=False, sign_response=True, signing_key=k.attacker)),
        R.UNSIGNED_ASSERTION,
    ),
    row(
        "response-signed-assertion-unsigned",
        lambda k: saml(k.response(sign_assertion=False, sign_response=True)),
        R.UNSIGNED_ASSERTION,
    ),
    row("extra-unsigned-assertion", lambda k: saml(samlkit.add_unsigned_assertion(k.response(), EVIL)), R.INVALID_SAML),
    row(
        "two-assertions-in-a-signed-response",
        lambda k: saml(k.response(sign_assertion=False, sign_response=True, extra_assertions=1)),
        R.INVALID_SAML,
    ),
    row("two-assertions-first-signed", lambda k: saml(k.response(extra_assertions=1)), R.INVALID_SAML),
    row("name-id-tampered", lambda k: saml(samlkit.tamper_name_id(k.response(), EVIL)), R.INVALID_SIGNATURE),
    row("rsa-sha1", lambda k: saml(k.response(algorithm="rsa-sha1")), R.DEPRECATED_ALGORITHM),
    # XML declarations: refused before any parser sees them.
    row("doctype-internal-entity", lambda k: saml(samlkit.with_doctype(k.response(), "internal")), R.FORBIDDEN_XML),
    row("doctype-external-entity", lambda k: saml(samlkit.with_doctype(k.response(), "external")), R.FORBIDDEN_XML),
    row(
        "doctype-billion-laughs", lambda k: saml(samlkit.with_doctype(k.response(), "billion_laughs")), R.FORBIDDEN_XML
    ),
    row(
        "doctype-internal-entity-utf16",
        lambda k: Sent("SAML " + b64(utf16(samlkit.with_doctype(k.response(), "internal")))),
        R.MALFORMED_SAML,
    ),
    # Time. python3-saml allows 300 s on Conditions; ours is SAML_CLOCK_SKEW_SECONDS (60).
    row("expired", lambda k: saml(k.idp.response(now=k.now - 1000)), R.EXPIRED),
    row("not-yet-valid-beyond-python3-saml-drift", lambda k: saml(k.response(not_before=400)), R.NOT_YET_VALID),
    row("not-before-200s-beyond-our-skew", lambda k: saml(k.response(not_before=200)), R.NOT_YET_VALID),
    row(
        "conditions-not-on-or-after-90s-ago",
        lambda k: saml(k.resigned(set_on(CONDITIONS, "NotOnOrAfter", saml_time(k.now - 90)))),
        R.EXPIRED,
    ),
    row(
        "not-on-or-after-90s-ago",
        lambda k: saml(k.response(not_on_or_after=-90)),
        R.INVALID_SUBJECT_CONFIRMATION,
    ),
    row(
        "subject-confirmation-not-before-in-the-future",
        lambda k: saml(k.resigned(set_on(CONFIRMATION_DATA, "NotBefore", saml_time(k.now + 120)))),
        R.INVALID_SUBJECT_CONFIRMATION,
    ),
    row("session-not-on-or-after-passed", lambda k: saml(k.response(session_not_on_or_after=-10)), R.EXPIRED),
    row(
        "no-not-on-or-after-anywhere",
        lambda k: saml(k.resigned(without_not_on_or_after)),
        R.INVALID_SAML,  # "the assertion has no NotOnOrAfter": the validator's own check
    ),
    # Not an xs:dateTime at all: the protocol schema refuses the document.
    row(
        "time-not-a-datetime",
        lambda k: saml(k.resigned(set_on(CONDITIONS, "NotOnOrAfter", "soon"))),
        R.MALFORMED_SAML,
    ),
    row(
        "time-with-a-utc-offset",
        lambda k: saml(k.resigned(set_on(CONDITIONS, "NotOnOrAfter", "2099-01-01T00:00:00+01:00"))),
        R.MALFORMED_SAML,
    ),
    # Audience.
    row("no-audience-restriction", lambda k: saml(k.response(audience=None)), R.MISSING_AUDIENCE),
    row("wrong-audience", lambda k: saml(k.response(audience="https://other.example.com/sp")), R.INVALID_AUDIENCE),
    row(
        "second-audience-restriction-for-another-sp",
        lambda k: saml(k.resigned(second_audience_restriction)),
        R.INVALID_AUDIENCE,
    ),
    # Recipient and Destination: exactly SAML_ACS_URL.
    row(
        "wrong-recipient",
        lambda k: saml(k.response(recipient="https://evil.example.com/saml/acs")),
        R.INVALID_SUBJECT_CONFIRMATION,  # python3-saml finds no confirmation whose Recipient holds
    ),
    row(
        "recipient-containing-the-acs-url",
        lambda k: saml(k.response(recipient="https://evil.example.com/?next=" + ACS_URL)),
        R.WRONG_RECIPIENT,
    ),
    row("no-recipient", lambda k: saml(k.response(recipient=None)), R.WRONG_RECIPIENT),
    row(
        "destination-extending-the-acs-url",
        lambda k: saml(k.response(destination=ACS_URL + "-evil/x")),
        R.WRONG_RECIPIENT,
    ),
    row(
        "wrong-destination",
        lambda k: saml(k.response(destination="https://evil.example.com/saml/acs")),
        R.WRONG_RECIPIENT,
    ),
    row("empty-destination", lambda k: saml(k.response(destination="")), R.WRONG_RECIPIENT),
    # Issuer and status.
    row("wrong-issuer", lambda k: saml(k.response(issuer="https://evil.example.com/idp")), R.UNKNOWN_ISSUER),
    row("status-not-success", lambda k: saml(k.response(status=samlkit.STATUS_RESPONDER)), R.INVALID_SAML),
    # Encoding and size.
    row("oversized", oversized, R.TOKEN_TOO_LARGE),
    row(
        "non-base64-character",
        lambda k: Sent("SAML " + b64(k.response())[:100] + "*" + b64(k.response())[100:]),
        R.MALFORMED_SAML,
    ),
    row("truncated-base64", lambda k: Sent("SAML " + b64(k.response())[:-1]), R.MALFORMED_SAML),
    row(
        "base64-of-non-xml",
        lambda k: Sent("SAML " + base64.b64encode(b"SAMLResponse: not XML at all " * 4).decode()),
        R.MALFORMED_SAML,
    ),
    row(
        "xml-that-is-not-a-saml-response",
        lambda k: Sent("SAML " + base64.b64encode(b"<note><to>alice@example.com</to></note>").decode()),
        R.INVALID_SAML,
    ),
    row("zlib-deflated", lambda k: Sent("SAML " + deflated(k.response(), zlib.MAX_WBITS)), R.MALFORMED_SAML),
    row("raw-deflated", lambda k: Sent("SAML " + deflated(k.response(), -zlib.MAX_WBITS)), R.MALFORMED_SAML),
    # The Authorization value.
    # "SAML " with nothing after it: the value is not "SAML <base64>", so the scheme check refuses it.
    row("empty-saml-value", lambda k: Sent("SAML "), R.UNSUPPORTED_SCHEME),
    row("empty-authorization", lambda k: Sent(""), R.MISSING_CREDENTIAL),
    row("bearer-scheme", lambda k: Sent("Bearer " + b64(k.response()), k.response()), R.UNSUPPORTED_SCHEME),
    row("no-authorization-header", lambda k: Sent(None), R.MISSING_CREDENTIAL),
    # Encrypted assertions: refused whole.
    row("encrypted-assertion", lambda k: saml(k.encrypted()), R.ENCRYPTED_ASSERTION),
    row(
        "encrypted-assertion-utf16",
        lambda k: Sent("SAML " + b64(utf16(k.encrypted())), k.encrypted()),
        R.MALFORMED_SAML,
    ),
]


def test_row_ids_are_unique() -> None:
    ids = [param.id for param in ROWS]
    assert len(ids) == len(set(ids))


# --- running the real handler and reading its decision log ---------------------------------------------


@dataclass
class Run:
    decision: str  # as API Gateway sees it: allow, deny, unauthorized, error
    response: dict[str, Any] | None
    logged: dict[str, Any]  # the one structured line with a "decision" key
    output: str = field(repr=False)


class Harness:
    def __init__(self, kit: Kit, read: Callable[[], tuple[list[dict[str, Any]], str]]) -> None:
        self.kit = kit
        self._read = read

    def handler(self, **changes: str) -> AuthorizerHandler:
        return create_handler(saml_env(self.kit.idp.key, **changes))

    def run(self, handler: AuthorizerHandler, event: Mapping[str, Any]) -> Run:
        self._read()
        decision, response = outcome(handler, event)
        lines, output = self._read()
        assert len(lines) == 1, f"expected one decision line, got {lines!r}"
        return Run(decision, response, lines[0], output)


@pytest.fixture(scope="module")
def idp() -> SamlIdp:
    return SamlIdp(IDP_ENTITY_ID, shared_key("idp"))


@pytest.fixture
def kit(idp: SamlIdp) -> Kit:
    return Kit(idp, shared_key("attacker"))


@pytest.fixture
def harness(kit: Kit, decision_log: Any) -> Harness:
    return Harness(kit, decision_log)


def token_event(value: str) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": value, "methodArn": METHOD_ARN}


def request_event(name: str, header: str, value: str | None) -> dict[str, Any]:
    """A vector event with no Authorization header, and ``header`` set to ``value`` unless ``None``."""
    event = load_event(name)
    for key in ("headers", "multiValueHeaders"):
        headers = event.get(key)
        if isinstance(headers, dict):
            for existing in [h for h in headers if h.lower() in ("authorization", header.lower())]:
                del headers[existing]
            if value is not None:
                headers[header] = [value] if key == "multiValueHeaders" else value
    event.pop("identitySource", None)
    return event


REST_REQUEST = "apiGatewayAuthorizerRestRequestEvent.json"
HTTP_V2 = "apiGatewayAuthorizerV2Event.json"


def event_for(sent: Sent) -> dict[str, Any]:
    """The TOKEN event; a REST REQUEST event when there is no Authorization value at all."""
    if sent.value is None:
        return request_event(REST_REQUEST, "Authorization", None)
    return token_event(sent.value)


def assert_nothing_leaked(sent: Sent, output: str) -> None:
    fragments = sent.forbidden_in_logs()
    if sent.encoded is not None and len(sent.encoded) >= LEAK_SLICE:
        assert sent.encoded not in output, "the credential was logged"
        assert len(fragments) >= 3
    if sent.xml is not None and SIGNATURE_VALUE.search(sent.xml.decode("utf-8")):
        assert len(fragments) >= 5  # the credential thrice, the root element, a signature value
    for index, fragment in enumerate(fragments):
        assert fragment not in output, f"fragment {index} of the credential, XML or signature was logged"
    assert EVIL not in output, "the attacker's NameID was logged"


def assert_refused(run: Run, reason: Reason) -> None:
    assert (run.decision, run.response) == ("unauthorized", None)
    assert (run.logged["decision"], run.logged.get("reason")) == ("unauthorized", reason.value)
    assert "principal" not in run.logged, "an unverified subject must not be logged"


@pytest.mark.parametrize("attack", ROWS)
def test_attack_is_refused(attack: Row, harness: Harness) -> None:
    sent = attack.build(harness.kit)
    run = harness.run(harness.handler(), event_for(sent))
    assert run.decision not in ("allow", "error")
    assert_refused(run, attack.reason)
    assert_nothing_leaked(sent, run.output)


# --- what is accepted (so the refusals above mean something) -----------------------------------------------


def assert_allowed(run: Run, principal: str) -> dict[str, Any]:
    assert (run.decision, run.logged["decision"]) == ("allow", "allow")
    assert "reason" not in run.logged
    assert run.logged["principal"] == principal
    assert run.response is not None
    assert run.response["principalId"] == principal
    context: dict[str, Any] = run.response["context"]
    return context


@pytest.mark.parametrize("sign_response", [False, True], ids=["assertion-signed", "both-signed"])
def test_valid_response_is_allowed(sign_response: bool, harness: Harness) -> None:
    kit = harness.kit
    sent = saml(kit.response(sign_response=sign_response))
    run = harness.run(harness.handler(SAML_CONTEXT_ATTRIBUTES="email"), token_event(sent.value or ""))
    context = assert_allowed(run, samlkit.DEFAULT_NAME_ID)
    # NotOnOrAfter is now + 300 (Conditions and SubjectConfirmationData); expires_at adds the 60 s skew.
    assert context == {
        "scheme": "saml",
        "sub": samlkit.DEFAULT_NAME_ID,
        "issuer": IDP_ENTITY_ID,
        "groups": "admins,vets",
        "expires_at": int(kit.now) + 300 + DEFAULT_CLOCK_SKEW_SECONDS,
        "email": "alice@example.com",
    }
    assert_nothing_leaked(sent, run.output)


def test_attributes_reach_the_context_only_when_named(harness: Harness) -> None:
    sent = harness.kit.valid()
    context = assert_allowed(harness.run(harness.handler(), token_event(sent.value or "")), samlkit.DEFAULT_NAME_ID)
    assert "email" not in context
    assert context["groups"] == "admins,vets"


def test_lowercase_scheme_is_accepted(harness: Harness) -> None:
    sent = harness.kit.valid()
    run = harness.run(harness.handler(), token_event("saml " + (sent.encoded or "")))
    assert_allowed(run, samlkit.DEFAULT_NAME_ID)


def test_name_id_with_a_comment_is_read_whole(harness: Harness) -> None:
    signed = harness.kit.response(name_id=LONGER_NAME_ID)
    commented = samlkit.with_name_id_comment(signed, samlkit.DEFAULT_NAME_ID)
    assert samlkit.naive_name_ids(commented) == [samlkit.DEFAULT_NAME_ID]  # what a naive reader would take
    sent = saml(commented)
    run = harness.run(harness.handler(), token_event(sent.value or ""))
    context = assert_allowed(run, LONGER_NAME_ID)
    assert context["sub"] == LONGER_NAME_ID
    assert run.logged["principal"] != samlkit.DEFAULT_NAME_ID
    assert_nothing_leaked(sent, run.output)


def test_replay_reuse_accepts_the_same_response_twice(harness: Harness) -> None:
    handler = harness.handler(SAML_REPLAY="reuse")
    sent = harness.kit.valid()
    for _ in range(2):
        assert_allowed(harness.run(handler, token_event(sent.value or "")), samlkit.DEFAULT_NAME_ID)


def test_replay_once_refuses_the_second_use(harness: Harness) -> None:
    handler = harness.handler()  # SAML_REPLAY defaults to once
    signed = harness.kit.response()
    sent = saml(signed)
    assert_allowed(harness.run(handler, token_event(sent.value or "")), samlkit.DEFAULT_NAME_ID)
    run = harness.run(handler, token_event(sent.value or ""))
    assert_refused(run, R.REPLAYED_ASSERTION)
    assert_nothing_leaked(sent, run.output)
    # The same signed assertion in a new (unsigned) Response wrapper: it is the assertion ID that counts.
    root = samlkit.parse(signed)
    root.set("ID", samlkit.new_id())
    rewrapped = saml(serialize(root))
    assert rewrapped.value != sent.value
    assert_refused(harness.run(handler, token_event(rewrapped.value or "")), R.REPLAYED_ASSERTION)
    # Another assertion from the same IdP is still welcome.
    assert_allowed(harness.run(handler, token_event(harness.kit.valid().value or "")), samlkit.DEFAULT_NAME_ID)


def test_a_second_idp_certificate_for_rotation(harness: Harness) -> None:
    kit = harness.kit
    current, upcoming = kit.idp.key, shared_key("idp-next")
    handler = harness.handler(SAML_IDP_CERT=current.cert_pem + upcoming.cert_pem)
    for key in (current, upcoming):
        sent = saml(kit.response(signing_key=key))
        assert_allowed(harness.run(handler, token_event(sent.value or "")), samlkit.DEFAULT_NAME_ID)
    forged = saml(kit.response(signing_key=kit.attacker))
    assert_refused(harness.run(handler, token_event(forged.value or "")), R.INVALID_SIGNATURE)
    # Without the upcoming certificate, its signature is refused.
    early = saml(kit.response(signing_key=upcoming))
    assert_refused(harness.run(harness.handler(), token_event(early.value or "")), R.INVALID_SIGNATURE)


def test_subject_confirmation_times_have_no_skew(harness: Harness) -> None:
    # python3-saml holds SubjectConfirmationData times to no drift at all (documented): 30 s
    # past its NotOnOrAfter, within SAML_CLOCK_SKEW_SECONDS, is still refused. Stricter, never wider.
    sent = saml(harness.kit.response(not_on_or_after=-30))
    assert_refused(harness.run(harness.handler(), token_event(sent.value or "")), R.INVALID_SUBJECT_CONFIRMATION)


# --- encrypted assertions are never half-read ------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [("utf-8", R.ENCRYPTED_ASSERTION), ("utf-16", R.MALFORMED_SAML)],  # UTF-16 is refused before any parsing
)
def test_encrypted_assertion_never_reaches_decryption(
    encoding: str, reason: Reason, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onelogin.saml2.response import OneLogin_Saml2_Response  # type: ignore[import-untyped, unused-ignore]

    attempts: list[object] = []
    original = OneLogin_Saml2_Response._decrypt_assertion

    def spy(self: Any, document: Any) -> Any:
        attempts.append(document)
        return original(self, document)

    monkeypatch.setattr(OneLogin_Saml2_Response, "_decrypt_assertion", spy)
    xml = harness.kit.encrypted()
    sent = Sent("SAML " + b64(xml if encoding == "utf-8" else utf16(xml)), xml)
    run = harness.run(harness.handler(), token_event(sent.value or ""))
    assert attempts == [], "python3-saml was handed the EncryptedAssertion"
    assert_refused(run, reason)


# --- the other event shapes, and SAML_HEADER ------------------------------------------------------------------


SAMPLE_IDS = {
    "xsw3-assertion-signed",
    "xsw1-both-signed",
    "unsigned-response",
    "assertion-signed-by-another-key",
    "doctype-billion-laughs",
    "expired",
    "recipient-containing-the-acs-url",
    "encrypted-assertion",
    "oversized",
    "no-authorization-header",
}
SAMPLE_ROWS = [param for param in ROWS if param.id in SAMPLE_IDS]
# Every sampled row carries "SAML <base64>" (or nothing), so SAML_HEADER mode can send it bare.
SHAPES = ["rest-request", "http-v2", "saml-header"]


def test_sample_rows_exist() -> None:
    assert len(SAMPLE_ROWS) == len(SAMPLE_IDS)
    assert not any(param.marks for param in SAMPLE_ROWS)


def shaped(shape: str, sent: Sent) -> tuple[dict[str, str], dict[str, Any]]:
    """(environment changes, event) for one shape."""
    if shape == "rest-request":
        return {}, request_event(REST_REQUEST, "Authorization", sent.value)
    if shape == "http-v2":
        return {}, request_event(HTTP_V2, "Authorization", sent.value)
    return {"SAML_HEADER": SAML_HEADER}, request_event(REST_REQUEST, SAML_HEADER, sent.encoded)


def assert_refused_in(shape: str, run: Run, reason: Reason) -> None:
    if shape == "http-v2":
        # HTTP API simple responses have no 401/403 distinction: isAuthorized false.
        assert (run.decision, run.response) == ("deny", {"isAuthorized": False})
        assert (run.logged["decision"], run.logged.get("reason")) == ("unauthorized", reason.value)
        assert "principal" not in run.logged
    else:
        assert_refused(run, reason)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("attack", SAMPLE_ROWS)
def test_attack_is_refused_in_every_event_shape(attack: Row, shape: str, harness: Harness) -> None:
    sent = attack.build(harness.kit)
    changes, event = shaped(shape, sent)
    run = harness.run(harness.handler(**changes), event)
    assert_refused_in(shape, run, attack.reason)
    assert_nothing_leaked(sent, run.output)


@pytest.mark.parametrize("shape", SHAPES)
def test_valid_response_is_allowed_in_every_event_shape(shape: str, harness: Harness) -> None:
    sent = harness.kit.valid()
    changes, event = shaped(shape, sent)
    run = harness.run(harness.handler(**changes), event)
    assert (run.decision, run.logged["decision"], run.logged["principal"]) == (
        "allow",
        "allow",
        samlkit.DEFAULT_NAME_ID,
    )
    if shape == "http-v2":
        assert run.response is not None
        assert run.response["isAuthorized"] is True
        assert run.response["context"]["sub"] == samlkit.DEFAULT_NAME_ID
    assert_nothing_leaked(sent, run.output)


def test_saml_header_mode_ignores_the_authorization_header(harness: Harness) -> None:
    sent = harness.kit.valid()
    event = request_event(REST_REQUEST, "Authorization", sent.value)
    run = harness.run(harness.handler(SAML_HEADER=SAML_HEADER), event)
    assert_refused(run, R.MISSING_CREDENTIAL)
    assert_nothing_leaked(sent, run.output)


def test_saml_header_sent_twice_is_ambiguous(harness: Harness) -> None:
    first, second = harness.kit.valid(), harness.kit.valid()
    event = request_event(REST_REQUEST, SAML_HEADER, None)
    event["multiValueHeaders"] = {SAML_HEADER: [first.encoded, second.encoded]}
    run = harness.run(harness.handler(SAML_HEADER=SAML_HEADER), event)
    assert_refused(run, R.AMBIGUOUS_CREDENTIAL)
    assert_nothing_leaked(first, run.output)
    assert_nothing_leaked(second, run.output)


def test_authorization_sent_twice_is_ambiguous(harness: Harness) -> None:
    first, second = harness.kit.valid(), harness.kit.valid()
    event = request_event(REST_REQUEST, "Authorization", None)
    event["multiValueHeaders"] = {"Authorization": [first.value, second.value]}
    run = harness.run(harness.handler(), event)
    assert_refused(run, R.AMBIGUOUS_CREDENTIAL)
    assert_nothing_leaked(first, run.output)


# --- latency (printed, not asserted) -----------------------------------------------------------------------


def test_validate_latency(idp: SamlIdp, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_saml_settings(saml_env(idp.key, SAML_REPLAY="reuse"))
    assert settings.replay == "reuse"
    validator = SamlValidator(settings.config, None)  # what create_handler builds for SAML_REPLAY=reuse
    encoded = b64(idp.response())
    validator.validate(encoded)  # warm up (python3-saml loads its schemas once)
    timings = []
    for _ in range(200):
        started = time.perf_counter()
        principal = validator.validate(encoded)
        timings.append(time.perf_counter() - started)
    assert principal.principal_id == samlkit.DEFAULT_NAME_ID
    median_ms = statistics.median(timings) * 1000
    p95_ms = statistics.quantiles(timings, n=20)[-1] * 1000
    with capsys.disabled():
        print(f"\nSAML validate latency over 200 calls: median {median_ms:.2f} ms, p95 {p95_ms:.2f} ms")
