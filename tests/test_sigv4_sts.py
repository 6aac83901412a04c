"""SigV4 mode sts: presigned GetCallerIdentity, checked before sending, asked of STS, mapped.

What moto's server (5.2) does and does not do with a presigned GetCallerIdentity GET:

* it picks the service, and the caller, from an ``Authorization`` header (else from a form
  body or the path). A presigned GET has none of these: moto treats it as S3 and answers
  ListAllMyBuckets (``test_moto_needs_an_authorization_header``). The end-to-end tests
  therefore send through :class:`MotoFindsCaller`, which adds an ``Authorization`` header
  carrying the credential scope of ``X-Amz-Credential`` (no signature) on the way to moto;
  everything else is the real HTTP client on a real socket;
* it answers for IAM users and assumed roles it created, by access key id; an unknown key
  gets ``arn:aws:sts::123456789012:user/moto``, an ARN real STS never answers;
* it verifies nothing: not the signature, not the expiry, not the binding header
  (``test_moto_does_not_verify_signatures``). What real STS verifies is covered by an
  independent SigV4 computation over the minted URL (``test_minted_signature_covers_the_audience``)
  and by stand-in answers for STS's refusals.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from botocore.credentials import Credentials

from authorizers.clients import sts_token
from authorizers.errors import (
    AuthorizerUnavailable,
    ConfigurationError,
    CredentialRejected,
    InsufficientPermission,
    Reason,
)
from authorizers.sigv4.sts import (
    BINDING_HEADER,
    MAX_ANSWER_BYTES,
    PARTITION_REGIONS,
    STS_NAMESPACE,
    CheckedRequest,
    Identity,
    StsAnswer,
    StsConfig,
    StsValidator,
    call_sts,
    parse_sts_credential,
    principal_for,
)
from authorizers.sigv4.sts_http import StsHttpClient
from tests.motoserver import aws_environment, moto_server

AUDIENCE = "orders-api"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE+session/token=="
ACCOUNT = "123456789012"  # moto's default account
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


# -- minting --------------------------------------------------------------------------


class StaticSession:
    """Enough of a boto3/botocore session for sts_token: fixed credentials."""

    def __init__(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, token: str | None = None) -> None:
        self.credentials = Credentials(access_key, secret_key, token)

    def get_credentials(self) -> Credentials:
        return self.credentials


@dataclass(frozen=True)
class Minted:
    token: str  # what follows "AWS-STS "
    url: str
    params: Mapping[str, str]
    signed_at: int

    @property
    def signature(self) -> str:
        return self.params["X-Amz-Signature"]


def decode(token: str) -> str:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")


def encode(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode("ascii")).rstrip(b"=").decode("ascii")


def amz_epoch(amz_date: str) -> int:
    moment = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    return int(moment.timestamp())


def minted(token: str) -> Minted:
    url = decode(token)
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    return Minted(token, url, params, amz_epoch(params["X-Amz-Date"]))


def mint(audience: str = AUDIENCE, *, session: Any = None, **options: Any) -> Minted:
    return minted(sts_token(audience, session=session or StaticSession(), **options))


def config(**overrides: Any) -> StsConfig:
    return StsConfig(audience=overrides.pop("audience", AUDIENCE), **overrides)


# -- fake and stand-in STS ------------------------------------------------------------


def identity_xml(arn: str, account: str = ACCOUNT, user_id: str = "AIDAEXAMPLEUSERID0001") -> bytes:
    return (
        f'<GetCallerIdentityResponse xmlns="{STS_NAMESPACE}"><GetCallerIdentityResult>'
        f"<Arn>{arn}</Arn><UserId>{user_id}</UserId><Account>{account}</Account>"
        "</GetCallerIdentityResult><ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>"
        "</ResponseMetadata></GetCallerIdentityResponse>"
    ).encode()


def error_xml(code: str, message: str = "The request signature we calculated does not match") -> bytes:
    return (
        f'<ErrorResponse xmlns="{STS_NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>"
        "</ErrorResponse>"
    ).encode()


ALICE_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
OK = StsAnswer(200, identity_xml(ALICE_ARN))


@dataclass
class Sent:
    url: str
    headers: dict[str, str]
    timeout: float


@dataclass
class FakeHttp:
    """Records each GET and answers from a script (the last answer repeats)."""

    answers: list[StsAnswer | BaseException] = field(default_factory=lambda: [OK])
    sent: list[Sent] = field(default_factory=list)

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> StsAnswer:
        self.sent.append(Sent(url, dict(headers), timeout))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer


def secrets_of(m: Minted) -> list[str]:
    """What must never appear in an error: the credential, its URL, signature, key id, token."""
    values = [m.token, m.url, m.signature, ACCESS_KEY, m.params["X-Amz-Credential"], SESSION_TOKEN]
    return [*values, quote(SESSION_TOKEN, safe="")]


def assert_no_secrets(exc: BaseException, m: Minted) -> None:
    text = f"{exc} {exc!r} {getattr(exc, 'detail', '')}"
    for secret in secrets_of(m):
        assert secret not in text


# -- pre-STS refusals: nothing is sent ------------------------------------------------


def url_row(change: Callable[[str], str]) -> Callable[[Minted], str]:
    return lambda m: encode(change(m.url))


def swap(old: str, new: str) -> Callable[[Minted], str]:
    def change(url: str) -> str:
        assert old in url, old
        return url.replace(old, new, 1)

    return url_row(change)


def swap_param(name: str, value: str) -> Callable[[Minted], str]:
    def change(url: str) -> str:
        current = quote(dict(parse_qsl(urlsplit(url).query))[name], safe="")
        return url.replace(f"{name}={current}", f"{name}={value}", 1)

    return url_row(change)


def drop_param(name: str) -> Callable[[Minted], str]:
    def change(url: str) -> str:
        current = quote(dict(parse_qsl(urlsplit(url).query))[name], safe="")
        return url.replace(f"&{name}={current}", "", 1)

    return url_row(change)


def old_date(m: Minted) -> str:
    url = m.url.replace(m.params["X-Amz-Date"], "20200101T000000Z")
    return encode(url.replace(f"%2F{m.params['X-Amz-Date'][:8]}%2F", "%2F20200101%2F"))


HOST = "https://sts.amazonaws.com/"
Row = tuple[Callable[[Minted], str], float, dict[str, Any], Reason, str]
ENDPOINT = Reason.STS_ENDPOINT_NOT_ALLOWED
REQUEST = Reason.STS_REQUEST_NOT_ALLOWED
NOT_STS_HOST = "not an STS endpoint"

REFUSALS = [
    # where the URL points
    pytest.param(swap(HOST, "http://sts.amazonaws.com/"), 0, {}, ENDPOINT, "must use https", id="http"),
    pytest.param(swap(HOST, "ftp://sts.amazonaws.com/"), 0, {}, ENDPOINT, "must use https", id="ftp"),
    pytest.param(swap(HOST, "https://sts.amazonaws.com.evil.com/"), 0, {}, ENDPOINT, NOT_STS_HOST, id="suffix"),
    pytest.param(swap(HOST, "https://evilsts.amazonaws.com/"), 0, {}, ENDPOINT, NOT_STS_HOST, id="prefix"),
    pytest.param(swap(HOST, "https://evil.com/sts.amazonaws.com/"), 0, {}, ENDPOINT, NOT_STS_HOST, id="host-in-path"),
    pytest.param(swap(HOST, "https://evil.com?sts.amazonaws.com/"), 0, {}, ENDPOINT, NOT_STS_HOST, id="host-in-query"),
    pytest.param(swap(HOST, "https://sts.amazonaws.com@evil.com/"), 0, {}, ENDPOINT, "user information", id="at-evil"),
    pytest.param(swap(HOST, "https://user@sts.amazonaws.com/"), 0, {}, ENDPOINT, "user information", id="userinfo"),
    pytest.param(swap(HOST, "https://sts.amazonaws.com:8443/"), 0, {}, ENDPOINT, "port other than 443", id="port"),
    pytest.param(swap(HOST, "https://sts.amazonaws.com:/"), 0, {}, ENDPOINT, "port other than 443", id="empty-port"),
    pytest.param(swap(HOST, "https://sts.amazonaws.com./"), 0, {}, ENDPOINT, NOT_STS_HOST, id="trailing-dot"),
    pytest.param(swap(HOST, "https://STS.amazonaws.com/"), 0, {}, ENDPOINT, NOT_STS_HOST, id="upper-case"),
    pytest.param(swap(HOST, "https://52.94.0.1/"), 0, {}, ENDPOINT, NOT_STS_HOST, id="ipv4"),
    pytest.param(swap(HOST, "https://[::1]/"), 0, {}, ENDPOINT, NOT_STS_HOST, id="ipv6"),
    pytest.param(swap(HOST, "https://sts-fips.us-east-1.amazonaws.com/"), 0, {}, ENDPOINT, NOT_STS_HOST, id="fips"),
    pytest.param(swap(HOST, "https://sts.xx-fake-1.amazonaws.com/"), 0, {}, ENDPOINT, NOT_STS_HOST, id="no-region"),
    pytest.param(swap(HOST, "https://sts.s3.amazonaws.com/"), 0, {}, ENDPOINT, NOT_STS_HOST, id="bucket-like"),
    pytest.param(
        swap(HOST, "https://sts.cn-north-1.amazonaws.com.cn/"), 0, {}, ENDPOINT, NOT_STS_HOST, id="partition-not-on"
    ),
    pytest.param(
        swap(HOST, "https://sts.us-west-2.amazonaws.com/"),
        0,
        {"regions": frozenset({"eu-west-1"})},
        ENDPOINT,
        NOT_STS_HOST,
        id="region-not-on",
    ),
    pytest.param(
        lambda m: m.token, 0, {"regions": frozenset({"eu-west-1"})}, ENDPOINT, NOT_STS_HOST, id="global-not-on"
    ),
    pytest.param(swap(HOST, "https://sts.amazonaws.com/x/"), 0, {}, ENDPOINT, "path must be /", id="path"),
    pytest.param(swap(HOST, "https://sts.amazonaws.com//"), 0, {}, ENDPOINT, "path must be /", id="double-slash"),
    pytest.param(swap(HOST, "https://sts.amazonaws.com/./"), 0, {}, ENDPOINT, "path must be /", id="dot-segment"),
    pytest.param(swap(HOST, "https://sts.amazonaws.com"), 0, {}, ENDPOINT, "path must be /", id="empty-path"),
    pytest.param(url_row(lambda u: u + "#frag"), 0, {}, Reason.MALFORMED_TOKEN, "fragment", id="fragment"),
    pytest.param(url_row(lambda u: u.split("?")[0]), 0, {}, REQUEST, "has no query", id="no-query"),
    # what the URL asks
    pytest.param(url_row(lambda u: u + "&RoleArn=x"), 0, {}, REQUEST, "RoleArn is not allowed", id="extra-param"),
    pytest.param(url_row(lambda u: u + "&X-Amz-Foo=1"), 0, {}, REQUEST, "X-Amz-Foo is not allowed", id="extra-amz"),
    pytest.param(
        url_row(lambda u: u + "&Action=GetCallerIdentity"), 0, {}, REQUEST, "more than once", id="duplicate-exact"
    ),
    pytest.param(
        url_row(lambda u: u + "&action=GetCallerIdentity"), 0, {}, REQUEST, "more than once", id="duplicate-case"
    ),
    pytest.param(
        url_row(lambda u: u + "&x-amz-signature=" + "0" * 64), 0, {}, REQUEST, "more than once", id="dup-signature"
    ),
    pytest.param(swap("?Action=", "?action="), 0, {}, REQUEST, "action is not allowed", id="lower-case-name"),
    pytest.param(swap("?Action=", "?Act%69on="), 0, {}, REQUEST, "not a list of name=value", id="encoded-name"),
    pytest.param(url_row(lambda u: u + "&Flag"), 0, {}, REQUEST, "not a list of name=value", id="no-equals"),
    pytest.param(url_row(lambda u: u + "&&"), 0, {}, REQUEST, "not a list of name=value", id="empty-pair"),
    pytest.param(swap_param("Action", "AssumeRole"), 0, {}, REQUEST, "Action must be GetCallerIdentity", id="action"),
    pytest.param(
        swap_param("Action", "GetCallerIdentity%00"), 0, {}, REQUEST, "Action must be", id="action-trailing-nul"
    ),
    pytest.param(swap_param("Version", "2011-06-16"), 0, {}, REQUEST, "Version must be 2011-06-15", id="version"),
    pytest.param(swap_param("Version", "2011+06-15"), 0, {}, REQUEST, "percent-encoded", id="plus-in-value"),
    pytest.param(swap_param("Version", "%zz"), 0, {}, REQUEST, "percent-encoded", id="bad-percent"),
    pytest.param(swap_param("Version", "%ff"), 0, {}, REQUEST, "Version is not UTF-8", id="percent-not-utf8"),
    pytest.param(drop_param("Version"), 0, {}, REQUEST, "Version is missing", id="missing-version"),
    pytest.param(drop_param("X-Amz-Signature"), 0, {}, REQUEST, "X-Amz-Signature is missing", id="no-signature"),
    # how it is signed
    pytest.param(
        swap_param("X-Amz-Algorithm", "AWS4-HMAC-SHA1"),
        0,
        {},
        Reason.ALGORITHM_NOT_ALLOWED,
        "AWS4-HMAC-SHA256",
        id="algorithm",
    ),
    pytest.param(swap("%2Fsts%2F", "%2Fs3%2F"), 0, {}, Reason.MALFORMED_TOKEN, "/sts/aws4_request", id="service"),
    pytest.param(
        swap("%2Faws4_request", "%2Faws4_requests"), 0, {}, Reason.MALFORMED_TOKEN, "/sts/aws4", id="terminator"
    ),
    pytest.param(
        swap("%2Fus-east-1%2F", "%2Feu-west-1%2F"),
        0,
        {},
        Reason.MALFORMED_TOKEN,
        "host's (us-east-1)",
        id="scope-region",
    ),
    pytest.param(
        swap(f"{ACCESS_KEY}%2F", "not-a-key%2F"), 0, {}, Reason.MALFORMED_TOKEN, "access-key-id/date", id="key-id"
    ),
    pytest.param(
        swap_param("X-Amz-Credential", "x"), 0, {}, Reason.MALFORMED_TOKEN, "access-key-id/date", id="scope-shape"
    ),
    pytest.param(
        lambda m: swap(f"%2F{m.params['X-Amz-Date'][:8]}%2F", "%2F19990101%2F")(m),
        0,
        {},
        Reason.MALFORMED_TOKEN,
        "scope's date",
        id="scope-date",
    ),
    pytest.param(
        swap_param("X-Amz-SignedHeaders", "host"),
        0,
        {},
        Reason.INVALID_AUDIENCE,
        "x-authorizer-audience is not among the signed headers",
        id="binding-unsigned",
    ),
    pytest.param(
        swap_param("X-Amz-SignedHeaders", "x-authorizer-audience"),
        0,
        {},
        Reason.MALFORMED_TOKEN,
        "host header is not among",
        id="host-unsigned",
    ),
    pytest.param(
        swap_param("X-Amz-SignedHeaders", "host%3Bx-amz-date%3Bx-authorizer-audience"),
        0,
        {},
        Reason.MALFORMED_TOKEN,
        "must be exactly host;x-authorizer-audience",
        id="extra-signed-header",
    ),
    pytest.param(
        swap_param("X-Amz-SignedHeaders", "x-authorizer-audience%3Bhost"),
        0,
        {},
        Reason.MALFORMED_TOKEN,
        "must be exactly",
        id="unsorted-signed-headers",
    ),
    pytest.param(
        swap_param("X-Amz-Signature", "A" * 64), 0, {}, Reason.MALFORMED_TOKEN, "64 lowercase hex", id="signature-form"
    ),
    pytest.param(
        swap_param("X-Amz-Security-Token", "%20"),
        0,
        {},
        Reason.MALFORMED_TOKEN,
        "not a session token",
        id="session-token",
    ),
    # when
    pytest.param(
        swap_param("X-Amz-Expires", "901"), 0, {}, Reason.INVALID_TIME_CLAIM, "from 1 to 900", id="expires-over-900"
    ),
    pytest.param(
        swap_param("X-Amz-Expires", "604800"), 0, {}, Reason.INVALID_TIME_CLAIM, "from 1 to 900", id="expires-week"
    ),
    pytest.param(
        lambda m: m.token,
        0,
        {"max_expires_seconds": 300},
        Reason.INVALID_TIME_CLAIM,
        "from 1 to 300",
        id="expires-over-configured",
    ),
    pytest.param(swap_param("X-Amz-Expires", "0"), 0, {}, Reason.INVALID_TIME_CLAIM, "from 1 to", id="expires-zero"),
    pytest.param(swap_param("X-Amz-Expires", "-5"), 0, {}, Reason.INVALID_TIME_CLAIM, "from 1 to", id="expires-minus"),
    pytest.param(
        swap_param("X-Amz-Expires", "090"), 0, {}, Reason.INVALID_TIME_CLAIM, "from 1 to", id="expires-zero-lead"
    ),
    pytest.param(lambda m: m.token, 900, {}, Reason.EXPIRED, "has expired", id="expired-just"),
    pytest.param(lambda m: m.token, 86400, {}, Reason.EXPIRED, "has expired", id="expired-day"),
    pytest.param(old_date, 0, {}, Reason.EXPIRED, "has expired", id="old-date"),
    pytest.param(lambda m: m.token, -61, {}, Reason.ISSUED_IN_FUTURE, "60 s in the future", id="future-just"),
    pytest.param(lambda m: m.token, -86400, {}, Reason.ISSUED_IN_FUTURE, "in the future", id="future-day"),
    pytest.param(
        lambda m: swap(m.params["X-Amz-Date"], m.params["X-Amz-Date"][:8] + "T256100Z")(m),
        0,
        {},
        Reason.INVALID_TIME_CLAIM,
        "X-Amz-Date is not a date",
        id="date-impossible",
    ),
    pytest.param(
        lambda m: swap(m.params["X-Amz-Date"], m.params["X-Amz-Date"][:-1])(m),
        0,
        {},
        Reason.INVALID_TIME_CLAIM,
        "X-Amz-Date is not a date",
        id="date-shape",
    ),
    # the credential's form
    pytest.param(lambda m: "", 0, {}, Reason.MALFORMED_TOKEN, "empty", id="empty"),
    pytest.param(lambda m: m.token + "$", 0, {}, Reason.MALFORMED_TOKEN, "not base64url", id="not-base64url"),
    pytest.param(
        lambda m: base64.b64encode(b"https://sts.amazonaws.com/?a=>>>?").decode(),
        0,
        {},
        Reason.MALFORMED_TOKEN,
        "not base64url",
        id="standard-base64",
    ),
    pytest.param(lambda m: "AAAAA", 0, {}, Reason.MALFORMED_TOKEN, "length or padding", id="bad-length"),
    pytest.param(lambda m: "QQ=", 0, {}, Reason.MALFORMED_TOKEN, "padding", id="bad-padding"),
    pytest.param(lambda m: "QR", 0, {}, Reason.MALFORMED_TOKEN, "canonical", id="non-canonical-bits"),
    pytest.param(lambda m: " " + m.token, 0, {}, Reason.MALFORMED_TOKEN, "not base64url", id="leading-space"),
    pytest.param(
        lambda m: base64.urlsafe_b64encode("https://stś.amazonaws.com/".encode()).decode(),
        0,
        {},
        Reason.MALFORMED_TOKEN,
        "not ASCII",
        id="non-ascii",
    ),
    pytest.param(swap("sts.amazonaws", "sts.amazon\naws"), 0, {}, Reason.MALFORMED_TOKEN, "characters", id="newline"),
    pytest.param(swap("sts.amazonaws", "sts.amazon\taws"), 0, {}, Reason.MALFORMED_TOKEN, "characters", id="tab"),
    pytest.param(swap("https://sts", "https:\\\\sts"), 0, {}, Reason.MALFORMED_TOKEN, "characters", id="backslash"),
    pytest.param(lambda m: "A" * 8193, 0, {}, Reason.TOKEN_TOO_LARGE, "over 8192 characters", id="too-long"),
    pytest.param(
        url_row(lambda u: u + "&X-Amz-Security-Token=" + "A" * 4096),
        0,
        {},
        Reason.TOKEN_TOO_LARGE,
        "over 4096 characters",
        id="url-too-long",
    ),
]


@pytest.mark.parametrize(("credential", "offset", "overrides", "reason", "fragment"), REFUSALS)
def test_refused_before_anything_is_sent(
    credential: Callable[[Minted], str], offset: float, overrides: dict[str, Any], reason: Reason, fragment: str
) -> None:
    m = mint(session=StaticSession(token=SESSION_TOKEN))
    http = FakeHttp()
    validator = StsValidator(config(**overrides), clock=lambda: m.signed_at + offset, http=http)
    with pytest.raises(CredentialRejected) as caught:
        validator.validate(credential(m))
    assert type(caught.value) is CredentialRejected  # never a 403: nothing is known of the caller
    assert caught.value.reason is reason
    assert fragment in caught.value.detail
    assert http.sent == []
    assert_no_secrets(caught.value, m)


@pytest.mark.parametrize(
    ("offset", "passes"),
    [(-60, True), (-61, False), (899, True), (900, False)],
    ids=["future-60s", "future-61s", "expires-in-1s", "expired-now"],
)
def test_time_boundaries(offset: int, passes: bool) -> None:
    m = mint()
    http = FakeHttp()
    validator = StsValidator(config(), clock=lambda: m.signed_at + offset, http=http)
    if passes:
        assert validator.validate(m.token).principal_id == ALICE_ARN
    else:
        with pytest.raises(CredentialRejected):
            validator.validate(m.token)
    assert len(http.sent) == (1 if passes else 0)


# -- what passes, and what is sent ----------------------------------------------------


def test_checked_request_is_exactly_the_presigned_url() -> None:
    m = mint(session=StaticSession(token=SESSION_TOKEN))
    checked = parse_sts_credential(m.token, config(), now=m.signed_at + 1)
    assert checked == CheckedRequest(
        url=m.url,
        host="sts.amazonaws.com",
        target=m.url.removeprefix("https://sts.amazonaws.com"),
        partition="aws",
        region="us-east-1",
        signed_at=m.signed_at,
        expires_at=m.signed_at + 900,
        cache_key=hashlib.sha256(m.url.encode()).hexdigest(),
    )
    for secret in secrets_of(m):
        assert secret not in repr(checked)


def test_padded_base64url_is_the_same_credential() -> None:
    m = mint()
    padded = base64.urlsafe_b64encode(m.url.encode()).decode()
    assert parse_sts_credential(padded, config(), m.signed_at) == parse_sts_credential(m.token, config(), m.signed_at)


def test_sends_the_url_as_signed_with_this_apis_audience() -> None:
    m = mint(audience="another-api")  # presigned for another API: STS will refuse the signature
    http = FakeHttp()
    call_sts(parse_sts_credential(m.token, config(), m.signed_at), config(timeout_seconds=1.5), http)
    assert http.sent == [Sent(m.url, {"Host": "sts.amazonaws.com", BINDING_HEADER: AUDIENCE}, 1.5)]


def test_explicit_port_443_is_sent_as_signed() -> None:
    m = mint()
    url = m.url.replace("https://sts.amazonaws.com/", "https://sts.amazonaws.com:443/")
    http = FakeHttp()
    call_sts(parse_sts_credential(encode(url), config(), m.signed_at), config(), http)
    assert http.sent[0].url == url
    assert http.sent[0].headers["Host"] == "sts.amazonaws.com:443"


@pytest.mark.parametrize(
    ("region", "partitions", "host"),
    [
        ("eu-west-1", {"aws"}, "sts.eu-west-1.amazonaws.com"),
        ("us-east-1", {"aws"}, "sts.us-east-1.amazonaws.com"),
        ("cn-north-1", {"aws-cn"}, "sts.cn-north-1.amazonaws.com.cn"),
        ("cn-northwest-1", {"aws", "aws-cn"}, "sts.cn-northwest-1.amazonaws.com.cn"),
        ("us-gov-west-1", {"aws-us-gov"}, "sts.us-gov-west-1.amazonaws.com"),
        ("us-gov-east-1", {"aws-us-gov"}, "sts.us-gov-east-1.amazonaws.com"),
    ],
)
def test_regional_endpoints(region: str, partitions: set[str], host: str) -> None:
    m = mint(region=region)
    assert urlsplit(m.url).netloc == host
    checked = parse_sts_credential(m.token, config(partitions=frozenset(partitions)), m.signed_at)
    assert (checked.host, checked.region) == (host, region)


def test_gov_hosts_are_refused_without_their_partition() -> None:
    m = mint(region="us-gov-west-1")
    with pytest.raises(CredentialRejected, match="not an STS endpoint"):
        parse_sts_credential(m.token, config(), m.signed_at)


def test_configured_regions() -> None:
    only_eu = config(regions=frozenset({"eu-west-1"}))
    assert set(only_eu.endpoints) == {"sts.eu-west-1.amazonaws.com"}
    with_global = config(regions=frozenset({"eu-west-1", "us-east-1"}))
    assert set(with_global.endpoints) == {
        "sts.eu-west-1.amazonaws.com",
        "sts.us-east-1.amazonaws.com",
        "sts.amazonaws.com",
    }
    # A region opened after this table was written is accepted once named.
    newer = config(regions=frozenset({"ap-southeast-9"}))
    assert "sts.ap-southeast-9.amazonaws.com" in newer.endpoints
    everything = config(partitions=frozenset({"aws", "aws-cn", "aws-us-gov"}))
    assert len(everything.endpoints) == sum(len(regions) for regions in PARTITION_REGIONS.values()) + 1


def test_minted_signature_covers_the_audience() -> None:
    """What STS checks, computed independently of botocore (moto checks none of it)."""
    m = mint(session=StaticSession(token=SESSION_TOKEN))
    assert m.params["X-Amz-SignedHeaders"] == f"host;{BINDING_HEADER}"
    assert m.params["X-Amz-Security-Token"] == SESSION_TOKEN
    assert sigv4_presigned_signature(m.url, {BINDING_HEADER: AUDIENCE}, SECRET_KEY) == m.signature
    assert sigv4_presigned_signature(m.url, {BINDING_HEADER: "another-api"}, SECRET_KEY) != m.signature
    assert sigv4_presigned_signature(m.url, {BINDING_HEADER: AUDIENCE}, SECRET_KEY + "x") != m.signature


def sigv4_presigned_signature(url: str, headers: Mapping[str, str], secret: str) -> str:
    """SigV4 of a presigned GET, per the AWS documentation's steps."""
    parts = urlsplit(url)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "X-Amz-Signature"]
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params))
    named = dict(params)
    all_headers = {"host": parts.netloc, **{k.lower(): v.strip() for k, v in headers.items()}}
    signed = named["X-Amz-SignedHeaders"].split(";")
    canonical_headers = "".join(f"{name}:{all_headers[name]}\n" for name in signed)
    canonical = "\n".join(["GET", parts.path, query, canonical_headers, ";".join(signed), EMPTY_SHA256])
    _, date, region, service, terminator = named["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/{terminator}"
    to_sign = "\n".join(
        [named["X-Amz-Algorithm"], named["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


# -- sts_token ------------------------------------------------------------------------


def test_sts_token_shape() -> None:
    m = mint(expires_in=60)
    assert "=" not in m.token and "+" not in m.token and "/" not in m.token
    assert m.url.startswith("https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&")
    assert m.params["X-Amz-Expires"] == "60"
    assert (
        m.params["X-Amz-Credential"]
        == f"{ACCESS_KEY}/{time.strftime('%Y%m%d', time.gmtime(m.signed_at))}/us-east-1/sts/aws4_request"
    )
    assert "X-Amz-Security-Token" not in m.params
    assert abs(m.signed_at - time.time()) < 60


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"audience": ""}, "audience must be"),
        ({"audience": "two words"}, "audience must be"),
        ({"audience": "x" * 257}, "audience must be"),
        ({"expires_in": 0}, "expires_in"),
        ({"expires_in": 901}, "expires_in"),
        ({"expires_in": True}, "expires_in"),
        ({"region": "evil.com/x"}, "not a region"),
        ({"region": "us-iso-east-1"}, "not a region"),
    ],
)
def test_sts_token_refuses_bad_arguments(arguments: dict[str, Any], message: str) -> None:
    audience = arguments.pop("audience", AUDIENCE)
    with pytest.raises(ValueError, match=message):
        sts_token(audience, session=StaticSession(), **arguments)


