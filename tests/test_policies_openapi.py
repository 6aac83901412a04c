"""OpenAPI / Swagger documents as rules: who may call what, route precedence, strict refusals."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policies.openapi import OpenApiError, OpenApiRules, load_openapi, openapi_rules
from policies.principal import Principal
from policies.routes import RoutePattern, parse_route, request_segments
from policies.rules import Condition, Effect, Rule, RuleError

DATA = Path(__file__).parent / "data" / "openapi"
SWAGGER2 = DATA / "petstore-swagger2.yaml"
OPENAPI30 = DATA / "petstore-openapi30.yaml"
VERSIONED = DATA / "versioned-openapi31.yaml"


def who(*scopes: str) -> Principal:
    return Principal(principal_id="caller", scheme="jwt", scopes=frozenset(scopes))


NOBODY = who()  # authenticated, no scopes
PET_OWNER = who("read:pets", "write:pets")
READER = who("read:pets")
ADMIN = who("pets:admin")  # admin scope only, no pets:read


def decide(rules: OpenApiRules, principal: Principal, request: str, stage: str = "prod") -> Effect:
    method, _, path = request.partition(" ")
    # A method ARN's resource has no leading "/": "GET /pets/7" is resource "pets/7".
    return rules.rules.decide(principal, stage, method, request_segments(path.removeprefix("/")))


def minimal(**changes: Any) -> dict[str, Any]:
    """A small valid OpenAPI 3.0 document, changed at the top level."""
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "components": {
            "securitySchemes": {
                "oauth": {"type": "oauth2", "flows": {}},
                "key": {"type": "apiKey", "in": "header", "name": "x-key"},
            }
        },
        "paths": {"/pets": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }
    document.update(changes)
    return document


def with_paths(paths: dict[Any, Any], **changes: Any) -> dict[str, Any]:
    return minimal(paths=paths, **changes)


def get(security: Any = ...) -> dict[str, Any]:
    """A path item with one GET operation, with ``security`` when given."""
    operation: dict[str, Any] = {"responses": {"200": {"description": "ok"}}}
    if security is not ...:
        operation["security"] = security
    return {"get": operation}


# --- the petstore, as Swagger 2.0 and as OpenAPI 3.0: the same decisions ---------------------

PETSTORE_ALL_SCHEMES = [
    (PET_OWNER, "POST /pet", Effect.ALLOW),
    (READER, "POST /pet", Effect.DENY),  # needs write:pets and read:pets
    (who("write:pets"), "PUT /pet", Effect.DENY),
    (PET_OWNER, "PUT /pet", Effect.ALLOW),
    (NOBODY, "GET /pet/7", Effect.ALLOW),  # api_key alternative: no scopes
    (PET_OWNER, "GET /pet/7", Effect.ALLOW),
    (NOBODY, "GET /pet/findByStatus", Effect.DENY),  # its own rule, not GET /pet/{petId}'s
    (PET_OWNER, "GET /pet/findByStatus", Effect.ALLOW),
    (NOBODY, "GET /pet/findByTags", Effect.DENY),
    (NOBODY, "DELETE /pet/7", Effect.DENY),
    (PET_OWNER, "DELETE /pet/7", Effect.ALLOW),
    (NOBODY, "POST /pet/7", Effect.DENY),
    (PET_OWNER, "POST /pet/7/uploadImage", Effect.ALLOW),
    (READER, "POST /pet/7/uploadImage", Effect.DENY),
    (NOBODY, "GET /store/inventory", Effect.ALLOW),  # api_key only
    (NOBODY, "POST /store/order", Effect.ALLOW),  # no security: any authenticated caller
    (NOBODY, "GET /store/order/3", Effect.ALLOW),
    (NOBODY, "DELETE /store/order/3", Effect.ALLOW),
    (NOBODY, "POST /user", Effect.ALLOW),
    (NOBODY, "GET /user/login", Effect.ALLOW),
    (NOBODY, "GET /user/logout", Effect.ALLOW),
    (NOBODY, "PUT /user/alice", Effect.ALLOW),
    (PET_OWNER, "PATCH /pet/7", Effect.DENY),  # no such operation
    (PET_OWNER, "GET /pet/7/uploadImage", Effect.DENY),
    (PET_OWNER, "GET /v2/pet/7", Effect.DENY),  # basePath is not part of the routes
    (PET_OWNER, "GET /api/v3/pet/7", Effect.DENY),  # nor are servers
    (PET_OWNER, "GET /pet", Effect.DENY),
    (PET_OWNER, "GET /store/order", Effect.DENY),
]

PETSTORE_OAUTH_ONLY = [
    (NOBODY, "GET /pet/7", Effect.DENY),  # the api_key alternative cannot be met
    (READER, "GET /pet/7", Effect.DENY),
    (PET_OWNER, "GET /pet/7", Effect.ALLOW),
    (PET_OWNER, "GET /store/inventory", Effect.DENY),  # api_key only: no allow rule at all
    (NOBODY, "GET /store/inventory", Effect.DENY),
    (NOBODY, "POST /user", Effect.ALLOW),  # no security stays "any authenticated caller"
    (PET_OWNER, "POST /pet", Effect.ALLOW),
]


@pytest.mark.parametrize("document", [SWAGGER2, OPENAPI30], ids=["swagger2", "openapi30"])
@pytest.mark.parametrize(("principal", "request_line", "expected"), PETSTORE_ALL_SCHEMES)
def test_petstore_with_every_scheme(document: Path, principal: Principal, request_line: str, expected: Effect) -> None:
    assert decide(load_openapi(str(document)), principal, request_line) is expected


@pytest.mark.parametrize("document", [SWAGGER2, OPENAPI30], ids=["swagger2", "openapi30"])
@pytest.mark.parametrize(("principal", "request_line", "expected"), PETSTORE_OAUTH_ONLY)
def test_petstore_counting_only_petstore_auth(
    document: Path, principal: Principal, request_line: str, expected: Effect
) -> None:
    rules = load_openapi(str(document), schemes=frozenset({"petstore_auth"}))
    assert decide(rules, principal, request_line) is expected


def test_petstore_routes_are_every_operation_in_document_order() -> None:
    routes = [str(route) for route in load_openapi(str(SWAGGER2)).routes]
    assert routes == [
        "POST /pet",
        "PUT /pet",
        "GET /pet/findByStatus",
        "GET /pet/findByTags",
        "GET /pet/*",
        "POST /pet/*",
        "DELETE /pet/*",
        "POST /pet/*/uploadImage",
        "GET /store/inventory",
        "POST /store/order",
        "GET /store/order/*",
        "DELETE /store/order/*",
        "POST /user",
        "POST /user/createWithArray",
        "POST /user/createWithList",
        "GET /user/login",
        "GET /user/logout",
        "GET /user/*",
        "PUT /user/*",
        "DELETE /user/*",
    ]
    assert sorted(map(str, load_openapi(str(OPENAPI30)).routes)) == sorted(routes)


def test_petstore_rules_are_exact() -> None:
    source = str(SWAGGER2)
    rules = {rule.label: rule for rule in load_openapi(source).rules.rules}
    assert len(load_openapi(source).rules.rules) == 20  # one per operation: {} or api_key absorbs the rest
    assert rules[f"{source}: POST /pet"] == Rule(
        effect=Effect.ALLOW,
        routes=(parse_route("POST /pet"),),
        stages=None,
        when=Condition(scopes=frozenset({"write:pets", "read:pets"})),
        label=f"{source}: POST /pet",
    )
    assert rules[f"{source}: POST /user"] == Rule(
        effect=Effect.ALLOW, routes=(parse_route("POST /user"),), label=f"{source}: POST /user"
    )


# --- the versioned OpenAPI 3.1 document: scopes, defaults, ANY, scheme selection ----------------

VERSIONED_TABLE = [
    # (schemes, principal, request, expected)
    (None, who("pets:read"), "GET /v1/pets", Effect.ALLOW),  # top-level default
    (None, NOBODY, "GET /v1/pets", Effect.DENY),
    (None, who("pets:read"), "GET /v1/pets/9", Effect.ALLOW),
    (None, who("pets:write"), "GET /v1/pets/9", Effect.DENY),
    (None, who("pets:write"), "POST /v1/pets", Effect.DENY),  # v1 has no POST
    (None, who("pets:write"), "POST /v2/pets", Effect.ALLOW),
    (None, who("pets:read"), "POST /v2/pets", Effect.DENY),
    (None, who("pets:admin"), "DELETE /v2/pets/9", Effect.ALLOW),
    (None, who("pets:read", "pets:write"), "DELETE /v2/pets/9", Effect.DENY),
    (None, who("pets:read"), "GET /v2/pets/9", Effect.ALLOW),
    (None, NOBODY, "GET /v2/status", Effect.ALLOW),  # security: []
    (None, NOBODY, "GET /v2/pets", Effect.ALLOW),  # partner_key alternative has no scopes
    (None, NOBODY, "GET /v2/partner/orders", Effect.DENY),  # 3.1 role names: required scopes
    (None, who("orders:read"), "GET /v2/partner/orders", Effect.ALLOW),
    (None, who("orders:write"), "POST /v2/partner/orders", Effect.ALLOW),
    (None, NOBODY, "POST /v2/partner/orders", Effect.DENY),
    # ANY /v2/{proxy+} takes what no narrower route takes, and only that.
    (None, ADMIN, "PATCH /v2/pets/9", Effect.ALLOW),
    (None, ADMIN, "GET /v2/pets/9/photos", Effect.ALLOW),
    (None, ADMIN, "POST /v2/anything/at/all", Effect.ALLOW),
    (None, who("pets:read"), "PATCH /v2/pets/9", Effect.DENY),
    (None, ADMIN, "GET /v2/pets/9", Effect.DENY),  # GET /v2/pets/{petId} decides: pets:read
    (None, ADMIN, "POST /v2/pets", Effect.DENY),  # POST /v2/pets decides: pets:write
    (None, ADMIN, "GET /v1/anything", Effect.DENY),  # the catch-all is under /v2 only
    (None, ADMIN, "GET /v2", Effect.DENY),  # {proxy+} needs at least one segment
    # Only oauth counts: requirements naming partner_key are skipped.
    ({"oauth"}, NOBODY, "GET /v2/pets", Effect.DENY),
    ({"oauth"}, who("pets:read"), "GET /v2/pets", Effect.ALLOW),
    ({"oauth"}, who("orders:read"), "GET /v2/partner/orders", Effect.DENY),  # no allow rule at all
    ({"oauth"}, who("orders:write", "orders:read"), "POST /v2/partner/orders", Effect.DENY),
    ({"oauth"}, NOBODY, "GET /v2/status", Effect.ALLOW),
    ({"oauth"}, who("pets:admin"), "DELETE /v2/pets/9", Effect.ALLOW),
    # Only partner_key counts: oauth requirements are skipped, never widened.
    ({"partner_key"}, NOBODY, "GET /v2/pets", Effect.ALLOW),
    ({"partner_key"}, who("pets:write"), "POST /v2/pets", Effect.DENY),
    ({"partner_key"}, who("pets:read"), "GET /v1/pets", Effect.DENY),
    ({"partner_key"}, who("orders:read"), "GET /v2/partner/orders", Effect.ALLOW),
    ({"partner_key"}, who("orders:write"), "POST /v2/partner/orders", Effect.DENY),  # needs oauth too
    ({"partner_key"}, ADMIN, "PATCH /v2/pets/9", Effect.DENY),
    ({"partner_key"}, NOBODY, "GET /v2/status", Effect.ALLOW),
    # Both named: the same as counting every scheme.
    ({"oauth", "partner_key"}, who("orders:write"), "POST /v2/partner/orders", Effect.ALLOW),
    ({"oauth", "partner_key"}, NOBODY, "GET /v2/pets", Effect.ALLOW),
]


@pytest.mark.parametrize(("schemes", "principal", "request_line", "expected"), VERSIONED_TABLE)
def test_versioned_document(
    schemes: set[str] | None, principal: Principal, request_line: str, expected: Effect
) -> None:
    rules = load_openapi(str(VERSIONED), None if schemes is None else frozenset(schemes))
    assert decide(rules, principal, request_line) is expected


def test_versioned_routes_keep_any_as_star() -> None:
    routes = load_openapi(str(VERSIONED)).routes
    assert routes[-1] == parse_route("ANY /v2/{proxy+}")
    assert routes[-1].method == "*"
    assert [str(route) for route in routes] == [
        "GET /v1/pets",
        "GET /v1/pets/*",
        "GET /v2/pets",
        "POST /v2/pets",
        "GET /v2/pets/*",
        "DELETE /v2/pets/*",
        "GET /v2/status",
        "GET /v2/partner/orders",
        "POST /v2/partner/orders",
        "ANY /v2/{proxy+}",
    ]


def test_versioned_rule_shape() -> None:
    source = str(VERSIONED)
    rules = load_openapi(source, frozenset({"oauth"})).rules.rules
    assert (
        Rule(
            effect=Effect.ALLOW,
            routes=(parse_route("POST /v2/pets"),),
            stages=None,
            when=Condition(scopes=frozenset({"pets:write"})),
            label=f"{source}: POST /v2/pets",
        )
        in rules
    )
    labels = [rule.label for rule in rules]
    assert f"{source}: GET /v2/partner/orders" not in labels  # every requirement skipped
    assert f"{source}: POST /v2/partner/orders" not in labels
    (catch_all,) = [rule for rule in rules if rule.label == f"{source}: ANY /v2/{{proxy+}}"]
    assert catch_all.routes == (parse_route("ANY /v2/{proxy+}"),)
    assert catch_all.when == Condition(scopes=frozenset({"pets:admin"}))
    # It yields where pets:admin alone would not get in (the partner routes let no one in when only
    # oauth counts), not to DELETE /v2/pets/{petId} (pets:admin too) nor GET /v2/status (everyone).
    routes = ("GET /v2/pets", "POST /v2/pets", "GET /v2/pets/*", "GET /v2/partner/orders", "POST /v2/partner/orders")
    assert set(catch_all.unless) == {parse_route(route) for route in routes}
    assert all(not rule.unless for rule in rules if rule is not catch_all)


def test_rules_apply_in_every_stage() -> None:
    rules = load_openapi(str(VERSIONED))
    for stage in ("prod", "dev", "$default"):
        assert decide(rules, who("pets:write"), "POST /v2/pets", stage) is Effect.ALLOW


# --- security semantics on small documents -------------------------------------------------------


def only_rules(document: dict[str, Any], schemes: frozenset[str] | None = None) -> tuple[Rule, ...]:
    return openapi_rules(document, "api.yaml", schemes).rules.rules


ANYONE = Rule(effect=Effect.ALLOW, routes=(parse_route("GET /pets"),), label="api.yaml: GET /pets")


@pytest.mark.parametrize(
    ("document", "why"),
    [
        (with_paths({"/pets": get([])}), "operation security: []"),
        (with_paths({"/pets": get([{}])}), "a {} requirement"),
        (with_paths({"/pets": get([{"oauth": ["a"]}, {}])}), "{} among others absorbs them"),
        (with_paths({"/pets": get()}), "no security anywhere"),
        (with_paths({"/pets": get([])}, security=[{"oauth": ["a"]}]), "operation [] overrides the top level"),
        (with_paths({"/pets": get()}, security=[]), "top-level security: []"),
        (with_paths({"/pets": get([{"key": []}])}), "a scheme with no scopes"),
    ],
)
def test_any_authenticated_principal_is_one_rule_without_a_condition(document: dict[str, Any], why: str) -> None:
    assert only_rules(document) == (ANYONE,), why


def test_operation_security_overrides_the_top_level() -> None:
    document = with_paths({"/pets": get([{"oauth": ["b"]}]), "/cats": get()}, security=[{"oauth": ["a"]}])
    result = openapi_rules(document, "api.yaml")
    assert decide(result, who("b"), "GET /pets") is Effect.ALLOW
    assert decide(result, who("a"), "GET /pets") is Effect.DENY
    assert decide(result, who("a"), "GET /cats") is Effect.ALLOW
    assert decide(result, who("b"), "GET /cats") is Effect.DENY


def test_schemes_in_one_requirement_all_hold_so_their_scopes_unite() -> None:
    document = with_paths({"/pets": get([{"oauth": ["a"], "key": ["k"]}])})
    (rule,) = only_rules(document)
    assert rule.when == Condition(scopes=frozenset({"a", "k"}))
    result = openapi_rules(document, "api.yaml")
    assert decide(result, who("a", "k"), "GET /pets") is Effect.ALLOW
    assert decide(result, who("a"), "GET /pets") is Effect.DENY
    assert decide(result, who("k"), "GET /pets") is Effect.DENY


def test_alternatives_are_rules_and_identical_ones_are_merged() -> None:
    security = [{"oauth": ["a", "b"]}, {"oauth": ["b", "a"]}, {"oauth": ["c"]}, {"oauth": ["c", "c"]}]
    rules = only_rules(with_paths({"/pets": get(security)}))
    assert [rule.when.scopes for rule in rules] == [frozenset({"a", "b"}), frozenset({"c"})]
    result = openapi_rules(with_paths({"/pets": get(security)}), "api.yaml")
    assert decide(result, who("c"), "GET /pets") is Effect.ALLOW
    assert decide(result, who("a", "b"), "GET /pets") is Effect.ALLOW
    assert decide(result, who("a"), "GET /pets") is Effect.DENY


def test_an_operation_whose_requirements_are_all_skipped_gets_no_rule_and_stays_a_route() -> None:
    document = with_paths({"/pets": get([{"key": []}, {"key": [], "oauth": ["a"]}]), "/cats": get()})
    result = openapi_rules(document, "api.yaml", frozenset({"oauth"}))
    assert [rule.label for rule in result.rules.rules] == ["api.yaml: GET /cats"]
    assert result.routes == (parse_route("GET /pets"), parse_route("GET /cats"))
    assert decide(result, who("a"), "GET /pets") is Effect.DENY
    assert decide(result, NOBODY, "GET /pets") is Effect.DENY


def test_every_http_method_and_any() -> None:
    methods = ["get", "put", "post", "delete", "options", "head", "patch"]
    item = {method: {"security": [{"oauth": [method]}]} for method in methods}
    item["x-amazon-apigateway-any-method"] = {"security": [{"oauth": ["any"]}]}
    result = openapi_rules(with_paths({"/things/{id}": item}), "api.yaml")
    assert [str(route) for route in result.routes] == [f"{m.upper()} /things/*" for m in methods] + ["ANY /things/*"]
    for method in methods:
        assert decide(result, who(method), f"{method.upper()} /things/1") is Effect.ALLOW
        assert decide(result, who("any"), f"{method.upper()} /things/1") is Effect.DENY  # outranked by the verb
    assert result.rules.rules[-1].label == "api.yaml: ANY /things/{id}"


@pytest.mark.parametrize(
    ("path", "request_line", "matches"),
    [
        ("/pets/{petId}", "GET /pets/7", True),
        ("/pets/{petId}", "GET /pets/7/toys", False),  # one segment
        ("/pets/{petId}", "GET /pets", False),
        ("/files/{proxy+}", "GET /files/a/b/c", True),  # one or more
        ("/files/{proxy+}", "GET /files/a", True),
        ("/files/{proxy+}", "GET /files", False),
        ("/", "GET /", True),
        ("/", "GET /pets", False),
        ("/Pets", "GET /pets", False),  # case-sensitive
    ],
)
def test_path_templates_match_what_api_gateway_matches(path: str, request_line: str, matches: bool) -> None:
    result = openapi_rules(with_paths({path: get()}), "api.yaml")
    assert decide(result, NOBODY, request_line) is (Effect.ALLOW if matches else Effect.DENY)


def test_extensions_and_non_operation_keys_are_ignored() -> None:
    item = {
        "summary": "s",
        "description": "d",
        "servers": [{"url": "https://elsewhere"}],
        "parameters": [{"name": "id", "in": "path"}],
        "x-amazon-apigateway-integration": {"type": "mock"},
        **get(),
    }
    result = openapi_rules(with_paths({"/pets/{id}": item, "x-tags": {"get": "not a path"}}), "api.yaml")
    assert result.routes == (parse_route("GET /pets/{id}"),)


# --- route precedence: the narrowest matching route decides ----------------------------------------


def test_a_literal_route_outranks_a_parameter_route_both_ways() -> None:
    paths = {"/pets/{id}": get([{"oauth": ["admin"]}]), "/pets/mine": get([])}
    result = openapi_rules(with_paths(paths), "api.yaml")
    assert decide(result, NOBODY, "GET /pets/mine") is Effect.ALLOW
    assert decide(result, NOBODY, "GET /pets/7") is Effect.DENY
    assert decide(result, who("admin"), "GET /pets/7") is Effect.ALLOW
    # The wider route is the public one: the narrower, stricter one still decides its requests.
    paths = {"/pets/{id}": get([]), "/pets/mine": get([{"oauth": ["owner"]}])}
    result = openapi_rules(with_paths(paths), "api.yaml")
    assert decide(result, NOBODY, "GET /pets/mine") is Effect.DENY
    assert decide(result, who("owner"), "GET /pets/mine") is Effect.ALLOW
    assert decide(result, NOBODY, "GET /pets/7") is Effect.ALLOW


def test_a_verb_outranks_any_on_the_same_path() -> None:
    item = {"get": {"security": [{"oauth": ["read"]}]}, "x-amazon-apigateway-any-method": {"security": []}}
    result = openapi_rules(with_paths({"/pets": item}), "api.yaml")
    assert decide(result, NOBODY, "GET /pets") is Effect.DENY
    assert decide(result, who("read"), "GET /pets") is Effect.ALLOW
    assert decide(result, NOBODY, "POST /pets") is Effect.ALLOW


def test_a_greedy_route_yields_to_deeper_parameters() -> None:
    paths = {"/a/{proxy+}": get([]), "/a/{x}/{y}": get([{"oauth": ["deep"]}]), "/a/{x}": get([{"oauth": ["one"]}])}
    result = openapi_rules(with_paths(paths), "api.yaml")
    assert decide(result, NOBODY, "GET /a/1/2") is Effect.DENY
    assert decide(result, who("deep"), "GET /a/1/2") is Effect.ALLOW
    assert decide(result, NOBODY, "GET /a/1") is Effect.DENY
    assert decide(result, who("one"), "GET /a/1") is Effect.ALLOW
    assert decide(result, NOBODY, "GET /a/1/2/3") is Effect.ALLOW


@pytest.mark.parametrize(
    ("paths", "names"),
    [
        ({"/{a}/b": get([{"oauth": ["x"]}]), "/a/{b}": get([])}, ("GET /{a}/b", "GET /a/{b}")),
        # A greedy route with a literal first, or a narrower path under ANY: REST and HTTP APIs differ.
        ({"/a/{proxy+}": get([{"oauth": ["x"]}]), "/{x}/b/c": get([])}, ("GET /a/{proxy+}", "GET /{x}/b/c")),
        (
            {"/{proxy+}": get([]), "/pets/{id}": {"x-amazon-apigateway-any-method": {"security": [{"oauth": ["x"]}]}}},
            ("GET /{proxy+}", "ANY /pets/{id}"),
        ),
    ],
)
def test_routes_that_cross_with_different_security_are_refused(paths: dict[str, Any], names: tuple[str, str]) -> None:
    with pytest.raises(OpenApiError, match="neither is narrower") as raised:
        openapi_rules(with_paths(paths), "api.yaml")
    assert all(name in str(raised.value) for name in names)


def test_routes_that_cross_with_the_same_security_are_accepted() -> None:
    paths = {"/{a}/b": get([{"oauth": ["x"]}]), "/a/{b}": get([{"oauth": ["x"]}])}
    result = openapi_rules(with_paths(paths), "api.yaml")
    assert decide(result, who("x"), "GET /a/b") is Effect.ALLOW
    assert decide(result, NOBODY, "GET /a/b") is Effect.DENY


def test_routes_that_never_meet_do_not_interfere() -> None:
    paths = {"/a/{x}/c": get([]), "/a/b/d": get([{"oauth": ["x"]}]), "/a/b": get([{"oauth": ["y"]}])}
    result = openapi_rules(with_paths(paths), "api.yaml")
    assert decide(result, NOBODY, "GET /a/b/c") is Effect.ALLOW
    assert decide(result, NOBODY, "GET /a/b/d") is Effect.DENY
    assert decide(result, NOBODY, "GET /a/b") is Effect.DENY
    assert all(not rule.unless for rule in result.rules.rules)


def test_wider_rules_stay_plain_where_they_let_in_no_one_the_narrower_route_refuses() -> None:
    rules = load_openapi(str(SWAGGER2)).rules.rules
    outranked = {rule.label.rpartition(": ")[2] for rule in rules if rule.unless}
    assert outranked == {"GET /pet/{petId}"}  # api_key would get into findByStatus/findByTags
    # Counting only petstore_auth, GET /pet/{petId} needs what findByStatus needs: plain again.
    rules = load_openapi(str(SWAGGER2), frozenset({"petstore_auth"})).rules.rules
    assert all(not rule.unless for rule in rules)


def test_a_narrower_route_with_no_rule_still_outranks() -> None:
    paths = {"/a/{x}": get([{"oauth": ["a"]}]), "/a/key": get([{"key": []}])}
    result = openapi_rules(with_paths(paths), "api.yaml", frozenset({"oauth"}))
    assert decide(result, who("a"), "GET /a/key") is Effect.DENY  # only the key could get in
    assert decide(result, who("a"), "GET /a/other") is Effect.ALLOW


CACHE_CASES = [
    (SWAGGER2, None, [NOBODY, READER, PET_OWNER], [line for _, line, _ in PETSTORE_ALL_SCHEMES]),
    (SWAGGER2, {"petstore_auth"}, [NOBODY, PET_OWNER], [line for _, line, _ in PETSTORE_ALL_SCHEMES]),
    (
        VERSIONED,
        {"oauth"},
        [NOBODY, ADMIN, who("pets:read"), who("pets:admin", "pets:read", "pets:write")],
        [line for _, _, line, _ in VERSIONED_TABLE],
    ),
    (VERSIONED, None, [NOBODY, ADMIN, who("orders:read")], [line for _, _, line, _ in VERSIONED_TABLE]),
]


def _takes(route: RoutePattern, line: str) -> bool:
    verb, _, path = line.partition(" ")
    return route.matches(verb, request_segments(path.removeprefix("/")))


@pytest.mark.parametrize(("document", "schemes", "principals", "lines"), CACHE_CASES)
def test_a_cached_api_scope_policy_never_allows_what_the_rules_deny(
    document: Path, schemes: set[str] | None, principals: list[Principal], lines: list[str]
) -> None:
    """API Gateway reuses one answer for the caller's next requests: it must not be wider."""
    from policies.authorization import Authorization, PolicyScope
    from policies.request import parse_event
    from tests import iam

    result = load_openapi(str(document), None if schemes is None else frozenset(schemes))
    authorization = Authorization(result.rules, routes=result.routes, scope=PolicyScope.API)
    api = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod"
    # Requests no route of the API takes never reach the authorizer nor a cached policy.
    lines = [line for line in dict.fromkeys(lines) if any(_takes(route, line) for route in result.routes)]
    checked = api_scope = 0
    for principal in principals:
        for asked in lines:
            verb, _, path = asked.partition(" ")
            event = {"type": "TOKEN", "authorizationToken": "x", "methodArn": f"{api}/{verb}{path}"}
            verdict = authorization.decide(principal, parse_event(event))
            assert verdict.allowed is (decide(result, principal, asked) is Effect.ALLOW), asked
            policy = {"Statement": [statement.as_dict() for statement in verdict.statements]}
            api_scope += verdict.scope is PolicyScope.API
            for later in lines:
                later_verb, _, later_path = later.partition(" ")
                granted = iam.allows(policy, f"{api}/{later_verb}{later_path}")
                rules_allow = decide(result, principal, later) is Effect.ALLOW
                if verdict.scope is PolicyScope.API:  # exact: right for every later route
                    assert granted is rules_allow, (principal.scopes, asked, later)
                else:  # a route-only fallback (a catch-all with exceptions): never wider
                    assert rules_allow or not granted, (principal.scopes, asked, later)
                checked += granted
    assert api_scope > len(lines)  # most principal classes compile to an exact api-scope policy
    assert checked > len(principals)  # the policies do allow things: the check is not vacuous


