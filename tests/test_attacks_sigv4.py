"""SECURITY.md, SigV4 part: requests signed by botocore, then tampered with, through the real handler.

Every request here is signed live by botocore (``SigV4Auth``: the ``Authorization`` header
form; ``SigV4QueryAuth``: presigned URLs) at a fixed time (``botocore.auth.get_current_datetime``
patched), then sent "on the wire" as API Gateway would pass it to the authorizer, in three
forms:

* ``rest``: a REST API on its default host ``{api}.execute-api.{region}.amazonaws.com``,
  the stage first in the path (``/prod/pets/7``), shown decoded in ``requestContext.path``;
* ``rest-custom-domain``: the same API behind ``api.example.com`` with base path ``v1``
  (``/v1/pets/7``; the base path is in ``requestContext.path`` and in what the client signed);
* ``http-v2``: an HTTP API (payload 2.0, ``$default`` stage): ``rawPath``,
  ``rawQueryString`` and ``headers`` (lower-cased, repeated values joined with commas).

The handler is ``authorizers.handlers.sigv4.create_handler`` with two key pairs inline in
``SIGV4_CREDENTIALS``; only its validator's clock is fixed. Accepted requests must get a
policy for exactly the signed method ARN (or ``isAuthorized`` for HTTP API 2.0) and the
principal's context; every mutation row must be a 401 (never an Allow, never a 500) with
its reason code in the decision log, and no log line may carry a secret or a signature.

The body: a Lambda authorizer never receives it. The payload hash in the signature is the
client's claim, taken from a *signed* ``X-Amz-Content-Sha256`` header (a hash or
``UNSIGNED-PAYLOAD``); without that header the empty body's hash is assumed. So a POST
signed over a body without that header cannot be verified and is refused
(``test_post_signed_over_a_body_without_the_hash_header_is_refused``), and the backend
must compare the body with the header itself.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from unittest import mock

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import authorizers.handlers.sigv4 as sigv4_handler
from authorizers.errors import Reason
from authorizers.handlers.runtime import AuthorizerHandler
from authorizers.sigv4.validator import SigV4Validator
from tests.conftest import expected_policy_response, load_event, outcome

REGION = "us-east-1"
SERVICE = "execute-api"
ACCOUNT = "123456789012"
API_ID = "abcdef123"
STAGE = "prod"
DEFAULT_HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
CUSTOM_HOST = "api.example.com"
BASE_PATH = "v1"  # mapped to STAGE on CUSTOM_HOST
SKEW = 300
MAX_EXPIRES = 900
NOW = datetime.datetime(2024, 5, 1, 12, 0, 0)  # naive UTC, as botocore's get_current_datetime returns
NOW_EPOCH = NOW.replace(tzinfo=datetime.UTC).timestamp()
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLEsessionTOKEN+with/slashes=="
FORMS = ("rest", "rest-custom-domain", "http-v2")


@dataclass(frozen=True)
class KeyPair:
    access_key_id: str
    secret: str
    principal: str
    groups: tuple[str, ...]

    def entry(self) -> dict[str, Any]:
        return {"secret": self.secret, "principal": self.principal, "groups": list(self.groups)}


ALICE = KeyPair("AKIAALICEEXAMPLE0001", "alice+SECRET/key-0123456789abcdefEXAMPLE", "alice", ("admins", "readers"))
BOB = KeyPair("AKIABOBEXAMPLE000002", "bob+SECRET/key-fedcba9876543210EXAMPLE", "bob", ("readers",))
STRANGER = KeyPair("AKIASTRANGER00000003", "stranger+SECRET/key-00000000EXAMPLE", "stranger", ())
ENV = {
    "SIGV4_REGION": REGION,
    "SIGV4_CREDENTIALS": json.dumps({ALICE.access_key_id: ALICE.entry(), BOB.access_key_id: BOB.entry()}),
    "SIGV4_MAX_SKEW_SECONDS": str(SKEW),
    "SIGV4_MAX_EXPIRES_SECONDS": str(MAX_EXPIRES),
    "POWERTOOLS_METRICS_NAMESPACE": "Tests",
}
SECRETS = (ALICE.secret, BOB.secret, STRANGER.secret)
BOB_CREDENTIAL = f"{BOB.access_key_id}/20240501/{REGION}/{SERVICE}/aws4_request"


# -- the request on the wire ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Wire:
    """An HTTP request as sent: path and query percent-encoded as on the request line."""

    method: str
    host: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]  # (name, value) in order, Host included

    def header(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def without(self, name: str) -> Wire:
        return replace(self, headers=tuple((n, v) for n, v in self.headers if n.lower() != name.lower()))

    def with_header(self, name: str, value: str) -> Wire:
        """``name`` set to ``value``, in place of every earlier value."""
        kept = [(n, v) for n, v in self.headers if n.lower() != name.lower()]
        return replace(self, headers=(*kept, (name, value)))

    def adding(self, name: str, value: str) -> Wire:
        return replace(self, headers=(*self.headers, (name, value)))

    def edit_header(self, name: str, edit: Callable[[str], str]) -> Wire:
        return replace(self, headers=tuple((n, edit(v) if n.lower() == name.lower() else v) for n, v in self.headers))

    @property
    def authorization(self) -> str:
        (value,) = self.header("Authorization")
        return value

    def edit_authorization(self, edit: Callable[[str], str]) -> Wire:
        return self.edit_header("Authorization", edit)

    def edit_query(self, edit: Callable[[str], str]) -> Wire:
        return replace(self, query=edit(self.query))

    def signatures(self) -> list[str]:
        """Every signature-like value the request carries (header and query), for the leak check."""
        text = " ".join(v for _, v in self.headers) + " " + self.query
        return re.findall(r"Signature=([0-9A-Za-z]{16,})", text)


def _wire(request: AWSRequest) -> Wire:
    url = urllib.parse.urlsplit(str(request.url))
    headers = [("Host", url.netloc), *((str(n), str(v)) for n, v in request.headers.items())]
    # Headers API Gateway and CloudFront add on the way: never signed, must not matter.
    headers += [("X-Forwarded-For", "203.0.113.9"), ("X-Amzn-Trace-Id", "Root=1-66322bf0-0123456789abcdef01234567")]
    return Wire(str(request.method), url.netloc, url.path, url.query, tuple(headers))


def _leaving_out(base: type[SigV4Auth], names: tuple[str, ...]) -> type[SigV4Auth]:
    """botocore's signer, with some headers kept out of SignedHeaders (still sent)."""

    class LeavingOut(base):  # type: ignore[valid-type,misc]
        def headers_to_sign(self, request: AWSRequest) -> Any:
            headers = super().headers_to_sign(request)
            for name in names:
                del headers[name]
            return headers

    return LeavingOut


def _credentials(key: KeyPair, token: str | None) -> Credentials:
    return Credentials(key.access_key_id, key.secret, token)


def sign(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    key: KeyPair = ALICE,
    region: str = REGION,
    service: str = SERVICE,
    at: datetime.datetime = NOW,
    token: str | None = None,
    unsigned: tuple[str, ...] = (),
) -> Wire:
    """``Authorization`` header form, signed by botocore's SigV4Auth."""
    request = AWSRequest(method=method, url=url, headers=headers or {}, data=body)
    signer = _leaving_out(SigV4Auth, unsigned) if unsigned else SigV4Auth
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        signer(_credentials(key, token), service, region).add_auth(request)
    return _wire(request)


def presign(
    method: str,
    url: str,
    *,
    expires: int = 300,
    key: KeyPair = ALICE,
    at: datetime.datetime = NOW,
    token: str | None = None,
) -> Wire:
    """A presigned URL, by botocore's SigV4QueryAuth (signed headers: host)."""
    request = AWSRequest(method=method, url=url)
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        SigV4QueryAuth(_credentials(key, token), SERVICE, REGION, expires=expires).add_auth(request)
    return _wire(request)


# -- the event API Gateway sends ------------------------------------------------------------------------------


def _decoded_query(query: str) -> dict[str, list[str]]:
    pairs: dict[str, list[str]] = {}
    for item in query.split("&") if query else []:
        name, _, value = item.partition("=")
        pairs.setdefault(urllib.parse.unquote(name), []).append(urllib.parse.unquote(value))
    return pairs


def rest_event(wire: Wire, *, custom_domain: bool) -> dict[str, Any]:
    """A REST REQUEST event (real shape: tests/vectors/events/apiGatewayAuthorizerRestRequestEvent.json)."""
    event = load_event("apiGatewayAuthorizerRestRequestEvent.json")
    full_path = urllib.parse.unquote(wire.path)  # API Gateway shows the path decoded
    first, _, rest = full_path[1:].partition("/")
    stage = STAGE if custom_domain and first == BASE_PATH else first
    resource_path = "/" + rest
    headers: dict[str, list[str]] = {}
    for name, value in wire.headers:
        key = next((k for k in headers if k.lower() == name.lower()), name)
        headers.setdefault(key, []).append(value)
    query = _decoded_query(wire.query)
    event.update(
        methodArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{stage}/{wire.method}/{rest}",
        resource="/pets/{id}",
        path=resource_path,
        httpMethod=wire.method,
        headers={name: values[-1] for name, values in headers.items()},
        multiValueHeaders=headers,
        queryStringParameters={name: values[-1] for name, values in query.items()} or None,
        multiValueQueryStringParameters=query or None,
        pathParameters={"id": rest.rpartition("/")[2]},
        stageVariables=None,
    )
    event["requestContext"].update(
        path=full_path,
        stage=stage,
        httpMethod=wire.method,
        resourcePath="/pets/{id}",
        accountId=ACCOUNT,
        apiId=API_ID,
        domainName=wire.host,
        domainPrefix=wire.host.split(".")[0],
    )
    return event


