"""Parse a compact JWS without trusting it.

Everything :func:`parse_unverified` returns is *unverified*: it is attacker-controlled
until the signature has been checked. The parser is strict so that every later step
sees one unambiguous reading: a size cap before any decoding, canonical base64url,
UTF-8 JSON objects without duplicate keys, NaN or deep nesting.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authorizers.errors import CredentialRejected, Reason
from policies.strict_json import refuse_duplicate_keys

MAX_TOKEN_BYTES = 8 * 1024
MAX_JSON_DEPTH = 16
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True, slots=True)
class UnverifiedJwt:
    """A decoded JWS whose signature has NOT been checked."""

    unverified_header: Mapping[str, Any]
    unverified_claims: Mapping[str, Any]
    signing_input: bytes
    signature: bytes


def parse_unverified(token: object) -> UnverifiedJwt:
    if not isinstance(token, str) or not token:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "token is empty or not a string")
    if len(token) > MAX_TOKEN_BYTES:
        raise CredentialRejected(Reason.TOKEN_TOO_LARGE, f"token is over {MAX_TOKEN_BYTES} bytes")
    if not token.isascii():
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "token is not ASCII")
    segments = token.split(".")
    if len(segments) == 5:
        raise CredentialRejected(Reason.ENCRYPTED_TOKEN, "JWE tokens are not supported")
    if len(segments) != 3:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "token does not have three segments")
    header_b64, claims_b64, signature_b64 = segments
    header = _json_object(_b64decode(header_b64, "header"), "header")
    claims = _json_object(_b64decode(claims_b64, "payload"), "payload")
    signature = _b64decode(signature_b64, "signature", allow_empty=True)
    return UnverifiedJwt(
        unverified_header=header,
        unverified_claims=claims,
        signing_input=f"{header_b64}.{claims_b64}".encode("ascii"),
        signature=signature,
    )


def _b64decode(segment: str, what: str, *, allow_empty: bool = False) -> bytes:
    if not segment and not allow_empty:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, f"{what} segment is empty")
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, f"{what} segment is not base64url")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, f"{what} segment is not base64url") from exc
    # One token, one spelling: refuse encodings with non-zero padding bits.
    if base64.urlsafe_b64encode(raw).rstrip(b"=") != segment.encode("ascii"):
        raise CredentialRejected(Reason.MALFORMED_TOKEN, f"{what} segment is not canonical base64url")
    return raw


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    reason = Reason.MALFORMED_HEADER if what == "header" else Reason.MALFORMED_CLAIMS
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=refuse_duplicate_keys, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CredentialRejected(reason, f"{what} is not valid UTF-8 JSON") from exc
    if not isinstance(value, dict):
        raise CredentialRejected(reason, f"{what} is not a JSON object")
    if _depth(value) > MAX_JSON_DEPTH:
        raise CredentialRejected(reason, f"{what} is nested too deeply")
    # Surrogates can only come from \uD800-\uDFFF escapes (strict UTF-8 decoding refuses
    # them raw), so the full check runs only for texts that contain such an escape.
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        # "\ud800" parses to a str no UTF-8 writer accepts (RFC 7493 2.1 forbids it): the
        # decision log line and the response would fail on it after an Allow.
        raise CredentialRejected(reason, f"{what} has an unpaired surrogate escape")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _has_lone_surrogate(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _depth(value: object) -> int:
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest
