"""DSA signatures are deprecated: an assertion signed with DSA is refused, even by a trusted key."""

from __future__ import annotations

import base64
import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import (  # type: ignore[import-untyped, unused-ignore]
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureMethod,
)
from signxml.signer import XMLSigner  # type: ignore[import-untyped, unused-ignore]

from authorizers.handlers.saml import create_handler
from tests.conftest import outcome, token_event
from tests.samlkit import ACS_URL, IDP_ENTITY_ID, NSMAP, SP_ENTITY_ID, SamlIdp, shared_key


class _DeprecatedSigner(XMLSigner):  # type: ignore[misc, unused-ignore]
    def check_deprecated_methods(self) -> None:  # signxml's opt-in to produce this test case
        return None


def _dsa_key_and_certificate() -> tuple[Any, str]:
    key = dsa.generate_private_key(key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dsa test IdP")])
    now = datetime.datetime.now(tz=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def test_a_dsa_signed_assertion_is_refused_even_by_its_own_trusted_certificate(decision_log: Any) -> None:
    key, certificate = _dsa_key_and_certificate()
    # Start from an RSA-signed response, then sign its assertion again with DSA-SHA1.
    document = etree.fromstring(SamlIdp(IDP_ENTITY_ID, shared_key()).response())
    assertion = document.find("saml:Assertion", NSMAP)
    assert assertion is not None
    for signature in assertion.findall("ds:Signature", NSMAP):
        signature.getparent().replace(signature, etree.Element(f"{{{NSMAP['ds']}}}Signature", Id="placeholder"))
    signer = _DeprecatedSigner(
        signature_algorithm=SignatureMethod.DSA_SHA1,
        digest_algorithm=DigestAlgorithm.SHA1,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(assertion, key=key, cert=certificate, id_attribute="ID")
    document.replace(assertion, signed)
    encoded = base64.b64encode(etree.tostring(document)).decode("ascii")
    handler = create_handler(
        {
            "SAML_IDP_ENTITY_ID": IDP_ENTITY_ID,
            "SAML_IDP_CERT": certificate,  # the DSA key is the IdP's own, trusted one
            "SAML_SP_ENTITY_ID": SP_ENTITY_ID,
            "SAML_ACS_URL": ACS_URL,
        }
    )
    decision_log()
    assert outcome(handler, {**token_event("x"), "authorizationToken": f"SAML {encoded}"}) == ("unauthorized", None)
    (line,) = decision_log()[0]
    assert line["reason"] == "deprecated_algorithm"