def test_sts_token_with_a_botocore_session_and_default_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import botocore.session

    aws_environment(monkeypatch, "http://127.0.0.1:9", tmp_path)  # never contacted
    session = botocore.session.Session()
    session.set_credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)
    m = minted(sts_token(AUDIENCE, session=session))
    assert m.params["X-Amz-Security-Token"] == SESSION_TOKEN
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENTKEY01")
    from_environment = minted(sts_token(AUDIENCE))
    assert from_environment.params["X-Amz-Credential"].startswith("AKIAENVIRONMENTKEY01/")


def test_sts_token_without_credentials() -> None:
    from botocore.exceptions import NoCredentialsError

    class NoCredentials:
        def get_credentials(self) -> None:
            return None

    with pytest.raises(NoCredentialsError):
        sts_token(AUDIENCE, session=NoCredentials())


# -- configuration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"audience": ""}, "audience must be"),
        ({"audience": "orders api"}, "audience must be"),
        ({"audience": "orders\napi"}, "audience must be"),
        ({"partitions": frozenset()}, "partitions must be"),
        ({"partitions": frozenset({"aws-iso"})}, "partitions must be"),
        ({"partitions": "aws"}, "not one string"),
        ({"regions": frozenset()}, "regions is empty"),
        ({"regions": frozenset({"cn-north-1"})}, "not a region of the partitions aws"),
        ({"regions": frozenset({"evil.com"})}, "not a region"),
        ({"regions": "eu-west-1"}, "not one string"),
        ({"allowed_accounts": frozenset()}, "allowed_accounts is empty"),
        ({"allowed_accounts": frozenset({"1234"})}, "12-digit"),
        ({"allowed_accounts": "123456789012"}, "not one string"),
        ({"allowed_principals": "arn:aws:iam::123456789012:role/x"}, "not one string"),
        ({"allowed_principals": ("role/x",)}, "ARN patterns"),
        ({"allowed_principals": ("arn:aws:iam::1:role/a b",)}, "ARN patterns"),
        ({"max_expires_seconds": 0}, "max_expires_seconds"),
        ({"max_expires_seconds": 901}, "max_expires_seconds"),
        ({"max_expires_seconds": True}, "max_expires_seconds"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": 30}, "timeout_seconds"),
        ({"endpoint_override": "https://sts.amazonaws.com"}, "loopback"),
        ({"endpoint_override": "https://evil.com"}, "loopback"),
        ({"endpoint_override": "http://evil.com"}, "https"),
        ({"endpoint_override": "http://user:pw@127.0.0.1:5000"}, "without credentials"),
        ({"endpoint_override": "http://127.0.0.1:5000/sts"}, "without path"),
        ({"endpoint_override": "http://127.0.0.1:5000/?x=1"}, "without path"),
    ],
)
def test_configuration_refusals(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        config(**overrides)


def test_configuration_normalises() -> None:
    built = config(
        partitions={"aws"},  # a set and a list, as settings might pass them
        allowed_principals=["arn:aws:iam::123456789012:role/*"],
        endpoint_override="http://127.0.0.1:5000/",
    )
    assert built.partitions == frozenset({"aws"})
    assert built.allowed_principals == ("arn:aws:iam::123456789012:role/*",)
    assert built.endpoint_override == "http://127.0.0.1:5000"
    assert config(endpoint_override="http://localhost:5000").endpoint_override == "http://localhost:5000"


# -- principals -----------------------------------------------------------------------


def identity(arn: str, account: str = ACCOUNT, partition: str = "aws") -> Identity:
    return Identity(arn=arn, account=account, user_id="AROAEXAMPLEID:deploy", partition=partition, expires_at=1000)


@pytest.mark.parametrize(
    ("arn", "principal_id"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/alice", f"arn:aws:iam::{ACCOUNT}:user/alice"),
        (f"arn:aws:iam::{ACCOUNT}:user/division/team/alice", f"arn:aws:iam::{ACCOUNT}:user/division/team/alice"),
        (f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:root"),
        (f"arn:aws:sts::{ACCOUNT}:federated-user/bob", f"arn:aws:sts::{ACCOUNT}:federated-user/bob"),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/ci-42", f"arn:aws:iam::{ACCOUNT}:role/Deploy"),
        (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com",
            f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_Admin_0123",
        ),
    ],
)
def test_principal_mapping(arn: str, principal_id: str) -> None:
    principal = principal_for(identity(arn), config())
    assert principal.principal_id == principal_id
    assert principal.scheme == "sigv4-sts"
    assert principal.groups == frozenset()
    assert principal.expires_at == 1000
    assert principal.claims["arn"] == arn
    assert principal.claims["account"] == ACCOUNT
    assert principal.claims["user_id"] == "AROAEXAMPLEID:deploy"
    assert ("role_session_name" in principal.claims) == (":assumed-role/" in arn)


def test_assumed_role_claims() -> None:
    principal = principal_for(
        identity(f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/Deploy/ci-42", partition="aws-cn"), config()
    )
    assert principal.principal_id == f"arn:aws-cn:iam::{ACCOUNT}:role/Deploy"
    assert dict(principal.claims) == {
        "arn": f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/Deploy/ci-42",
        "account": ACCOUNT,
        "user_id": "AROAEXAMPLEID:deploy",
        "role_session_name": "ci-42",
    }


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:sts::{ACCOUNT}:user/moto",  # what moto answers for keys it does not know
        f"arn:aws:iam::{ACCOUNT}:role/Deploy",  # STS never answers a role ARN itself
        f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy",  # no session
        f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/ci/42",
        f"arn:aws:iam::{ACCOUNT}:user/",
        f"arn:aws:iam::{ACCOUNT}:user/alice ",
        f"arn:aws:iam::{ACCOUNT}:user/alice*",
        f"arn:aws:iam::{ACCOUNT}:user/ali\u00e7e",
        "arn:aws:iam::1234567890123:user/alice",
        f"arn:aws-iso:iam::{ACCOUNT}:user/alice",
        "arn:aws:iam::123456789012:user/alice\narn:aws:iam::123456789012:root",
    ],
)
def test_unmappable_identities_are_refused(arn: str) -> None:
    with pytest.raises(CredentialRejected) as caught:
        principal_for(identity(arn), config())
    assert type(caught.value) is CredentialRejected
    assert caught.value.reason is Reason.INVALID_SUBJECT


@pytest.mark.parametrize(
    ("arn", "account", "partition"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/alice", "111111111111", "aws"),
        (f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT, "aws-cn"),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/ci", "111111111111", "aws"),
    ],
)
def test_answer_that_contradicts_itself_is_refused(arn: str, account: str, partition: str) -> None:
    with pytest.raises(CredentialRejected, match="disagrees") as caught:
        principal_for(identity(arn, account=account, partition=partition), config())
    assert caught.value.reason is Reason.INVALID_SUBJECT


ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/DeployProd/ci-42"


@pytest.mark.parametrize(
    ("overrides", "allowed"),
    [
        ({"allowed_accounts": frozenset({ACCOUNT})}, True),
        ({"allowed_accounts": frozenset({"111111111111", ACCOUNT})}, True),
        ({"allowed_accounts": frozenset({"111111111111"})}, False),
        ({"allowed_principals": (f"arn:aws:iam::{ACCOUNT}:role/DeployProd",)}, True),
        ({"allowed_principals": (f"arn:aws:iam::{ACCOUNT}:role/Deploy*",)}, True),
        ({"allowed_principals": ("arn:aws:iam::*:role/DeployProd",)}, True),
        ({"allowed_principals": (f"arn:aws:iam::{ACCOUNT}:user/*", f"arn:aws:iam::{ACCOUNT}:role/*")}, True),
        ({"allowed_principals": (f"arn:aws:iam::{ACCOUNT}:role/Deploy",)}, False),  # exact, not a prefix
        ({"allowed_principals": (f"arn:aws:iam::{ACCOUNT}:role/DeployPro?",)}, False),  # ? is a character
        ({"allowed_principals": (f"arn:aws:iam::{ACCOUNT}:role/[D]eployProd",)}, False),  # so is [
        ({"allowed_principals": (ROLE,)}, False),  # patterns match the mapped role ARN
        ({"allowed_principals": (f"arn:aws:iam::{ACCOUNT}:user/*",)}, False),
        ({"allowed_principals": ("arn:aws:iam::111111111111:role/DeployProd",)}, False),
        (
            {
                "allowed_accounts": frozenset({"111111111111"}),
                "allowed_principals": (f"arn:aws:iam::{ACCOUNT}:role/DeployProd",),
            },
            False,
        ),
    ],
)
def test_allow_lists(overrides: dict[str, Any], allowed: bool) -> None:
    if allowed:
        assert (
            principal_for(identity(ROLE), config(**overrides)).principal_id == f"arn:aws:iam::{ACCOUNT}:role/DeployProd"
        )
        return
    with pytest.raises(InsufficientPermission) as caught:
        principal_for(identity(ROLE), config(**overrides))
    assert caught.value.reason is Reason.NOT_PERMITTED
    assert caught.value.principal_id == f"arn:aws:iam::{ACCOUNT}:role/DeployProd"


# -- STS's answers --------------------------------------------------------------------


def checked(m: Minted | None = None) -> CheckedRequest:
    m = m or mint()
    return parse_sts_credential(m.token, config(), m.signed_at)


def test_identity_from_a_good_answer() -> None:
    got = call_sts(checked(), config(), FakeHttp([StsAnswer(200, identity_xml(ROLE, user_id="AROAEXAMPLE:ci-42"))]))
    assert (got.arn, got.account, got.user_id, got.partition) == (ROLE, ACCOUNT, "AROAEXAMPLE:ci-42", "aws")


def test_answer_with_declaration_whitespace_and_any_element_order() -> None:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<GetCallerIdentityResponse xmlns="{STS_NAMESPACE}">\n'
        f"  <GetCallerIdentityResult>\n    <Account>{ACCOUNT}</Account>\n    <Arn>{ALICE_ARN}</Arn>\n"
        "    <UserId>AIDAEXAMPLE</UserId>\n  </GetCallerIdentityResult>\n</GetCallerIdentityResponse>\n"
    ).encode()
    assert call_sts(checked(), config(), FakeHttp([StsAnswer(200, body)])).arn == ALICE_ARN


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("SignatureDoesNotMatch", 403),  # also: presigned for another audience
        ("InvalidClientTokenId", 403),
        ("ExpiredToken", 400),
        ("AccessDenied", 403),
        ("IncompleteSignature", 400),
        ("<&>", 403),
    ],
)
def test_sts_refusal_rejects_the_credential(code: str, status: int) -> None:
    m = mint(session=StaticSession(token=SESSION_TOKEN))
    # SignatureDoesNotMatch's message quotes what was signed: it must not travel on.
    message = f"The canonical string for this request should have been {m.url} {m.signature}"
    body = error_xml(code.replace("<&>", "&lt;&amp;&gt;"), message.replace("&", "&amp;"))
    with pytest.raises(CredentialRejected) as caught:
        call_sts(checked(m), config(), FakeHttp([StsAnswer(status, body)]))
    assert type(caught.value) is CredentialRejected
    assert caught.value.reason is Reason.STS_REJECTED
    assert (code if code != "<&>" else "unrecognised error code") in caught.value.detail
    assert "canonical" not in str(caught.value)
    assert_no_secrets(caught.value, m)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    + f'<GetCallerIdentityResponse xmlns="{STS_NAMESPACE}"><GetCallerIdentityResult><Arn>&lol2;</Arn>'.encode()
    + f"<UserId>x</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>".encode()
)
EXTERNAL_ENTITY = (
    b'<!DOCTYPE r [<!ENTITY arn SYSTEM "file:///etc/hostname">]>'
    + f'<GetCallerIdentityResponse xmlns="{STS_NAMESPACE}"><GetCallerIdentityResult><Arn>&arn;</Arn>'.encode()
    + f"<UserId>x</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>".encode()
)
GOOD = identity_xml(ALICE_ARN)


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (StsAnswer(302, b"", {"location": "https://evil.example/"}), "redirect"),
        (StsAnswer(301, b""), "redirect"),
        (StsAnswer(307, GOOD), "redirect"),
        (StsAnswer(500, error_xml("InternalFailure")), "HTTP 500"),
        (StsAnswer(503, b""), "HTTP 503"),
        (StsAnswer(204, b""), "HTTP 204"),
        (StsAnswer(400, error_xml("Throttling", "Rate exceeded")), "throttling"),
        (StsAnswer(429, error_xml("TooManyRequestsException")), "throttling"),
        (StsAnswer(200, BILLION_LAUGHS), "DOCTYPE"),
        (StsAnswer(200, EXTERNAL_ENTITY), "DOCTYPE"),
        (StsAnswer(403, b"<!DOCTYPE x>" + error_xml("AccessDenied")), "DOCTYPE"),
        (StsAnswer(200, GOOD.replace(b"<Arn>", b"<!-- x --><Arn>")), "DOCTYPE"),
        (StsAnswer(200, GOOD.replace(b"<Arn>", b"<Arn><![CDATA[").replace(b"</Arn>", b"]]></Arn>")), "CDATA"),
        (StsAnswer(200, b'<?xml-stylesheet href="x"?>' + GOOD), "well-formed"),
        (StsAnswer(200, '<?xml version="1.0" encoding="UTF-16"?>'.encode("utf-16") + GOOD), "not UTF-8"),
        (StsAnswer(200, b'<?xml version="1.0" encoding="ISO-8859-1"?>' + GOOD), "other than UTF-8"),
        (StsAnswer(200, b"\xff" + GOOD), "not UTF-8"),
        (StsAnswer(200, b"{}"), "well-formed"),
        (StsAnswer(200, b""), "well-formed"),
        (StsAnswer(200, GOOD[:-10]), "well-formed"),
        (StsAnswer(200, GOOD.replace(STS_NAMESPACE.encode(), b"https://evil.example/")), "well-formed"),
        (StsAnswer(200, GOOD.replace(b' xmlns="' + STS_NAMESPACE.encode() + b'"', b"")), "well-formed"),
        (StsAnswer(200, GOOD.replace(b"GetCallerIdentityResponse", b"AssumeRoleResponse")), "well-formed"),
        (StsAnswer(200, error_xml("AccessDenied")), "well-formed"),
        (StsAnswer(403, GOOD), "well-formed"),
        (StsAnswer(200, GOOD.replace(b"<Arn>", b"<Arn>arn:aws:iam::1:user/x</Arn><Arn>")), "2 Arn elements"),
        (StsAnswer(200, GOOD.replace(b"<Arn>" + ALICE_ARN.encode() + b"</Arn>", b"")), "0 Arn elements"),
        (StsAnswer(200, GOOD.replace(b"<Arn>", b"<Arn><x>arn:aws:iam::1:user/x</x>")), "well-formed"),
        (StsAnswer(200, GOOD.replace(b"<GetCallerIdentityResult>", b"<GetCallerIdentityResult>text")), "well-formed"),
        (StsAnswer(200, GOOD.replace(b"<Arn>", b"<Arn>x").replace(b"</Arn>", b"</Arn>")), "unusable"),
        (StsAnswer(200, GOOD.replace(f"<Account>{ACCOUNT}<".encode(), b"<Account>12345<")), "unusable"),
        (StsAnswer(200, GOOD.replace(b"AIDAEXAMPLEUSERID0001", b"")), "unusable"),
        (StsAnswer(200, GOOD.replace(b"</Arn>", b"&#10;</Arn>")), "unusable"),
        (StsAnswer(200, GOOD + b" " * MAX_ANSWER_BYTES), "over 65536 bytes"),
    ],
)
def test_unusable_answers_fail_closed(answer: StsAnswer, fragment: str) -> None:
    http = FakeHttp([answer])
    with pytest.raises(AuthorizerUnavailable, match=fragment):
        call_sts(checked(), config(), http)
    assert len(http.sent) == 1  # a redirect is not followed


