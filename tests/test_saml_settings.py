"""SAML settings: the identity provider (certificates or metadata), this API as its service
provider, the replay store, and every refusal, each naming its variable.

No internet: metadata URLs point at a loopback server started here, and the tests that
must not connect anywhere run with every socket connection and name lookup refused.
Certificates are generated once for the module (RSA 2048, self-signed).
"""

from __future__ import annotations

import base64
import datetime
import json
import socket
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from authorizers.errors import ConfigurationError
from authorizers.handlers.runtime import AuthorizerHandler, decide
from authorizers.handlers.saml import SamlAuthenticator, create_handler
from authorizers.local_issuer import public_jwk
from authorizers.saml.metadata import MAX_METADATA_BYTES
from authorizers.saml.replay import DynamoDbReplayCache, InMemoryReplayCache
from authorizers.settings import (
    COGNITO_VARIABLES,
    KNOWN_VARIABLES,
    SAML_VARIABLES,
    SamlSettings,
    load_cognito_settings,
    load_jwt_settings,
    load_saml_settings,
)
from policies.response import ResponseFormat
from tests.conftest import refusal_message, run_python
from tests.keyserver import KeyServer

ROOT = Path(__file__).resolve().parent.parent
IDP = "https://idp.example.com/saml/metadata"
SP = "https://api.example.com/saml"
ACS = "https://api.example.com/saml/acs"
METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/prod/GET/pets"