def http_v2_event(wire: Wire) -> dict[str, Any]:
    """An HTTP API payload 2.0 event (real shape: tests/vectors/events/apiGatewayAuthorizerV2Event.json)."""
    event = load_event("apiGatewayAuthorizerV2Event.json")
    headers: dict[str, str] = {}
    for name, value in wire.headers:
        lower = name.lower()
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    query = _decoded_query(wire.query)
    route = f"{wire.method} /pets/{{id}}"
    event.update(
        routeArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/$default/{wire.method}{urllib.parse.unquote(wire.path)}",
        identitySource=[headers.get("authorization", "")],
        routeKey=route,
        rawPath=wire.path,
        rawQueryString=wire.query,
        headers=headers,
        queryStringParameters={name: ",".join(values) for name, values in query.items()} or None,
        pathParameters={"id": urllib.parse.unquote(wire.path).rpartition("/")[2]},
    )
    event.pop("cookies", None)
    context = event["requestContext"]
    context.update(routeKey=route, stage="$default", apiId=API_ID, accountId=ACCOUNT, domainName=wire.host)
    context["http"].update(method=wire.method, path=urllib.parse.unquote(wire.path))
    return event


@dataclass
class Ctx:
    """One event form: where a client sends its requests and how API Gateway shows them."""

    form: str
    now: float = NOW_EPOCH  # the validator's clock
    env: dict[str, str] = field(default_factory=dict)  # merged over ENV

    @property
    def host(self) -> str:
        return CUSTOM_HOST if self.form == "rest-custom-domain" else DEFAULT_HOST

    @property
    def prefix(self) -> str:
        """What precedes the resource path on the wire: the stage, the base path, or nothing."""
        return {"rest": f"/{STAGE}", "rest-custom-domain": f"/{BASE_PATH}", "http-v2": ""}[self.form]

    def url(self, path: str = "/pets/7", query: str = "") -> str:
        return f"https://{self.host}{self.prefix}{path}" + (f"?{query}" if query else "")

    def event(self, wire: Wire) -> dict[str, Any]:
        if self.form == "http-v2":
            return http_v2_event(wire)
        return rest_event(wire, custom_domain=self.form == "rest-custom-domain")

    def arn(self, method: str, resource: str = "pets/7") -> str:
        stage = "$default" if self.form == "http-v2" else STAGE
        return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{stage}/{method}/{resource}"

    def on_wire(self, path: str, query: str = "") -> Callable[[Wire], Wire]:
        """Send the request to another path (and query) of this form."""
        return lambda wire: replace(wire, path=f"{self.prefix}{path}", query=query or wire.query)


@pytest.fixture
def build_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Ctx], AuthorizerHandler]]:
    """The real handler from ``create_handler``; only the validator's clock is the test's."""

    def build(ctx: Ctx) -> AuthorizerHandler:
        fixed = functools.partial(SigV4Validator, clock=lambda: ctx.now)
        monkeypatch.setattr(sigv4_handler, "SigV4Validator", fixed)
        return sigv4_handler.create_handler({**ENV, **ctx.env})

    yield build


def no_leaks(text: str, wire: Wire) -> None:
    for secret in SECRETS:
        assert secret not in text
    for signature in wire.signatures():
        assert signature not in text
    for value in wire.header("Authorization"):
        assert value not in text


# -- accepted requests ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    id: str
    build: Callable[[Ctx], Wire]
    method: str = "GET"
    resource: str = "pets/7"
    key: KeyPair = ALICE
    expires_at: int = int(NOW_EPOCH) + SKEW
    now: float = NOW_EPOCH


JSON_BODY = b'{"name": "Rex", "kind": "dog"}'
QUERY = "q=a%20b&tag=x&tag=y&sym=%2B%26%3D%2F&empty=&flag&utf8=%E2%9C%93"


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


