"""SigV4 mode ``sts``: IAM users and roles, proven by STS, without their secrets.

The pattern of Vault's AWS auth method and aws-iam-authenticator. The caller presigns
``sts:GetCallerIdentity`` with its own IAM credentials (see
:func:`authorizers.clients.sts_token`), signing one extra header,
``x-authorizer-audience: <audience>``, and sends::

    Authorization: AWS-STS <base64url of the presigned URL>

The authorizer holds no AWS secret. It

1. checks the URL without sending anything (:func:`parse_sts_credential`, pure): https,
   a real STS host of the configured partitions and regions, path ``/``, only the
   allow-listed query parameters, each once, ``Action=GetCallerIdentity``, an expiry of
   at most ``max_expires_seconds`` that has not elapsed, and ``host`` and the binding
   header among the signed headers. Without these checks the authorizer would send a
   request of the caller's choosing to a host of the caller's choosing (SSRF), or let
   the caller pick which API's answer vouches for it;
2. sends the URL to STS with ``x-authorizer-audience: <this API's audience>``
   (:func:`call_sts`). STS verifies the signature, which covers that header: a URL
   presigned for another audience fails there with ``SignatureDoesNotMatch``, so a
   credential shown to one API cannot be replayed against another. No redirect is
   followed, the answer must arrive within ``timeout_seconds``, and it is parsed as XML
   without a DTD (any ``<!`` markup is refused);
3. maps STS's answer to a principal (:func:`principal_for`) and applies the account and
   principal allow-lists (403 when they do not match).

:class:`StsValidator` chains the three and remembers STS's answer for each presigned
URL (keyed by its SHA-256, never the URL) until the URL expires: a credential is
reused for up to ``max_expires_seconds`` without asking STS again. This is also how long
a revoked IAM session can keep passing.

Errors never carry the URL, the signature, the access key id or the session token.

The pure checks name their data "unverified": until STS has answered, nothing in the
URL is known to come from the holder of the credentials.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from authorizers.errors import (
    AuthorizerUnavailable,
    ConfigurationError,
    CredentialRejected,
    InsufficientPermission,
    Reason,
)
from authorizers.fetch import check_url, is_loopback
from policies.principal import Principal

Clock = Callable[[], float]

BINDING_HEADER = "x-authorizer-audience"
SCHEME = "sigv4-sts"  # Principal.scheme
AUTHORIZATION_SCHEME = "AWS-STS"  # Authorization: AWS-STS <credential>
STS_ACTION = "GetCallerIdentity"
STS_VERSION = "2011-06-15"
STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"  # of every STS answer, in every partition
ALGORITHM = "AWS4-HMAC-SHA256"
SIGNED_HEADERS = f"host;{BINDING_HEADER}"  # exactly what the authorizer sends, sorted as SigV4 wants

MAX_CREDENTIAL_CHARS = 8 * 1024  # the base64url text
MAX_URL_CHARS = 4096  # the decoded URL
MAX_EXPIRES_SECONDS = 900
FUTURE_LEEWAY_SECONDS = 60  # clock skew allowed for an X-Amz-Date ahead of ours
MAX_TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 64 * 1024  # a GetCallerIdentity answer is about 500 bytes
MAX_CACHED_CREDENTIALS = 10_000
MAX_ARN_CHARS = 2048

# Reason codes. Three stand in for STS-specific codes that errors.Reason does not have yet:
_ENDPOINT_REFUSED = Reason.STS_ENDPOINT_NOT_ALLOWED
_REQUEST_REFUSED = Reason.STS_REQUEST_NOT_ALLOWED
_STS_REFUSED = Reason.STS_REJECTED

GLOBAL_HOST = "sts.amazonaws.com"  # the global endpoint: partition aws, signed for us-east-1
GLOBAL_REGION = "us-east-1"
DNS_SUFFIXES: Mapping[str, str] = MappingProxyType(
    {"aws": "amazonaws.com", "aws-cn": "amazonaws.com.cn", "aws-us-gov": "amazonaws.com"}
)
# The regions with an STS endpoint, from botocore's endpoints.json (November 2026). A
# region opened later is accepted once it is named in StsConfig.regions.
PARTITION_REGIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "aws": frozenset(
            {
                "af-south-1",
                "ap-east-1",
                "ap-east-2",
                "ap-northeast-1",
                "ap-northeast-2",
                "ap-northeast-3",
                "ap-south-1",
                "ap-south-2",
                "ap-southeast-1",
                "ap-southeast-2",
                "ap-southeast-3",
                "ap-southeast-4",
                "ap-southeast-5",
                "ap-southeast-6",
                "ap-southeast-7",
                "ca-central-1",
                "ca-west-1",
                "eu-central-1",
                "eu-central-2",
                "eu-north-1",
                "eu-south-1",
                "eu-south-2",
                "eu-west-1",
                "eu-west-2",
                "eu-west-3",
                "il-central-1",
                "me-central-1",
                "me-south-1",
                "mx-central-1",
                "sa-east-1",
                "us-east-1",
                "us-east-2",
                "us-west-1",
                "us-west-2",
            }
        ),
        "aws-cn": frozenset({"cn-north-1", "cn-northwest-1"}),
        "aws-us-gov": frozenset({"us-gov-east-1", "us-gov-west-1"}),
    }
)
_PARTITION_OF_REGION = (
    ("aws-cn", re.compile(r"cn-[a-z]+-\d{1,2}")),
    ("aws-us-gov", re.compile(r"us-gov-[a-z]+-\d{1,2}")),
    ("aws", re.compile(r"(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d{1,2}")),
)

_AUDIENCE = re.compile(r"[\x21-\x7e]{1,256}")  # one header value SigV4 cannot fold into another
_ACCOUNT = re.compile(r"\d{12}")
_PATTERN = re.compile(r"arn:[\x21-\x7e]{1,2044}")

# The credential, before anything else: base64url, padded or not.
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
# RFC 3986 characters; whitespace, controls, backslashes and non-ASCII never get to urlsplit,
# which would quietly drop tabs and newlines.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_PARAM_NAME = re.compile(r"[A-Za-z0-9-]+")
_PARAM_VALUE = re.compile(r"(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})*")  # SigV4's own encoding
ALLOWED_PARAMETERS = (
    "Action",
    "Version",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
)
_OPTIONAL_PARAMETERS = frozenset({"X-Amz-Security-Token"})
_ACCESS_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
_SCOPE_DATE = re.compile(r"\d{8}")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_EXPIRES = re.compile(r"[1-9]\d{0,6}")
_SIGNED_HEADERS = re.compile(r"[a-z0-9-]+(?:;[a-z0-9-]+)*")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_SESSION_TOKEN = re.compile(r"[A-Za-z0-9+/=]+")

# What STS answers. IAM names: letters, digits and +=,.@_- (the role session name too).
_NAME = r"[A-Za-z0-9+=,.@_-]"
_PARTITION = r"aws|aws-cn|aws-us-gov"
_USER_ARN = re.compile(rf"arn:({_PARTITION}):iam::(\d{{12}}):user/(?:[\x21-\x7e]{{1,510}}/)?{_NAME}{{1,64}}")
_ROOT_ARN = re.compile(rf"arn:({_PARTITION}):iam::(\d{{12}}):root")
_ASSUMED_ROLE_ARN = re.compile(
    rf"arn:({_PARTITION}):sts::(\d{{12}}):assumed-role/(?P<role>{_NAME}{{1,64}})/(?P<session>{_NAME}{{2,64}})"
)
_FEDERATED_USER_ARN = re.compile(rf"arn:({_PARTITION}):sts::(\d{{12}}):federated-user/{_NAME}{{2,32}}")
_USER_ID = re.compile(r"[A-Za-z0-9:+=,.@_-]{1,256}")
_ERROR_CODE = re.compile(r"[A-Za-z0-9.]{1,64}")
_XML_ENCODING = re.compile(rb"""<\?xml[^?>]*\bencoding\s*=\s*["']([^"']*)["']""")
# Error codes with which STS says "not now" rather than "not you" (throttling is HTTP 400).
_TRANSIENT_ERRORS = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "ServiceUnavailable"}
)


def partition_of_region(region: str) -> str | None:
    """The partition a region name belongs to (aws, aws-cn, aws-us-gov), or None."""
    for partition, pattern in _PARTITION_OF_REGION:
        if pattern.fullmatch(region):
            return partition
    return None


def sts_endpoint(region: str | None) -> tuple[str, str]:
    """The STS host and the region a request to it is signed for.

    ``None`` is the global endpoint ``sts.amazonaws.com`` (signed for us-east-1); a region
    is its regional endpoint, ``sts.{region}.amazonaws.com`` (``.amazonaws.com.cn`` in
    China). Raises ValueError for a name that is not a region of those partitions.
    """
    if region is None:
        return GLOBAL_HOST, GLOBAL_REGION
    partition = partition_of_region(region)
    if partition is None:
        raise ValueError(f"{region[:64]!r} is not a region of the aws, aws-cn or aws-us-gov partitions")
    return f"sts.{region}.{DNS_SUFFIXES[partition]}", region


def check_audience(audience: object, what: str = "the STS audience") -> str:
    """The binding header's value: 1 to 256 printable ASCII characters without spaces.

    SigV4 folds runs of spaces in a signed header into one, so ``a  b`` and ``a b`` would
    be the same audience; no spaces at all keeps one value per audience.
    """
    if not isinstance(audience, str) or not _AUDIENCE.fullmatch(audience):
        raise ConfigurationError(f"{what} must be 1 to 256 printable ASCII characters without spaces")
    return audience


@dataclass(frozen=True, slots=True)
class StsEndpoint:
    """A real STS host's partition and the region its requests are signed for."""

    partition: str
    region: str  # the credential scope region a URL for this host must carry


