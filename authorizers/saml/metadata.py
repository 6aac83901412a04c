"""The identity provider: from its metadata (file, https URL or inline XML) or given directly.

Metadata is parsed by python3-saml's parser (DTDs and entities forbidden); every signing
certificate it lists is kept, so a key rotation announced in the metadata just works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from authorizers.errors import AuthorizerUnavailable, ConfigurationError

MAX_METADATA_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class IdentityProvider:
    entity_id: str
    certificates: tuple[str, ...]


def from_metadata(source: str, setting: str) -> IdentityProvider:
    """``source``: inline XML (starts with ``<``), an https URL (fetched now), or a file path."""
    text = source.strip().lstrip("\ufeff")
    if text.startswith("<"):
        xml, where = text.encode("utf-8"), f"{setting} (inline XML)"
    elif text.lower().startswith(("https://", "http://")):
        from authorizers.fetch import HttpJsonFetcher, check_url

        check_url(text, setting)
        try:
            xml = HttpJsonFetcher(max_bytes=MAX_METADATA_BYTES).fetch_bytes(text, "application/samlmetadata+xml")
        except AuthorizerUnavailable as exc:
            raise ConfigurationError(f"{setting}: cannot fetch the metadata ({exc})") from None
        where = text
    else:
        xml = _read_file(text, setting, MAX_METADATA_BYTES + 1)
        where = text
    if len(xml) > MAX_METADATA_BYTES:
        raise ConfigurationError(f"{setting}: {where}: metadata over {MAX_METADATA_BYTES} bytes")
    try:
        return _parse(xml)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{setting}: {where}: {exc}") from None


def _read_file(value: str, setting: str, limit: int) -> bytes:
    try:
        with Path(value).open("rb") as file:
            return file.read(limit)  # never more than the limit, whatever the file is
    except (OSError, ValueError) as exc:
        # A value pasted by mistake (a key, a certificate bundle) must not reach the log.
        shown = value if "\n" not in value and len(value) <= 256 else "the value given"
        raise ConfigurationError(f"{setting}: cannot read {shown} as a file ({type(exc).__name__})") from None


_IDP = "//md:EntityDescriptor[md:IDPSSODescriptor]"
# Keys for signing, or for any use; never one marked for encryption only.
_SIGNING = (
    "./md:IDPSSODescriptor/md:KeyDescriptor[not(@use) or @use='signing']/ds:KeyInfo/ds:X509Data/ds:X509Certificate"
)


def _parse(xml: bytes) -> IdentityProvider:
    from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

    try:
        document = OneLogin_Saml2_XML.to_etree(xml)  # DTDs and entities forbidden
    except Exception as exc:  # lxml's errors, DTDs refused
        raise ConfigurationError(f"not usable IdP metadata ({type(exc).__name__})") from None
    entities = OneLogin_Saml2_XML.query(document, _IDP)
    if not entities:
        raise ConfigurationError("the metadata has no IdP entityID (no EntityDescriptor with an IDPSSODescriptor)")
    entity = entities[0]
    entity_id = entity.get("entityID")
    if not isinstance(entity_id, str) or not entity_id.strip():
        raise ConfigurationError("the metadata has no IdP entityID")
    certificates = [
        "".join((OneLogin_Saml2_XML.element_text(node) or "").split())
        for node in OneLogin_Saml2_XML.query(entity, _SIGNING)
    ]
    if not certificates:
        raise ConfigurationError("the metadata has no signing certificate")
    for index, certificate in enumerate(certificates, start=1):
        _check_der(certificate, index)
    return IdentityProvider(entity_id=entity_id.strip(), certificates=tuple(dict.fromkeys(certificates)))


def _check_der(certificate: str, index: int) -> None:
    import base64
    import binascii

    from cryptography import x509

    try:
        x509.load_der_x509_certificate(base64.b64decode(certificate, validate=True))
    except (ValueError, binascii.Error):
        raise ConfigurationError(f"signing certificate {index} is not a valid X.509 certificate") from None


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def certificates_from(value: str, setting: str) -> tuple[str, ...]:
    """PEM certificates, inline or from a file; several allowed (rotation), nothing else."""
    text = value.strip()
    if not text.startswith("-----BEGIN"):
        text = _read_file(text, setting, 1024 * 1024).decode("ascii", errors="replace")
    blocks = _PEM_BLOCK.findall(text)
    if not blocks:
        raise ConfigurationError(f"{setting}: expected PEM certificates (-----BEGIN CERTIFICATE-----)")
    if any(label != "CERTIFICATE" for label, _ in blocks):
        # A key bundled with the certificate: refused, and never echoed.
        raise ConfigurationError(f"{setting}: only certificates are accepted (found a PEM block of another kind)")
    certificates = [f"-----BEGIN CERTIFICATE-----{body}-----END CERTIFICATE-----\n" for _, body in blocks]
    _check_certificates(certificates, setting)
    return tuple(certificates)


def _check_certificates(certificates: list[str], setting: str) -> None:
    from cryptography import x509

    for index, pem in enumerate(certificates, start=1):
        try:
            x509.load_pem_x509_certificate(pem.encode("ascii"))
        except ValueError:
            raise ConfigurationError(f"{setting}: certificate {index} is not a valid X.509 certificate") from None
