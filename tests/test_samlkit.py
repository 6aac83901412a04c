"""samlkit makes Responses python3-saml accepts; what python3-saml 1.16 (strict) does with each attack.

Two parts. First, the kit itself: the Responses it signs pass python3-saml in strict mode
with ``wantAssertionsSigned`` and ``rejectDeprecatedAlgorithm``, and each mutation is the
attack it claims to be (the signed element survives, the evil one is what a naive reader
sees). Second, a table of python3-saml's own verdict on every attack and profile
deviation, asserted as it is today. ``PYTHON3_SAML_ACCEPTS`` lists the rows python3-saml
lets through: the SAML authorizer's own checks have to cover those.
"""

from __future__ import annotations

import base64
import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from onelogin.saml2.errors import OneLogin_Saml2_ValidationError  # type: ignore[import-untyped, unused-ignore]
from onelogin.saml2.response import OneLogin_Saml2_Response  # type: ignore[import-untyped, unused-ignore]
from onelogin.saml2.settings import OneLogin_Saml2_Settings  # type: ignore[import-untyped, unused-ignore]

from tests import samlkit
from tests.samlkit import ACS_URL, IDP_ENTITY_ID, NSMAP, IdpKey, SamlIdp, b64, shared_key

EVIL = "mallory@example.com"
LONGER_NAME_ID = "alice@example.com.evil.com"  # registered by the attacker at the IdP
ACCEPTED = "accepted"

# ValidationError code -> constant name, so the table reads as python3-saml's own words.
VALIDATION_ERRORS: Mapping[int, str] = {
    value: name
    for name, value in vars(OneLogin_Saml2_ValidationError).items()
    if name.isupper() and isinstance(value, int)
}


@pytest.fixture(scope="module")
def idp() -> SamlIdp:
    return SamlIdp(IDP_ENTITY_ID, shared_key("idp"))


@pytest.fixture(scope="module")
def attacker() -> IdpKey:
    return shared_key("attacker")


def validated(idp: SamlIdp, xml: bytes, request_id: str | None = None, **security: Any) -> Any:
    """python3-saml's Response after a strict ``is_valid`` that raised nothing."""
    settings = OneLogin_Saml2_Settings(samlkit.python3_saml_settings(idp, **security), sp_validation_only=True)
    response = OneLogin_Saml2_Response(settings, b64(xml))
    assert response.is_valid(samlkit.python3_saml_request_data(), request_id=request_id, raise_exceptions=True)
    return response


def python3_saml_outcome(idp: SamlIdp, xml: bytes, request_id: str | None = None, **security: Any) -> str:
    """``accepted``, the ValidationError constant ``is_valid`` raised, or the exception class parsing raised."""
    settings = OneLogin_Saml2_Settings(samlkit.python3_saml_settings(idp, **security), sp_validation_only=True)
    try:
        response = OneLogin_Saml2_Response(settings, b64(xml))
    except Exception as exc:  # the constructor parses: DOCTYPE and XML errors surface here
        return type(exc).__name__
    try:
        response.is_valid(samlkit.python3_saml_request_data(), request_id=request_id, raise_exceptions=True)
    except OneLogin_Saml2_ValidationError as exc:
        return VALIDATION_ERRORS[exc.code]
    return ACCEPTED


def verify_with_libxmlsec(xml: bytes, key: IdpKey, *, resolve_entities: bool = False) -> dict[str, bool]:
    """Every ds:Signature checked by libxmlsec alone (IDs registered, no SAML rules): ID of its parent -> verified."""
    parser = etree.XMLParser(resolve_entities=resolve_entities, no_network=True)
    root = etree.fromstring(xml, parser)
    xmlsec.tree.add_ids(root, ["ID"])
    results = {}
    for signature in root.iter(f"{{{samlkit.DS_NS}}}Signature"):
        context = xmlsec.SignatureContext()
        context.key = xmlsec.Key.from_memory(key.cert_pem, xmlsec.constants.KeyDataFormatCertPem, None)
        try:
            context.verify(signature)
        except xmlsec.Error:
            results[signature.getparent().get("ID")] = False
        else:
            results[signature.getparent().get("ID")] = True
    return results