@dataclass(frozen=True, slots=True)
class StsConfig:
    """What the ``sts`` mode accepts. Checked when built (:class:`ConfigurationError`).

    ``regions=None`` accepts the global endpoint and every region in
    :data:`PARTITION_REGIONS` of the configured partitions; a set of regions accepts
    their regional endpoints, and the global one when it includes us-east-1 (partition
    aws). ``allowed_accounts=None`` and ``allowed_principals=()`` accept any account and
    principal STS vouches for.

    ``allowed_principals`` are patterns over the mapped principal ARN in which ``*``
    matches any run of characters, ``/`` and ``:`` included; nothing else is special.

    ``endpoint_override`` is for tests only: a loopback base URL (``http://127.0.0.1:port``
    of a moto server) to which the checked request is sent instead of the real STS host,
    keeping that host in the ``Host`` header. The presigned URL itself must still name a
    real STS host over https. Any other host is refused.
    """

    audience: str
    partitions: frozenset[str] = frozenset({"aws"})
    regions: frozenset[str] | None = None
    allowed_accounts: frozenset[str] | None = None
    allowed_principals: tuple[str, ...] = ()
    max_expires_seconds: int = MAX_EXPIRES_SECONDS
    timeout_seconds: float = 2.0
    endpoint_override: str | None = None
    # Derived: host -> endpoint, compiled principal patterns.
    endpoints: Mapping[str, StsEndpoint] = field(init=False, repr=False, compare=False)
    principal_patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_audience(self.audience)
        partitions = _string_set(self.partitions, "partitions")
        if not partitions or not partitions <= DNS_SUFFIXES.keys():
            raise ConfigurationError(f"STS partitions must be some of {', '.join(sorted(DNS_SUFFIXES))}")
        regions = None if self.regions is None else _string_set(self.regions, "regions")
        if regions is not None:
            if not regions:
                raise ConfigurationError("STS regions is empty: name at least one, or leave it unset for all")
            for region in sorted(regions):
                if partition_of_region(region) not in partitions:
                    raise ConfigurationError(
                        f"STS region {region[:64]!r} is not a region of the partitions {', '.join(sorted(partitions))}"
                    )
        accounts = None if self.allowed_accounts is None else _string_set(self.allowed_accounts, "allowed_accounts")
        if accounts is not None:
            if not accounts:
                raise ConfigurationError("STS allowed_accounts is empty: name accounts, or leave it unset for any")
            if not all(_ACCOUNT.fullmatch(account) for account in accounts):
                raise ConfigurationError("STS allowed_accounts must be 12-digit account ids")
        if isinstance(self.allowed_principals, str):
            raise ConfigurationError("STS allowed_principals must be a sequence of ARN patterns, not one string")
        principals = tuple(self.allowed_principals)
        for pattern in principals:
            if not isinstance(pattern, str) or not _PATTERN.fullmatch(pattern):
                raise ConfigurationError(
                    "STS allowed_principals must be ARN patterns (arn:..., printable ASCII without spaces)"
                )
        if not _is_int(self.max_expires_seconds) or not 1 <= self.max_expires_seconds <= MAX_EXPIRES_SECONDS:
            raise ConfigurationError(f"STS max_expires_seconds must be a whole number from 1 to {MAX_EXPIRES_SECONDS}")
        timeout = self.timeout_seconds
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT_SECONDS:
            raise ConfigurationError(f"STS timeout_seconds must be over 0 and at most {MAX_TIMEOUT_SECONDS:g}")
        override = None if self.endpoint_override is None else _check_override(self.endpoint_override)
        object.__setattr__(self, "partitions", partitions)
        object.__setattr__(self, "regions", regions)
        object.__setattr__(self, "allowed_accounts", accounts)
        object.__setattr__(self, "allowed_principals", principals)
        object.__setattr__(self, "endpoint_override", override)
        object.__setattr__(self, "endpoints", MappingProxyType(_endpoints(partitions, regions)))
        object.__setattr__(self, "principal_patterns", tuple(_compile_pattern(p) for p in principals))


def _string_set(value: object, what: str) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigurationError(f"STS {what} must be a set of strings, not one string")
    items = frozenset(value)
    if not all(isinstance(item, str) for item in items):
        raise ConfigurationError(f"STS {what} must be a set of strings")
    return items


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_override(value: str) -> str:
    what = "the STS endpoint override (tests only)"
    check_url(value, what)  # absolute, no credentials, https or http to loopback
    parts = urlsplit(value)
    if not is_loopback(parts.hostname or ""):
        raise ConfigurationError(f"{what} must be a loopback address: it is for tests against a local STS stand-in")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigurationError(f"{what} must be a base URL without path, query or fragment")
    return f"{parts.scheme}://{parts.netloc}"


def _endpoints(partitions: frozenset[str], regions: frozenset[str] | None) -> dict[str, StsEndpoint]:
    endpoints: dict[str, StsEndpoint] = {}
    for partition in sorted(partitions):
        for region in sorted(PARTITION_REGIONS[partition] if regions is None else regions):
            if partition_of_region(region) == partition:
                host, _ = sts_endpoint(region)
                endpoints[host] = StsEndpoint(partition, region)
    if "aws" in partitions and (regions is None or GLOBAL_REGION in regions):
        endpoints[GLOBAL_HOST] = StsEndpoint("aws", GLOBAL_REGION)
    return endpoints