# --- refusals ----------------------------------------------------------------------------------------


def swagger(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "1"},
        "securityDefinitions": {"oauth": {"type": "oauth2"}},
        "paths": {"/pets": get()},
    }
    document.update(changes)
    return document


def without(key: str) -> dict[str, Any]:
    document = minimal()
    del document[key]
    return document


BAD_DOCUMENTS: list[tuple[object, str, tuple[str, ...]]] = [
    # (document, error fragment, other things the message must name)
    ([], "the document must be an object", ()),
    (without("openapi"), "neither 'openapi' nor 'swagger'", ()),
    (minimal(openapi="3.2.0"), "openapi: '3.2.0'", ()),
    (minimal(openapi="2.0"), "openapi: '2.0'", ()),
    (minimal(openapi=3.0), "openapi: 3.0; the version is a quoted string", ()),
    (minimal(openapi="3.1"), "openapi: '3.1'", ()),
    (swagger(swagger=2.0), "swagger: 2.0", ()),
    (swagger(swagger="3.0.0"), "swagger: '3.0.0'", ()),
    (minimal(swagger="2.0"), "not both", ()),
    (without("paths"), "'paths' must be an object", ()),
    (minimal(paths=["/pets"]), "'paths' must be an object", ()),
    (minimal(paths={}), "no operations", ()),
    (with_paths({"/pets": {"parameters": []}, "x-ext": {"get": {}}}), "no operations", ()),
    (with_paths({"/pets": None}), "the path item must be an object", ("/pets",)),
    (with_paths({"/pets": {"$ref": "#/components/pathItems/pets"}}), "path item $ref is not supported", ("/pets",)),
    (with_paths({"/pets": {"trace": {}}}), "API Gateway does not support TRACE", ("/pets",)),
    (with_paths({"/pets": {"GET": {}}}), "unknown path item key 'GET'", ("/pets",)),
    (with_paths({"/pets": {"query": {}}}), "unknown path item key 'query'", ("/pets",)),
    (with_paths({"/pets": {200: {}}}), "unknown path item key 200", ("/pets",)),
    (with_paths({"/pets": {"get": "list pets"}}), "the operation must be an object", ("GET /pets",)),
    (with_paths({1: get()}), "path 1 must be a string", ()),
    (with_paths({"/files/{name}.json": get()}), "segment '{name}.json' is not a literal", ("/files/{name}.json",)),
    (with_paths({"/files/x{name}": get()}), "is not a literal", ("/files/x{name}",)),
    (with_paths({"/pets/*": get()}), "a '*' segment is not a path template", ("/pets/*",)),
    (with_paths({"/pets*": get()}), "is not a literal", ("/pets*",)),
    (with_paths({"/pe?ts": get()}), "is not a literal", ("/pe?ts",)),
    (with_paths({"/pets/": get()}), "empty path segment", ("/pets/",)),
    (with_paths({"//pets": get()}), "empty path segment", ("//pets",)),
    (with_paths({"/files/{proxy+}/meta": get()}), "must be the last", ("/files/{proxy+}/meta",)),
    (with_paths({"pets": get()}), "must start with '/'", ("pets",)),
    (with_paths({"/pets /cats": get()}), "may not contain whitespace", ("/pets /cats",)),
    (with_paths({"/pets/{id}": get(), "/pets/{name}": get()}), "are the same route", ("/pets/{id}", "/pets/{name}")),
    (
        with_paths(
            {"/a/{x}": {"x-amazon-apigateway-any-method": {}}, "/a/{y}": {"x-amazon-apigateway-any-method": {}}}
        ),
        "are the same route",
        ("ANY /a/{x}", "ANY /a/{y}"),
    ),
    (with_paths({"/pets": get({"oauth": []})}), "'security' must be a list", ("GET /pets",)),
    (with_paths({"/pets": get(None)}), "'security' must be a list", ("GET /pets",)),
    (minimal(security={"oauth": []}), "top level: 'security' must be a list", ()),
    (with_paths({"/pets": get(["oauth"])}), "security requirement 1 must be an object", ("GET /pets",)),
    (
        with_paths({"/pets": get([{}, {"nope": []}])}),
        "security requirement 2 names undefined security scheme 'nope'",
        ("GET /pets", "defined: ['key', 'oauth']"),
    ),
    (minimal(security=[{"nope": []}]), "top level: security requirement 1 names undefined security scheme 'nope'", ()),
    (with_paths({"/pets": get([{"oauth": "read"}])}), "scheme 'oauth' needs a list of scope strings", ("GET /pets",)),
    (with_paths({"/pets": get([{"oauth": [1]}])}), "scheme 'oauth' needs a list of scope strings", ("GET /pets",)),
    (with_paths({"/pets": get([{"oauth": [""]}])}), "scheme 'oauth' needs a list of scope strings", ("GET /pets",)),
    (with_paths({"/pets": get([{"oauth": None}])}), "scheme 'oauth' needs a list of scope strings", ("GET /pets",)),
    (minimal(components=[]), "'components' must be an object", ()),
    (minimal(components={"securitySchemes": []}), "'components.securitySchemes' must be an object", ()),
    (minimal(components={"securitySchemes": {"oauth": "oauth2"}}), "scheme 'oauth' must be a named object", ()),
    (swagger(securityDefinitions=None), "'securityDefinitions' must be an object", ()),
    (
        swagger(
            paths={"/pets": get([{"oauth": []}])}, securityDefinitions={}, components={"securitySchemes": {"oauth": {}}}
        ),
        "undefined security scheme 'oauth'",  # Swagger 2 schemes live in securityDefinitions only
        ("GET /pets",),
    ),
    (
        minimal(paths={"/pets": get([{"oauth": []}])}, components={}, securityDefinitions={"oauth": {}}),
        "undefined security scheme 'oauth'",  # OpenAPI 3 schemes live in components only
        ("GET /pets",),
    ),
    (
        with_paths({"/{a}/b": get([{"oauth": ["x"]}]), "/a/{b}": get()}),
        "neither is narrower",
        ("GET /{a}/b", "GET /a/{b}"),
    ),
]


