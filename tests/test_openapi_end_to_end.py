"""Real OpenAPI documents end to end through the JWT handler, with real tokens.

For every answer: the decision for the route asked, and the cache property. API Gateway
reuses an answer for the principal's next route in the same API and stage, so an
api-scope policy must agree with the table on every route of the API, and a route-scope
one (the fallback) must never allow a route the table denies. No answer may allow
anything in another stage.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from authorizers.handlers.runtime import AuthorizerHandler
from authorizers.local_issuer import LocalIssuer
from tests import iam
from tests.conftest import load_event, outcome, token_event
from tests.motoserver import aws_environment, moto_server

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

API = "arn:aws:execute-api:us-east-1:123456789012:abcdef123"
STAGES = ("dev", "test", "prod")
OPENAPI = Path(__file__).parent / "data" / "openapi"
PETSTORES = {
    "swagger2": OPENAPI / "petstore-swagger2.yaml",
    "openapi30": OPENAPI / "petstore-openapi30.yaml",
}
VERSIONED = OPENAPI / "versioned-openapi31.yaml"
Who = frozenset[str]


@dataclass(frozen=True)
class Row:
    request: str  # "METHOD /path" as API Gateway sends it (concrete path)
    route: str  # the operation that takes it
    who: Who  # the principals allowed, every scheme counted (AUTHZ_OPENAPI_SCHEMES unset)
    who_selected: Who  # the principals allowed with AUTHZ_OPENAPI_SCHEMES set (petstore_auth / oauth)


def arn(request: str, stage: str) -> str:
    method, path = request.split(" ")
    return f"{API}/{stage}/{method}/{path.removeprefix('/')}"


def event_for(kind: str, token: str, row: Row, stage: str) -> dict[str, Any]:
    """The event of ``kind`` for ``row`` in ``stage``, the token where API Gateway puts it."""
    method, path = row.request.split(" ")
    target = arn(row.request, stage)
    if kind == "REST TOKEN":
        return token_event(token, target)
    if kind == "REST REQUEST":
        event = load_event("apiGatewayAuthorizerRestRequestEvent.json")
        event["methodArn"] = target
        event["httpMethod"], event["path"] = method, path
        event["resource"] = row.route.split(" ")[1]
        event["headers"]["Authorization"] = f"Bearer {token}"
        event["requestContext"].update(stage=stage, httpMethod=method, path=path, resourcePath=event["resource"])
        return event
    assert kind == "HTTP 2.0", kind
    event = load_event("apiGatewayAuthorizerV2Event.json")
    event["routeArn"] = target
    event["routeKey"] = event["requestContext"]["routeKey"] = row.route
    event["rawPath"] = path
    event["headers"]["Authorization"] = f"Bearer {token}"  # replaces the vector's "value"
    event["requestContext"]["stage"] = stage
    event["requestContext"]["http"].update(method=method, path=path)
    return event


def check_cache(policy: Mapping[str, Any], expected: Mapping[str, bool], scope: str, stage: str, why: str) -> None:
    for request, allowed in expected.items():
        granted = iam.allows(policy, arn(request, stage))
        if scope == "api":
            assert granted == allowed, f"{why}: a cached answer would say {granted} for {request}"
        else:
            assert allowed or not granted, f"{why}: a route-scope answer allows {request}"
        for elsewhere in STAGES:
            if elsewhere != stage:
                assert not iam.allows(policy, arn(request, elsewhere)), f"{why}: allows {request} in {elsewhere}"


@dataclass(frozen=True)
class Rig:
    """The loopback issuer, handlers built from an environment, and the decision log."""

    issuer: LocalIssuer
    make_handler: Callable[[Mapping[str, str]], AuthorizerHandler]
    read_log: Callable[[], tuple[list[dict[str, Any]], str]]

    def handler(self, environ: Mapping[str, str]) -> AuthorizerHandler:
        built = self.make_handler(environ)
        self.read_log()  # cold-start notes are not decisions
        return built


@pytest.fixture
def rig(issuer: LocalIssuer, make_handler: Any, decision_log: Any) -> Rig:
    return Rig(issuer, make_handler, decision_log)


def check_answers(
    rig: Rig,
    handler: AuthorizerHandler,
    principals: Mapping[str, str | None],
    rows: Sequence[Row],
    who: Callable[[Row], Who],
    *,
    stage: str = "prod",
    kind: str = "REST TOKEN",
) -> Counter[str]:
    """Ask every route for every principal; returns how many answers were api / route scope."""
    scopes: Counter[str] = Counter()
    for name, scope in principals.items():
        token = rig.issuer.mint(sub=name, scope=scope)
        expected = {row.request: name in who(row) for row in rows}
        for row in rows:
            why = f"{name} ({scope}) {row.request} in {stage} via {kind}"
            decision, response = outcome(handler, event_for(kind, token, row, stage))
            lines, output = rig.read_log()
            assert token not in output
            assert decision == ("allow" if expected[row.request] else "deny"), why
            (line,) = lines
            assert (line["decision"], line["principal"]) == (decision, name), why
            if decision == "deny":
                assert line["reason"] == "route_not_allowed", why
            assert response is not None
            if kind == "HTTP 2.0":  # a simple response: for the route asked, nothing else
                assert response["isAuthorized"] is expected[row.request], why
                assert set(response) <= {"isAuthorized", "context"}, why
                continue
            policy_scope = line.get("policy_scope", "api")  # absent: the configured api scope
            assert policy_scope in ("api", "route"), why
            scopes[policy_scope] += 1
            check_cache(response["policyDocument"], expected, policy_scope, stage, why)
    return scopes


def assert_mostly_api_scope(scopes: Counter[str]) -> None:
    """Not vacuous: most answers were checked against every route, not only never-wider."""
    assert sum(scopes.values()) > 0
    assert scopes["api"] > sum(scopes.values()) / 2, scopes


# -- 1. The petstore, Swagger 2.0 and OpenAPI 3.0 ------------------------------------------

PETSTORE_PRINCIPALS: dict[str, str | None] = {
    "carol": None,  # no scope at all
    "reader": "read:pets",
    "writer": "write:pets",
    "owner": "write:pets read:pets",
}
ANYONE: Who = frozenset(PETSTORE_PRINCIPALS)
OWNER: Who = frozenset({"owner"})  # petstore_auth lists both scopes: both are needed
NOBODY: Who = frozenset()
PETSTORE = [
    Row("PUT /pet", "PUT /pet", OWNER, OWNER),
    Row("POST /pet", "POST /pet", OWNER, OWNER),
    # Narrower than GET /pet/{petId}: its own security decides, not api_key's "anyone".
    Row("GET /pet/findByStatus", "GET /pet/findByStatus", OWNER, OWNER),
    Row("GET /pet/findByTags", "GET /pet/findByTags", OWNER, OWNER),
    # api_key (no scopes) or petstore_auth; api_key does not count when only petstore_auth does.
    Row("GET /pet/42", "GET /pet/{petId}", ANYONE, OWNER),
    Row("GET /pet/findByStatus2", "GET /pet/{petId}", ANYONE, OWNER),  # a petId, not findByStatus
    Row("POST /pet/42", "POST /pet/{petId}", OWNER, OWNER),
    Row("DELETE /pet/42", "DELETE /pet/{petId}", OWNER, OWNER),
    Row("POST /pet/42/uploadImage", "POST /pet/{petId}/uploadImage", OWNER, OWNER),
    Row("GET /store/inventory", "GET /store/inventory", ANYONE, NOBODY),  # api_key only
    Row("POST /store/order", "POST /store/order", ANYONE, ANYONE),
    Row("GET /store/order/7", "GET /store/order/{orderId}", ANYONE, ANYONE),
    Row("DELETE /store/order/7", "DELETE /store/order/{orderId}", ANYONE, ANYONE),
    Row("POST /user", "POST /user", ANYONE, ANYONE),  # no security: any authenticated caller
    Row("POST /user/createWithArray", "POST /user/createWithArray", ANYONE, ANYONE),
    Row("POST /user/createWithList", "POST /user/createWithList", ANYONE, ANYONE),
    Row("GET /user/login", "GET /user/login", ANYONE, ANYONE),
    Row("GET /user/logout", "GET /user/logout", ANYONE, ANYONE),
    Row("GET /user/alice", "GET /user/{username}", ANYONE, ANYONE),
    Row("PUT /user/alice", "PUT /user/{username}", ANYONE, ANYONE),
    Row("DELETE /user/alice", "DELETE /user/{username}", ANYONE, ANYONE),
]


@pytest.mark.parametrize("selected", [False, True], ids=["all-schemes", "petstore_auth-only"])
@pytest.mark.parametrize("document", list(PETSTORES))
def test_petstore_every_operation_and_the_cached_answer(
    rig: Rig, jwt_env: dict[str, str], document: str, selected: bool
) -> None:
    env = {**jwt_env, "AUTHZ_OPENAPI": str(PETSTORES[document])}
    if selected:
        env["AUTHZ_OPENAPI_SCHEMES"] = "petstore_auth"
    scopes = check_answers(
        rig,
        rig.handler(env),
        PETSTORE_PRINCIPALS,
        PETSTORE,
        lambda row: row.who_selected if selected else row.who,
    )
    # Every petstore answer can be exact: GET /pet/{petId} with an explicit Deny of the two
    # narrower routes, so none needs the route-scope fallback.
    assert scopes == Counter(api=len(PETSTORE_PRINCIPALS) * len(PETSTORE)), scopes


# -- 2. The versioned OpenAPI 3.1 document, stages, and rules on top -----------------------

VERSIONED_PRINCIPALS: dict[str, str | None] = {
    "carol": None,
    "reader": "pets:read",
    "writer": "pets:write",
    "admin": "pets:admin",
    "partner": "orders:read orders:write",
    "root": "pets:read pets:write pets:admin orders:read orders:write",
}
EVERYONE: Who = frozenset(VERSIONED_PRINCIPALS)
READ: Who = frozenset({"reader", "root"})
WRITE: Who = frozenset({"writer", "root"})
ADMIN: Who = frozenset({"admin", "root"})
PARTNER: Who = frozenset({"partner", "root"})
VERSIONED_ROWS = [
    Row("GET /v1/pets", "GET /v1/pets", READ, READ),  # the top-level default
    Row("GET /v1/pets/7", "GET /v1/pets/{petId}", READ, READ),
    # pets:read, or partner_key with no scope: anyone while partner_key counts.
    Row("GET /v2/pets", "GET /v2/pets", EVERYONE, READ),
    Row("POST /v2/pets", "POST /v2/pets", WRITE, WRITE),
    # Narrower than ANY /v2/{proxy+}: pets:admin alone does not read a pet.
    Row("GET /v2/pets/7", "GET /v2/pets/{petId}", READ, READ),
    Row("DELETE /v2/pets/7", "DELETE /v2/pets/{petId}", ADMIN, ADMIN),
    Row("GET /v2/status", "GET /v2/status", EVERYONE, EVERYONE),  # security: []
    # partner_key cannot be met when only oauth counts, and the catch-all does not take them.
    Row("GET /v2/partner/orders", "GET /v2/partner/orders", PARTNER, NOBODY),
    Row("POST /v2/partner/orders", "POST /v2/partner/orders", PARTNER, NOBODY),
    # What no narrower route takes goes to ANY /v2/{proxy+}: pets:admin.
    Row("PUT /v2/pets/7", "ANY /v2/{proxy+}", ADMIN, ADMIN),
    Row("PATCH /v2/pets", "ANY /v2/{proxy+}", ADMIN, ADMIN),
    Row("POST /v2/status", "ANY /v2/{proxy+}", ADMIN, ADMIN),
    Row("OPTIONS /v2/pets", "ANY /v2/{proxy+}", ADMIN, ADMIN),
    Row("GET /v2/pets/7/photos", "ANY /v2/{proxy+}", ADMIN, ADMIN),
    Row("DELETE /v2/pets/7/photos", "ANY /v2/{proxy+}", ADMIN, ADMIN),
    Row("DELETE /v2/archive/2019/pets", "ANY /v2/{proxy+}", ADMIN, ADMIN),
]
DELETE_IN_PROD = {"effect": "deny", "routes": ["DELETE /v2/pets/{petId}"], "stages": ["prod"]}
CONNECT = {"effect": "allow", "routes": ["GET /$connect"], "when": {"scopes": ["ws:connect"]}}


def versioned_who(selected: bool, stage: str) -> Callable[[Row], Who]:
    def who(row: Row) -> Who:
        if stage == "prod" and row.route == "DELETE /v2/pets/{petId}":
            return NOBODY  # the AUTHZ_RULES deny, prod only, wins over the document's allow
        return row.who_selected if selected else row.who

    return who


@pytest.fixture
def versioned_env(jwt_env: dict[str, str]) -> dict[str, str]:
    rules = {"rules": [DELETE_IN_PROD, CONNECT]}
    return {**jwt_env, "AUTHZ_OPENAPI": str(VERSIONED), "AUTHZ_RULES": json.dumps(rules)}


@pytest.mark.parametrize("selected", [False, True], ids=["all-schemes", "oauth-only"])
def test_versioned_document_with_a_prod_only_deny_rule(rig: Rig, versioned_env: dict[str, str], selected: bool) -> None:
    env = {**versioned_env, "AUTHZ_OPENAPI_SCHEMES": "oauth"} if selected else versioned_env
    handler = rig.handler(env)
    scopes: Counter[str] = Counter()
    # pets:admin's answers fall back to route scope: its catch-all takes GET /v2/pets/7/photos
    # but not GET /v2/pets/7, and an IAM "*" crosses "/", so no policy can say exactly that.
    for stage in STAGES:
        who = versioned_who(selected, stage)
        scopes += check_answers(rig, handler, VERSIONED_PRINCIPALS, VERSIONED_ROWS, who, stage=stage)
    assert_mostly_api_scope(scopes)


def test_the_prod_deny_is_the_only_difference_between_stages(
    issuer: LocalIssuer, versioned_env: dict[str, str], make_handler: Any
) -> None:
    handler = make_handler(versioned_env)
    token = issuer.mint(sub="admin", scope="pets:admin")
    delete = VERSIONED_ROWS[5]
    assert delete.request == "DELETE /v2/pets/7"
    answers = {stage: outcome(handler, token_event(token, arn(delete.request, stage)))[0] for stage in STAGES}
    assert answers == {"dev": "allow", "test": "allow", "prod": "deny"}
    # The deny is the document's route only: the catch-all below it still answers in prod.
    assert outcome(handler, token_event(token, arn("DELETE /v2/pets/7/photos", "prod")))[0] == "allow"


# -- 3. The other event kinds ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["REST TOKEN", "REST REQUEST", "HTTP 2.0"])
@pytest.mark.parametrize("stage", ["test", "prod"])
def test_event_kinds_answer_alike(rig: Rig, versioned_env: dict[str, str], kind: str, stage: str) -> None:
    handler = rig.handler(versioned_env)  # AUTHZ_RESPONSE_FORMAT unset: simple for HTTP 2.0
    who = versioned_who(False, stage)
    scopes = check_answers(rig, handler, VERSIONED_PRINCIPALS, VERSIONED_ROWS, who, stage=stage, kind=kind)
    if kind != "HTTP 2.0":
        assert_mostly_api_scope(scopes)


@pytest.mark.parametrize(
    ("name", "scope", "allowed"),
    [
        ("connector", "ws:connect", True),
        ("root", "pets:read pets:write pets:admin orders:read orders:write", False),
        ("carol", None, False),
    ],
)
def test_websocket_connect_is_the_route_get_connect(
    rig: Rig, versioned_env: dict[str, str], name: str, scope: str | None, allowed: bool
) -> None:
    handler = rig.handler(versioned_env)
    token = rig.issuer.mint(sub=name, scope=scope)
    event = load_event("apiGatewayAuthorizerWebSocketEvent.json")
    event["headers"]["Authorization"] = f"Bearer {token}"
    connect = event["methodArn"]
    assert connect == f"{API}/default/$connect"
    decision, response = outcome(handler, event)
    assert decision == ("allow" if allowed else "deny")
    assert response is not None and response["principalId"] == name
    policy = response["policyDocument"]
    assert iam.allows(policy, connect) is allowed
    # Route scope: nothing else of the API, in no stage, ever.
    for other in (f"{API}/default/$default", f"{API}/default/$disconnect", f"{API}/prod/$connect"):
        assert not iam.allows(policy, other)
    lines, output = rig.read_log()
    assert token not in output
    (line,) = lines
    assert (line["decision"], line["principal"], line["event_kind"]) == (decision, name, "websocket")
    assert line["policy_scope"] == "route"
    if not allowed:
        assert line["reason"] == "route_not_allowed"


# -- 4. Usage plan keys from SSM Parameter Store (moto's server on loopback) --------------------

USAGE_KEY = "alice-e2e-usage-key-0123456789"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def ssm(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SSMClient:
    aws_environment(monkeypatch, moto_url, tmp_path)
    import boto3

    return boto3.client("ssm")


def test_usage_keys_from_ssm_end_to_end(
    issuer: LocalIssuer, jwt_env: dict[str, str], make_handler: Any, decision_log: Any, ssm: SSMClient
) -> None:
    name = f"/openapi-e2e/usage-keys/{uuid.uuid4().hex}"
    ssm.put_parameter(Name=name, Value=json.dumps({"alice": USAGE_KEY}), Type="String")
    env = {**jwt_env, "AUTHZ_OPENAPI": str(PETSTORES["swagger2"]), "AUTHZ_USAGE_KEYS": f"ssm:{name}"}
    handler = make_handler(env)  # the parameter is read at cold start
    decision_log()
    alice = issuer.mint(sub="alice", scope="write:pets read:pets")
    bob = issuer.mint(sub="bob", scope="write:pets read:pets")
    everything = {row.request: True for row in PETSTORE if "owner" in row.who}

    for row in PETSTORE:
        if "owner" not in row.who:
            continue
        decision, response = outcome(handler, event_for("REST TOKEN", alice, row, "prod"))
        assert decision == "allow" and response is not None, row.request
        assert response["usageIdentifierKey"] == USAGE_KEY
        check_cache(response["policyDocument"], everything, "api", "prod", f"alice {row.request}")

    decision, response = outcome(handler, event_for("REST TOKEN", bob, PETSTORE[4], "prod"))
    assert decision == "deny" and response is not None and "usageIdentifierKey" not in response
    assert not any(iam.allows(response["policyDocument"], arn(row.request, "prod")) for row in PETSTORE)

    # HTTP APIs have no usage plans: a simple response never carries a key, and none is needed.
    for token in (alice, bob):
        decision, response = outcome(handler, event_for("HTTP 2.0", token, PETSTORE[4], "prod"))
        assert decision == "allow" and response is not None
        assert response["isAuthorized"] is True and "usageIdentifierKey" not in response

    lines, output = decision_log()
    assert alice not in output and bob not in output and USAGE_KEY not in output
    bobs = [line for line in lines if line["principal"] == "bob" and line["event_kind"] == "token"]
    assert [(line["decision"], line["reason"]) for line in bobs] == [("deny", "usage_key_missing")]
    alices = [line for line in lines if line["principal"] == "alice"]
    assert alices and all(line["decision"] == "allow" for line in alices)