@pytest.mark.parametrize(
    "error",
    [OSError("connection refused"), TimeoutError(), ValueError("bug"), AuthorizerUnavailable("STS did not answer")],
)
def test_transport_failures_fail_closed(error: BaseException) -> None:
    with pytest.raises(AuthorizerUnavailable):
        call_sts(checked(), config(), FakeHttp([error]))


# -- the validator's cache ------------------------------------------------------------


def test_cache_asks_sts_once_per_presigned_url() -> None:
    first, second = mint(), mint(expires_in=600)
    http = FakeHttp()
    validator = StsValidator(config(), clock=lambda: first.signed_at + 1, http=http)
    assert validator.validate(first.token) == validator.validate(first.token)
    assert len(http.sent) == 1
    validator.validate(second.token)
    assert len(http.sent) == 2
    assert all(len(key) == 64 and "sts" not in key for key in validator._cache)  # hashes, never URLs


def test_cached_answer_ends_with_the_url() -> None:
    m = mint()
    now = [m.signed_at + 1.0]
    http = FakeHttp()
    validator = StsValidator(config(), clock=lambda: now[0], http=http)
    validator.validate(m.token)
    now[0] = m.signed_at + 899.0
    validator.validate(m.token)
    now[0] = m.signed_at + 900.0
    with pytest.raises(CredentialRejected) as caught:
        validator.validate(m.token)
    assert caught.value.reason is Reason.EXPIRED
    assert len(http.sent) == 1