@pytest.mark.parametrize(("document", "fragment", "names"), BAD_DOCUMENTS)
def test_bad_documents_are_refused_naming_the_source_and_where(
    document: object, fragment: str, names: tuple[str, ...]
) -> None:
    with pytest.raises(OpenApiError) as raised:
        openapi_rules(copy.deepcopy(document), "bad.yaml")
    message = str(raised.value)
    assert message.startswith("bad.yaml: ")
    assert fragment in message
    for name in names:
        assert name in message


def test_an_openapi_error_is_a_rule_error() -> None:
    assert issubclass(OpenApiError, RuleError)


@pytest.mark.parametrize(
    ("schemes", "fragment"),
    [
        (frozenset({"oauth", "mtls"}), "selected security scheme(s) ['mtls'] are not defined"),
        (frozenset(), "no security schemes selected"),
    ],
)
def test_selected_schemes_must_be_defined(schemes: frozenset[str], fragment: str) -> None:
    with pytest.raises(OpenApiError) as raised:
        openapi_rules(minimal(), "bad.yaml", schemes)
    assert str(raised.value).startswith("bad.yaml: ")
    assert fragment in str(raised.value)


def test_undefined_schemes_are_refused_even_when_not_selected() -> None:
    document = with_paths({"/pets": get([{"oauth": []}, {"nope": []}])})
    with pytest.raises(OpenApiError, match="undefined security scheme 'nope'"):
        openapi_rules(document, "bad.yaml", frozenset({"oauth"}))