ACCEPTED = [
    Accepted("get", lambda c: sign("GET", c.url())),
    Accepted("get-query-repeated-and-encoded", lambda c: sign("GET", c.url(query=QUERY))),
    Accepted("get-encoded-path", lambda c: sign("GET", c.url("/pets/a%20b%24")), resource="pets/a b$"),
    Accepted(
        "get-signed-extra-header",
        lambda c: sign("GET", c.url(), headers={"X-Tenant": "acme", "Accept": "application/json"}),
    ),
    Accepted(
        "post-body-hash-signed",
        lambda c: sign(
            "POST",
            c.url("/pets"),
            headers={"Content-Type": "application/json", "X-Amz-Content-Sha256": body_hash(JSON_BODY)},
            body=JSON_BODY,
        ),
        method="POST",
        resource="pets",
    ),
    Accepted(
        "post-unsigned-payload",
        lambda c: sign(
            "POST",
            c.url("/pets"),
            headers={"Content-Type": "application/json", "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"},
            body=JSON_BODY,
        ),
        method="POST",
        resource="pets",
    ),
    Accepted("post-empty-body-no-hash-header", lambda c: sign("POST", c.url("/pets")), method="POST", resource="pets"),
    Accepted("session-token-signed", lambda c: sign("GET", c.url(), token=SESSION_TOKEN)),
    Accepted("second-key-pair", lambda c: sign("GET", c.url(), key=BOB), key=BOB),
    Accepted("presigned", lambda c: presign("GET", c.url(query="q=a%20b")), expires_at=int(NOW_EPOCH) + 300),
    Accepted(
        "presigned-session-token",
        lambda c: presign("GET", c.url(), token=SESSION_TOKEN, expires=MAX_EXPIRES),
        expires_at=int(NOW_EPOCH) + MAX_EXPIRES,
    ),
    Accepted(
        "presigned-last-second",
        lambda c: presign("GET", c.url(), expires=60),
        expires_at=int(NOW_EPOCH) + 60,
        now=NOW_EPOCH + 59,
    ),
    # Time boundaries: exactly the allowed skew, in the past and in the future, still passes.
    Accepted("signed-skew-ago", lambda c: sign("GET", c.url()), now=NOW_EPOCH + SKEW),
    Accepted(
        "signed-skew-ahead",
        lambda c: sign("GET", c.url()),
        now=NOW_EPOCH - SKEW,
    ),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", ACCEPTED, ids=lambda case: case.id)
def test_accepted(case: Accepted, form: str, build_handler: Any, decision_log: Any) -> None:
    ctx = Ctx(form, now=case.now)
    wire = case.build(ctx)
    decision, response = outcome(build_handler(ctx), ctx.event(wire))
    assert decision == "allow"
    context = {
        "scheme": "sigv4",
        "sub": case.key.principal,
        **({"groups": ",".join(sorted(case.key.groups))} if case.key.groups else {}),
        "expires_at": case.expires_at,
    }
    if form == "http-v2":
        assert response == {"isAuthorized": True, "context": context}
    else:
        # Exactly the signed method ARN: one statement, one resource (route scope).
        assert response == expected_policy_response(
            "Allow", ctx.arn(case.method, case.resource), case.key.principal, context
        )
    lines, text = decision_log()
    assert [(line["decision"], line.get("principal"), line.get("scheme")) for line in lines] == [
        ("allow", case.key.principal, "sigv4")
    ]
    no_leaks(text, wire)


def test_http_v2_with_iam_policies_covers_the_route_arn_only(build_handler: Any) -> None:
    ctx = Ctx("http-v2", env={"AUTHZ_RESPONSE_FORMAT": "iam"})
    decision, response = outcome(build_handler(ctx), ctx.event(sign("GET", ctx.url(query=QUERY))))
    assert decision == "allow"
    assert response is not None
    assert response["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [ctx.arn("GET")]}
    ]


def test_a_wider_policy_scope_is_refused_at_cold_start(build_handler: Any) -> None:
    """One signature is good for one request: the answer may not cover the whole API."""
    from authorizers.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="AUTHZ_POLICY_SCOPE"):
        build_handler(Ctx("rest", env={"AUTHZ_POLICY_SCOPE": "api"}))


def test_the_same_request_twice_within_the_skew_is_accepted_twice(build_handler: Any) -> None:
    """No replay cache: inside the skew window a captured request can be sent again (same route only)."""
    ctx = Ctx("rest")
    handler = build_handler(ctx)
    event = ctx.event(sign("GET", ctx.url()))
    assert outcome(handler, event)[0] == "allow"
    ctx.now += SKEW
    assert outcome(handler, event)[0] == "allow"
    ctx.now += 1
    assert outcome(handler, event)[0] == "unauthorized"


# -- the mutation table ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: str
    build: Callable[[Ctx], Wire]
    reason: Reason | dict[str, Reason]  # one reason, or one per form
    now: float = NOW_EPOCH
    xfail: dict[str, str] = field(default_factory=dict)  # form -> product bug

    def reason_for(self, form: str) -> Reason:
        return self.reason[form] if isinstance(self.reason, dict) else self.reason


R = Reason
ROWS: list[Row] = []


def row(id: str, build: Callable[[Ctx], Wire], reason: Reason | dict[str, Reason], **options: Any) -> None:
    ROWS.append(Row(id, build, reason, **options))


def signed_get(c: Ctx, **options: Any) -> Wire:
    return sign("GET", c.url(query="q=a%20b&tag=x&tag=y"), headers={"X-Tenant": "acme"}, **options)


def presigned_get(c: Ctx, **options: Any) -> Wire:
    return presign("GET", c.url(query="q=1"), **options)


def sub(pattern: str, replacement: str) -> Callable[[str], str]:
    return lambda text: re.sub(pattern, replacement, text, count=1)


def in_seconds(seconds: int) -> datetime.datetime:
    return NOW + datetime.timedelta(seconds=seconds)


def both_forms(c: Ctx) -> Wire:
    """A header-signed request that also carries a (valid) presigned query."""
    return sign("GET", c.url(query=presigned_get(c).query))


# PRODUCT BUG (a wrong Allow), REST events only. The validator tries requestContext.path as
# shown (decoded) and re-encoded. A client signs its wire path /prod/pets/a%20b (canonical
# /prod/pets/a%2520b). Replayed against the wire path /prod/pets/a%2520b, the event shows
# /prod/pets/a%20b, whose "as shown" candidate has that same canonical form: accepted, and the
# policy allows .../GET/pets/a%20b, a path the client never signed. Any signed path holding
# a percent-encoded octet (%2F included) can be moved this way within the skew window.