def test_cached_answer_still_meets_the_allow_lists() -> None:
    m = mint()
    http = FakeHttp([StsAnswer(200, identity_xml(ROLE))])
    validator = StsValidator(config(allowed_accounts=frozenset({"111111111111"})), clock=lambda: m.signed_at, http=http)
    for _ in range(2):
        with pytest.raises(InsufficientPermission):
            validator.validate(m.token)
    assert len(http.sent) == 1


def test_refusals_are_cached_outages_are_not() -> None:
    refused, flaky = mint(), mint(expires_in=600)
    http = FakeHttp([StsAnswer(403, error_xml("SignatureDoesNotMatch"))])
    validator = StsValidator(config(), clock=lambda: refused.signed_at, http=http)
    for _ in range(2):
        with pytest.raises(CredentialRejected, match="SignatureDoesNotMatch"):
            validator.validate(refused.token)
    assert len(http.sent) == 1

    http.answers = [StsAnswer(503, b""), OSError("reset"), OK]
    for _ in range(2):
        with pytest.raises(AuthorizerUnavailable):
            validator.validate(flaky.token)
    assert validator.validate(flaky.token).principal_id == ALICE_ARN
    assert len(http.sent) == 4


def test_cache_is_bounded() -> None:
    tokens = [mint(expires_in=900 - i).token for i in range(3)]
    http = FakeHttp()
    validator = StsValidator(config(), clock=lambda: minted(tokens[0]).signed_at, http=http, max_cached=2)
    for token in tokens:
        validator.validate(token)
    validator.validate(tokens[2])
    assert len(http.sent) == 3
    validator.validate(tokens[0])  # evicted: asked again
    assert len(http.sent) == 4
    assert len(validator._cache) == 2


