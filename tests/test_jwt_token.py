"""parse_unverified: one strict, unambiguous reading of a compact JWS, or a refusal."""

from __future__ import annotations

import json

import pytest

from authorizers.errors import CredentialRejected, Reason
from authorizers.jwt.token import MAX_JSON_DEPTH, MAX_TOKEN_BYTES, UnverifiedJwt, parse_unverified
from tests.conftest import b64url

HEADER = {"alg": "RS256", "typ": "JWT", "kid": "k1"}
CLAIMS = {"iss": "https://issuer.example", "sub": "alice", "exp": 2_000_000_000}
H = b64url(json.dumps(HEADER).encode())
P = b64url(json.dumps(CLAIMS).encode())
S = b64url(b"\x01\x02\x03signature-bytes!")


def refused(token: object) -> Reason:
    with pytest.raises(CredentialRejected) as caught:
        parse_unverified(token)
    return caught.value.reason


def with_header(raw: bytes) -> str:
    return f"{b64url(raw)}.{P}.{S}"


def with_payload(raw: bytes) -> str:
    return f"{H}.{b64url(raw)}.{S}"


def b64url_of_length(length: int) -> str:
    """A canonical base64url string of exactly ``length`` characters (never 1 mod 4)."""
    assert length % 4 != 1
    full, rest = divmod(length, 4)
    raw = b"\xab" * (3 * full + {0: 0, 2: 1, 3: 2}[rest])
    encoded = b64url(raw)
    assert len(encoded) == length
    return encoded


def token_of_length(length: int) -> str:
    """A well-formed token of exactly ``length`` characters: header, claims, then filler signature."""
    payload = P
    remaining = length - len(H) - len(payload) - 2
    if remaining % 4 == 1:  # not a base64url length: grow the payload by one character instead
        payload = b64url(json.dumps({**CLAIMS, "x": ""}).encode())
        remaining = length - len(H) - len(payload) - 2
        if remaining % 4 == 1:
            payload = b64url(json.dumps({**CLAIMS, "x": "ab"}).encode())
            remaining = length - len(H) - len(payload) - 2
    token = f"{H}.{payload}.{b64url_of_length(remaining)}"
    assert len(token) == length
    return token


def nested_lists(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- the happy path -------------------------------------------------------------------


def test_well_formed_token_is_split_and_decoded() -> None:
    parsed = parse_unverified(f"{H}.{P}.{S}")
    assert isinstance(parsed, UnverifiedJwt)
    assert dict(parsed.unverified_header) == HEADER
    assert dict(parsed.unverified_claims) == CLAIMS
    assert parsed.signing_input == f"{H}.{P}".encode("ascii")
    assert parsed.signature == b"\x01\x02\x03signature-bytes!"


def test_empty_signature_segment_parses_as_empty_bytes() -> None:
    # alg "none" tokens look like this; refusing them is the validator's job, not the parser's.
    assert parse_unverified(f"{H}.{P}.").signature == b""


# --- size cap -------------------------------------------------------------------------


def test_size_cap_is_eight_kibibytes() -> None:
    assert MAX_TOKEN_BYTES == 8192


def test_token_of_exactly_the_cap_parses() -> None:
    parsed = parse_unverified(token_of_length(MAX_TOKEN_BYTES))
    assert parsed.unverified_claims["sub"] == "alice"


def test_token_one_byte_over_the_cap_is_too_large() -> None:
    assert refused(token_of_length(MAX_TOKEN_BYTES + 1)) is Reason.TOKEN_TOO_LARGE


def test_size_is_checked_before_anything_is_decoded() -> None:
    # Garbage of 100 KiB is refused for its size, not for its contents.
    assert refused("!" * 100_000) is Reason.TOKEN_TOO_LARGE


@pytest.mark.parametrize("token", ["", None, 42, b"a.b.c", ["a", "b", "c"]], ids=repr)
def test_empty_or_non_string_token_is_malformed(token: object) -> None:
    assert refused(token) is Reason.MALFORMED_TOKEN


@pytest.mark.parametrize(
    "token",
    [
        f"{H}.{P}.{S}\u00e9",
        f"{H}\u200b.{P}.{S}",
        f"{H}.{P}.\uff33\uff33",  # full-width letters that str.isalnum() would accept
        f"{H}.{P}.{S}\u0661",  # an Arabic-Indic digit, a \\d but not base64url
    ],
    ids=["latin-accent", "zero-width-space", "fullwidth", "arabic-digit"],
)
def test_non_ascii_token_is_malformed(token: str) -> None:
    assert refused(token) is Reason.MALFORMED_TOKEN


# --- segments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [H, f"{H}.{P}", f"{H}.{P}.{S}.{S}", f"{H}.{P}.{S}.{S}.{S}.{S}", "..", "."],
    ids=["1-segment", "2-segments", "4-segments", "6-segments", "three-empty-segments", "1-dot"],
)
def test_wrong_segment_count_is_malformed(token: str) -> None:
    assert refused(token) is Reason.MALFORMED_TOKEN