def self_signed(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def der_base64(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


# Key generation is the slow part: two keys for the module. The encryption certificate
# reuses the first key under another name, so it differs from both signing certificates.
KEY_A = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_B = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CERT_A, CERT_B = self_signed(KEY_A, "idp signing 2024"), self_signed(KEY_B, "idp signing 2025")
CERT_ENCRYPTION = self_signed(KEY_A, "idp encryption")
PEM_A, PEM_B = pem(CERT_A), pem(CERT_B)
DER_A, DER_B, DER_ENCRYPTION = der_base64(CERT_A), der_base64(CERT_B), der_base64(CERT_ENCRYPTION)
KEY_PEM_A = KEY_A.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode("ascii")
KEY_BODY_A = "".join(KEY_PEM_A.splitlines()[1:-1])

ENV = {"SAML_IDP_ENTITY_ID": IDP, "SAML_IDP_CERT": PEM_A, "SAML_SP_ENTITY_ID": SP, "SAML_ACS_URL": ACS}


def without(environ: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k not in names}


def refused(environ: dict[str, str], *names: str) -> str:
    return refusal_message(load_saml_settings, environ, *names)


def body(certificate: str) -> str:
    """A certificate as base64 DER, whether it came as PEM or as base64 (python3-saml's form)."""
    lines = [line.strip() for line in certificate.strip().splitlines()]
    return "".join(line for line in lines if not line.startswith("-----"))


def python3_saml_certificates(settings: SamlSettings) -> list[str]:
    """The signing certificates python3-saml will verify signatures with."""
    idp = settings.config.settings.get_idp_data()
    return [body(cert) for cert in idp["x509certMulti"]["signing"]]


# IdP metadata as identity providers publish it ----------------------------------------------

SIGNING, ENCRYPTION = "signing", "encryption"
METADATA_KEYS = ((SIGNING, DER_A), (SIGNING, DER_B), (ENCRYPTION, DER_ENCRYPTION))


def key_descriptor(use: str | None, certificate: str) -> str:
    wrapped = "\n".join(textwrap.wrap(certificate, 64))  # as Shibboleth and ADFS lay it out
    use_attribute = f' use="{use}"' if use else ""
    return f"""
    <md:KeyDescriptor{use_attribute}>
      <ds:KeyInfo>
        <ds:X509Data>
          <ds:X509Certificate>
{wrapped}
          </ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>"""


def idp_metadata(
    *,
    entity_id: str | None = IDP,
    keys: Sequence[tuple[str | None, str]] = METADATA_KEYS,
    role: str = "IDPSSODescriptor",
    prolog: str = "",
) -> str:
    """An ``md:EntityDescriptor`` with one SSO role; by default two signing keys and one encryption key."""
    entity = f' entityID="{entity_id}"' if entity_id is not None else ""
    descriptors = "".join(key_descriptor(use, certificate) for use, certificate in keys)
    return f"""<?xml version="1.0" encoding="UTF-8"?>{prolog}
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#"{entity}
    ID="_a5b8c7d9e0f1" validUntil="2099-01-01T00:00:00Z">
  <md:{role} WantAuthnRequestsSigned="false"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{descriptors}
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="https://idp.example.com/saml/slo"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="https://idp.example.com/saml/sso"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="https://idp.example.com/saml/sso"/>
  </md:{role}>
  <md:Organization>
    <md:OrganizationName xml:lang="en">Example Corp</md:OrganizationName>
    <md:OrganizationDisplayName xml:lang="en">Example Corp</md:OrganizationDisplayName>
    <md:OrganizationURL xml:lang="en">https://www.example.com/</md:OrganizationURL>
  </md:Organization>
  <md:ContactPerson contactType="technical">
    <md:EmailAddress>mailto:sso@example.com</md:EmailAddress>
  </md:ContactPerson>
</md:EntityDescriptor>
"""


METADATA = idp_metadata()
MD_ENV = {**without(ENV, "SAML_IDP_ENTITY_ID", "SAML_IDP_CERT"), "SAML_IDP_METADATA": METADATA}
METADATA_PATH = "/metadata.xml"


@pytest.fixture(scope="module")
def server() -> Iterator[KeyServer]:
    """A loopback server for metadata URLs; tests set the paths they use and read the counts."""
    with KeyServer() as running:
        yield running


def serve(server: KeyServer, path: str, document: str | bytes, **options: Any) -> str:
    data = document.encode("utf-8") if isinstance(document, str) else document
    server.serve_body(path, data, content_type="application/samlmetadata+xml", **options)
    return server.url(path)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every name lookup or connection the test attempts; each is refused."""
    attempts: list[tuple[Any, ...]] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def metadata_source(where: str, document: str | bytes, tmp_path: Path, server: KeyServer) -> str:
    """``document`` as SAML_IDP_METADATA takes it: ``inline`` XML, a ``file`` path or a ``url``."""
    data = document.encode("utf-8") if isinstance(document, str) else document
    if where == "inline":
        return data.decode("utf-8")
    if where == "file":
        path = tmp_path / "idp-metadata.xml"
        path.write_bytes(data)
        return str(path)
    return serve(server, f"/{tmp_path.name}.xml", data)


# The base environments -----------------------------------------------------------------------


def test_the_base_environments_are_accepted() -> None:
    # Every refusal below changes one of these only in the variables it names.
    assert load_saml_settings(ENV).config.idp_entity_id == IDP
    assert load_saml_settings(MD_ENV).config.idp_entity_id == IDP


def test_defaults() -> None:
    settings = load_saml_settings(ENV)
    config = settings.config
    assert (config.sp_entity_id, config.acs_url) == (SP, ACS)
    assert (config.groups_attribute, config.clock_skew_seconds) == (None, 60)
    assert (settings.replay, settings.replay_table, settings.header) == ("once", None, None)
    assert (settings.response.response_format, settings.response.context_claims) == (ResponseFormat.AUTO, ())
    assert settings.response.authorization.rules is None


def test_settings_are_frozen() -> None:
    settings = load_saml_settings(ENV)
    with pytest.raises(AttributeError):
        settings.replay = "reuse"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        settings.config.sp_entity_id = "https://other.example.com"  # type: ignore[misc]


# 1. The IdP by entity id and certificate(s) --------------------------------------------------


def test_entity_id_and_an_inline_certificate() -> None:
    settings = load_saml_settings({**ENV, "SAML_IDP_ENTITY_ID": f"  {IDP} "})
    assert settings.config.idp_entity_id == IDP
    assert [body(cert) for cert in settings.config.idp_certificates] == [DER_A]
    assert python3_saml_certificates(settings) == [DER_A]
    assert settings.config.settings.get_idp_data()["entityId"] == IDP


def test_certificate_from_a_pem_file(tmp_path: Path) -> None:
    path = tmp_path / "idp.pem"
    path.write_text(PEM_A)
    settings = load_saml_settings({**ENV, "SAML_IDP_CERT": f" {path} "})
    assert [body(cert) for cert in settings.config.idp_certificates] == [DER_A]
    assert python3_saml_certificates(settings) == [DER_A]


@pytest.mark.parametrize("where", ["inline", "file"])
@pytest.mark.parametrize("separator", ["", "\n", "\n\n"])
def test_two_certificates_for_a_rotation(tmp_path: Path, where: str, separator: str) -> None:
    both = PEM_A + separator + PEM_B
    if where == "file":
        path = tmp_path / "idp-rotation.pem"
        path.write_text(both)
        both = str(path)
    settings = load_saml_settings({**ENV, "SAML_IDP_CERT": both})
    assert [body(cert) for cert in settings.config.idp_certificates] == [DER_A, DER_B]
    assert python3_saml_certificates(settings) == [DER_A, DER_B]


def test_certificate_with_windows_line_ends() -> None:
    settings = load_saml_settings({**ENV, "SAML_IDP_CERT": PEM_A.replace("\n", "\r\n")})
    assert python3_saml_certificates(settings) == [DER_A]


def garbled(certificate: str) -> str:
    """The PEM frame kept, the base64 between BEGIN and END replaced by other valid base64."""
    return (
        "-----BEGIN CERTIFICATE-----\n"
        + base64.b64encode(b"not a certificate" * 8).decode()
        + "\n"
        + ("-----END CERTIFICATE-----\n")
    )


def truncated(certificate: str) -> str:
    lines = certificate.splitlines()
    return "\n".join([*lines[:5], lines[-1]]) + "\n"


PUBLIC_KEY_PEM = (
    KEY_A.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode("ascii")
)
RSA_KEY_PEM = KEY_A.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
).decode("ascii")

# (SAML_IDP_CERT, a piece of the message); the variable is named by every one.
CERTIFICATE_REFUSALS = [
    pytest.param("hello", "cannot read", id="not-pem"),
    pytest.param(DER_A, "cannot read", id="base64-der-without-pem-frame"),
    pytest.param(KEY_PEM_A, "only certificates are accepted", id="pkcs8-private-key"),
    pytest.param(RSA_KEY_PEM, "only certificates are accepted", id="pkcs1-private-key"),
    pytest.param(PUBLIC_KEY_PEM, "only certificates are accepted", id="public-key"),
    pytest.param(garbled(PEM_A), "certificate 1 is not a valid X.509 certificate", id="garbage-between-begin-end"),
    pytest.param(truncated(PEM_A), "certificate 1 is not a valid X.509 certificate", id="truncated"),
    pytest.param(PEM_A + garbled(PEM_B), "certificate 2 is not a valid", id="second-certificate-garbage"),
    pytest.param(PEM_A + KEY_PEM_A, "only certificates are accepted", id="certificate-then-private-key"),
    pytest.param("-----BEGIN CERTIFICATE-----", "expected PEM certificates", id="begin-line-only"),
    pytest.param("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----", "not a valid", id="empty-frame"),
    pytest.param(
        "/nonexistent/idp.pem", "cannot read /nonexistent/idp.pem as a file (FileNotFoundError)", id="missing-file"
    ),
]


@pytest.mark.parametrize(("value", "fragment"), CERTIFICATE_REFUSALS)
def test_certificate_refused(value: str, fragment: str) -> None:
    assert fragment in refused({**ENV, "SAML_IDP_CERT": value}, "SAML_IDP_CERT")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "expected PEM certificates"),
        (b"\xff\xfe" + PEM_A.encode("utf-16-le"), "expected PEM certificates"),
        (KEY_PEM_A.encode(), "only certificates are accepted"),
        (CERT_A.public_bytes(serialization.Encoding.DER), "expected PEM certificates"),
    ],
    ids=["empty", "utf-16", "private-key", "der"],
)
def test_certificate_file_refused(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "idp.pem"
    path.write_bytes(content)
    assert fragment in refused({**ENV, "SAML_IDP_CERT": str(path)}, "SAML_IDP_CERT")


def test_certificate_path_that_is_a_directory(tmp_path: Path) -> None:
    assert "IsADirectoryError" in refused({**ENV, "SAML_IDP_CERT": str(tmp_path)}, "SAML_IDP_CERT")


def test_private_key_before_a_certificate_is_refused() -> None:
    message = refused({**ENV, "SAML_IDP_CERT": KEY_PEM_A + PEM_A}, "SAML_IDP_CERT")
    assert KEY_BODY_A[:64] not in message


def test_refusal_does_not_repeat_key_material() -> None:
    pasted = f"Bag Attributes\n    friendlyName: idp\n{KEY_PEM_A}Bag Attributes\n    friendlyName: idp\n{PEM_A}"
    message = refused({**ENV, "SAML_IDP_CERT": pasted}, "SAML_IDP_CERT")
    assert KEY_BODY_A[:64] not in message


# Which IdP variables go together: (environment, variables named, a piece of the message)
IDP_SOURCE_REFUSALS = [
    pytest.param(without(ENV, "SAML_IDP_CERT"), ("SAML_IDP_CERT", "SAML_IDP_ENTITY_ID"), "is required", id="no-cert"),
    pytest.param({**ENV, "SAML_IDP_CERT": "  "}, ("SAML_IDP_CERT",), "is required", id="blank-cert"),
    pytest.param(without(ENV, "SAML_IDP_ENTITY_ID"), ("SAML_IDP_ENTITY_ID",), "is required", id="no-entity-id"),
    pytest.param({**ENV, "SAML_IDP_ENTITY_ID": " "}, ("SAML_IDP_ENTITY_ID",), "is required", id="blank-entity-id"),
    pytest.param(
        without(ENV, "SAML_IDP_ENTITY_ID", "SAML_IDP_CERT"),
        ("SAML_IDP_METADATA", "SAML_IDP_ENTITY_ID", "SAML_IDP_CERT"),
        "is required",
        id="no-idp-at-all",
    ),
    pytest.param({**ENV, "SAML_IDP_METADATA": METADATA}, ("SAML_IDP_METADATA",), "not both", id="metadata-and-both"),
    pytest.param({**MD_ENV, "SAML_IDP_ENTITY_ID": IDP}, ("SAML_IDP_METADATA",), "not both", id="metadata-and-entity"),
    pytest.param({**MD_ENV, "SAML_IDP_CERT": PEM_A}, ("SAML_IDP_METADATA",), "not both", id="metadata-and-cert"),
]


@pytest.mark.parametrize(("environ", "names", "fragment"), IDP_SOURCE_REFUSALS)
def test_idp_source_refused(environ: dict[str, str], names: tuple[str, ...], fragment: str) -> None:
    assert fragment in refused(environ, *names)


def test_metadata_and_certificate_together_are_refused_before_any_fetch(
    connections: list[tuple[Any, ...]],
) -> None:
    environ = {**ENV, "SAML_IDP_METADATA": "https://idp.example.com/metadata"}
    assert "not both" in refused(environ, "SAML_IDP_METADATA")
    assert connections == []


# 2. IdP metadata -------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["inline", "file", "url"])
def test_metadata(tmp_path: Path, server: KeyServer, where: str) -> None:
    source = metadata_source(where, METADATA, tmp_path, server)
    settings = load_saml_settings({**MD_ENV, "SAML_IDP_METADATA": f" {source} "})
    assert settings.config.idp_entity_id == IDP
    # Both signing keys, in document order; the encryption key is not trusted for signatures.
    assert [body(cert) for cert in settings.config.idp_certificates] == [DER_A, DER_B]
    assert python3_saml_certificates(settings) == [DER_A, DER_B]
    assert settings.config.settings.get_idp_data()["entityId"] == IDP


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        pytest.param(((SIGNING, DER_A),), [DER_A], id="one-signing"),
        pytest.param(((None, DER_A),), [DER_A], id="one-without-use"),
        pytest.param(((SIGNING, DER_A), (ENCRYPTION, DER_ENCRYPTION)), [DER_A], id="signing-and-encryption"),
        pytest.param(((SIGNING, DER_A), (ENCRYPTION, DER_A)), [DER_A], id="same-key-both-uses"),
        pytest.param(((ENCRYPTION, DER_ENCRYPTION), (SIGNING, DER_B)), [DER_B], id="encryption-first"),
    ],
)
def test_metadata_signing_certificates(keys: tuple[tuple[str | None, str], ...], expected: list[str]) -> None:
    settings = load_saml_settings({**MD_ENV, "SAML_IDP_METADATA": idp_metadata(keys=keys)})
    assert [body(cert) for cert in settings.config.idp_certificates] == expected
    assert python3_saml_certificates(settings) == expected


def test_metadata_url_is_fetched_once_at_cold_start(server: KeyServer, tmp_path: Path) -> None:
    url = serve(server, "/cold-start/metadata.xml", METADATA)
    handler = create_handler({**MD_ENV, "SAML_IDP_METADATA": url})
    assert server.requests("/cold-start/metadata.xml") == 1
    event = {"type": "TOKEN", "authorizationToken": "SAML PHNhbWxwOlJlc3BvbnNlLz4=", "methodArn": METHOD_ARN}
    for _ in range(3):
        assert decide(handler, event)[0] == "unauthorized"
    assert server.requests("/cold-start/metadata.xml") == 1


def test_metadata_is_asked_for_as_saml_metadata(server: KeyServer) -> None:
    seen: list[str | None] = []

    def behaviour(handler: Any, stopping: object) -> None:
        seen.append(handler.headers.get("Accept"))
        data = METADATA.encode()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    server.set_route("/accept/metadata.xml", behaviour)
    load_saml_settings({**MD_ENV, "SAML_IDP_METADATA": server.url("/accept/metadata.xml")})
    assert seen == ["application/samlmetadata+xml"]


# Documents refused whatever the source: (document, a piece of the message)
BAD_METADATA = [
    pytest.param(
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"', "XMLSyntaxError", id="not-xml"
    ),
    pytest.param("<html><body><form>Sign in</form></body></html>", "no IdP entityID", id="html-login-page"),
    pytest.param(
        idp_metadata(entity_id="&idp;", prolog='<!DOCTYPE md:EntityDescriptor [<!ENTITY idp "https://evil.example">]>'),
        "DTDForbidden",
        id="internal-entity",
    ),
    pytest.param(
        # In element content: an attribute value may not refer to an external entity at all.
        idp_metadata(prolog='<!DOCTYPE md:EntityDescriptor [<!ENTITY org SYSTEM "file:///etc/hostname">]>').replace(
            ">Example Corp</md:OrganizationName>", ">&org;</md:OrganizationName>"
        ),
        "DTDForbidden",
        id="external-entity",
    ),
    pytest.param(
        idp_metadata(prolog='<!DOCTYPE md:EntityDescriptor SYSTEM "http://127.0.0.1:9/evil.dtd">'),
        "DTDForbidden",
        id="external-dtd",
    ),
    pytest.param(
        idp_metadata(prolog='<!DOCTYPE lol [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'),
        "DTDForbidden",
        id="billion-laughs",
    ),
    pytest.param(idp_metadata(role="SPSSODescriptor"), "no IdP entityID", id="no-idpssodescriptor"),
    pytest.param(idp_metadata(entity_id=None), "no IdP entityID", id="no-entity-id"),
    pytest.param(idp_metadata(keys=()), "no signing certificate", id="no-key-descriptor"),
    pytest.param(
        idp_metadata(keys=((ENCRYPTION, DER_ENCRYPTION),)),
        "no signing certificate",
        id="encryption-key-only",
    ),
    pytest.param(
        idp_metadata(keys=((SIGNING, base64.b64encode(b"not a certificate").decode()),)),
        "certificate",
        id="signing-certificate-not-x509",
    ),
]


@pytest.mark.parametrize("where", ["inline", "file", "url"])
@pytest.mark.parametrize(("document", "fragment"), BAD_METADATA)
def test_metadata_refused(tmp_path: Path, server: KeyServer, where: str, document: str, fragment: str) -> None:
    source = metadata_source(where, document, tmp_path, server)
    with pytest.raises(ConfigurationError) as info:
        load_saml_settings({**MD_ENV, "SAML_IDP_METADATA": source})
    message = str(info.value)
    assert fragment in message
    # Inline XML is named by its variable; a file or URL by itself (see the test below).
    assert ("SAML_IDP_METADATA (inline XML)" if where == "inline" else source) in message


@pytest.mark.parametrize("where", ["file", "url"])
def test_metadata_file_or_url_refusal_names_the_variable(tmp_path: Path, server: KeyServer, where: str) -> None:
    source = metadata_source(where, idp_metadata(keys=()), tmp_path, server)
    refused({**MD_ENV, "SAML_IDP_METADATA": source}, "SAML_IDP_METADATA")


def padded(size: int) -> bytes:
    """The metadata, padded with trailing whitespace (allowed after the root element) to ``size`` bytes."""
    data = METADATA.encode()
    return data + b" " * (size - len(data))


@pytest.mark.parametrize("where", ["inline", "file", "url"])
def test_metadata_of_exactly_the_limit_is_accepted(tmp_path: Path, server: KeyServer, where: str) -> None:
    source = metadata_source(where, padded(MAX_METADATA_BYTES), tmp_path, server)
    if where == "inline":
        source = source.rstrip() + " " * (MAX_METADATA_BYTES - len(METADATA.encode()))
    assert load_saml_settings({**MD_ENV, "SAML_IDP_METADATA": source}).config.idp_entity_id == IDP


@pytest.mark.parametrize("where", ["inline", "file"])
def test_metadata_over_the_limit_is_refused(tmp_path: Path, server: KeyServer, where: str) -> None:
    # Inline XML is stripped, so the excess is put inside the document, where it is kept.
    document = METADATA.replace("<md:Organization>", "<!--" + "x" * MAX_METADATA_BYTES + "--><md:Organization>")
    source = metadata_source(where, document, tmp_path, server)
    with pytest.raises(ConfigurationError) as info:
        load_saml_settings({**MD_ENV, "SAML_IDP_METADATA": source})
    assert f"metadata over {MAX_METADATA_BYTES} bytes" in str(info.value)


@pytest.mark.parametrize("content_length", [True, False], ids=["declared", "streamed"])
def test_metadata_url_over_the_limit_is_refused(server: KeyServer, content_length: bool) -> None:
    path = f"/huge-{content_length}.xml"
    url = serve(server, path, padded(MAX_METADATA_BYTES + 1), content_length=content_length)
    message = refused({**MD_ENV, "SAML_IDP_METADATA": url}, "SAML_IDP_METADATA")
    assert f"cannot fetch the metadata ({url}: response over {MAX_METADATA_BYTES} bytes)" in message


@pytest.mark.parametrize("status", [404, 500, 204])
def test_metadata_url_answering_an_error_is_refused(server: KeyServer, status: int) -> None:
    url = serve(server, f"/status-{status}.xml", METADATA, status=status)
    message = refused({**MD_ENV, "SAML_IDP_METADATA": url}, "SAML_IDP_METADATA")
    assert f"cannot fetch the metadata ({url}: HTTP {status})" in message


def test_metadata_url_not_found(server: KeyServer) -> None:
    url = server.url("/nothing-here.xml")
    assert "HTTP 404" in refused({**MD_ENV, "SAML_IDP_METADATA": url}, "SAML_IDP_METADATA")


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_metadata_url_redirect_is_not_followed(server: KeyServer, status: int) -> None:
    target = serve(server, f"/moved-here-{status}.xml", METADATA)
    server.redirect(f"/moved-{status}.xml", target, status=status)
    message = refused({**MD_ENV, "SAML_IDP_METADATA": server.url(f"/moved-{status}.xml")}, "SAML_IDP_METADATA")
    assert f"HTTP {status}" in message
    assert server.requests(f"/moved-here-{status}.xml") == 0


def test_metadata_url_server_down(server: KeyServer) -> None:
    with KeyServer() as down:
        url = down.url("/metadata.xml")
    assert "cannot fetch the metadata" in refused({**MD_ENV, "SAML_IDP_METADATA": url}, "SAML_IDP_METADATA")


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.example.com/metadata",
        "HTTP://idp.example.com/metadata",
        "http://10.0.0.1/metadata",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0:8080/metadata",
        "http://user:pass@127.0.0.1/metadata",
        "https://idp.example.com:99999/metadata",
    ],
)
def test_metadata_url_policy_refuses_without_connecting(connections: list[tuple[Any, ...]], url: str) -> None:
    refused({**MD_ENV, "SAML_IDP_METADATA": url}, "SAML_IDP_METADATA")
    assert connections == []


def test_the_connection_guard_sees_a_fetch(connections: list[tuple[Any, ...]]) -> None:
    # The counterpart of the test above, so it can fail: an allowed URL is fetched.
    message = refused({**MD_ENV, "SAML_IDP_METADATA": "http://127.0.0.1:9/metadata.xml"}, "SAML_IDP_METADATA")
    assert "cannot fetch the metadata" in message
    assert connections != []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("does-not-exist.xml", "FileNotFoundError"), (".", "IsADirectoryError")],
)
def test_metadata_file_unreadable(tmp_path: Path, name: str, fragment: str) -> None:
    path = tmp_path / name
    message = refused({**MD_ENV, "SAML_IDP_METADATA": str(path)}, "SAML_IDP_METADATA")
    assert f"cannot read {path}" in message
    assert fragment in message


# 3. The service provider and the rest -----------------------------------------------------------

SETTINGS_REFUSALS = [
    *[
        pytest.param(
            without(ENV, name) if value is None else {**ENV, name: value},
            (name,),
            "is required",
            id=f"{name}={value!r}",
        )
        for name in ("SAML_SP_ENTITY_ID", "SAML_ACS_URL")
        for value in (None, "", "   ", " , ")
    ],
    *[
        pytest.param({**ENV, "SAML_REPLAY": value}, ("SAML_REPLAY",), "must be once or reuse", id=f"replay={value}")
        for value in ("never", "off", "twice", "once,reuse", "once reuse", "true", "0")
    ],
    *[
        pytest.param(
            {**ENV, "SAML_REPLAY": value, "SAML_REPLAY_TABLE": "saml-replay"},
            ("SAML_REPLAY_TABLE", "SAML_REPLAY"),
            "is set but SAML_REPLAY is reuse",
            id=f"table-with-replay={value}",
        )
        for value in ("reuse", " REUSE ")
    ],
    *[
        pytest.param(
            {**ENV, "SAML_CLOCK_SKEW_SECONDS": value}, ("SAML_CLOCK_SKEW_SECONDS",), fragment, id=f"skew={value}"
        )
        for value, fragment in (
            ("-1", "between 0 and 300"),
            ("301", "between 0 and 300"),
            ("300.5", "between 0 and 300"),
            ("1e9", "between 0 and 300"),
            ("nan", "between 0 and 300"),
            ("inf", "between 0 and 300"),
            ("-inf", "between 0 and 300"),
            ("1.5", "whole number"),
            ("0.1", "whole number"),
            ("abc", "must be a number"),
            ("0x10", "must be a number"),
            ("60s", "must be a number"),
        )
    ],
    *[
        pytest.param(
            {**ENV, "SAML_SP_KEY": value},
            ("SAML_SP_KEY",),
            "encrypted assertions are not supported",
            id=f"sp-key={value[:12]}",
        )
        for value in (KEY_PEM_A, "/var/task/sp-key.pem", "x")
    ],
    *[
        pytest.param(
            {**ENV, "SAML_CONTEXT_ATTRIBUTES": value}, ("SAML_CONTEXT_ATTRIBUTES",), fragment, id=f"context={value}"
        )
        for value, fragment in (
            ("claims", "is reserved"),
            ("principalId", "is reserved"),
            ("mail claims", "is reserved"),
            ("sub", "is reserved"),
            ("scheme", "is reserved"),
            ("issuer", "is reserved"),
            ("groups", "is reserved"),
            ("expires_at", "is reserved"),
            ("a/b", "must be 1-128"),
            ("é", "must be 1-128"),
            ("x" * 129, "must be 1-128"),
            # ADFS and Entra ID name attributes by URI: those cannot be context keys as they are.
            ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "must be 1-128"),
        )
    ],
    pytest.param({**ENV, "AUTHZ_CONTEXT_CLAIMS": "claims"}, ("AUTHZ_CONTEXT_CLAIMS",), "reserved", id="authz-context"),
    pytest.param({**ENV, "AUTHZ_RESPONSE_FORMAT": "json"}, ("AUTHZ_RESPONSE_FORMAT",), "", id="authz-format"),
    *[
        pytest.param({**ENV, name: "x"}, (name,), "not read by this handler", id=f"other-handler-{name}")
        for name in sorted((KNOWN_VARIABLES | COGNITO_VARIABLES) - SAML_VARIABLES)
    ],
]


@pytest.mark.parametrize(("environ", "names", "fragment"), SETTINGS_REFUSALS)
def test_settings_refused(environ: dict[str, str], names: tuple[str, ...], fragment: str) -> None:
    assert fragment in refused(environ, *names)


def test_sp_key_is_refused_whatever_else_is_wrong() -> None:
    # Checked first: someone setting up encrypted assertions learns that at once.
    message = refused({"SAML_SP_KEY": KEY_PEM_A}, "SAML_SP_KEY")
    assert message == "SAML_SP_KEY: encrypted assertions are not supported; send them signed, unencrypted"
    assert KEY_BODY_A[:64] not in message


def test_blank_sp_key_is_ignored() -> None:
    assert load_saml_settings({**ENV, "SAML_SP_KEY": "  "}).config.sp_entity_id == SP


@pytest.mark.parametrize(
    "url",
    [
        ACS,
        "https://api.example.com/prod/saml/acs",
        "https://api.example.com:8443/acs",
        "http://127.0.0.1:3000/saml/acs",
        "http://localhost:3000/saml/acs",
        "http://[::1]:3000/saml/acs",
    ],
)
def test_acs_url_accepted(url: str) -> None:
    settings = load_saml_settings({**ENV, "SAML_ACS_URL": f" {url} "})
    assert settings.config.acs_url == url
    assert settings.config.settings.get_sp_data()["assertionConsumerService"]["url"] == url


# (SAML_ACS_URL, a piece of the message)
ACS_REFUSALS = [
    pytest.param("http://api.example.com/saml/acs", "must use https", id="http-not-loopback"),
    pytest.param("http://10.0.0.1/saml/acs", "must use https", id="http-private-address"),
    pytest.param("ftp://api.example.com/saml/acs", "must use https", id="ftp"),
    pytest.param("/saml/acs", "absolute URL", id="relative"),
    pytest.param("api.example.com/saml/acs", "absolute URL", id="no-scheme"),
    pytest.param(f"{ACS} https://api.example.com/other/acs", "one URL", id="two-urls"),
    pytest.param(f"{ACS},{ACS}/2", "", id="two-urls-comma"),
    pytest.param(f"{ACS}?x=1", "query", id="query"),
    pytest.param(f"{ACS}#fragment", "", id="fragment"),
    pytest.param("https:///saml/acs", "absolute", id="https-without-host"),
    pytest.param("http://127.0.0.1:3000/saml/acs?x=1", "query", id="loopback-with-query"),
    pytest.param("https://user:pass@api.example.com/acs", "", id="credentials"),
    pytest.param("https://api.example.com:99999/acs", "", id="invalid-port"),
]


@pytest.mark.parametrize(("url", "fragment"), ACS_REFUSALS)
def test_acs_url_refused(url: str, fragment: str) -> None:
    assert fragment in refused({**ENV, "SAML_ACS_URL": url}, "SAML_ACS_URL")


@pytest.mark.parametrize("value", ["urn:example:api,v2", f"{SP} https://other.example.com/saml"])
def test_sp_entity_id_is_never_cut_short(value: str) -> None:
    try:
        settings = load_saml_settings({**ENV, "SAML_SP_ENTITY_ID": value})
    except ConfigurationError as exc:
        assert "SAML_SP_ENTITY_ID" in str(exc)
    else:
        assert settings.config.sp_entity_id == value


@pytest.mark.parametrize(
    ("replay", "expected"), [(None, "once"), ("", "once"), ("once", "once"), (" ONCE ", "once"), ("reuse", "reuse")]
)
def test_replay(replay: str | None, expected: str) -> None:
    environ = ENV if replay is None else {**ENV, "SAML_REPLAY": replay}
    settings = load_saml_settings(environ)
    assert (settings.replay, settings.replay_table) == (expected, None)


@pytest.mark.parametrize("replay", [None, "once"])
def test_replay_table(replay: str | None) -> None:
    environ = {**ENV, "SAML_REPLAY_TABLE": " saml-replay "}
    if replay is not None:
        environ["SAML_REPLAY"] = replay
    settings = load_saml_settings(environ)
    assert (settings.replay, settings.replay_table) == ("once", "saml-replay")


def test_blank_replay_table_is_no_table() -> None:
    settings = load_saml_settings({**ENV, "SAML_REPLAY": "reuse", "SAML_REPLAY_TABLE": " "})
    assert (settings.replay, settings.replay_table) == ("reuse", None)


@pytest.mark.parametrize(
    ("value", "seconds"), [("0", 0), ("300", 300), (" 45 ", 45), ("", 60), ("  ", 60), ("1e2", 100), ("120.0", 120)]
)
def test_clock_skew(value: str, seconds: int) -> None:
    config = load_saml_settings({**ENV, "SAML_CLOCK_SKEW_SECONDS": value}).config
    assert config.clock_skew_seconds == seconds
    assert isinstance(config.clock_skew_seconds, int)


def test_context_attributes_merged_with_context_claims() -> None:
    settings = load_saml_settings(
        {
            **ENV,
            "SAML_CONTEXT_ATTRIBUTES": "mail, department mail urn:oid:0.9.2342.19200300.100.1.3",
            "AUTHZ_CONTEXT_CLAIMS": "department name_id",
        }
    )
    assert settings.response.context_claims == ("mail", "department", "urn:oid:0.9.2342.19200300.100.1.3", "name_id")


def test_context_claims_alone() -> None:
    settings = load_saml_settings({**ENV, "AUTHZ_CONTEXT_CLAIMS": "name_id, name_id_format"})
    assert settings.response.context_claims == ("name_id", "name_id_format")


def test_authz_variables_are_read_by_the_saml_handler() -> None:
    settings = load_saml_settings({**ENV, "AUTHZ_RESPONSE_FORMAT": "simple", "AUTHZ_POLICY_SCOPE": "route"})
    assert settings.response.response_format is ResponseFormat.SIMPLE


@pytest.mark.parametrize(("value", "header"), [("X-SAML-Response", "X-SAML-Response"), (" x-saml ", "x-saml")])
def test_header(value: str, header: str) -> None:
    assert load_saml_settings({**ENV, "SAML_HEADER": value}).header == header


@pytest.mark.parametrize("value", ["", "   "])
def test_blank_header_means_the_authorization_header(value: str) -> None:
    assert load_saml_settings({**ENV, "SAML_HEADER": value}).header is None


@pytest.mark.parametrize(("value", "attribute"), [("memberOf", "memberOf"), (" groups ", "groups"), ("", None)])
def test_groups_attribute(value: str, attribute: str | None) -> None:
    assert load_saml_settings({**ENV, "SAML_GROUPS_ATTRIBUTE": value}).config.groups_attribute == attribute


# Variables of other handlers, and misspellings ---------------------------------------------------

JWT_ENV = {"JWT_ISSUER": "https://issuer.example.com", "JWT_AUDIENCE": "api", "JWT_ALGORITHMS": "HS256"}
JWT_ENV["JWT_SHARED_SECRET"] = "s" * 32
COGNITO_ENV = {"COGNITO_USER_POOL_ID": "eu-west-1_AbC123xyZ", "COGNITO_CLIENT_ID": "1example23456789"}
SAML_ONLY = sorted(name for name in SAML_VARIABLES if name.startswith("SAML_"))


def test_other_handlers_base_environments_are_accepted() -> None:
    assert load_jwt_settings(JWT_ENV).issuers[0].issuer == "https://issuer.example.com"
    assert load_cognito_settings(COGNITO_ENV).pools[0].pool.pool_id == "eu-west-1_AbC123xyZ"


def test_saml_variables_are_all_listed() -> None:
    assert set(SAML_ONLY) == {
        "SAML_IDP_METADATA",
        "SAML_IDP_ENTITY_ID",
        "SAML_IDP_CERT",
        "SAML_SP_ENTITY_ID",
        "SAML_ACS_URL",
        "SAML_GROUPS_ATTRIBUTE",
        "SAML_CONTEXT_ATTRIBUTES",
        "SAML_REPLAY",
        "SAML_REPLAY_TABLE",
        "SAML_HEADER",
        "SAML_CLOCK_SKEW_SECONDS",
        "SAML_SP_KEY",
    }
    assert {n for n in SAML_VARIABLES if not n.startswith("SAML_")} == {
        n for n in KNOWN_VARIABLES if n.startswith("AUTHZ_")
    }


@pytest.mark.parametrize(
    ("load", "environ"),
    [(load_jwt_settings, JWT_ENV), (load_cognito_settings, COGNITO_ENV)],
    ids=["jwt", "cognito"],
)
@pytest.mark.parametrize("name", SAML_ONLY)
def test_saml_variables_are_refused_by_the_other_handlers(
    load: Callable[[dict[str, str]], object], environ: dict[str, str], name: str
) -> None:
    message = refusal_message(load, {**environ, name: "x"}, name)
    assert message == f"setting {name} is not read by this handler"


@pytest.mark.parametrize("name", ["JWT_ISSUER", "JWT_AUDIENCE", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID"])
def test_other_handlers_variables_refused_with_the_exact_message(name: str) -> None:
    assert refused({**ENV, name: "x"}, name) == f"setting {name} is not read by this handler"


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("SAML_IDP_CERTS", "SAML_IDP_CERT"),
        ("SAML_IDP_CERTIFICATE", "SAML_IDP_CERT"),
        ("SAML_IDP_METADATA_URL", "SAML_IDP_METADATA"),
        ("SAML_METADATA", "SAML_IDP_METADATA"),
        ("SAML_IDP_ENTITYID", "SAML_IDP_ENTITY_ID"),
        ("SAML_ENTITY_ID", "SAML_SP_ENTITY_ID"),
        ("SAML_ACS", "SAML_ACS_URL"),
        ("SAML_GROUP_ATTRIBUTE", "SAML_GROUPS_ATTRIBUTE"),
        ("SAML_CONTEXT_ATTRIBUTE", "SAML_CONTEXT_ATTRIBUTES"),
        ("SAML_REPLAY_TABLE_NAME", "SAML_REPLAY_TABLE"),
        ("SAML_CLOCK_SKEW", "SAML_CLOCK_SKEW_SECONDS"),
        ("SAML_HEADERS", "SAML_HEADER"),
        ("saml_acs_url", "SAML_ACS_URL"),
        ("AUTHZ_CONTEXT_CLAIM", "AUTHZ_CONTEXT_CLAIMS"),
    ],
)
def test_misspelt_variable_gets_a_suggestion(name: str, suggestion: str) -> None:
    assert refused({**ENV, name: "x"}, name) == f"unknown setting {name}; did you mean {suggestion}?"


def test_unknown_saml_variable_without_suggestion() -> None:
    assert refused({**ENV, "SAML_QQQQQQQQQQQQ": "x"}) == "unknown setting SAML_QQQQQQQQQQQQ"


def test_other_prefixes_are_ignored() -> None:
    environ = {**ENV, "AWS_REGION": "eu-west-1", "POWERTOOLS_SERVICE_NAME": "x", "SAMLIDP": "x", "XSAML_ACS": "x"}
    assert load_saml_settings(environ).config.acs_url == ACS


# 4. create_handler: the replay store -------------------------------------------------------------


def authenticator(handler: AuthorizerHandler) -> SamlAuthenticator:
    found = handler._authenticator
    assert isinstance(found, SamlAuthenticator)
    return found


def test_handler_remembers_assertions_in_memory_by_default() -> None:
    found = authenticator(create_handler({**ENV, "SAML_HEADER": "X-SAML-Response"}))
    assert isinstance(found.validator._replay, InMemoryReplayCache)
    assert found.header == "X-SAML-Response"


def test_handler_without_a_replay_store_for_reuse() -> None:
    found = authenticator(create_handler({**ENV, "SAML_REPLAY": "reuse"}))
    assert found.validator._replay is None
    assert found.header is None


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials and a region from the environment only: no profile, no config file."""
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("fake_aws")
def test_handler_with_a_replay_table_uses_dynamodb(connections: list[tuple[Any, ...]]) -> None:
    found = authenticator(create_handler({**ENV, "SAML_REPLAY_TABLE": "saml-replay"}))
    replay = found.validator._replay
    assert isinstance(replay, DynamoDbReplayCache)
    assert replay._table == "saml-replay"
    assert replay._client.meta.region_name == "eu-west-1"
    assert connections == []  # the client is made at cold start; nothing is called yet


def test_handler_cold_start_fails_on_a_refused_setting() -> None:
    with pytest.raises(ConfigurationError, match="SAML_REPLAY_TABLE"):
        create_handler({**ENV, "SAML_REPLAY": "reuse", "SAML_REPLAY_TABLE": "saml-replay"})


# 5. Import isolation: only the SAML handler loads the XML stack ------------------------------------

ISOLATION = """
import json, sys

class Watch:
    def __init__(self, names):
        self.names, self.attempts = set(names), []
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            self.attempts.append(fullname.split(".")[0])
        return None

watch = Watch(["lxml", "xmlsec", "onelogin"])
sys.meta_path.insert(0, watch)
environ = json.loads(sys.stdin.read())
steps = {}

def step(name):
    loaded = {m.split(".")[0] for m in sys.modules if m.split(".")[0] in watch.names}
    steps[name] = sorted(set(watch.attempts) | loaded)

import authorizers.settings as settings
step("import")
for name, env in environ["jwt"].items():
    settings.load_jwt_settings(env)
    step(name)
settings.load_cognito_settings(environ["cognito"])
step("cognito")
settings.load_saml_settings(environ["saml"])
step("saml")
print(json.dumps(steps))
"""


def test_only_saml_settings_load_the_xml_stack() -> None:
    environs = {
        "jwt": {
            "jwt-inline-jwks": {
                **without(JWT_ENV, "JWT_ALGORITHMS", "JWT_SHARED_SECRET"),
                "JWT_JWKS": json.dumps({"keys": [public_jwk(KEY_A, "k1", "RS256")]}),
            },
            "jwt-hs256": JWT_ENV,
            "jwt-jwks-uri": {
                **without(JWT_ENV, "JWT_ALGORITHMS", "JWT_SHARED_SECRET"),
                "JWT_JWKS_URI": "https://issuer.example.com/jwks.json",
            },
        },
        "cognito": COGNITO_ENV,
        "saml": ENV,
    }
    steps = run_python(ISOLATION, json.dumps(environs))
    assert {name: found for name, found in steps.items() if name != "saml"} == {
        "import": [],
        "jwt-inline-jwks": [],
        "jwt-hs256": [],
        "jwt-jwks-uri": [],
        "cognito": [],
    }
    # The counterpart, so the check above can fail: the SAML settings do load all three.
    assert steps["saml"] == ["lxml", "onelogin", "xmlsec"]
