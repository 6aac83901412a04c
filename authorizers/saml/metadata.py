"""The identity provider: from its metadata (file, https URL or inline XML) or given directly.

Metadata is parsed by python3-saml's parser (DTDs and entities forbidden); every signing
certificate it lists is kept, so a key rotation announced in the metadata just works.
"""

from __future__ import annotations

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
    text = source.strip()
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
        try:
            xml = Path(text).read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"{setting}: cannot read {text} ({type(exc).__name__})") from None
        where = text
    if len(xml) > MAX_METADATA_BYTES:
        raise ConfigurationError(f"{where}: metadata over {MAX_METADATA_BYTES} bytes")
    return _parse(xml, where)


def _parse(xml: bytes, where: str) -> IdentityProvider:
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)
    except Exception as exc:  # lxml's errors, DTDs refused, not metadata at all
        raise ConfigurationError(f"{where}: not usable IdP metadata ({type(exc).__name__})") from None
    idp = parsed.get("idp", {})
    entity_id = idp.get("entityId")
    certificates = list(idp.get("x509certMulti", {}).get("signing", []))
    if not certificates and idp.get("x509cert"):
        certificates = [idp["x509cert"]]
    if not isinstance(entity_id, str) or not entity_id:
        raise ConfigurationError(f"{where}: the metadata has no IdP entityID")
    if not certificates:
        raise ConfigurationError(f"{where}: the metadata has no signing certificate")
    return IdentityProvider(entity_id=entity_id, certificates=tuple(certificates))


def certificates_from(value: str, setting: str) -> tuple[str, ...]:
    """PEM certificates, inline or from a file; several allowed (rotation)."""
    text = value.strip()
    if not text.startswith("-----BEGIN"):
        try:
            text = Path(text).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{setting}: cannot read {value.strip()} ({type(exc).__name__})") from None
    blocks = [block.strip() for block in text.split("-----END CERTIFICATE-----") if block.strip()]
    certificates = []
    for block in blocks:
        if "-----BEGIN CERTIFICATE-----" not in block:
            raise ConfigurationError(f"{setting}: expected PEM certificates (-----BEGIN CERTIFICATE-----)")
        certificates.append(block + "\n-----END CERTIFICATE-----\n")
    if not certificates:
        raise ConfigurationError(f"{setting}: no certificate found")
    _check_certificates(certificates, setting)
    return tuple(certificates)


def _check_certificates(certificates: list[str], setting: str) -> None:
    from cryptography import x509

    for index, pem in enumerate(certificates, start=1):
        try:
            x509.load_pem_x509_certificate(pem.encode("ascii"))
        except ValueError:
            raise ConfigurationError(f"{setting}: certificate {index} is not a valid X.509 certificate") from None
