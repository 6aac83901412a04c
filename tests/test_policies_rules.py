"""Rules: loading with precise errors, conditions, deny precedence, default deny."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from policies.principal import Principal
from policies.routes import request_segments
from policies.rules import Effect, RuleError, load_rules, rules_from_document

ALICE = Principal(
    principal_id="alice",
    scheme="jwt",
    scopes=frozenset({"pets:read", "pets:write"}),
    groups=frozenset({"vets"}),
    claims={"tenant": "acme", "level": 3, "verified": True, "roles": ["editor", "viewer"]},
)
BOB = Principal(principal_id="bob", scheme="jwt", scopes=frozenset({"pets:read"}), claims={"tenant": "other"})


def decide(document: dict[str, Any], principal: Principal, route: str, stage: str = "prod") -> Effect:
    method, _, path = route.partition(" ")
    return rules_from_document(document, "rules.yaml").decide(principal, stage, method, request_segments(path))


PETS = {
    "rules": [
        {"effect": "allow", "routes": ["GET /pets", "GET /pets/*"]},
        {"effect": "allow", "routes": ["POST /v2/pets"], "when": {"scopes": ["pets:write"]}},
        {"effect": "allow", "routes": ["ANY /admin/{proxy+}"], "stages": ["dev"], "when": {"groups": ["admins"]}},
        {"effect": "allow", "routes": ["GET /tenants/acme/*"], "when": {"claims": {"tenant": "acme"}}},
        {"effect": "deny", "routes": ["GET /pets/secret"]},
    ]
}


@pytest.mark.parametrize(
    ("principal", "route", "stage", "expected"),
    [
        (ALICE, "GET pets", "prod", Effect.ALLOW),
        (BOB, "GET pets/7", "prod", Effect.ALLOW),
        (ALICE, "GET pets/secret", "prod", Effect.DENY),  # explicit deny wins over "GET /pets/*"
        (ALICE, "POST v2/pets", "prod", Effect.ALLOW),
        (BOB, "POST v2/pets", "prod", Effect.DENY),  # lacks pets:write
        (ALICE, "POST v1/pets", "prod", Effect.DENY),  # no rule for v1: default deny
        (ALICE, "DELETE admin/users/1", "dev", Effect.DENY),  # not in admins
        (ALICE, "GET tenants/acme/data", "prod", Effect.ALLOW),
        (BOB, "GET tenants/acme/data", "prod", Effect.DENY),
        (ALICE, "GET pets/1/photos", "prod", Effect.DENY),  # "*" is one segment
    ],
)
def test_decisions(principal: Principal, route: str, stage: str, expected: Effect) -> None:
    assert decide(PETS, principal, route, stage) is expected


def test_stages_limit_a_rule() -> None:
    document = {"rules": [{"effect": "allow", "routes": ["GET /pets"], "stages": ["dev", "test"]}]}
    assert decide(document, ALICE, "GET pets", "dev") is Effect.ALLOW
    assert decide(document, ALICE, "GET pets", "prod") is Effect.DENY


def test_groups_need_one_of_them_and_scopes_all_of_them() -> None:
    document = {"rules": [{"effect": "allow", "routes": ["GET /x"], "when": {"groups": ["admins", "vets"]}}]}
    assert decide(document, ALICE, "GET x") is Effect.ALLOW
    assert decide(document, BOB, "GET x") is Effect.DENY
    document = {"rules": [{"effect": "allow", "routes": ["GET /x"], "when": {"scopes": ["pets:read", "pets:write"]}}]}
    assert decide(document, ALICE, "GET x") is Effect.ALLOW
    assert decide(document, BOB, "GET x") is Effect.DENY


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"tenant": ["acme", "umbrella"]}, Effect.ALLOW),  # a list value: any of them
        ({"level": 3}, Effect.ALLOW),
        ({"level": "3"}, Effect.DENY),  # types must agree
        ({"verified": True}, Effect.ALLOW),
        ({"verified": 1}, Effect.DENY),  # JSON true is not 1
        ({"roles": "editor"}, Effect.ALLOW),  # a list claim contains it
        ({"roles": "owner"}, Effect.DENY),
        ({"missing": "x"}, Effect.DENY),
        ({"tenant": "acme", "level": 4}, Effect.DENY),  # every condition must hold
    ],
)
def test_claim_conditions(claims: dict[str, Any], expected: Effect) -> None:
    document = {"rules": [{"effect": "allow", "routes": ["GET /x"], "when": {"claims": claims}}]}
    assert decide(document, ALICE, "GET x") is expected


def test_a_claim_value_with_a_star_is_data_not_a_wildcard() -> None:
    document = {"rules": [{"effect": "allow", "routes": ["GET /x"], "when": {"claims": {"tenant": "*"}}}]}
    assert decide(document, ALICE, "GET x") is Effect.DENY


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "an object with one key, 'rules'"),
        ({"rules": [], "extra": 1}, "an object with one key, 'rules'"),
        ({"rules": []}, "'rules' must be a non-empty list"),
        ({"rules": ["allow"]}, "rule 1: must be an object"),
        ({"rules": [{"effect": "permit", "routes": ["GET /x"]}]}, "rule 1: effect must be 'allow' or 'deny'"),
        ({"rules": [{"effect": "allow"}]}, "rule 1: 'routes' must be a non-empty list of strings"),
        ({"rules": [{"effect": "allow", "routes": []}]}, "rule 1: 'routes' must be a non-empty list"),
        ({"rules": [{"effect": "allow", "routes": ["GET /x"], "route": "GET /y"}]}, "rule 1: unknown key"),
        (
            {"rules": [{"effect": "allow", "routes": ["GET /x"]}, {"effect": "allow", "routes": ["GET /x*"]}]},
            "rule 2: route 'GET /x\\*'",
        ),
        ({"rules": [{"effect": "allow", "routes": ["GET /x"], "stages": "prod"}]}, "'stages' must be a non-empty"),
        ({"rules": [{"effect": "allow", "routes": ["GET /x"], "when": {}}]}, "'when' must be an object"),
        ({"rules": [{"effect": "allow", "routes": ["GET /x"], "when": {"roles": ["a"]}}]}, "unknown condition"),
        ({"rules": [{"effect": "allow", "routes": ["GET /x"], "when": {"scopes": "a"}}]}, "'when.scopes' must be"),
        ({"rules": [{"effect": "allow", "routes": ["GET /x"], "when": {"claims": {"t": {"a": 1}}}}]}, "claim 't'"),
        ({"rules": [{"effect": "allow", "routes": ["GET /x"], "when": {"claims": {"t": []}}}]}, "claim 't'"),
        ({"rules": [{"effect": "allow", "routes": ["GET /x"], "when": {"claims": {"t": None}}}]}, "claim 't'"),
    ],
)
def test_bad_rules_fail_naming_the_source_rule_and_problem(document: object, message: str) -> None:
    with pytest.raises(RuleError, match=message) as raised:
        rules_from_document(document, "rules.yaml")
    assert str(raised.value).startswith("rules.yaml: ")


def test_rules_load_from_a_yaml_file(tmp_path) -> None:
    from policies.rules import load_rules

    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - effect: allow\n"
        "    routes: ['GET /pets', 'GET /pets/{id}']\n"
        "    when:\n"
        "      claims: {tenant: acme, verified: true}\n"
    )
    rules = load_rules(str(path))
    assert rules.decide(ALICE, "prod", "GET", ("pets", "7")) is Effect.ALLOW
    assert rules.decide(BOB, "prod", "GET", ("pets", "7")) is Effect.DENY


def test_rules_load_from_json_file_and_inline_json(tmp_path) -> None:
    import json

    from policies.rules import load_rules

    document = {"rules": [{"effect": "allow", "routes": ["GET /pets"]}]}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(document))
    for source in (str(path), json.dumps(document)):
        assert load_rules(source).decide(BOB, "prod", "GET", ("pets",)) is Effect.ALLOW


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  - effect: allow\n    effect: deny\n    routes: ['GET /x']\n", "duplicate or unusable key 'effect'"),
        ("rules:\n  - {[a]: 1}\n", "duplicate or unusable key"),
        ("rules: [unclosed\n", "not valid YAML or JSON"),
        ("rules:\n  - effect: allow\n    routes: ['GET /x*']\n", "rule 1: route 'GET /x\\*'"),
    ],
)
def test_bad_rule_files_name_the_file(tmp_path, text: str, message: str) -> None:
    from policies.rules import load_rules

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(RuleError, match=message) as raised:
        load_rules(str(path))
    assert str(path) in str(raised.value)


def test_missing_file_and_bad_inline_json_are_named() -> None:
    from policies.rules import load_rules

    with pytest.raises(RuleError, match=r"/nonexistent/rules\.yaml: cannot read the file"):
        load_rules("/nonexistent/rules.yaml")
    with pytest.raises(RuleError, match=r"AUTHZ_RULES \(inline JSON\): not valid JSON"):
        load_rules('{"rules": [}')
    with pytest.raises(RuleError, match="duplicate key 'effect'"):
        load_rules('{"rules": [{"effect": "deny", "effect": "allow", "routes": ["GET /x"]}]}')


def test_a_rule_can_be_limited_to_schemes() -> None:
    rules = load_rules('{"rules": [{"effect": "allow", "routes": ["GET /admin"], "when": {"schemes": ["saml"]}}]}')
    saml = Principal(principal_id="alice", scheme="saml")
    jwt = Principal(principal_id="alice", scheme="jwt")
    assert rules.decide(saml, "prod", "GET", ["admin"]) is Effect.ALLOW
    assert rules.decide(jwt, "prod", "GET", ["admin"]) is Effect.DENY


@pytest.mark.parametrize(
    ("schemes", "expected"),
    [
        ('["SAML"]', "unknown scheme(s) ['SAML']"),
        ('["samll"]', "unknown scheme(s) ['samll']"),
        ("[]", "'when.schemes' must be a non-empty list of strings"),
        ('"saml"', "'when.schemes' must be a non-empty list of strings"),
    ],
)
def test_a_misspelt_scheme_is_refused(schemes: str, expected: str) -> None:
    """A scheme nobody has would silently never match: a deny rule would never apply."""
    rule = {"effect": "deny", "routes": ["GET /admin"], "when": {"schemes": json.loads(schemes)}}
    document = json.dumps({"rules": [rule]})
    with pytest.raises(RuleError, match=re.escape(expected)):
        load_rules(document)