# -- the HTTP client on real sockets --------------------------------------------------


@dataclass
class StandIn:
    """An HTTP/1.1 server on loopback that records requests and plays scripted answers."""

    url: str
    answers: list[tuple[int, bytes, dict[str, str]]]
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)


@contextlib.contextmanager
def stand_in(*answers: tuple[int, bytes, dict[str, str]], drop_idle: bool = False) -> Iterator[StandIn]:
    """``drop_idle``: close each connection after answering, without saying so (as idle timeouts do)."""
    state = StandIn(url="", answers=list(answers) or [(200, GOOD, {})])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            state.client_ports.append(self.client_address[1])
            status, body, headers = state.answers.pop(0) if len(state.answers) > 1 else state.answers[0]
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = drop_idle

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def through(url: str, timeout: float = 2.0, **overrides: Any) -> StsValidator:
    return StsValidator(config(endpoint_override=url, timeout_seconds=timeout, **overrides), http=StsHttpClient())


def test_real_client_sends_the_checked_request_only() -> None:
    m = mint(audience="another-api")
    with stand_in() as sts:
        assert through(sts.url).validate(m.token).principal_id == ALICE_ARN
    [(target, headers)] = sts.seen
    assert target == m.url.removeprefix("https://sts.amazonaws.com")
    assert headers["host"] == "sts.amazonaws.com"
    assert headers[BINDING_HEADER] == AUDIENCE  # this API's, not the one the URL was signed for
    assert set(headers) <= {"host", BINDING_HEADER, "accept-encoding"}