def _compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


# -- 1. the pure checks ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedRequest:
    """A presigned GetCallerIdentity URL that passed every check that needs no network.

    Its signature is unverified (!): only STS can verify it. ``url`` is what STS will
    verify, byte for byte; it holds the signature and maybe a session token, so it is
    kept out of ``repr``.
    """

    url: str = field(repr=False)
    host: str  # the URL's authority as signed: the Host header
    target: str = field(repr=False)  # path and query: "/?Action=..."
    partition: str
    region: str  # the credential scope's region
    signed_at: int  # X-Amz-Date, epoch seconds
    expires_at: int  # signed_at + X-Amz-Expires
    cache_key: str  # SHA-256 of the URL, hex


def parse_sts_credential(value: str, config: StsConfig, now: float) -> CheckedRequest:
    """Decode ``value`` (the text after ``AWS-STS``) and check the URL; no I/O.

    Raises :class:`CredentialRejected` with a detail that names the problem and never
    the value.
    """
    url = _decode(value)
    if len(url) > MAX_URL_CHARS:
        raise CredentialRejected(Reason.TOKEN_TOO_LARGE, f"the presigned URL is over {MAX_URL_CHARS} characters")
    if not _URL_CHARS.fullmatch(url):
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "the presigned URL has characters a URL cannot have")
    if "#" in url:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "the presigned URL has a fragment")
    host, endpoint, target = _check_endpoint(url, config)
    params = _query_parameters(target[2:])
    _check_operation(params)
    signed_at, expires_at = _check_signature_parameters(params, endpoint, config, now)
    return CheckedRequest(
        url=url,
        host=host,
        target=target,
        partition=endpoint.partition,
        region=endpoint.region,
        signed_at=signed_at,
        expires_at=expires_at,
        cache_key=hashlib.sha256(url.encode("ascii")).hexdigest(),
    )


def _decode(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "the STS credential is empty")
    if len(value) > MAX_CREDENTIAL_CHARS:
        raise CredentialRejected(
            Reason.TOKEN_TOO_LARGE, f"the STS credential is over {MAX_CREDENTIAL_CHARS} characters"
        )
    if not _BASE64URL.fullmatch(value):
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "the STS credential is not base64url")
    data = value.rstrip("=")
    if (data != value and len(value) % 4) or len(data) % 4 == 1:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "the STS credential is not base64url (length or padding)")
    try:
        decoded = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "the STS credential is not base64url") from None
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != data.encode("ascii"):  # unused bits set
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "the STS credential is not canonical base64url")
    try:
        return decoded.decode("ascii")
    except UnicodeDecodeError:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "the presigned URL is not ASCII text") from None


