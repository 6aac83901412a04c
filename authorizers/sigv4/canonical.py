"""AWS Signature Version 4, the verifying side: canonical request, string to sign, signing key.

Pure functions over the parts of a request; nothing here knows API Gateway. The rules
(from the SigV4 specification, checked against the official test suite):

* canonical URI: the path as sent on the request line, with ``.`` and ``..`` segments and
  repeated slashes normalised away (not for S3, which this is not), then every byte
  outside ``A-Z a-z 0-9 - _ . ~`` and ``/`` percent-encoded (so a ``%`` sent by the
  client is encoded again: SigV4's "encode twice" for everything but S3);
* canonical query: each name and value percent-encoded the same way, sorted by name, then
  value; a name without ``=`` has an empty value;
* canonical headers: names lower-cased, values trimmed with inner runs of spaces folded
  to one, several values of one name joined with ``,``; only the signed ones, sorted.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def uri_encode(text: str, *, keep_slash: bool = False) -> str:
    """Percent-encode every byte of the UTF-8 text except the unreserved ones (and ``/`` if kept)."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in _UNRESERVED or (keep_slash and byte == ord("/")):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


_PCHAR = _UNRESERVED | frozenset(b"!$&'()*+,;=:@/")


def wire_paths(decoded: str) -> tuple[str, ...]:
    """How clients send a decoded path: RFC 3986 path characters kept, or all but unreserved encoded.

    REST events show the path decoded. Each reading is an encoding of that same path
    (decoding it gives the path back), so a signature can match only a request for the
    path it was made for; the path itself is never read as a wire path (``%20`` in it is data).
    """
    raw = decoded.encode("utf-8")
    kept = "".join(chr(byte) if byte in _PCHAR else f"%{byte:02X}" for byte in raw)
    return tuple(dict.fromkeys((kept, uri_encode(decoded, keep_slash=True))))


def normalize_path(path: str) -> str:
    """Remove ``.``/``..`` segments and empty ones; keep a trailing slash; always absolute."""
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normalized = "/" + "/".join(segments)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return normalized


def canonical_uri(sent_path: str) -> str:
    """``sent_path`` is the path as on the request line (percent-encoding left as the client sent it)."""
    return uri_encode(normalize_path(sent_path), keep_slash=True)


def canonical_query(pairs: Sequence[tuple[str, str]]) -> str:
    """``pairs``: decoded (name, value) pairs, in any order, duplicates kept."""
    encoded = sorted((uri_encode(name), uri_encode(value)) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Decode a raw query string the way SigV4 signers do (``+`` stays a plus sign)."""
    pairs = []
    for item in raw_query.split("&") if raw_query else []:
        name, _, value = item.partition("=")
        pairs.append((urllib.parse.unquote(name), urllib.parse.unquote(value)))
    return pairs


def canonical_header_value(values: Sequence[str]) -> str:
    # Trimmed, inner whitespace (folded lines included) as one space: what signers compute.
    return ",".join(" ".join(value.split()) for value in values)


def canonical_request(
    method: str,
    sent_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, Sequence[str]],
    *,
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """The canonical request; ``headers`` maps lower-cased names to their values, in order."""
    lines = [f"{name}:{canonical_header_value(headers.get(name, ()))}\n" for name in signed_headers]
    return "\n".join(
        [
            method.upper(),
            canonical_uri(sent_path),
            canonical_query(query),
            "".join(lines),
            ";".join(signed_headers),
            payload_hash,
        ]
    )


@dataclass(frozen=True, slots=True)
class CredentialScope:
    access_key_id: str
    date: str  # YYYYMMDD
    region: str
    service: str
    terminator: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


def string_to_sign(amz_date: str, scope: CredentialScope, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope.scope}\n{digest}"


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, TERMINATOR):
        key = _hmac(key, part)
    return key


def signature(key: bytes, to_sign: str) -> str:
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def signatures_equal(expected: str, presented: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), presented.encode("ascii", errors="replace"))


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
