"""SigV4 ``keys`` mode: a request signed with a key pair the API owner issued.

The canonical request is rebuilt from the API Gateway event as the client signed it:
method; the path the client sent (``requestContext.path`` of a REST event, with the stage
on the default execute-api host and the base path on a custom domain; ``rawPath`` of an
HTTP API 2.0 event); the query; the signed headers; and the payload hash. A Lambda
authorizer never sees the body, so the payload hash is the client's claim: the signed
``x-amz-content-sha256`` value (or ``UNSIGNED-PAYLOAD``) when sent, else the hash of an
empty body. The backend must check the body against ``x-amz-content-sha256`` itself.

Then: algorithm, credential scope (date, region, service, terminator), known key id,
``host`` signed, ``x-amz-date`` signed when the date is a header, a present
``x-amz-security-token`` signed, the time within the skew (presigned: not expired, expiry
at most ``max_expires_seconds``), and a constant-time comparison. Components that are
duplicated or malformed are refused.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from authorizers.errors import ConfigurationError, CredentialRejected, Reason
from authorizers.sigv4.canonical import (
    ALGORITHM,
    EMPTY_PAYLOAD_HASH,
    TERMINATOR,
    UNSIGNED_PAYLOAD,
    CredentialScope,
    canonical_request,
    normalize_path,
    query_pairs,
    signature,
    signatures_equal,
    signing_key,
    string_to_sign,
    wire_paths,
)
from authorizers.sigv4.keys import KeyStore
from policies.principal import Principal
from policies.request import AuthorizerRequest, EventKind

Clock = Callable[[], float]
SCHEME = "sigv4"
_AMZ_DATE = re.compile(r"(\d{8})T(\d{6})Z")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_CREDENTIAL = re.compile(r"([A-Z0-9]{16,128})/(\d{8})/([a-z0-9-]{1,32})/([a-z0-9-]{1,64})/([a-z0-9_]{1,32})")
_PRESIGN_PARAMETERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
MAX_SIGNED_HEADERS = 64
_COMPONENTS = "the Authorization header needs Credential, SignedHeaders and Signature, once each"


@dataclass(frozen=True, slots=True)
class SigV4Config:
    region: str
    service: str = "execute-api"
    max_skew_seconds: int = 300
    max_expires_seconds: int = 900

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d{1,2}", self.region):
            raise ConfigurationError(f"{self.region!r} is not an AWS region")
        if not re.fullmatch(r"[a-z0-9-]{1,64}", self.service):
            raise ConfigurationError(f"{self.service!r} is not a service name")
        if not 0 < self.max_skew_seconds <= 900 or not 0 < self.max_expires_seconds <= 604800:
            raise ConfigurationError("the skew must be 1-900 s and the presigned expiry 1-604800 s")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The request as the client sent it, as far as an API Gateway event shows it."""

    method: str
    paths: tuple[str, ...]  # request-line paths that decode to the path the event shows
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, tuple[str, ...]]  # lower-cased names


@dataclass(frozen=True, slots=True)
class Presented:
    scope: CredentialScope
    amz_date: str
    signed_headers: tuple[str, ...]
    signature: str
    expires: int | None  # presigned URLs only


def signed_request(request: AuthorizerRequest) -> SignedRequest:
    raw = request.raw
    if request.kind is EventKind.HTTP_V2:
        http = _mapping(_mapping(raw.get("requestContext")).get("http"))
        method, raw_path = http.get("method"), raw.get("rawPath")
        query = tuple(query_pairs(_string(raw.get("rawQueryString", ""))))
        paths: tuple[str, ...] = (_string(raw_path),)
    elif request.kind in (EventKind.REQUEST, EventKind.HTTP_V1):
        context = _mapping(raw.get("requestContext"))
        method = raw.get("httpMethod")
        # The event shows the path decoded; the client signed it as sent, encoded. Only
        # encodings of this path are tried: a signature cannot move to another path.
        paths = wire_paths(_string(context.get("path") or raw.get("path")))
        query = tuple((name, value) for name, values in request.query.items() for value in values)
    else:
        raise CredentialRejected(Reason.UNSUPPORTED_SCHEME, "SigV4 needs a REQUEST authorizer (REST or HTTP API)")
    if not isinstance(method, str) or not method or not all(p.startswith("/") for p in paths):
        raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "the event has no method or path")
    if any(normalize_path(p) != p for p in paths):
        # SigV4 signs the normalised path: "/a/../b" would carry the signature made for "/b"
        # to whatever route API Gateway finds for "/a/../b". Only normalised paths are taken.
        raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "the path has empty, '.' or '..' segments")
    return SignedRequest(method=method, paths=paths, query=query, headers=request.headers)