def _check_endpoint(url: str, config: StsConfig) -> tuple[str, StsEndpoint, str]:
    """The authority, its endpoint and the target (``/?...``), compared as text, exactly."""
    if not url.startswith("https://"):
        raise CredentialRejected(_ENDPOINT_REFUSED, "the presigned URL must use https")
    rest = url[len("https://") :]
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, target = rest[:end], rest[end:]
    if "@" in authority:
        raise CredentialRejected(_ENDPOINT_REFUSED, "the presigned URL has user information before its host")
    host, colon, port = authority.rpartition(":") if ":" in authority else (authority, "", "")
    if colon and port != "443" and not authority.endswith("]"):  # [::1] is an address, not a port
        raise CredentialRejected(_ENDPOINT_REFUSED, "the presigned URL names a port other than 443")
    endpoint = config.endpoints.get(host)
    if endpoint is None:
        raise CredentialRejected(
            _ENDPOINT_REFUSED,
            "the presigned URL's host is not an STS endpoint of the configured partitions and regions",
        )
    path, question, query = target.partition("?")
    if path != "/":
        raise CredentialRejected(_ENDPOINT_REFUSED, "the presigned URL's path must be /")
    if not question or not query:
        raise CredentialRejected(_REQUEST_REFUSED, "the presigned URL has no query")
    return authority, endpoint, target


def _query_parameters(query: str) -> dict[str, str]:
    """Name -> decoded value; each allow-listed name once, whatever its case."""
    params: dict[str, str] = {}
    seen: set[str] = set()
    for part in query.split("&"):
        name, equals, raw = part.partition("=")
        if not equals or not _PARAM_NAME.fullmatch(name):
            raise CredentialRejected(_REQUEST_REFUSED, "the presigned URL's query is not a list of name=value")
        if name.lower() in seen:
            raise CredentialRejected(_REQUEST_REFUSED, f"the query parameter {name} appears more than once")
        seen.add(name.lower())
        if name not in ALLOWED_PARAMETERS:
            raise CredentialRejected(_REQUEST_REFUSED, f"the query parameter {name[:40]} is not allowed")
        if not _PARAM_VALUE.fullmatch(raw):
            raise CredentialRejected(
                _REQUEST_REFUSED, f"the query parameter {name} is not percent-encoded as SigV4 does"
            )
        try:
            params[name] = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise CredentialRejected(_REQUEST_REFUSED, f"the query parameter {name} is not UTF-8") from None
    for name in ALLOWED_PARAMETERS:
        if name not in params and name not in _OPTIONAL_PARAMETERS:
            raise CredentialRejected(_REQUEST_REFUSED, f"the query parameter {name} is missing")
    return params


def _check_operation(params: Mapping[str, str]) -> None:
    if params["Action"] != STS_ACTION:
        raise CredentialRejected(_REQUEST_REFUSED, f"Action must be {STS_ACTION}")
    if params["Version"] != STS_VERSION:
        raise CredentialRejected(_REQUEST_REFUSED, f"Version must be {STS_VERSION}")


def _check_signature_parameters(
    params: Mapping[str, str], endpoint: StsEndpoint, config: StsConfig, now: float
) -> tuple[int, int]:
    """Algorithm, credential scope, time, signed headers, signature form: (signed_at, expires_at)."""
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise CredentialRejected(Reason.ALGORITHM_NOT_ALLOWED, f"X-Amz-Algorithm must be {ALGORITHM}")
    scope = params["X-Amz-Credential"].split("/")
    if len(scope) != 5 or not _ACCESS_KEY_ID.fullmatch(scope[0]) or not _SCOPE_DATE.fullmatch(scope[1]):
        raise CredentialRejected(
            Reason.MALFORMED_TOKEN, "X-Amz-Credential is not access-key-id/date/region/sts/aws4_request"
        )
    _, scope_date, scope_region, service, terminator = scope
    if service != "sts" or terminator != "aws4_request":
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "the credential scope must end in /sts/aws4_request")
    if scope_region != endpoint.region:
        raise CredentialRejected(
            Reason.MALFORMED_TOKEN, f"the credential scope's region must be the host's ({endpoint.region})"
        )
    amz_date = params["X-Amz-Date"]
    signed_at = _parse_amz_date(amz_date)
    if scope_date != amz_date[:8]:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "the credential scope's date is not X-Amz-Date's date")
    expires = params["X-Amz-Expires"]
    if not _EXPIRES.fullmatch(expires) or int(expires) > config.max_expires_seconds:
        raise CredentialRejected(
            Reason.INVALID_TIME_CLAIM,
            f"X-Amz-Expires must be a whole number of seconds from 1 to {config.max_expires_seconds}",
        )
    expires_at = signed_at + int(expires)
    if signed_at > now + FUTURE_LEEWAY_SECONDS:
        raise CredentialRejected(
            Reason.ISSUED_IN_FUTURE, f"X-Amz-Date is more than {FUTURE_LEEWAY_SECONDS} s in the future"
        )
    if expires_at <= now:
        raise CredentialRejected(Reason.EXPIRED, "the presigned URL has expired (X-Amz-Date + X-Amz-Expires)")
    signed_headers = params["X-Amz-SignedHeaders"]
    names = signed_headers.split(";") if _SIGNED_HEADERS.fullmatch(signed_headers) else []
    if BINDING_HEADER not in names:
        raise CredentialRejected(
            Reason.INVALID_AUDIENCE, f"the binding header {BINDING_HEADER} is not among the signed headers"
        )
    if "host" not in names:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "the host header is not among the signed headers")
    if signed_headers != SIGNED_HEADERS:
        raise CredentialRejected(
            Reason.MALFORMED_TOKEN, f"the signed headers must be exactly {SIGNED_HEADERS}: no others are sent"
        )
    if not _SIGNATURE.fullmatch(params["X-Amz-Signature"]):
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "X-Amz-Signature is not 64 lowercase hex digits")
    token = params.get("X-Amz-Security-Token")
    if token is not None and not _SESSION_TOKEN.fullmatch(token):
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "X-Amz-Security-Token is not a session token")
    return signed_at, expires_at