# What the client signed, changed on the way.
row("method-changed", lambda c: replace(signed_get(c), method="DELETE"), R.INVALID_SIGNATURE)
row("path-changed", lambda c: c.on_wire("/pets/8")(signed_get(c)), R.INVALID_SIGNATURE)
row("path-trailing-slash-added", lambda c: c.on_wire("/pets/7/")(signed_get(c)), R.INVALID_SIGNATURE)
row(
    "path-prefix-changed",  # another stage, another base path
    lambda c: replace(signed_get(c), path="/dev/pets/7"),
    R.INVALID_SIGNATURE,
)
row("path-case-changed", lambda c: c.on_wire("/Pets/7")(signed_get(c)), R.INVALID_SIGNATURE)
# The signature covers the normalised path: "/x/../pets/7" must not carry it to another route.
row("path-with-dot-segments", lambda c: c.on_wire("/x/../pets/7")(signed_get(c)), R.MALFORMED_SIGNATURE)
row("path-with-doubled-slash", lambda c: c.on_wire("//pets/7")(signed_get(c)), R.MALFORMED_SIGNATURE)
row(
    "path-percent-made-literal",
    lambda c: c.on_wire("/pets/a%2520b")(sign("GET", c.url("/pets/a%20b"))),
    R.INVALID_SIGNATURE,
)
row("query-value-changed", lambda c: signed_get(c).edit_query(sub("q=a%20b", "q=a%20c")), R.INVALID_SIGNATURE)
row("query-parameter-added", lambda c: signed_get(c).edit_query(lambda q: q + "&admin=true"), R.INVALID_SIGNATURE)
row("query-parameter-removed", lambda c: signed_get(c).edit_query(sub("&tag=y", "")), R.INVALID_SIGNATURE)
row("query-repeat-added", lambda c: signed_get(c).edit_query(lambda q: q + "&tag=z"), R.INVALID_SIGNATURE)
row("query-name-case-changed", lambda c: signed_get(c).edit_query(sub("q=", "Q=")), R.INVALID_SIGNATURE)
row("query-removed-entirely", lambda c: signed_get(c).edit_query(lambda q: ""), R.INVALID_SIGNATURE)
row("signed-header-value-changed", lambda c: signed_get(c).with_header("X-Tenant", "globex"), R.INVALID_SIGNATURE)
row("signed-header-removed", lambda c: signed_get(c).without("X-Tenant"), R.MALFORMED_SIGNATURE)
row("host-changed", lambda c: signed_get(c).with_header("Host", "evil.example.com"), R.INVALID_SIGNATURE)
row(
    "host-other-api",
    lambda c: signed_get(c).with_header("Host", f"zzzzzz999.execute-api.{REGION}.amazonaws.com"),
    R.INVALID_SIGNATURE,
)
row("host-removed", lambda c: signed_get(c).without("Host"), R.MALFORMED_SIGNATURE)
row(
    "x-amz-date-changed",
    lambda c: signed_get(c).with_header("X-Amz-Date", "20240501T120001Z"),
    R.INVALID_SIGNATURE,
)
row(
    "x-amz-date-other-day",
    lambda c: signed_get(c, at=in_seconds(-86400)).with_header("X-Amz-Date", "20240501T120000Z"),
    R.WRONG_CREDENTIAL_SCOPE,
)
row(
    "x-amz-date-malformed",
    lambda c: signed_get(c).with_header("X-Amz-Date", "2024-05-01T12:00:00Z"),
    R.MALFORMED_SIGNATURE,
)
row(
    "x-amz-date-not-a-date",
    lambda c: signed_get(c).with_header("X-Amz-Date", "20240501T256000Z"),
    R.MALFORMED_SIGNATURE,
)
row("x-amz-date-twice", lambda c: signed_get(c).adding("X-Amz-Date", "20240501T120000Z"), R.MALFORMED_SIGNATURE)
row("x-amz-date-missing", lambda c: signed_get(c).without("X-Amz-Date"), R.MALFORMED_SIGNATURE)
row(
    "security-token-changed",
    lambda c: signed_get(c, token=SESSION_TOKEN).with_header("X-Amz-Security-Token", "another-token"),
    R.INVALID_SIGNATURE,
)

# The credential scope.
row("credential-region-other", lambda c: signed_get(c, region="us-west-2"), R.WRONG_CREDENTIAL_SCOPE)
row(
    "credential-region-rewritten",
    lambda c: signed_get(c, region="us-west-2").edit_authorization(sub("/us-west-2/", f"/{REGION}/")),
    R.INVALID_SIGNATURE,
)
row("credential-service-other", lambda c: signed_get(c, service="lambda"), R.WRONG_CREDENTIAL_SCOPE)
row(
    "credential-service-rewritten",
    lambda c: signed_get(c, service="lambda").edit_authorization(sub("/lambda/", f"/{SERVICE}/")),
    R.INVALID_SIGNATURE,
)
row(
    "credential-date-rewritten",
    lambda c: signed_get(c).edit_authorization(sub("/20240501/", "/20240502/")),
    R.WRONG_CREDENTIAL_SCOPE,
)
row(
    "credential-terminator-wrong",
    lambda c: signed_get(c).edit_authorization(sub("/aws4_request", "/aws4_reques")),
    R.WRONG_CREDENTIAL_SCOPE,
)
row("unknown-access-key", lambda c: signed_get(c, key=STRANGER), R.UNKNOWN_ACCESS_KEY)
row(
    "access-key-swapped",  # bob's key id, alice's signature
    lambda c: signed_get(c).edit_authorization(sub(ALICE.access_key_id, BOB.access_key_id)),
    R.INVALID_SIGNATURE,
)
row(
    "wrong-secret",
    lambda c: signed_get(c, key=replace(ALICE, secret="not-alice-s-secret-0123456789")),
    R.INVALID_SIGNATURE,
)