def presented_signature(signed: SignedRequest) -> Presented:
    authorization = signed.headers.get("authorization", ())
    presigned = [name for name, _ in signed.query if name.lower().startswith("x-amz-")]
    if authorization and presigned and any(n.lower() == "x-amz-signature" for n in presigned):
        raise CredentialRejected(Reason.AMBIGUOUS_CREDENTIAL, "both an Authorization header and a presigned query")
    if authorization:
        if len(authorization) != 1:
            raise CredentialRejected(Reason.AMBIGUOUS_CREDENTIAL, "several Authorization headers")
        return _from_header(authorization[0], signed)
    if any(n.lower() == "x-amz-signature" for n in presigned):
        return _from_query(signed)
    raise CredentialRejected(Reason.MISSING_CREDENTIAL, "no SigV4 Authorization header or presigned query")


def _from_header(value: str, signed: SignedRequest) -> Presented:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise CredentialRejected(Reason.UNSUPPORTED_SCHEME, f"expected {ALGORITHM}")
    components: dict[str, str] = {}
    for part in rest.split(","):
        name, equals, component = part.strip().partition("=")
        if not equals or name in components or name not in ("Credential", "SignedHeaders", "Signature"):
            raise CredentialRejected(
                Reason.MALFORMED_SIGNATURE,
                "Authorization components must be Credential, SignedHeaders, Signature, once each",
            )
        components[name] = component
    if len(components) != 3:
        raise CredentialRejected(
            Reason.MALFORMED_SIGNATURE, "Authorization lacks Credential, SignedHeaders or Signature"
        )
    dates = signed.headers.get("x-amz-date", ())
    if len(dates) != 1:
        raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "exactly one X-Amz-Date header is needed")
    headers = _signed_headers(components["SignedHeaders"])
    if "x-amz-date" not in headers:
        raise CredentialRejected(Reason.UNSIGNED_HEADER, "x-amz-date is not signed")
    return Presented(_scope(components["Credential"]), dates[0], headers, _signature(components["Signature"]), None)


def _from_query(signed: SignedRequest) -> Presented:
    values: dict[str, str] = {}
    for name, value in signed.query:
        if name.lower().startswith("x-amz-"):
            if name.lower() in values:
                raise CredentialRejected(Reason.MALFORMED_SIGNATURE, f"{name} appears more than once")
            values[name.lower()] = value
    missing = [p for p in _PRESIGN_PARAMETERS if p.lower() not in values]
    if missing or "x-amz-expires" not in values:
        raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "the presigned query lacks X-Amz-* parameters")
    if values["x-amz-algorithm"] != ALGORITHM:
        raise CredentialRejected(Reason.UNSUPPORTED_SCHEME, f"expected {ALGORITHM}")
    expires_text = values["x-amz-expires"]
    if not expires_text.isdigit() or len(expires_text) > 7:
        raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "X-Amz-Expires is not a number of seconds")
    return Presented(
        _scope(values["x-amz-credential"]),
        values["x-amz-date"],
        _signed_headers(values["x-amz-signedheaders"]),
        _signature(values["x-amz-signature"]),
        int(expires_text),
    )


def _scope(text: str) -> CredentialScope:
    match = _CREDENTIAL.fullmatch(text)
    if match is None:
        raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "Credential is not key/date/region/service/aws4_request")
    return CredentialScope(*match.groups())


def _signed_headers(text: str) -> tuple[str, ...]:
    names = text.split(";")
    if not 0 < len(names) <= MAX_SIGNED_HEADERS or not all(_HEADER_NAME.fullmatch(n) for n in names):
        raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "SignedHeaders is not a list of header names")
    if names != sorted(set(names)):
        raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "SignedHeaders must be sorted and unique")
    if "host" not in names:
        raise CredentialRejected(Reason.UNSIGNED_HEADER, "host is not signed")
    return tuple(names)


def _signature(text: str) -> str:
    if not _SIGNATURE.fullmatch(text):
        raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "Signature is not 64 hex digits")
    return text