def c14n_without_signature(element: Any) -> bytes:
    """Exclusive c14n of ``element`` minus its own enveloped ds:Signature: what its digest covers."""
    clone = copy.deepcopy(element)
    signature = clone.find("ds:Signature", NSMAP)
    if signature is not None:
        clone.remove(signature)
    return bytes(etree.tostring(clone, method="c14n", exclusive=True))


# -- the kit -------------------------------------------------------------------------------------


def test_idp_key_material_is_consistent() -> None:
    key = shared_key("idp")
    assert shared_key("idp") is key
    assert shared_key("attacker") is not key
    der = base64.b64decode(key.cert_b64, validate=True)
    assert x509.load_der_x509_certificate(der) == key.certificate
    assert x509.load_pem_x509_certificate(key.cert_pem.encode()) == key.certificate
    assert key.cert_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert "-----" not in key.cert_b64 and "\n" not in key.cert_b64
    private = serialization.load_pem_private_key(key.key_pem.encode(), password=None)
    assert private.public_key().public_numbers() == key.certificate.public_key().public_numbers()  # type: ignore[union-attr]
    assert key.private_key.key_size == 2048


def test_response_shape(idp: SamlIdp) -> None:
    xml = idp.response(assertion_id="_a1", response_id="_r1", sign_response=True, in_response_to="_req")
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = samlkit.parse(xml)
    assert root.tag == f"{{{samlkit.SAMLP_NS}}}Response"
    assert (root.get("ID"), root.get("Destination"), root.get("InResponseTo")) == ("_r1", ACS_URL, "_req")
    assertion = root.find("saml:Assertion", NSMAP)
    for element, element_id in ((root, "_r1"), (assertion, "_a1")):
        # Schema order: the Signature comes right after the Issuer, and references the element's ID.
        first, second = list(element)[:2]
        assert first.tag == f"{{{samlkit.SAML_NS}}}Issuer"
        assert second.tag == f"{{{samlkit.DS_NS}}}Signature"
        assert second.get("Id") is None  # signxml's placeholder marker is gone
        assert second.find(".//ds:Reference", NSMAP).get("URI") == f"#{element_id}"
        algorithms = [node.get("Algorithm") for node in second.iterfind(".//*[@Algorithm]")]
        assert algorithms == [
            samlkit.EXC_C14N,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
            samlkit.EXC_C14N,
            "http://www.w3.org/2001/04/xmlenc#sha256",
        ]
    subject_data = assertion.find("saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", NSMAP)
    assert (subject_data.get("Recipient"), subject_data.get("InResponseTo")) == (ACS_URL, "_req")
    conditions = assertion.find("saml:Conditions", NSMAP)
    assert subject_data.get("NotOnOrAfter") == conditions.get("NotOnOrAfter")
    assert conditions.findtext("saml:AudienceRestriction/saml:Audience", namespaces=NSMAP) == samlkit.SP_ENTITY_ID


def test_response_options_that_leave_things_out(idp: SamlIdp) -> None:
    root = samlkit.parse(
        idp.response(audience=None, destination=None, recipient=None, attributes={}, sign_assertion=False)
    )
    assert root.get("Destination") is None
    assert root.find(".//saml:AudienceRestriction", NSMAP) is None
    assert root.find(".//saml:SubjectConfirmationData", NSMAP).get("Recipient") is None
    assert root.find(".//saml:AttributeStatement", NSMAP) is None
    assert root.find(".//ds:Signature", NSMAP) is None