def test_real_client_keeps_the_connection_alive() -> None:
    with stand_in() as sts:
        validator = through(sts.url)
        validator.validate(mint().token)
        validator.validate(mint(expires_in=600).token)
    assert len(sts.seen) == 2
    assert len(set(sts.client_ports)) == 1


def test_real_client_retries_once_on_a_dropped_idle_connection() -> None:
    with stand_in(drop_idle=True) as sts:
        validator = through(sts.url)
        validator.validate(mint().token)
        time.sleep(0.05)  # the server has closed the kept-alive connection by now
        validator.validate(mint(expires_in=600).token)
    assert len(sts.seen) == 2
    assert len(set(sts.client_ports)) == 2


def test_real_client_does_not_follow_redirects() -> None:
    with (
        stand_in() as elsewhere,
        stand_in((302, b"", {"Location": elsewhere.url + "/"})) as sts,
        pytest.raises(AuthorizerUnavailable, match="redirect"),
    ):
        through(sts.url).validate(mint().token)
    assert len(sts.seen) == 1
    assert elsewhere.seen == []


def test_real_client_sts_refusal() -> None:
    refusal = (403, error_xml("SignatureDoesNotMatch"), {"Content-Type": "text/xml"})
    m = mint(session=StaticSession(token=SESSION_TOKEN))
    with stand_in(refusal) as sts, pytest.raises(CredentialRejected, match="SignatureDoesNotMatch") as caught:
        through(sts.url).validate(m.token)
    assert_no_secrets(caught.value, m)