def test_a_broken_top_level_security_is_refused_even_when_every_operation_overrides_it() -> None:
    document = with_paths({"/pets": get([])}, security=[{"oauth": "a"}])
    with pytest.raises(OpenApiError, match="top level: security requirement 1"):
        openapi_rules(document, "bad.yaml")


# --- files ------------------------------------------------------------------------------------------


def test_load_reads_json_too(tmp_path: Path) -> None:
    path = tmp_path / "api.json"
    path.write_text(json.dumps(with_paths({"/pets": get([{"oauth": ["a"]}])})))
    result = load_openapi(str(path))
    assert result.rules.rules[0].label == f"{path}: GET /pets"
    assert decide(result, who("a"), "GET /pets") is Effect.ALLOW
    assert decide(result, NOBODY, "GET /pets") is Effect.DENY


@pytest.mark.parametrize(
    ("text", "error", "fragment"),
    [
        ("openapi: 3.0.3\npaths:\n  /pets: {get: {}}\n  /pets: {put: {}}\n", RuleError, "duplicate or unusable key"),
        ("openapi: 3.0.3\npaths: [unclosed\n", RuleError, "not valid YAML or JSON"),
        ("openapi: 3.0.3\npaths:\n  /pets/: {get: {}}\n", OpenApiError, "empty path segment"),
        ("swagger: 2.0\npaths:\n  /pets: {get: {}}\n", OpenApiError, "swagger: 2.0; the version is a quoted string"),
    ],
)
def test_bad_files_are_named(tmp_path: Path, text: str, error: type[Exception], fragment: str) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(text)
    with pytest.raises(error) as raised:
        load_openapi(str(path))
    assert str(raised.value).startswith(str(path))
    assert fragment in str(raised.value)


def test_a_missing_file_is_named() -> None:
    with pytest.raises(RuleError, match=r"/nonexistent/api\.yaml: cannot read the file"):
        load_openapi("/nonexistent/api.yaml")


def test_importing_the_module_loads_neither_yaml_nor_authorizers() -> None:
    code = "import sys, policies.openapi; print(sorted(m for m in sys.modules if m in ('yaml', 'authorizers')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"