def _parse_amz_date(text: str) -> int:
    if _AMZ_DATE.fullmatch(text):
        try:
            moment = datetime.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        except ValueError:
            pass
        else:
            return int(moment.timestamp())
    raise CredentialRejected(Reason.INVALID_TIME_CLAIM, "X-Amz-Date is not a date of the form 20250101T000000Z")


# -- 2. asking STS --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StsAnswer:
    """An HTTP answer, as received (never followed)."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


class StsHttp(Protocol):
    """Sends one GET and returns the answer as it is: no redirects followed.

    Raises :class:`AuthorizerUnavailable` (or anything else, which is treated alike)
    when no answer arrives within ``timeout`` seconds or over ``MAX_ANSWER_BYTES``.
    """

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> StsAnswer: ...


@dataclass(frozen=True, slots=True)
class Identity:
    """Who STS says signed the URL. Verified by STS; not yet mapped or allowed."""

    arn: str
    account: str
    user_id: str
    partition: str  # of the STS endpoint that answered
    expires_at: int | None = None  # of the presigned URL, epoch seconds


def call_sts(request: CheckedRequest, config: StsConfig, http: StsHttp | None = None) -> Identity:
    """Send the checked URL to STS with the binding header; read the answer.

    :class:`CredentialRejected` when STS refuses the request (bad signature, another
    audience, unknown or expired credentials); :class:`AuthorizerUnavailable` when STS
    cannot be reached in time, throttles, fails, redirects or answers something that is
    not a well-formed GetCallerIdentity answer.
    """
    # With the (test only) override, a loopback stand-in is asked as if it were the real host.
    url = request.url if config.endpoint_override is None else config.endpoint_override + request.target
    headers = {"Host": request.host, BINDING_HEADER: config.audience}
    if http is None:
        from authorizers.sigv4.sts_http import shared_http  # http.client and ssl: not at cold start

        http = shared_http()
    transport = http
    try:
        answer = transport.get(url, headers, config.timeout_seconds)
    except AuthorizerUnavailable:
        raise
    except Exception as exc:  # whatever the transport raised: no answer, no decision
        raise AuthorizerUnavailable(f"STS could not be asked ({type(exc).__name__})") from None
    return _identity_from(answer, request)


def _identity_from(answer: StsAnswer, request: CheckedRequest) -> Identity:
    status = answer.status
    if 300 <= status < 400:
        raise AuthorizerUnavailable(f"STS answered with a redirect (HTTP {status}), which is never followed")
    if status == 200:
        fields = _read_sts_xml(answer.body, "GetCallerIdentityResponse")
        result = "GetCallerIdentityResponse/GetCallerIdentityResult/"
        arn, account, user_id = (_one(fields, result + name) for name in ("Arn", "Account", "UserId"))
        if not (
            arn.startswith("arn:")
            and len(arn) <= MAX_ARN_CHARS
            and arn.isascii()
            and arn.isprintable()
            and " " not in arn
            and _ACCOUNT.fullmatch(account)
            and _USER_ID.fullmatch(user_id)
        ):
            raise AuthorizerUnavailable("STS answer has an unusable Arn, Account or UserId")
        return Identity(arn, account, user_id, request.partition, request.expires_at)
    if 400 <= status < 500:
        fields = _read_sts_xml(answer.body, "ErrorResponse")
        code = _one(fields, "ErrorResponse/Error/Code")
        code = code if _ERROR_CODE.fullmatch(code) else "unrecognised error code"
        if status == 429 or code in _TRANSIENT_ERRORS:
            raise AuthorizerUnavailable(f"STS is throttling (HTTP {status}, {code})")
        # Only the code: the message of SignatureDoesNotMatch quotes the string it signed.
        raise CredentialRejected(_STS_REFUSED, f"STS refused the presigned request (HTTP {status}, {code})")
    raise AuthorizerUnavailable(f"STS answered HTTP {status}")


def _one(fields: Mapping[str, list[str]], path: str) -> str:
    values = fields.get(path, [])
    if len(values) != 1:
        raise AuthorizerUnavailable(f"STS answer has {len(values)} {path.rsplit('/', 1)[-1]} elements, not one")
    return values[0]


class _ForbiddenXml(Exception):
    pass


def _read_sts_xml(body: bytes, root: str) -> dict[str, list[str]]:
    """The text of each leaf element by path of local names, from a safe STS answer.

    Refused (AuthorizerUnavailable): over MAX_ANSWER_BYTES, not UTF-8, any ``<!`` markup
    (DOCTYPE, entity declarations, comments, CDATA), processing instructions, an element
    outside the STS namespace, another root, text beside child elements, deep nesting.
    """
    if len(body) > MAX_ANSWER_BYTES:
        raise AuthorizerUnavailable(f"STS answer is over {MAX_ANSWER_BYTES} bytes")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthorizerUnavailable("STS answer is not UTF-8") from None
    declared = _XML_ENCODING.search(body[:200])
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise AuthorizerUnavailable("STS answer declares an encoding other than UTF-8")
    if b"<!" in body:  # checked before any parser sees it
        raise AuthorizerUnavailable("STS answer has a DOCTYPE, entity, comment or CDATA: refused unparsed")
    reader = _StsXmlReader(root)
    try:
        reader.parse(body)
    except _ForbiddenXml:
        raise AuthorizerUnavailable(f"STS answer is not a well-formed {root} document") from None
    return reader.fields


class _StsXmlReader:
    """expat with every declaration, entity and processing instruction refused."""

    MAX_DEPTH = 8

    def __init__(self, root: str) -> None:
        self.root = root
        self.fields: dict[str, list[str]] = {}
        self._stack: list[tuple[str, list[str], bool]] = []  # (path, text pieces, has children)

    def parse(self, body: bytes) -> None:
        from xml.parsers import expat

        parser = expat.ParserCreate("UTF-8", " ")
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._forbidden
        parser.EntityDeclHandler = self._forbidden
        parser.UnparsedEntityDeclHandler = self._forbidden
        parser.NotationDeclHandler = self._forbidden
        parser.ExternalEntityRefHandler = self._forbidden_reference
        parser.ProcessingInstructionHandler = self._forbidden
        parser.CommentHandler = self._forbidden
        parser.StartCdataSectionHandler = self._forbidden
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._characters
        try:
            parser.Parse(body, True)
        except expat.ExpatError:
            raise _ForbiddenXml from None

    def _forbidden(self, *_: object) -> None:
        raise _ForbiddenXml

    def _forbidden_reference(self, *_: object) -> int:
        raise _ForbiddenXml

    def _start(self, name: str, _attributes: object) -> None:
        namespace, _, local = name.rpartition(" ")
        stack = self._stack
        if namespace != STS_NAMESPACE or len(stack) >= self.MAX_DEPTH or (not stack and local != self.root):
            raise _ForbiddenXml
        if stack:
            parent, text, _ = stack[-1]
            stack[-1] = (parent, text, True)
            path = f"{parent}/{local}"
        else:
            path = local
        stack.append((path, [], False))

    def _end(self, _name: str) -> None:
        path, text, has_children = self._stack.pop()
        value = "".join(text)
        if not has_children:
            self.fields.setdefault(path, []).append(value)
        elif value.strip():
            raise _ForbiddenXml

    def _characters(self, data: str) -> None:
        if not self._stack:
            raise _ForbiddenXml
        self._stack[-1][1].append(data)


# -- 3. the principal -----------------------------------------------------------------


def principal_for(identity: Identity, config: StsConfig) -> Principal:
    """The principal for what STS answered, if the allow-lists admit it.

    * an IAM user ``arn:aws:iam::123456789012:user/path/name``, the account root
      ``arn:aws:iam::123456789012:root`` and a federated user
      ``arn:aws:sts::123456789012:federated-user/name`` are their own ARN;
    * an assumed role ``arn:aws:sts::123456789012:assumed-role/Role/session`` is the role,
      ``arn:aws:iam::123456789012:role/Role``. The role's path is not in the assumed-role
      ARN and so not in the principal either: patterns for a role with a path name it
      without (role names are unique in an account, paths aside). The session name is
      the claim ``role_session_name``, chosen by whoever assumed the role.

    Any other ARN, or one whose partition or account disagrees with the answer, is
    refused (401). An account or principal outside the allow-lists is refused with
    :class:`InsufficientPermission` (403).
    """
    arn = identity.arn
    session_name: str | None = None
    if (match := _ASSUMED_ROLE_ARN.fullmatch(arn)) is not None:
        session_name = match["session"]
        mapped = f"arn:{match[1]}:iam::{match[2]}:role/{match['role']}"
    elif (
        match := _USER_ARN.fullmatch(arn) or _ROOT_ARN.fullmatch(arn) or _FEDERATED_USER_ARN.fullmatch(arn)
    ) is not None:
        mapped = arn
    else:
        raise CredentialRejected(
            Reason.INVALID_SUBJECT, "STS vouched for an identity of a kind this authorizer does not map"
        )
    if match[1] != identity.partition or match[2] != identity.account:
        raise CredentialRejected(
            Reason.INVALID_SUBJECT, "STS's Arn disagrees with its Account or with the endpoint's partition"
        )
    if config.allowed_accounts is not None and identity.account not in config.allowed_accounts:
        raise InsufficientPermission(Reason.NOT_PERMITTED, "the caller's AWS account is not allowed", mapped)
    if config.principal_patterns and not any(p.fullmatch(mapped) for p in config.principal_patterns):
        raise InsufficientPermission(Reason.NOT_PERMITTED, "the caller's IAM principal is not allowed", mapped)
    claims: dict[str, Any] = {"arn": arn, "account": identity.account, "user_id": identity.user_id}
    if session_name is not None:
        claims["role_session_name"] = session_name
    return Principal(
        principal_id=mapped,
        scheme=SCHEME,
        groups=frozenset(),
        expires_at=identity.expires_at,
        claims=claims,
    )


# -- the validator --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Refused:
    reason: Reason
    detail: str


class StsValidator:
    """Checks, asks STS once per presigned URL, maps; remembers answers until the URL expires.

    Both STS's identity and its refusals are remembered (a refusal so that a replayed bad
    URL does not reach STS again); an unavailable STS is never remembered. The checks of
    :func:`parse_sts_credential`, time included, run on every call, cache or not.
    """

    def __init__(
        self,
        config: StsConfig,
        clock: Clock = time.time,
        http: StsHttp | None = None,
        max_cached: int = MAX_CACHED_CREDENTIALS,
    ) -> None:
        self.config = config
        self._clock = clock
        self._http = http  # None: the shared client, made on the first call (http.client, ssl)
        self._max_cached = max_cached
        self._cache: OrderedDict[str, tuple[Identity | _Refused, int]] = OrderedDict()
        self._lock = threading.Lock()

    def validate(self, value: str) -> Principal:
        now = self._clock()
        request = parse_sts_credential(value, self.config, now)
        outcome = self._cached(request.cache_key, now)
        if outcome is None:
            try:
                outcome = call_sts(request, self.config, self._http)
            except CredentialRejected as exc:
                self._remember(request, _Refused(exc.reason, exc.detail))
                raise
            self._remember(request, outcome)
        if isinstance(outcome, _Refused):
            raise CredentialRejected(outcome.reason, outcome.detail)
        return principal_for(outcome, self.config)

    def _cached(self, key: str, now: float) -> Identity | _Refused | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            if entry[1] <= now:
                del self._cache[key]
                return None
            self._cache.move_to_end(key)
            return entry[0]

    def _remember(self, request: CheckedRequest, outcome: Identity | _Refused) -> None:
        with self._lock:
            self._cache[request.cache_key] = (outcome, request.expires_at)
            self._cache.move_to_end(request.cache_key)
            while len(self._cache) > self._max_cached:
                self._cache.popitem(last=False)


__all__ = [
    "ALLOWED_PARAMETERS",
    "AUTHORIZATION_SCHEME",
    "BINDING_HEADER",
    "MAX_ANSWER_BYTES",
    "MAX_EXPIRES_SECONDS",
    "PARTITION_REGIONS",
    "SCHEME",
    "CheckedRequest",
    "Identity",
    "StsAnswer",
    "StsConfig",
    "StsEndpoint",
    "StsHttp",
    "StsValidator",
    "call_sts",
    "check_audience",
    "parse_sts_credential",
    "partition_of_region",
    "principal_for",
    "sts_endpoint",
]