def test_real_client_doctype_answer() -> None:
    answer = (200, BILLION_LAUGHS, {"Content-Type": "text/xml"})
    with stand_in(answer) as sts, pytest.raises(AuthorizerUnavailable, match="DOCTYPE"):
        through(sts.url).validate(mint().token)


def test_real_client_oversized_answer() -> None:
    answer: tuple[int, bytes, dict[str, str]] = (200, GOOD + b" " * (2 * MAX_ANSWER_BYTES), {})
    with stand_in(answer) as sts, pytest.raises(AuthorizerUnavailable, match="over 65536 bytes"):
        through(sts.url).validate(mint().token)


def test_sts_unreachable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    m = mint(session=StaticSession(token=SESSION_TOKEN))
    started = time.monotonic()
    with pytest.raises(AuthorizerUnavailable) as caught:
        through(f"http://127.0.0.1:{port}").validate(m.token)
    assert time.monotonic() - started < 2
    assert_no_secrets(caught.value, m)


@pytest.mark.parametrize("drip", [False, True], ids=["silent", "one-byte-at-a-time"])
def test_sts_too_slow(drip: bool) -> None:
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as server:

        def serve() -> None:
            connection, _ = server.accept()
            with connection:
                while drip and not stop.wait(0.05):
                    try:
                        connection.sendall(b"H")
                    except OSError:
                        return
                stop.wait(5)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        started = time.monotonic()
        try:
            with pytest.raises(AuthorizerUnavailable, match="in time"):
                through(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=0.4).validate(mint().token)
        finally:
            stop.set()
        assert time.monotonic() - started < 1.5