def test_times_follow_now_and_offsets(idp: SamlIdp) -> None:
    now = 1_700_000_000  # 2023-11-14T22:13:20Z
    root = samlkit.parse(idp.response(now=now, not_before=-30, not_on_or_after=120, session_not_on_or_after=3600))
    conditions = root.find(".//saml:Conditions", NSMAP)
    assert root.get("IssueInstant") == "2023-11-14T22:13:20Z"
    assert conditions.get("NotBefore") == "2023-11-14T22:12:50Z"
    assert conditions.get("NotOnOrAfter") == "2023-11-14T22:15:20Z"
    assert root.find(".//saml:AuthnStatement", NSMAP).get("SessionNotOnOrAfter") == "2023-11-14T23:13:20Z"


def test_extra_assertions_are_unsigned_copies(idp: SamlIdp) -> None:
    root = samlkit.parse(idp.response(extra_assertions=2))
    assertions = root.findall("saml:Assertion", NSMAP)
    assert len(assertions) == 3
    assert [a.find("ds:Signature", NSMAP) is not None for a in assertions] == [True, False, False]
    assert len({a.get("ID") for a in assertions}) == 3


def test_b64_is_standard_base64() -> None:
    assert b64(b"\xfb\xff") == "+/8="
    assert base64.b64decode(b64(b"<x/>")) == b"<x/>"


# -- python3-saml accepts what the kit signs -------------------------------------------------------------


@pytest.mark.parametrize(
    ("sign_assertion", "sign_response", "security"),
    [
        (True, False, {}),
        (False, True, {"wantAssertionsSigned": False, "wantMessagesSigned": True}),
        (True, True, {"wantMessagesSigned": True}),
    ],
    ids=["assertion-signed", "response-signed", "both-signed"],
)
def test_python3_saml_strict_accepts_the_signed_response(
    idp: SamlIdp, sign_assertion: bool, sign_response: bool, security: dict[str, Any]
) -> None:
    attributes = {"groups": ["admins", "vets"], "email": ["bob@example.com"]}
    xml = idp.response(
        name_id="bob@example.com", attributes=attributes, sign_assertion=sign_assertion, sign_response=sign_response
    )
    response = validated(idp, xml, **security)
    assert response.get_nameid() == "bob@example.com"
    assert response.get_nameid_format() == samlkit.NAMEID_EMAIL
    assert response.get_attributes() == attributes
    assert response.get_issuers() == [IDP_ENTITY_ID]
    assert response.get_audiences() == [samlkit.SP_ENTITY_ID]


def test_signed_by_another_key_is_refused(idp: SamlIdp, attacker: IdpKey) -> None:
    assert python3_saml_outcome(idp, idp.response(signing_key=attacker)) == "INVALID_SIGNATURE"
    # The same document is genuine for an SP that trusts the attacker's key.
    assert python3_saml_outcome(SamlIdp(IDP_ENTITY_ID, attacker), idp.response(signing_key=attacker)) == ACCEPTED