class SigV4Validator:
    scheme = SCHEME

    def __init__(self, config: SigV4Config, keys: KeyStore, clock: Clock = time.time) -> None:
        self._config = config
        self._keys = keys
        self._clock = clock
        self._signing_keys: dict[tuple[str, str, str], bytes] = {}

    def validate(self, request: AuthorizerRequest) -> Principal:
        signed = signed_request(request)
        presented = presented_signature(signed)
        scope = presented.scope
        self._check_scope(scope, presented.amz_date)
        expires_at = self._check_time(presented)
        for name in presented.signed_headers:
            if name not in signed.headers and name != "host":
                raise CredentialRejected(Reason.MALFORMED_SIGNATURE, f"signed header {name} is not in the request")
        if "host" not in signed.headers:
            raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "the request has no Host header")
        if "x-amz-security-token" in signed.headers and "x-amz-security-token" not in presented.signed_headers:
            raise CredentialRejected(Reason.UNSIGNED_HEADER, "x-amz-security-token is present but not signed")
        identity = self._keys.lookup(scope.access_key_id)
        if identity is None:
            raise CredentialRejected(Reason.UNKNOWN_ACCESS_KEY, "the access key id is not known")
        key = self._signing_key(identity.secret, scope)
        # Only the signature itself leaves the canonical query of a presigned request.
        query = tuple((n, v) for n, v in signed.query if n.lower() != "x-amz-signature" or presented.expires is None)
        for path in signed.paths:
            for payload_hash in _payload_hashes(signed, presented):
                canonical = canonical_request(
                    signed.method,
                    path,
                    query,
                    signed.headers,
                    signed_headers=presented.signed_headers,
                    payload_hash=payload_hash,
                )
                expected = signature(key, string_to_sign(presented.amz_date, scope, canonical))
                if signatures_equal(expected, presented.signature):
                    return Principal(
                        principal_id=identity.principal,
                        scheme=SCHEME,
                        groups=identity.groups,
                        expires_at=expires_at,
                        claims={"access_key_id": scope.access_key_id},
                    )
        raise CredentialRejected(Reason.INVALID_SIGNATURE, "the signature does not match the request")

    def _check_scope(self, scope: CredentialScope, amz_date: str) -> None:
        config = self._config
        if not _AMZ_DATE.fullmatch(amz_date):
            raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "X-Amz-Date is not YYYYMMDDTHHMMSSZ")
        if scope.date != amz_date[:8]:
            raise CredentialRejected(Reason.WRONG_CREDENTIAL_SCOPE, "the credential date is not the request date")
        if scope.region != config.region:
            raise CredentialRejected(Reason.WRONG_CREDENTIAL_SCOPE, "the credential is for another region")
        if scope.service != config.service:
            raise CredentialRejected(Reason.WRONG_CREDENTIAL_SCOPE, "the credential is for another service")
        if scope.terminator != TERMINATOR:
            raise CredentialRejected(Reason.WRONG_CREDENTIAL_SCOPE, f"the credential scope must end in {TERMINATOR}")

    def _check_time(self, presented: Presented) -> int:
        try:
            signed_at = float(calendar.timegm(time.strptime(presented.amz_date, "%Y%m%dT%H%M%SZ")))
        except ValueError:
            raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "X-Amz-Date is not a date") from None
        now, skew = self._clock(), self._config.max_skew_seconds
        if signed_at > now + skew:
            raise CredentialRejected(Reason.NOT_YET_VALID, "the request is dated in the future")
        if presented.expires is None:
            if now - signed_at > skew:
                raise CredentialRejected(Reason.EXPIRED, "the request is older than the allowed skew")
            return int(signed_at + skew)
        if not 0 < presented.expires <= self._config.max_expires_seconds:
            raise CredentialRejected(Reason.MALFORMED_SIGNATURE, "X-Amz-Expires is out of range")
        if now >= signed_at + presented.expires:
            raise CredentialRejected(Reason.EXPIRED, "the presigned request has expired")
        return int(signed_at + presented.expires)

    def _signing_key(self, secret: str, scope: CredentialScope) -> bytes:
        cache_key = (scope.access_key_id, scope.date, secret)
        key = self._signing_keys.get(cache_key)
        if key is None:
            if len(self._signing_keys) > 1024:
                self._signing_keys.clear()
            key = self._signing_keys[cache_key] = signing_key(secret, scope.date, scope.region, scope.service)
        return key


def _payload_hashes(signed: SignedRequest, presented: Presented) -> tuple[str, ...]:
    """The client's claim about the body: the signed x-amz-content-sha256, else an empty body."""
    stated = signed.headers.get("x-amz-content-sha256", ())
    if "x-amz-content-sha256" in presented.signed_headers and len(stated) == 1:
        return (stated[0],)
    if presented.expires is not None:
        return (UNSIGNED_PAYLOAD, EMPTY_PAYLOAD_HASH)  # presigners differ on which they use
    return (EMPTY_PAYLOAD_HASH,)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""
