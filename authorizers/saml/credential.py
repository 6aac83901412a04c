"""Finding the SAML Response in a request, and refusing what must never reach an XML parser.

The credential is a base64 SAML 2.0 ``Response`` as an identity provider posts it:
``Authorization: SAML <base64>`` (the TOKEN event's token alike), or the bare value in a
header named by ``SAML_HEADER``. Before any parsing: the size, strict base64, and no
DOCTYPE or entity declarations (python3-saml refuses them too; this stops them earlier).
"""

from __future__ import annotations

import base64
import binascii
import re

from authorizers.credentials import authorization_value
from authorizers.errors import CredentialRejected, Reason
from policies.errors import InvalidEvent
from policies.request import AuthorizerRequest

SCHEME = "saml"
MAX_ENCODED_BYTES = 128 * 1024  # a signed response with a few attributes is 5-20 KiB
_BASE64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY", b"<!doctype", b"<!entity")
_DECLARED_ENCODING = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")


def saml_response(request: AuthorizerRequest, header: str | None = None) -> str:
    """The base64 Response: from ``header`` when configured, else ``Authorization: SAML ...``."""
    if header is not None:
        try:
            value = request.header(header)
        except InvalidEvent as exc:
            raise CredentialRejected(Reason.AMBIGUOUS_CREDENTIAL, f"several {header} headers") from exc
        if value is None or not value.strip():
            raise CredentialRejected(Reason.MISSING_CREDENTIAL, f"no {header} header")
        return value.strip()
    scheme, _, rest = authorization_value(request).partition(" ")
    if scheme.lower() != SCHEME or not rest.strip():
        raise CredentialRejected(Reason.UNSUPPORTED_SCHEME, "expected Authorization: SAML <base64 Response>")
    return rest.strip()


def decode(encoded: str) -> bytes:
    """Strict base64 to XML bytes, with the size checked first and declarations refused."""
    if len(encoded) > MAX_ENCODED_BYTES:
        raise CredentialRejected(Reason.TOKEN_TOO_LARGE, f"SAML Response over {MAX_ENCODED_BYTES} bytes")
    raw = encoded.encode("ascii", errors="replace")
    if not _BASE64.fullmatch(raw) or len(raw) % 4:
        raise CredentialRejected(Reason.MALFORMED_SAML, "the SAML Response is not base64")
    try:
        xml = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise CredentialRejected(Reason.MALFORMED_SAML, "the SAML Response is not base64") from None
    if not xml.lstrip().startswith(b"<"):
        raise CredentialRejected(Reason.MALFORMED_SAML, "the SAML Response is not XML (a deflated one is refused)")
    # UTF-8 only: in UTF-16 the byte checks below would not see "<!DOCTYPE" at all.
    declared = _DECLARED_ENCODING.match(xml)
    if b"\x00" in xml or (declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8")):
        raise CredentialRejected(Reason.MALFORMED_SAML, "the SAML Response must be UTF-8")
    try:
        xml.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialRejected(Reason.MALFORMED_SAML, "the SAML Response must be UTF-8") from None
    if any(marker in xml for marker in _FORBIDDEN):
        raise CredentialRejected(Reason.FORBIDDEN_XML, "DOCTYPE and entity declarations are refused")
    return xml