def test_five_segments_is_a_jwe_and_refused_as_encrypted() -> None:
    jwe_header = b64url(json.dumps({"alg": "RSA-OAEP", "enc": "A256GCM"}).encode())
    assert refused(f"{jwe_header}.{S}.{S}.{S}.{S}") is Reason.ENCRYPTED_TOKEN


def test_empty_header_segment_is_malformed() -> None:
    assert refused(f".{P}.{S}") is Reason.MALFORMED_TOKEN


def test_empty_payload_segment_is_malformed() -> None:
    assert refused(f"{H}..{S}") is Reason.MALFORMED_TOKEN


# --- base64url ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["+", "/", " ", "*", "~", "\t", "%"], ids=repr)
@pytest.mark.parametrize("where", ["header", "payload", "signature"])
def test_characters_outside_base64url_are_malformed(bad: str, where: str) -> None:
    parts = {"header": H, "payload": P, "signature": S}
    parts[where] = parts[where][:4] + bad + parts[where][5:]
    assert refused(".".join(parts.values())) is Reason.MALFORMED_TOKEN


@pytest.mark.parametrize("where", ["header", "payload", "signature"])
def test_padding_is_refused(where: str) -> None:
    parts = {
        "header": b64url(json.dumps({**HEADER, "p": ""}).encode()),
        "payload": P,
        "signature": S,
    }
    segment = parts[where]
    assert len(segment) % 4 != 0, "the segment must need padding for this test to mean anything"
    parts[where] = segment + "=" * (-len(segment) % 4)
    assert refused(".".join(parts.values())) is Reason.MALFORMED_TOKEN


def test_non_canonical_base64_with_nonzero_trailing_bits_is_refused() -> None:
    # "AQ" and "AR" both decode to b"\x01" leniently; only "AQ" is the canonical spelling.
    assert parse_unverified(f"{H}.{P}.AQ").signature == b"\x01"
    assert refused(f"{H}.{P}.AR") is Reason.MALFORMED_TOKEN
    assert refused(f"{H}.{P}.AB") is Reason.MALFORMED_TOKEN


@pytest.mark.parametrize("where", ["header", "payload"])
def test_non_canonical_header_and_payload_are_refused(where: str) -> None:
    segment = H if where == "header" else P
    assert len(segment) % 4 in (2, 3), "needs trailing bits to tamper with"
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(segment[-1])
    tampered = segment[:-1] + alphabet[last + 1]  # same decoded bytes, a trailing bit set
    token = f"{tampered}.{P}.{S}" if where == "header" else f"{H}.{tampered}.{S}"
    assert refused(token) is Reason.MALFORMED_TOKEN


@pytest.mark.parametrize("where", ["header", "payload", "signature"])
def test_segment_length_one_mod_four_is_refused(where: str) -> None:
    parts = {"header": H, "payload": P, "signature": S}
    while len(parts[where]) % 4 != 1:
        parts[where] += "A"
    assert refused(".".join(parts.values())) is Reason.MALFORMED_TOKEN


# --- JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"not json", b'{"alg": "RS256"', b"{'alg': 'RS256'}", b"\xef\xbb\xbf" + json.dumps(HEADER).encode()],
    ids=["text", "truncated", "single-quotes", "utf8-bom"],
)
def test_header_that_is_not_json_is_malformed_header(raw: bytes) -> None:
    assert refused(with_header(raw)) is Reason.MALFORMED_HEADER


@pytest.mark.parametrize("raw", [b"not json", b'{"sub": "alice"', b"{sub: 1}"], ids=["text", "truncated", "bare-key"])
def test_payload_that_is_not_json_is_malformed_claims(raw: bytes) -> None:
    assert refused(with_payload(raw)) is Reason.MALFORMED_CLAIMS


@pytest.mark.parametrize(
    "raw",
    [b"[]", b'["alg", "RS256"]', b'"RS256"', b"42", b"3.5", b"true", b"null"],
    ids=["empty-list", "list", "string", "int", "float", "bool", "null"],
)
def test_json_that_is_not_an_object_is_refused(raw: bytes) -> None:
    assert refused(with_header(raw)) is Reason.MALFORMED_HEADER
    assert refused(with_payload(raw)) is Reason.MALFORMED_CLAIMS