def test_real_client_refuses_plain_http_to_other_hosts() -> None:
    with pytest.raises(AuthorizerUnavailable, match="https"):
        StsHttpClient().get("http://sts.amazonaws.com/?x=1", {}, 1.0)


def test_import_is_light() -> None:
    """Cold start: no botocore, TLS, HTTP or XML machinery until the first STS call or mint."""
    code = (
        "import json, sys\n"
        "import authorizers.clients, authorizers.sigv4.sts as sts\n"
        "sts.StsValidator(sts.StsConfig(audience='orders-api'))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    loaded = json.loads(done.stdout)
    heavy = [m for m in loaded if m.split(".")[0] in ("boto3", "botocore", "ssl", "http", "xml", "requests")]
    assert heavy == []


# -- end to end against moto's STS ----------------------------------------------------


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@dataclass
class Aws:
    iam: Any
    sts: Any


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Aws:
    aws_environment(monkeypatch, moto_url, tmp_path)
    import boto3

    return Aws(iam=boto3.client("iam"), sts=boto3.client("sts"))


class MotoFindsCaller:
    """Adds the Authorization header moto needs to route to STS and find the caller.

    Only the credential scope from X-Amz-Credential: moto checks no signature. Real STS
    reads the presigned query and needs no such header. Counts the requests.
    """

    def __init__(self) -> None:
        self.inner = StsHttpClient()
        self.calls = 0

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> StsAnswer:
        self.calls += 1
        scope = dict(parse_qsl(urlsplit(url).query))["X-Amz-Credential"]
        authorization = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;{BINDING_HEADER}, Signature=0"
        return self.inner.get(url, {**headers, "Authorization": authorization}, timeout)


def moto_validator(moto_url: str, **overrides: Any) -> tuple[StsValidator, MotoFindsCaller]:
    http = MotoFindsCaller()
    # moto's first STS request loads its backend: allow it the longest timeout.
    return StsValidator(config(endpoint_override=moto_url, timeout_seconds=5, **overrides), http=http), http


def iam_user(aws: Aws) -> tuple[str, StaticSession]:
    name = f"alice-{uuid.uuid4().hex[:12]}"
    aws.iam.create_user(UserName=name)
    key = aws.iam.create_access_key(UserName=name)["AccessKey"]
    return name, StaticSession(key["AccessKeyId"], key["SecretAccessKey"])


def assumed_role(aws: Aws, account: str = ACCOUNT) -> tuple[str, StaticSession]:
    name = f"Deploy-{uuid.uuid4().hex[:12]}"
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'
    )
    if account == ACCOUNT:
        aws.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    assumed = aws.sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{name}", RoleSessionName="ci-42")
    credentials = assumed["Credentials"]
    session = StaticSession(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
    return name, session


def test_moto_iam_user(aws: Aws, moto_url: str) -> None:
    import botocore.session

    name, static = iam_user(aws)
    session = botocore.session.Session()
    creds = static.get_credentials()
    session.set_credentials(creds.access_key, creds.secret_key)
    validator, http = moto_validator(moto_url)
    principal = validator.validate(sts_token(AUDIENCE, session=session))
    assert principal.principal_id == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    assert principal.scheme == "sigv4-sts"
    assert dict(principal.claims) == {
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "account": ACCOUNT,
        "user_id": principal.claims["user_id"],
    }
    assert http.calls == 1


def test_moto_assumed_role(aws: Aws, moto_url: str) -> None:
    name, session = assumed_role(aws)
    m = mint(session=session, region="eu-west-1")
    assert "X-Amz-Security-Token" in m.params
    validator, _ = moto_validator(moto_url, allowed_principals=(f"arn:aws:iam::{ACCOUNT}:role/Deploy-*",))
    principal = validator.validate(m.token)
    assert principal.principal_id == f"arn:aws:iam::{ACCOUNT}:role/{name}"
    assert principal.claims["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/ci-42"
    assert principal.claims["role_session_name"] == "ci-42"
    assert principal.claims["user_id"].endswith(":ci-42")


@pytest.mark.parametrize(
    ("overrides", "allowed"),
    [
        ({"allowed_accounts": frozenset({ACCOUNT})}, True),
        ({"allowed_accounts": frozenset({"111111111111"})}, False),
        ({"allowed_principals": (f"arn:aws:iam::{ACCOUNT}:user/alice-*",)}, True),
        ({"allowed_principals": (f"arn:aws:iam::{ACCOUNT}:role/*",)}, False),
    ],
)
def test_moto_allow_lists(aws: Aws, moto_url: str, overrides: dict[str, Any], allowed: bool) -> None:
    name, session = iam_user(aws)
    validator, _ = moto_validator(moto_url, **overrides)
    token = sts_token(AUDIENCE, session=session)
    if allowed:
        assert validator.validate(token).principal_id == f"arn:aws:iam::{ACCOUNT}:user/{name}"
        return
    with pytest.raises(InsufficientPermission) as caught:
        validator.validate(token)
    assert caught.value.principal_id == f"arn:aws:iam::{ACCOUNT}:user/{name}"


def test_moto_role_in_another_account(aws: Aws, moto_url: str) -> None:
    name, session = assumed_role(aws, account="111111111111")
    validator, _ = moto_validator(moto_url, allowed_accounts=frozenset({ACCOUNT}))
    with pytest.raises(InsufficientPermission) as caught:
        validator.validate(mint(session=session).token)
    assert caught.value.principal_id == f"arn:aws:iam::111111111111:role/{name}"


def test_moto_cache(aws: Aws, moto_url: str) -> None:
    _, session = iam_user(aws)
    validator, http = moto_validator(moto_url)
    first = sts_token(AUDIENCE, session=session)
    assert validator.validate(first) == validator.validate(first)
    assert http.calls == 1
    validator.validate(sts_token(AUDIENCE, session=session, expires_in=600))
    assert http.calls == 2


def test_moto_answers_unknown_keys_with_an_arn_sts_never_gives(aws: Aws, moto_url: str) -> None:
    validator, http = moto_validator(moto_url)
    with pytest.raises(CredentialRejected) as caught:
        validator.validate(mint().token)  # keys moto never issued: arn:aws:sts::123456789012:user/moto
    assert caught.value.reason is Reason.INVALID_SUBJECT
    assert http.calls == 1


def test_moto_does_not_verify_signatures(aws: Aws, moto_url: str) -> None:
    """moto answers a forged signature and a URL for another audience: only real STS refuses them."""
    name, session = iam_user(aws)
    m = mint(session=session)
    forged = encode(m.url.replace(m.signature, "0" * 64))
    for token in (forged, mint("another-api", session=session).token):
        validator, _ = moto_validator(moto_url)
        assert validator.validate(token).principal_id == f"arn:aws:iam::{ACCOUNT}:user/{name}"


def test_moto_needs_an_authorization_header(aws: Aws, moto_url: str) -> None:
    """Without one, moto serves the presigned GET as S3 ListAllMyBuckets: refused, not misread."""
    _, session = iam_user(aws)
    validator = StsValidator(config(endpoint_override=moto_url, timeout_seconds=5), http=StsHttpClient())
    with pytest.raises(AuthorizerUnavailable, match="not a well-formed GetCallerIdentityResponse"):
        validator.validate(sts_token(AUDIENCE, session=session))