# Time.
row("expired-just-outside-skew", lambda c: signed_get(c, at=in_seconds(-SKEW - 1)), R.EXPIRED)
row("expired-an-hour-ago", lambda c: signed_get(c, at=in_seconds(-3600)), R.EXPIRED)
row("future-just-outside-skew", lambda c: signed_get(c, at=in_seconds(SKEW + 1)), R.NOT_YET_VALID)
row("future-a-day-ahead", lambda c: signed_get(c, at=in_seconds(86400)), R.NOT_YET_VALID)
row("replayed-beyond-the-window", signed_get, R.EXPIRED, now=NOW_EPOCH + SKEW + 1)
row("presigned-replayed-after-expiry", presigned_get, R.EXPIRED, now=NOW_EPOCH + 300)
row("presigned-expired", lambda c: presigned_get(c, expires=60, at=in_seconds(-61)), R.EXPIRED)
row("presigned-expires-over-the-cap", lambda c: presigned_get(c, expires=MAX_EXPIRES + 1), R.MALFORMED_SIGNATURE)
row("presigned-expires-a-week", lambda c: presigned_get(c, expires=604800), R.MALFORMED_SIGNATURE)
row("presigned-expires-zero", lambda c: presigned_get(c, expires=0), R.MALFORMED_SIGNATURE)
row(
    "presigned-expires-negative",
    lambda c: presigned_get(c).edit_query(sub(r"X-Amz-Expires=\d+", "X-Amz-Expires=-1")),
    R.MALFORMED_SIGNATURE,
)
row(
    "presigned-expires-extended",  # signed for 60 s, rewritten to the cap
    lambda c: presigned_get(c, expires=60).edit_query(sub(r"X-Amz-Expires=60", f"X-Amz-Expires={MAX_EXPIRES}")),
    R.INVALID_SIGNATURE,
)
row("presigned-future", lambda c: presigned_get(c, at=in_seconds(SKEW + 1)), R.NOT_YET_VALID)
row("presigned-query-changed", lambda c: presigned_get(c).edit_query(sub("q=1", "q=2")), R.INVALID_SIGNATURE)

# Signed headers that must be signed.
row("host-not-signed", lambda c: signed_get(c, unsigned=("host",)), R.UNSIGNED_HEADER)
row("x-amz-date-not-signed", lambda c: signed_get(c, unsigned=("x-amz-date",)), R.UNSIGNED_HEADER)
row(
    "security-token-not-signed",
    lambda c: signed_get(c, token=SESSION_TOKEN, unsigned=("x-amz-security-token",)),
    R.UNSIGNED_HEADER,
)
row(
    "security-token-added-after-signing",
    lambda c: signed_get(c).adding("X-Amz-Security-Token", SESSION_TOKEN),
    R.UNSIGNED_HEADER,
)

# The Authorization header's structure.
row(
    "authorization-signature-twice",
    lambda c: signed_get(c).edit_authorization(lambda a: a + ", Signature=" + a.rpartition("Signature=")[2]),
    R.MALFORMED_SIGNATURE,
)
row(
    "authorization-credential-twice",
    lambda c: signed_get(c).edit_authorization(
        lambda a: a.replace(
            ", SignedHeaders=",
            f", Credential={BOB_CREDENTIAL}, SignedHeaders=",
        )
    ),
    R.MALFORMED_SIGNATURE,
)
row(
    "authorization-unknown-component",
    lambda c: signed_get(c).edit_authorization(lambda a: a + ", Extra=1"),
    R.MALFORMED_SIGNATURE,
)
row(
    "authorization-signature-missing",
    lambda c: signed_get(c).edit_authorization(sub(r", Signature=[0-9a-f]+", "")),
    R.MALFORMED_SIGNATURE,
)
row(
    "authorization-twice",  # REST shows two values; HTTP API 2.0 joins them into one malformed value
    lambda c: signed_get(c).adding("Authorization", signed_get(c, key=BOB).authorization),
    {"rest": R.AMBIGUOUS_CREDENTIAL, "rest-custom-domain": R.AMBIGUOUS_CREDENTIAL, "http-v2": R.MALFORMED_SIGNATURE},
)
row(
    "authorization-other-algorithm",
    lambda c: signed_get(c).edit_authorization(sub("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")),
    R.UNSUPPORTED_SCHEME,
)
row(
    "authorization-bearer",
    lambda c: signed_get(c).with_header("Authorization", "Bearer abc.def.ghi"),
    R.UNSUPPORTED_SCHEME,
)
row(
    "credential-malformed-no-terminator",
    lambda c: signed_get(c).edit_authorization(sub("/aws4_request", "")),
    R.MALFORMED_SIGNATURE,
)
row(
    "credential-malformed-lower-case-key-id",
    lambda c: signed_get(c).edit_authorization(sub(ALICE.access_key_id, ALICE.access_key_id.lower())),
    R.MALFORMED_SIGNATURE,
)
row(
    "credential-malformed-extra-segment",
    lambda c: signed_get(c).edit_authorization(sub("/aws4_request", "/x/aws4_request")),
    R.MALFORMED_SIGNATURE,
)
row(
    "signature-not-hex",
    lambda c: signed_get(c).edit_authorization(sub(r"Signature=[0-9a-f]+", "Signature=" + "z" * 64)),
    R.MALFORMED_SIGNATURE,
)
row(
    "signature-upper-case-hex",
    lambda c: signed_get(c).edit_authorization(lambda a: a.replace(a[-64:], a[-64:].upper())),
    R.MALFORMED_SIGNATURE,
)
row(
    "signature-truncated",
    lambda c: signed_get(c).edit_authorization(lambda a: a[:-1]),
    R.MALFORMED_SIGNATURE,
)
row(
    "signature-of-another-request",
    lambda c: signed_get(c).edit_authorization(
        sub(r"Signature=[0-9a-f]+", "Signature=" + sign("GET", c.url("/pets/8")).authorization[-64:])
    ),
    R.INVALID_SIGNATURE,
)
row(
    "signature-all-zero",
    lambda c: signed_get(c).edit_authorization(sub(r"Signature=[0-9a-f]+", "Signature=" + "0" * 64)),
    R.INVALID_SIGNATURE,
)
row(
    "signed-headers-unsorted",
    lambda c: (
        signed_get(c)
        .edit_authorization(sub("SignedHeaders=host;", "SignedHeaders="))
        .edit_authorization(sub(";x-tenant", ";x-tenant;host"))
    ),
    R.MALFORMED_SIGNATURE,
)
row(
    "signed-headers-duplicate",
    lambda c: signed_get(c).edit_authorization(sub("SignedHeaders=host;", "SignedHeaders=host;host;")),
    R.MALFORMED_SIGNATURE,
)

