"""Rules through the real JWT handler: cache-safe api-scope policies, route scope, bad rules at cold start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from authorizers.errors import ConfigurationError
from authorizers.local_issuer import LocalIssuer
from tests import iam
from tests.conftest import outcome, token_event

API = "arn:aws:execute-api:us-east-1:123456789012:abcdef123"
RULES = {
    "rules": [
        {"effect": "allow", "routes": ["GET /v1/pets", "GET /v1/pets/{proxy+}"]},
        {"effect": "allow", "routes": ["POST /v2/pets"], "when": {"scopes": ["pets:write"]}},
        {"effect": "allow", "routes": ["ANY /admin/{proxy+}"], "stages": ["dev"], "when": {"groups": ["admins"]}},
        {"effect": "allow", "routes": ["GET /tenants/acme/{proxy+}"], "when": {"claims": {"tenant": "acme"}}},
        {"effect": "deny", "routes": ["GET /v1/pets/secret"]},
    ]
}
ROUTES = [  # (verb, path): the API's routes and some that look like them
    ("GET", "v1/pets"),
    ("GET", "v1/pets/1"),
    ("GET", "v1/pets/1/photos"),
    ("GET", "v1/pets/secret"),
    ("POST", "v1/pets"),
    ("POST", "v2/pets"),
    ("GET", "v2/pets"),
    ("DELETE", "admin/users/1"),
    ("GET", "tenants/acme/orders"),
    ("GET", "tenants/other/orders"),
    ("GET", ""),
]


def arn(verb: str, path: str, stage: str = "prod") -> str:
    return f"{API}/{stage}/{verb}/{path}"


@pytest.fixture
def rules_env(jwt_env: dict[str, str]) -> dict[str, str]:
    return {**jwt_env, "AUTHZ_RULES": json.dumps(RULES), "AUTHZ_CONTEXT_CLAIMS": "tenant"}


def test_an_allowed_route_gets_a_policy_for_every_route_the_principal_may_call(
    issuer: LocalIssuer, rules_env: dict[str, str], make_handler: Any
) -> None:
    handler = make_handler(rules_env)
    token = issuer.mint({"tenant": "acme"}, scope="pets:read")
    decision, response = outcome(handler, token_event(token, arn("GET", "v1/pets/1")))
    assert decision == "allow" and response is not None
    assert response["context"]["tenant"] == "acme"
    allowed = {route for route in ROUTES if iam.allows(response["policyDocument"], arn(*route))}
    assert allowed == {
        ("GET", "v1/pets"),
        ("GET", "v1/pets/1"),
        ("GET", "v1/pets/1/photos"),
        ("GET", "tenants/acme/orders"),
    }
    # Another stage is never covered: the cached answer belongs to this API and stage.
    assert not iam.allows(response["policyDocument"], arn("GET", "v1/pets", stage="dev"))


def test_a_route_the_rules_do_not_allow_is_an_explicit_deny_that_keeps_the_others(
    issuer: LocalIssuer, rules_env: dict[str, str], make_handler: Any, decision_log: Any
) -> None:
    handler = make_handler(rules_env)
    decision_log()
    token = issuer.mint(scope="pets:read")
    decision, response = outcome(handler, token_event(token, arn("POST", "v2/pets")))
    assert decision == "deny" and response is not None
    denied = [r for s in response["policyDocument"]["Statement"] if s["Effect"] == "Deny" for r in s["Resource"]]
    assert arn("POST", "v2/pets") in denied  # explicit, by name
    # Cached for the next route, it still allows what the rules allow there.
    assert iam.allows(response["policyDocument"], arn("GET", "v1/pets"))
    (line,) = decision_log()[0]
    assert (line["decision"], line["reason"], line["principal"]) == ("deny", "route_not_allowed", "alice")
    assert line["principal_class"] == "rules 1,5"


def test_scopes_groups_and_stages_select_the_rules(
    issuer: LocalIssuer, rules_env: dict[str, str], make_handler: Any
) -> None:
    handler = make_handler(rules_env)
    writer = issuer.mint(scope="pets:write")
    assert outcome(handler, token_event(writer, arn("POST", "v2/pets")))[0] == "allow"
    admin = issuer.mint({"groups": ["admins"]})
    assert outcome(handler, token_event(admin, arn("DELETE", "admin/users/1", stage="dev")))[0] == "allow"
    assert outcome(handler, token_event(admin, arn("DELETE", "admin/users/1", stage="prod")))[0] == "deny"
    assert outcome(handler, token_event(admin, arn("GET", "v1/pets/secret")))[0] == "deny"


@pytest.mark.parametrize("path", ["v1/pets/*", "v1/pets/?", "v1/*/1", "tenants/*/orders"])
def test_wildcards_in_the_requested_path_are_data(
    issuer: LocalIssuer, rules_env: dict[str, str], make_handler: Any, path: str
) -> None:
    token = issuer.mint({"tenant": "acme"})
    for scope in ("api", "route"):
        handler = make_handler({**rules_env, "AUTHZ_POLICY_SCOPE": scope})
        _, response = outcome(handler, token_event(token, arn("GET", path)))
        assert response is not None
        resources = [r for s in response["policyDocument"]["Statement"] for r in s["Resource"]]
        assert arn("GET", path) not in resources, (scope, resources)


def test_a_wildcard_claim_value_is_data(issuer: LocalIssuer, rules_env: dict[str, str], make_handler: Any) -> None:
    handler = make_handler(rules_env)
    token = issuer.mint({"tenant": "*"})
    decision, response = outcome(handler, token_event(token, arn("GET", "tenants/acme/orders")))
    assert decision == "deny"
    assert response is not None
    assert not iam.allows(response["policyDocument"], arn("GET", "tenants/acme/orders"))


def test_route_scope_allows_only_the_requested_method_arn(
    issuer: LocalIssuer, rules_env: dict[str, str], make_handler: Any
) -> None:
    handler = make_handler({**rules_env, "AUTHZ_POLICY_SCOPE": "route"})
    _, response = outcome(handler, token_event(issuer.mint(), arn("GET", "v1/pets/1")))
    assert response is not None
    assert response["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [arn("GET", "v1/pets/1")]}
    ]


def test_simple_responses_answer_for_the_requested_route(
    issuer: LocalIssuer, rules_env: dict[str, str], make_handler: Any
) -> None:
    from tests.conftest import load_event

    handler = make_handler(rules_env)
    event = load_event("apiGatewayAuthorizerV2Event.json")
    event["headers"]["Authorization"] = f"Bearer {issuer.mint()}"
    event["routeArn"] = arn("GET", "v1/pets/1")
    decision, response = outcome(handler, event)
    assert decision == "allow" and response is not None and response["isAuthorized"] is True
    event["routeArn"] = arn("POST", "v2/pets")
    assert outcome(handler, event) == ("deny", {"isAuthorized": False})


def test_without_a_route_list_one_segment_wildcards_are_announced_and_may_fall_back(
    issuer: LocalIssuer, jwt_env: dict[str, str], make_handler: Any, decision_log: Any
) -> None:
    rules = {"rules": [{"effect": "allow", "routes": ["GET /pets/{id}", "GET /pets/{id}/photos"]}]}
    decision_log()
    handler = make_handler({**jwt_env, "AUTHZ_RULES": json.dumps(rules)})
    _, output = decision_log()
    assert "no route list (AUTHZ_OPENAPI)" in output
    decision, response = outcome(handler, token_event(issuer.mint(), arn("GET", "pets/1")))
    assert decision == "allow" and response is not None
    assert response["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [arn("GET", "pets/1")]}
    ]
    (line,) = decision_log()[0]
    assert line["policy_scope"] == "route"
    assert "api scope not exact" in line["policy_note"]


def test_a_policy_over_the_size_budget_falls_back_to_the_route(
    issuer: LocalIssuer, jwt_env: dict[str, str], make_handler: Any, decision_log: Any
) -> None:
    routes = [f"GET /reports/{n:04d}" for n in range(200)]
    rules = {"rules": [{"effect": "allow", "routes": routes}]}
    handler = make_handler({**jwt_env, "AUTHZ_RULES": json.dumps(rules)})
    decision_log()
    decision, response = outcome(handler, token_event(issuer.mint(), arn("GET", "reports/0007")))
    assert decision == "allow" and response is not None
    assert response["policyDocument"]["Statement"][0]["Resource"] == [arn("GET", "reports/0007")]
    (line,) = decision_log()[0]
    assert "byte budget" in line["policy_note"]
    assert line["principal_class"] == "rules 1"


# Cold start: every bad setting is refused, naming the file, the rule and the problem.


def test_bad_rules_in_a_file_fail_the_cold_start(jwt_env: dict[str, str], make_handler: Any, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - effect: allow\n    routes: ['GET /pets']\n  - effect: allow\n    routes: ['FETCH /pets']\n"
    )
    with pytest.raises(ConfigurationError) as caught:
        make_handler({**jwt_env, "AUTHZ_RULES": str(rules)})
    message = str(caught.value)
    assert message.startswith("AUTHZ_RULES: ") and str(rules) in message and "rule 2" in message and "FETCH" in message


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"AUTHZ_POLICY_SCOPE": "stage"}, "AUTHZ_POLICY_SCOPE must be api or route"),
        ({"AUTHZ_OPENAPI_SCHEMES": "oauth"}, "AUTHZ_OPENAPI_SCHEMES is set but AUTHZ_OPENAPI is not"),
        ({"AUTHZ_RULES": "/nonexistent/rules.yaml"}, "cannot read the file"),
        ({"AUTHZ_RULES": '{"rules": []}'}, "non-empty list"),
        ({"AUTHZ_RULES": '{"rules": [{"effect": "allow", "routes": ["GET /a/*x"]}]}'}, "rule 1"),
        ({"AUTHZ_OPENAPI": "/nonexistent/openapi.yaml"}, "AUTHZ_OPENAPI: /nonexistent/openapi.yaml"),
        ({"AUTHZ_USAGE_KEYS": "s3://bucket/keys"}, "AUTHZ_USAGE_KEYS"),
    ],
)
def test_bad_authorization_settings_fail_the_cold_start(
    jwt_env: dict[str, str], make_handler: Any, extra: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ConfigurationError, match=None) as caught:
        make_handler({**jwt_env, **extra})
    assert fragment in str(caught.value)


# Usage plans: usageIdentifierKey for REST APIs.

USAGE_KEY = "k" * 24


def test_usage_keys_reach_rest_responses(issuer: LocalIssuer, jwt_env: dict[str, str], make_handler: Any) -> None:
    handler = make_handler({**jwt_env, "AUTHZ_USAGE_KEYS": json.dumps({"alice": USAGE_KEY})})
    _, response = outcome(handler, token_event(issuer.mint()))
    assert response is not None and response["usageIdentifierKey"] == USAGE_KEY


def test_a_usage_key_claim_is_used(issuer: LocalIssuer, jwt_env: dict[str, str], make_handler: Any) -> None:
    handler = make_handler({**jwt_env, "AUTHZ_USAGE_KEY_CLAIM": "api_key"})
    _, response = outcome(handler, token_event(issuer.mint({"api_key": USAGE_KEY})))
    assert response is not None and response["usageIdentifierKey"] == USAGE_KEY


def test_a_principal_without_a_usage_key_is_denied(
    issuer: LocalIssuer, jwt_env: dict[str, str], make_handler: Any, decision_log: Any
) -> None:
    handler = make_handler({**jwt_env, "AUTHZ_USAGE_KEYS": json.dumps({"bob": USAGE_KEY})})
    decision_log()
    decision, response = outcome(handler, token_event(issuer.mint()))
    assert decision == "deny" and response is not None and "usageIdentifierKey" not in response
    (line,) = decision_log()[0]
    assert line["reason"] == "usage_key_missing"
    assert USAGE_KEY not in json.dumps(line)


def test_no_usage_key_means_no_allow_even_through_a_refused_route(
    issuer: LocalIssuer, rules_env: dict[str, str], make_handler: Any, decision_log: Any
) -> None:
    # The answer for a refused route still lists the principal's other routes; cached, it
    # would let a principal without a key in where a direct request is refused.
    handler = make_handler({**rules_env, "AUTHZ_USAGE_KEYS": json.dumps({"alice": USAGE_KEY})})
    bob = issuer.mint(sub="bob")
    decision_log()
    decision, response = outcome(handler, token_event(bob, arn("POST", "v2/pets")))
    assert decision == "deny" and response is not None
    assert not any(iam.allows(response["policyDocument"], arn(*route)) for route in ROUTES)
    (line,) = decision_log()[0]
    assert line["reason"] == "usage_key_missing"
    # Alice's answer for a refused route carries her key, for the routes it does allow.
    _, response = outcome(handler, token_event(issuer.mint(), arn("POST", "v2/pets")))
    assert response is not None and response["usageIdentifierKey"] == USAGE_KEY


def test_the_console_test_stage_is_refused_by_stage_specific_rules(
    issuer: LocalIssuer, rules_env: dict[str, str], make_handler: Any
) -> None:
    # Its resources would read ".../*/GET/...": every stage, which rules per stage cannot answer for.
    handler = make_handler(rules_env)
    decision, response = outcome(handler, token_event(issuer.mint(), arn("GET", "v1/pets", stage="*")))
    assert decision == "deny" and response is not None
    assert not any(iam.allows(response["policyDocument"], arn(*route, stage="prod")) for route in ROUTES)
    # Rules without stages answer it as any stage.
    rules = {"rules": [{"effect": "allow", "routes": ["GET /v1/pets"]}]}
    handler = make_handler({**rules_env, "AUTHZ_RULES": json.dumps(rules)})
    assert outcome(handler, token_event(issuer.mint(), arn("GET", "v1/pets", stage="*")))[0] == "allow"


def test_route_scope_without_rules_allows_the_requested_method_arn_only(
    issuer: LocalIssuer, jwt_env: dict[str, str], make_handler: Any
) -> None:
    handler = make_handler({**jwt_env, "AUTHZ_POLICY_SCOPE": "route"})
    _, response = outcome(handler, token_event(issuer.mint(), arn("GET", "v1/pets/1")))
    assert response is not None
    assert response["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [arn("GET", "v1/pets/1")]}
    ]