@pytest.mark.parametrize(
    "raw",
    [b'{"sub": "\xff"}', b'{"sub": "\xc3("}', b'{"sub": "\xed\xa0\x80"}', b'{"sub": "\xc0\xaf"}'],
    ids=["0xff", "truncated-sequence", "encoded-surrogate", "overlong-slash"],
)
def test_non_utf8_bytes_are_refused(raw: bytes) -> None:
    assert refused(with_payload(raw)) is Reason.MALFORMED_CLAIMS
    assert refused(with_header(raw)) is Reason.MALFORMED_HEADER


@pytest.mark.parametrize(
    "raw",
    [b'{"sub": "al\\ud800ice"}', b'{"sub": "\\udfff"}', b'{"sub": "alice", "\\ud800": 1}', b'{"x": ["\\ud83d"]}'],
    ids=["high-surrogate", "low-surrogate", "in-a-member-name", "in-a-list"],
)
def test_unpaired_surrogate_escapes_are_refused(raw: bytes) -> None:
    assert refused(with_payload(raw)) is Reason.MALFORMED_CLAIMS
    assert refused(with_header(raw)) is Reason.MALFORMED_HEADER


def test_surrogate_pair_escape_is_one_character() -> None:
    parsed = parse_unverified(with_payload(b'{"sub": "\\ud83d\\ude00"}'))
    assert parsed.unverified_claims["sub"] == "\U0001f600"


def test_utf16_json_is_refused() -> None:
    assert refused(with_payload(json.dumps(CLAIMS).encode("utf-16"))) is Reason.MALFORMED_CLAIMS


@pytest.mark.parametrize(
    "raw",
    [
        b'{"sub": "alice", "sub": "admin"}',
        b'{"sub": "alice", "sub": "alice"}',
        b'{"sub": "alice", "nested": {"a": 1, "a": 2}}',
        b'{"sub": "alice", "list": [{"a": 1, "a": 2}]}',
        b'{"sub": "alice", "s\\u0075b": "admin"}',  # an escape that spells the same name
    ],
    ids=["different-values", "same-values", "nested-object", "inside-list", "escaped-duplicate"],
)
def test_duplicate_member_names_are_refused(raw: bytes) -> None:
    assert refused(with_payload(raw)) is Reason.MALFORMED_CLAIMS


def test_duplicate_header_member_is_refused() -> None:
    assert refused(with_header(b'{"alg": "RS256", "alg": "none"}')) is Reason.MALFORMED_HEADER


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_refused(constant: bytes) -> None:
    assert refused(with_payload(b'{"exp": ' + constant + b"}")) is Reason.MALFORMED_CLAIMS
    assert refused(with_header(b'{"alg": "RS256", "x": [' + constant + b"]}")) is Reason.MALFORMED_HEADER


def test_nesting_up_to_the_limit_parses() -> None:
    # The top-level object is depth 1, so MAX_JSON_DEPTH - 1 nested lists reach the limit exactly.
    raw = ('{"sub": "alice", "deep": ' + nested_lists(MAX_JSON_DEPTH - 1) + "}").encode()
    parsed = parse_unverified(with_payload(raw))
    assert parsed.unverified_claims["sub"] == "alice"


def test_nesting_one_over_the_limit_is_refused() -> None:
    raw = ('{"sub": "alice", "deep": ' + nested_lists(MAX_JSON_DEPTH) + "}").encode()
    assert refused(with_payload(raw)) is Reason.MALFORMED_CLAIMS


def test_nested_objects_over_the_limit_are_refused() -> None:
    raw = '{"a": ' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1)
    assert refused(with_payload(raw.encode())) is Reason.MALFORMED_CLAIMS
    assert refused(with_header(raw.encode())) is Reason.MALFORMED_HEADER


@pytest.mark.parametrize("depth", [1_200, 3_000])
def test_nesting_deep_enough_for_a_recursion_error_is_refused(depth: int) -> None:
    # Deep enough that a recursive parser would hit Python's recursion limit, small
    # enough to fit under the size cap, so the refusal comes from the JSON step.
    raw = ('{"d": ' + nested_lists(depth) + "}").encode()
    token = with_payload(raw)
    assert len(token) <= MAX_TOKEN_BYTES
    assert refused(token) is Reason.MALFORMED_CLAIMS
    assert refused(with_header(raw)) is Reason.MALFORMED_HEADER


def test_huge_integer_is_refused_not_crashing() -> None:
    # Python refuses to parse integers of more than 4300 digits; that must stay a refusal.
    assert refused(with_payload(b'{"exp": ' + b"9" * 5000 + b"}")) is Reason.MALFORMED_CLAIMS


def test_unverified_result_is_frozen() -> None:
    parsed = parse_unverified(f"{H}.{P}.{S}")
    with pytest.raises(AttributeError):
        parsed.signature = b"x"  # type: ignore[misc]