def test_rsa_sha1_is_refused_only_with_reject_deprecated_algorithm(idp: SamlIdp) -> None:
    xml = idp.response(algorithm="rsa-sha1")
    signature = samlkit.parse(xml).find(".//ds:Signature", NSMAP)
    assert (
        signature.find(".//ds:SignatureMethod", NSMAP).get("Algorithm") == "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    )
    assert signature.find(".//ds:DigestMethod", NSMAP).get("Algorithm") == "http://www.w3.org/2000/09/xmldsig#sha1"
    assert python3_saml_outcome(idp, xml) == "DEPRECATED_SIGNATURE_METHOD"
    # python3-saml's own default is rejectDeprecatedAlgorithm=False: the setting is what refuses SHA-1.
    assert python3_saml_outcome(idp, xml, rejectDeprecatedAlgorithm=False) == ACCEPTED


def test_tampered_name_id_breaks_the_signature(idp: SamlIdp) -> None:
    tampered = samlkit.tamper_name_id(idp.response(), EVIL)
    assert samlkit.naive_name_ids(tampered) == [EVIL]
    assert list(verify_with_libxmlsec(tampered, idp.key).values()) == [False]
    assert python3_saml_outcome(idp, tampered) == "INVALID_SIGNATURE"


def test_in_response_to_is_compared_only_when_the_caller_passes_the_request_id(idp: SamlIdp) -> None:
    xml = idp.response(in_response_to="_request-1")
    assert python3_saml_outcome(idp, xml, request_id="_request-2") == "WRONG_INRESPONSETO"
    assert python3_saml_outcome(idp, xml, request_id="_request-1") == ACCEPTED
    assert python3_saml_outcome(idp, xml) == ACCEPTED


# -- the mutations are the attacks they claim to be ------------------------------------------------------


def _signed_for_xsw(idp: SamlIdp, n: int) -> bytes:
    """XSW1-2 wrap a signed Response, XSW3-8 a signed Assertion."""
    return idp.response(sign_assertion=n > 2, sign_response=n <= 2)


# Whether libxmlsec alone (IDs registered, no SAML rules) still verifies the original signature
# after the mutation. False where the signed copy ends up inside ds:Signature: the
# enveloped-signature transform removes that whole subtree, so the digest cannot match.
SIGNATURE_VERIFIES_AFTER_XSW = {1: False, 2: True, 3: True, 4: True, 5: True, 6: False, 7: True, 8: False}


@pytest.mark.parametrize("n", range(1, 9))
def test_xsw_keeps_the_signed_element_and_shows_evil_content(idp: SamlIdp, n: int) -> None:
    signed = _signed_for_xsw(idp, n)
    original = samlkit.parse(signed)
    signed_element = original if n <= 2 else original.find("saml:Assertion", NSMAP)
    signed_id = signed_element.get("ID")

    wrapped = samlkit.xsw(n, signed, EVIL)
    root = samlkit.parse(wrapped)
    same_id = root.xpath("//*[@ID=$id]", id=signed_id)
    assert len(same_id) == 1, "the signed element is there once, under its own ID"
    assert c14n_without_signature(same_id[0]) == c14n_without_signature(signed_element)
    assert EVIL in samlkit.naive_name_ids(wrapped)
    assert samlkit.DEFAULT_NAME_ID in samlkit.naive_name_ids(wrapped)
    # What a reader that ignores the signature's Reference picks: the root Response and its
    # own Assertion (XSW1-2), the Response's first Assertion child (XSW3-6, 8), the first
    # Assertion in document order (XSW7, inside Extensions).
    if n <= 2:
        assert root.get("ID") != signed_id
        evil = root.find("saml:Assertion", NSMAP)
    else:
        evil = root.find("samlp:Extensions/saml:Assertion" if n == 7 else "saml:Assertion", NSMAP)
        assert evil.get("ID") != signed_id
    assert evil.findtext("saml:Subject/saml:NameID", namespaces=NSMAP) == EVIL
    verified = verify_with_libxmlsec(wrapped, idp.key)
    assert any(verified.values()) is SIGNATURE_VERIFIES_AFTER_XSW[n]


def test_xsw_needs_the_right_signed_element(idp: SamlIdp) -> None:
    with pytest.raises(ValueError, match="Response is not signed"):
        samlkit.xsw(1, idp.response(), EVIL)
    with pytest.raises(ValueError, match="Assertion is not signed"):
        samlkit.xsw(3, idp.response(sign_assertion=False, sign_response=True), EVIL)
    with pytest.raises(ValueError, match="XSW9"):
        samlkit.xsw(9, idp.response(), EVIL)


def test_name_id_comment_keeps_the_signature_and_truncates_a_naive_read(idp: SamlIdp) -> None:
    signed = idp.response(name_id=LONGER_NAME_ID)
    commented = samlkit.with_name_id_comment(signed, "alice@example.com")
    assert b">alice@example.com<!---->.evil.com</saml:NameID>" in commented
    assert samlkit.naive_name_ids(commented) == ["alice@example.com"]
    assert list(verify_with_libxmlsec(commented, idp.key).values()) == [True]
    # python3-saml parses with remove_comments=True: the two text pieces join again.
    response = validated(idp, commented)
    assert response.get_nameid() == LONGER_NAME_ID


def test_internal_entity_keeps_the_signature_for_a_resolving_parser(idp: SamlIdp) -> None:
    with_entity = samlkit.with_doctype(idp.response(), "internal")
    assert b'<!ENTITY name "alice@example.com">' in with_entity
    assert b">&name;</saml:NameID>" in with_entity
    assert list(verify_with_libxmlsec(with_entity, idp.key, resolve_entities=True).values()) == [True]


@pytest.mark.parametrize(
    ("kind", "declaration", "reference"),
    [
        ("external", b'<!ENTITY xxe SYSTEM "file:///etc/passwd">', b"<samlp:StatusMessage>&xxe;</samlp:StatusMessage>"),
        ("billion_laughs", b'<!ENTITY lol1 "&lol0;&lol0;', b"<samlp:StatusMessage>&lol9;</samlp:StatusMessage>"),
    ],
)
def test_doctype_variants(idp: SamlIdp, kind: samlkit.DoctypeKind, declaration: bytes, reference: bytes) -> None:
    xml = samlkit.with_doctype(idp.response(), kind)
    assert b"<!DOCTYPE samlp:Response [" in xml
    assert declaration in xml
    assert reference in xml


def test_strip_and_add_unsigned(idp: SamlIdp) -> None:
    stripped = samlkit.strip_signature(idp.response(sign_response=True))
    assert b"Signature" not in stripped
    extra = samlkit.add_unsigned_assertion(idp.response(), EVIL)
    assert samlkit.naive_name_ids(extra) == [samlkit.DEFAULT_NAME_ID, EVIL]
    assert list(verify_with_libxmlsec(extra, idp.key).values()) == [True]


# -- what python3-saml 1.16 strict does with each attack ----------------------------------------------------


@dataclass(frozen=True)
class Case:
    build: Callable[[SamlIdp, IdpKey], bytes]
    security: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    replay: bool = False  # validate once (accepted) first: the outcome is the second time's

    def outcome(self, idp: SamlIdp, attacker: IdpKey) -> str:
        xml = self.build(idp, attacker)
        if self.replay:
            validated(idp, xml, self.request_id, **self.security)
        return python3_saml_outcome(idp, xml, self.request_id, **self.security)


RESPONSE_SIGNED = {"wantAssertionsSigned": False, "wantMessagesSigned": True}


def _xsw_case(n: int) -> Case:
    security = RESPONSE_SIGNED if n <= 2 else {}
    return Case(lambda idp, _: samlkit.xsw(n, _signed_for_xsw(idp, n), EVIL), security)


# Settings: samlkit.python3_saml_settings (strict, wantAssertionsSigned, rejectDeprecatedAlgorithm,
# wantNameId) unless the case says otherwise. Verdict: ACCEPTED, the OneLogin_Saml2_ValidationError
# constant is_valid raised, or the exception class the constructor (the parser) raised.
PYTHON3_SAML_VERDICTS: dict[str, tuple[Case, str]] = {
    # Signature wrapping: python3-saml counts //saml:Assertion anywhere in the document
    # before it looks at any signature, so every variant stops there.
    **{f"xsw{n}": (_xsw_case(n), "WRONG_NUMBER_OF_ASSERTIONS") for n in range(1, 9)},
    "name_id_comment": (
        Case(
            lambda idp, _: samlkit.with_name_id_comment(idp.response(name_id=LONGER_NAME_ID), samlkit.DEFAULT_NAME_ID)
        ),
        ACCEPTED,
    ),
    "doctype_internal_entity": (Case(lambda idp, _: samlkit.with_doctype(idp.response(), "internal")), "DTDForbidden"),
    "doctype_external_entity": (Case(lambda idp, _: samlkit.with_doctype(idp.response(), "external")), "DTDForbidden"),
    # libxml2's entity amplification limit trips while parsing, before python3-saml's DTD check.
    "doctype_billion_laughs": (
        Case(lambda idp, _: samlkit.with_doctype(idp.response(), "billion_laughs")),
        "XMLSyntaxError",
    ),
    "signature_stripped": (Case(lambda idp, _: samlkit.strip_signature(idp.response())), "NO_SIGNED_ASSERTION"),
    "signature_stripped_nothing_required": (
        Case(lambda idp, _: samlkit.strip_signature(idp.response()), {"wantAssertionsSigned": False}),
        "NO_SIGNATURE_FOUND",
    ),
    "only_response_signed": (
        Case(lambda idp, _: idp.response(sign_assertion=False, sign_response=True)),
        "NO_SIGNED_ASSERTION",
    ),
    "assertion_signed_by_other_key": (Case(lambda idp, key: idp.response(signing_key=key)), "INVALID_SIGNATURE"),
    "response_signed_by_other_key": (
        Case(lambda idp, key: idp.response(sign_assertion=False, sign_response=True, signing_key=key), RESPONSE_SIGNED),
        "INVALID_SIGNATURE",
    ),
    "rsa_sha1": (Case(lambda idp, _: idp.response(algorithm="rsa-sha1")), "DEPRECATED_SIGNATURE_METHOD"),
    "name_id_tampered": (Case(lambda idp, _: samlkit.tamper_name_id(idp.response(), EVIL)), "INVALID_SIGNATURE"),
    "extra_unsigned_assertion": (
        Case(lambda idp, _: samlkit.add_unsigned_assertion(idp.response(), EVIL)),
        "WRONG_NUMBER_OF_ASSERTIONS",
    ),
    "two_assertions_in_a_signed_response": (
        Case(
            lambda idp, _: idp.response(sign_assertion=False, sign_response=True, extra_assertions=1), RESPONSE_SIGNED
        ),
        "WRONG_NUMBER_OF_ASSERTIONS",
    ),
    # Profile checks.
    "wrong_audience": (Case(lambda idp, _: idp.response(audience="https://other.example.com/sp")), "WRONG_AUDIENCE"),
    "no_audience_restriction": (Case(lambda idp, _: idp.response(audience=None)), ACCEPTED),
    "wrong_destination": (
        Case(lambda idp, _: idp.response(destination="https://evil.example.com/saml/acs")),
        "WRONG_DESTINATION",
    ),
    "no_destination": (Case(lambda idp, _: idp.response(destination=None)), ACCEPTED),
    "destination_extending_the_acs_url": (Case(lambda idp, _: idp.response(destination=ACS_URL + "-evil/x")), ACCEPTED),
    "wrong_recipient": (
        Case(lambda idp, _: idp.response(recipient="https://evil.example.com/saml/acs")),
        "WRONG_SUBJECTCONFIRMATION",
    ),
    "recipient_containing_the_acs_url": (
        Case(lambda idp, _: idp.response(recipient="https://evil.example.com/?next=" + ACS_URL)),
        ACCEPTED,
    ),
    "no_recipient": (Case(lambda idp, _: idp.response(recipient=None)), ACCEPTED),
    "wrong_issuer": (Case(lambda idp, _: idp.response(issuer="https://evil.example.com/idp")), "WRONG_ISSUER"),
    "expired": (Case(lambda idp, _: idp.response(now=_ago(1000))), "ASSERTION_EXPIRED"),
    # Conditions get python3-saml's fixed 300 s clock drift; SubjectConfirmationData gets none.
    "subject_confirmation_expired_within_drift": (
        Case(lambda idp, _: idp.response(now=_ago(400))),
        "WRONG_SUBJECTCONFIRMATION",
    ),
    "not_yet_valid": (Case(lambda idp, _: idp.response(not_before=400)), "ASSERTION_TOO_EARLY"),
    "not_before_within_drift": (Case(lambda idp, _: idp.response(not_before=200)), ACCEPTED),
    "session_not_on_or_after_passed": (
        Case(lambda idp, _: idp.response(session_not_on_or_after=-10)),
        "SESSION_EXPIRED",
    ),
    "status_not_success": (
        Case(lambda idp, _: idp.response(status=samlkit.STATUS_RESPONDER)),
        "STATUS_CODE_IS_NOT_SUCCESS",
    ),
    "no_attribute_statement": (Case(lambda idp, _: idp.response(attributes={})), "NO_ATTRIBUTESTATEMENT"),
    "in_response_to_mismatch": (
        Case(lambda idp, _: idp.response(in_response_to="_request-1"), request_id="_request-2"),
        "WRONG_INRESPONSETO",
    ),
    "unsolicited_with_in_response_to": (Case(lambda idp, _: idp.response(in_response_to="_request-1")), ACCEPTED),
    "replayed": (Case(lambda idp, _: idp.response(), replay=True), ACCEPTED),
}

# What python3-saml 1.16 strict lets through, and why it matters. The SAML authorizer's own
# checks must refuse these (or the documentation must say why they are fine).
PYTHON3_SAML_ACCEPTS: dict[str, str] = {
    # Safe as read through python3-saml: its parser drops comments and get_nameid() returns the
    # whole "alice@example.com.evil.com". Unsafe for any code that reads NameID with its own parser.
    "name_id_comment": "NameID split by a comment; python3-saml's get_nameid() returns the whole text",
    # The audience is compared only when an AudienceRestriction is present.
    "no_audience_restriction": "missing AudienceRestriction accepted",
    # Destination is optional, and compared with startswith() against the request URL.
    "no_destination": "missing Destination accepted",
    "destination_extending_the_acs_url": "Destination ACS_URL + '-evil/x' accepted (prefix match)",
    # Recipient is optional, and compared as `current_url in recipient` (substring).
    "recipient_containing_the_acs_url": "Recipient 'https://evil.example.com/?next=' + ACS_URL accepted",
    "no_recipient": "missing Recipient accepted",
    # A fixed ALLOWED_CLOCK_DRIFT of 300 s on Conditions, not configurable.
    "not_before_within_drift": "NotBefore 200 s in the future accepted",
    # InResponseTo is compared only when the caller passes request_id.
    "unsolicited_with_in_response_to": "InResponseTo unchecked without request_id",
    # No replay cache: the same Response is valid until it expires.
    "replayed": "the same Response accepted twice",
}


def _ago(seconds: float) -> float:
    return time.time() - seconds


@pytest.mark.parametrize("name", PYTHON3_SAML_VERDICTS)
def test_python3_saml_verdict(idp: SamlIdp, attacker: IdpKey, name: str) -> None:
    case, verdict = PYTHON3_SAML_VERDICTS[name]
    assert case.outcome(idp, attacker) == verdict


def test_accepted_rows_are_the_documented_ones() -> None:
    accepted = {name for name, (_, verdict) in PYTHON3_SAML_VERDICTS.items() if verdict == ACCEPTED}
    assert accepted == set(PYTHON3_SAML_ACCEPTS)


@pytest.mark.parametrize("n", range(1, 9))
def test_xsw_on_a_response_with_both_signatures(idp: SamlIdp, n: int) -> None:
    wrapped = samlkit.xsw(n, idp.response(sign_response=True), EVIL)
    assert python3_saml_outcome(idp, wrapped, wantMessagesSigned=True) == "WRONG_NUMBER_OF_ASSERTIONS"