# The presigned query's structure.
row("header-and-presigned-query", both_forms, R.AMBIGUOUS_CREDENTIAL)
row(
    "presigned-signature-twice",
    lambda c: presigned_get(c).edit_query(lambda q: q + "&X-Amz-Signature=" + q.rpartition("X-Amz-Signature=")[2]),
    R.MALFORMED_SIGNATURE,
)
row(
    "presigned-date-twice-other-case",
    lambda c: presigned_get(c).edit_query(lambda q: q + "&x-amz-date=20240501T120000Z"),
    R.MALFORMED_SIGNATURE,
)
row(
    "presigned-credential-twice",
    lambda c: presigned_get(c).edit_query(
        lambda q: q + "&X-Amz-Credential=" + urllib.parse.quote(BOB_CREDENTIAL, safe="")
    ),
    R.MALFORMED_SIGNATURE,
)
row(
    "presigned-expires-twice-other-case",
    lambda c: presigned_get(c).edit_query(lambda q: q + "&X-AMZ-EXPIRES=900"),
    R.MALFORMED_SIGNATURE,
)
row(
    "presigned-expires-missing",
    lambda c: presigned_get(c).edit_query(sub(r"&X-Amz-Expires=\d+", "")),
    R.MALFORMED_SIGNATURE,
)
row(
    "presigned-other-algorithm",
    lambda c: presigned_get(c).edit_query(sub("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1")),
    R.UNSUPPORTED_SCHEME,
)

# The body's hash.
row(
    "body-hash-header-not-signed",  # sent, but left out of SignedHeaders: the empty body is assumed
    lambda c: sign(
        "POST",
        c.url("/pets"),
        headers={"X-Amz-Content-Sha256": body_hash(JSON_BODY)},
        body=JSON_BODY,
        unsigned=("x-amz-content-sha256",),
    ),
    R.INVALID_SIGNATURE,
)
row(
    "body-hash-header-changed",
    lambda c: sign(
        "POST", c.url("/pets"), headers={"X-Amz-Content-Sha256": body_hash(JSON_BODY)}, body=JSON_BODY
    ).with_header("X-Amz-Content-Sha256", body_hash(b'{"name": "Rex", "kind": "cat"}')),
    R.INVALID_SIGNATURE,
)
row(
    "body-signed-without-hash-header",
    lambda c: sign("POST", c.url("/pets"), headers={"Content-Type": "application/json"}, body=JSON_BODY),
    R.INVALID_SIGNATURE,
)

# No credential.
row("no-credential", lambda c: sign("GET", c.url()).without("Authorization"), R.MISSING_CREDENTIAL)
row("no-credential-plain-request", lambda c: _wire(AWSRequest(method="GET", url=c.url())), R.MISSING_CREDENTIAL)


def row_params() -> list[Any]:
    params = []
    for r in ROWS:
        for form in FORMS:
            marks = [pytest.mark.xfail(strict=True, reason=r.xfail[form])] if form in r.xfail else []
            params.append(pytest.param(r, form, id=f"{r.id}-{form}", marks=marks))
    return params


@pytest.mark.parametrize(("case", "form"), row_params())
def test_mutation_is_refused(case: Row, form: str, build_handler: Any, decision_log: Any) -> None:
    ctx = Ctx(form, now=case.now)
    handler = build_handler(ctx)
    wire = case.build(ctx)
    decision, response = outcome(handler, ctx.event(wire))
    lines, text = decision_log()
    no_leaks(text, wire)
    # A 401 (REST), or isAuthorized false (HTTP API simple responses): never an Allow, never a 500.
    assert (decision, response) == REFUSED[form]
    assert [(line["decision"], line.get("reason")) for line in lines] == [("unauthorized", case.reason_for(form).value)]


REFUSED: dict[str, tuple[str, dict[str, Any] | None]] = {
    "rest": ("unauthorized", None),
    "rest-custom-domain": ("unauthorized", None),
    "http-v2": ("deny", {"isAuthorized": False}),
}


def test_row_ids_are_unique() -> None:
    ids = [r.id for r in ROWS]
    assert len(ids) == len(set(ids))
    assert len(ROWS) >= 80


def signed_headers(wire: Wire) -> list[str]:
    match = re.search(r"SignedHeaders=([^,]+)", wire.authorization)
    assert match is not None
    return match.group(1).split(";")


def test_the_rows_signers_do_what_the_rows_say() -> None:
    """The rows about unsigned headers rest on botocore leaving exactly those out."""
    c = Ctx("rest")
    assert signed_headers(signed_get(c)) == ["host", "x-amz-date", "x-tenant"]
    assert signed_headers(signed_get(c, unsigned=("host",))) == ["x-amz-date", "x-tenant"]
    assert signed_headers(signed_get(c, unsigned=("x-amz-date",))) == ["host", "x-tenant"]
    token = signed_get(c, token=SESSION_TOKEN, unsigned=("x-amz-security-token",))
    assert token.header("X-Amz-Security-Token") == [SESSION_TOKEN]
    assert "x-amz-security-token" not in signed_headers(token)
    assert "x-amz-security-token" in signed_headers(signed_get(c, token=SESSION_TOKEN))
    hashed = {"X-Amz-Content-Sha256": body_hash(JSON_BODY)}
    assert "x-amz-content-sha256" in signed_headers(sign("POST", c.url("/pets"), headers=hashed, body=JSON_BODY))
    left_out = sign("POST", c.url("/pets"), headers=hashed, body=JSON_BODY, unsigned=("x-amz-content-sha256",))
    assert left_out.header("X-Amz-Content-Sha256") == [body_hash(JSON_BODY)]
    assert "x-amz-content-sha256" not in signed_headers(left_out)
    presigned = urllib.parse.parse_qs(presigned_get(c, token=SESSION_TOKEN).query)
    assert presigned["X-Amz-SignedHeaders"] == ["host"]
    assert presigned["X-Amz-Security-Token"] == [SESSION_TOKEN]
    assert presigned["X-Amz-Date"] == ["20240501T120000Z"]


# -- the body, once more --------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_post_signed_over_a_body_without_the_hash_header_is_refused(
    form: str, build_handler: Any, decision_log: Any
) -> None:
    """A REQUEST authorizer never receives the body, so it cannot hash it.

    botocore signs the body's SHA-256; without a signed ``X-Amz-Content-Sha256`` header the
    authorizer can only assume an empty body, the signature does not match, and the request
    is refused. Clients send the hash in that header (or ``UNSIGNED-PAYLOAD``): accepted above,
    with the backend left to compare the body with the claimed hash.
    """
    ctx = Ctx(form)
    handler = build_handler(ctx)
    without = sign("POST", ctx.url("/pets"), headers={"Content-Type": "application/json"}, body=JSON_BODY)
    with_hash = sign(
        "POST",
        ctx.url("/pets"),
        headers={"Content-Type": "application/json", "X-Amz-Content-Sha256": body_hash(JSON_BODY)},
        body=JSON_BODY,
    )
    assert outcome(handler, ctx.event(without)) == REFUSED[form]
    assert outcome(handler, ctx.event(with_hash))[0] == "allow"
    lines, _ = decision_log()
    assert [(line["decision"], line.get("reason")) for line in lines] == [
        ("unauthorized", Reason.INVALID_SIGNATURE.value),
        ("allow", None),
    ]


# -- events a SigV4 authorizer cannot take ---------------------------------------------------------------------------


def test_websocket_connect_is_refused_cleanly(build_handler: Any, decision_log: Any) -> None:
    ctx = Ctx("rest")
    wire = sign("GET", f"https://{DEFAULT_HOST}/default")
    event = load_event("apiGatewayAuthorizerWebSocketEvent.json")
    for name, value in wire.headers:
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    assert outcome(build_handler(ctx), event) == ("unauthorized", None)
    lines, text = decision_log()
    assert [(line["decision"], line.get("reason")) for line in lines] == [
        ("unauthorized", Reason.UNSUPPORTED_SCHEME.value)
    ]
    no_leaks(text, wire)


def test_token_event_is_refused_cleanly(build_handler: Any, decision_log: Any) -> None:
    ctx = Ctx("rest")
    wire = sign("GET", ctx.url())
    event = {"type": "TOKEN", "authorizationToken": wire.authorization, "methodArn": ctx.arn("GET")}
    assert outcome(build_handler(ctx), event) == ("unauthorized", None)
    lines, text = decision_log()
    assert [(line["decision"], line.get("reason")) for line in lines] == [
        ("unauthorized", Reason.UNSUPPORTED_SCHEME.value)
    ]
    no_leaks(text, wire)
