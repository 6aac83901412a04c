"""``authorizers policy``: the response the handler would give a token's claims, previewed.

Most runs are in-process (``main([...])`` with capsys); every printed policy is checked with
the independent IAM evaluator in tests/iam.py, and the preview is compared with the real JWT
handler given a signed token carrying the same claims.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from authorizers.cli import main
from authorizers.handlers.jwt import create_handler
from authorizers.local_issuer import DEFAULT_AUDIENCE, LocalIssuer
from tests import iam
from tests.conftest import outcome, token_event

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "tests" / "data" / "openapi"
PETSTORE = str(OPENAPI / "petstore-swagger2.yaml")
VERSIONED = str(OPENAPI / "versioned-openapi31.yaml")
API = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod"
ISSUER = "https://issuer.example"
EXP = 4_000_000_000
PETS_RULES = json.dumps(
    {
        "rules": [
            {"effect": "allow", "routes": ["GET /pets", "GET /pets/{id}"]},
            {"effect": "allow", "routes": ["POST /pets"], "when": {"scopes": ["pets:write"]}},
        ]
    }
)
RULES_YAML = """\
rules:
  - effect: allow
    routes: ["GET /orders", "GET /orders/{id}"]
  - effect: allow
    routes: ["DELETE /orders/{id}"]
    when:
      groups: [admins]
  - effect: deny
    routes: ["GET /orders/{id}"]
    when:
      claims: {tenant: blocked}
"""


def arn(verb: str, path: str) -> str:
    return f"{API}/{verb}/{path}"


def claims(sub: str = "alice", **extra: Any) -> dict[str, Any]:
    return {"iss": ISSUER, "sub": sub, "exp": EXP, **extra}


def write(path: Path, document: object) -> Path:
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


@pytest.fixture
def claims_file(tmp_path: Path) -> Any:
    counter = iter(range(1000))

    def make(document: object) -> str:
        return str(write(tmp_path / f"claims-{next(counter)}.json", document))

    return make


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    """Exit code, the response (stdout must be pure JSON) and the stderr summary."""
    code = main(["policy", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def statements(response: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = response["policyDocument"]["Statement"]
    return result


# Inline JSON rules and a YAML rules file -----------------------------------------------


def test_inline_rules_allow_the_route_and_list_the_api(capsys: pytest.CaptureFixture[str], claims_file: Any) -> None:
    code, response, err = run(
        capsys, "--rules", PETS_RULES, "--claims", claims_file(claims()), "--arn", arn("GET", "pets/1")
    )
    assert code == 0
    assert response["principalId"] == "alice"
    assert response["context"] == {"scheme": "jwt", "sub": "alice", "issuer": ISSUER, "expires_at": EXP}
    document = response["policyDocument"]
    assert iam.allows(document, arn("GET", "pets/1"))
    assert iam.allows(document, arn("GET", "pets"))  # api scope: the next route is covered too
    assert not iam.allows(document, arn("POST", "pets"))  # needs pets:write
    assert not iam.allows(document, arn("GET", "pets/1/photos"))
    assert "decision: allow GET /pets/1" in err
    assert "principal class: rules 1" in err
    assert "policy scope: api" in err
    assert "note:" not in err


def test_inline_rules_deny_is_exit_1_and_still_grants_the_rest(
    capsys: pytest.CaptureFixture[str], claims_file: Any
) -> None:
    code, response, err = run(
        capsys, "--rules", PETS_RULES, "--claims", claims_file(claims()), "--arn", arn("POST", "pets")
    )
    assert code == 1
    document = response["policyDocument"]
    assert not iam.allows(document, arn("POST", "pets"))
    assert iam.allows(document, arn("GET", "pets/7"))
    assert "context" in response  # the policy grants other routes, so it carries the context
    assert "decision: deny POST /pets" in err


def test_scopes_from_scp_grant_more(capsys: pytest.CaptureFixture[str], claims_file: Any) -> None:
    granted = claims_file(claims(scp=["pets:write"]))
    code, response, err = run(capsys, "--rules", PETS_RULES, "--claims", granted, "--arn", arn("POST", "pets"))
    assert code == 0
    assert iam.allows(response["policyDocument"], arn("POST", "pets"))
    assert response["context"]["scopes"] == "pets:write"
    assert "principal class: rules 1,2" in err


def test_yaml_rules_file_groups_and_claims(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], claims_file: Any
) -> None:
    rules = str(write(tmp_path / "rules.yaml", RULES_YAML))
    admin = claims_file(claims(groups=["admins"]))
    code, response, _ = run(capsys, "--rules", rules, "--claims", admin, "--arn", arn("DELETE", "orders/9"))
    assert code == 0
    assert iam.allows(response["policyDocument"], arn("DELETE", "orders/9"))
    assert iam.allows(response["policyDocument"], arn("GET", "orders"))
    assert response["context"]["groups"] == "admins"

    code, response, _ = run(
        capsys, "--rules", rules, "--claims", claims_file(claims()), "--arn", arn("DELETE", "orders/9")
    )
    assert code == 1
    assert not iam.allows(response["policyDocument"], arn("DELETE", "orders/9"))
    assert iam.allows(response["policyDocument"], arn("GET", "orders/9"))

    blocked = claims_file(claims(tenant="blocked"))
    code, response, err = run(capsys, "--rules", rules, "--claims", blocked, "--arn", arn("GET", "orders/9"))
    assert code == 1
    assert not iam.allows(response["policyDocument"], arn("GET", "orders/9"))
    assert iam.allows(response["policyDocument"], arn("GET", "orders"))
    assert "principal class: rules 1,3" in err


def test_groups_claim_names_where_groups_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], claims_file: Any
) -> None:
    rules = str(write(tmp_path / "rules.yaml", RULES_YAML))
    cognito = claims_file({**claims(), "cognito:groups": ["admins"]})
    target = arn("DELETE", "orders/9")
    assert run(capsys, "--rules", rules, "--claims", cognito, "--arn", target)[0] == 1
    code, response, _ = run(
        capsys, "--rules", rules, "--claims", cognito, "--arn", target, "--groups-claim", "cognito:groups"
    )
    assert code == 0
    assert iam.allows(response["policyDocument"], target)


def test_context_claims(capsys: pytest.CaptureFixture[str], claims_file: Any) -> None:
    document = claims_file(claims(tenant="acme", roles=["a", "b"], client_id="app-1"))
    code, response, _ = run(
        capsys,
        "--rules", PETS_RULES, "--claims", document, "--arn", arn("GET", "pets"),
        "--context-claims", "tenant,roles,missing",
    )  # fmt: skip
    assert code == 0
    assert response["context"] == {
        "scheme": "jwt",
        "sub": "alice",
        "issuer": ISSUER,
        "client_id": "app-1",
        "expires_at": EXP,
        "tenant": "acme",
        "roles": "a,b",
    }


def test_claims_from_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(claims())))
    code, response, _ = run(capsys, "--rules", PETS_RULES, "--claims", "-", "--arn", arn("GET", "pets"))
    assert code == 0
    assert iam.allows(response["policyDocument"], arn("GET", "pets"))


# OpenAPI documents ---------------------------------------------------------------------


# document, claims granted, options, requested route, exit code, another route, is it allowed too
OpenApiCase = tuple[str, dict[str, Any], list[str], tuple[str, str], int, tuple[str, str], bool]


@pytest.mark.parametrize(
    "case",
    [
        # Swagger 2.0: paths as written (basePath ignored); api_key: [] lets anyone read a pet.
        (PETSTORE, {"scp": ["write:pets", "read:pets"]}, [], ("POST", "pet"), 0, ("DELETE", "pet/3"), True),
        (PETSTORE, {}, [], ("POST", "pet"), 1, ("GET", "pet/3"), True),
        (PETSTORE, {}, [], ("GET", "pet/3"), 0, ("DELETE", "pet/3"), False),
        (PETSTORE, {}, ["--schemes", "petstore_auth"], ("GET", "pet/3"), 1, ("GET", "store/inventory"), False),
        (PETSTORE, {"scope": "write:pets read:pets"}, ["--schemes", "petstore_auth"], ("GET", "pet/3"), 0,
         ("GET", "store/inventory"), False),
        # OpenAPI 3.1: per-operation scopes, a public route and an ANY catch-all.
        (VERSIONED, {"scope": "pets:read"}, [], ("GET", "v2/pets/1"), 0, ("DELETE", "v2/pets/1"), False),
        (VERSIONED, {"scope": "pets:read"}, [], ("DELETE", "v2/pets/1"), 1, ("GET", "v1/pets"), True),
        # pets:admin's routes cannot be written exactly with IAM wildcards: the answer is for the route only.
        (VERSIONED, {"scope": "pets:admin"}, [], ("DELETE", "v2/pets/1"), 0, ("PATCH", "v2/anything/else"), False),
        (VERSIONED, {}, [], ("GET", "v2/status"), 0, ("GET", "v1/pets"), False),
        (VERSIONED, {}, [], ("GET", "v2/pets"), 0, ("GET", "v2/status"), True),  # partner_key counts
        (VERSIONED, {}, ["--schemes", "oauth"], ("GET", "v2/pets"), 1, ("GET", "v2/status"), True),
    ],
)  # fmt: skip
def test_openapi(case: OpenApiCase, capsys: pytest.CaptureFixture[str], claims_file: Any) -> None:
    document, granted, extra, target, expected, other, other_allowed = case
    requested = arn(*target)
    code, response, err = run(
        capsys, "--openapi", document, *extra, "--claims", claims_file(claims(**granted)), "--arn", requested
    )
    assert code == expected, err
    policy = response["policyDocument"]
    assert iam.allows(policy, requested) is (expected == 0)
    assert iam.allows(policy, arn(*other)) is other_allowed
    assert f"decision: {'allow' if expected == 0 else 'deny'} {target[0]} /{target[1]}" in err


def test_rules_and_openapi_combined(capsys: pytest.CaptureFixture[str], claims_file: Any) -> None:
    # The OpenAPI document lets pets:read read; the rules add a deny for one tenant, as the handler combines them.
    rules = json.dumps(
        {"rules": [{"effect": "deny", "routes": ["GET /v2/pets/*"], "when": {"claims": {"tenant": "x"}}}]}
    )
    reader = claims(scope="pets:read")
    common = ["--rules", rules, "--openapi", VERSIONED, "--arn", arn("GET", "v2/pets/1")]
    code, response, _ = run(capsys, *common, "--claims", claims_file(reader))
    assert code == 0
    code, response, err = run(capsys, *common, "--claims", claims_file({**reader, "tenant": "x"}))
    assert code == 1
    assert not iam.allows(response["policyDocument"], arn("GET", "v2/pets/1"))
    assert iam.allows(response["policyDocument"], arn("GET", "v1/pets/1"))
    assert "principal class: rules 1," in err  # the deny rule (first) applied, then the document's


# Policy scope and response format ------------------------------------------------------


def test_route_scope_lists_only_the_requested_route(capsys: pytest.CaptureFixture[str], claims_file: Any) -> None:
    code, response, err = run(
        capsys, "--openapi", VERSIONED, "--scope", "route", "--claims", claims_file(claims(scope="pets:read")),
        "--arn", arn("GET", "v2/pets/1"),
    )  # fmt: skip
    assert code == 0
    assert statements(response) == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [arn("GET", "v2/pets/1")]}
    ]
    assert not iam.allows(response["policyDocument"], arn("GET", "v2/pets/2"))
    assert "policy scope: route (configured: route)" in err


def test_route_scope_deny_is_the_whole_stage_without_context(
    capsys: pytest.CaptureFixture[str], claims_file: Any
) -> None:
    code, response, _ = run(
        capsys, "--openapi", VERSIONED, "--scope", "route", "--claims", claims_file(claims(scope="pets:read")),
        "--arn", arn("DELETE", "v2/pets/1"),
    )  # fmt: skip
    assert code == 1
    assert response == {
        "principalId": "alice",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{API}/*/*"]}],
        },
    }


def test_fallback_to_the_route_is_shown_with_its_note(capsys: pytest.CaptureFixture[str], claims_file: Any) -> None:
    rules = json.dumps({"rules": [{"effect": "allow", "routes": ["GET /pets/{id}", "GET /pets/{id}/photos"]}]})
    code, response, err = run(
        capsys, "--rules", rules, "--claims", claims_file(claims()), "--arn", arn("GET", "pets/1")
    )
    assert code == 0
    assert statements(response) == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [arn("GET", "pets/1")]}
    ]
    assert "policy scope: route (configured: api)" in err
    assert "note: api scope not exact" in err
    assert "warning: rules use one-segment wildcards" in err  # the handler's cold start note


@pytest.mark.parametrize(
    ("target", "expected", "response"),
    [
        (("GET", "v2/pets/1"), 0, None),
        (("DELETE", "v2/pets/1"), 1, {"isAuthorized": False}),
    ],
)
def test_simple_format(
    target: tuple[str, str],
    expected: int,
    response: dict[str, Any] | None,
    capsys: pytest.CaptureFixture[str],
    claims_file: Any,
) -> None:
    code, printed, err = run(
        capsys, "--openapi", VERSIONED, "--format", "simple", "--claims", claims_file(claims(scope="pets:read")),
        "--arn", arn(*target),
    )  # fmt: skip
    assert code == expected
    if response is None:
        assert printed["isAuthorized"] is True
        assert printed["context"]["scopes"] == "pets:read"
        assert set(printed) == {"isAuthorized", "context"}
    else:
        assert printed == response
    assert f"decision: {'allow' if expected == 0 else 'deny'}" in err


# The preview is what the handler answers -----------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        ({"AUTHZ_RULES": PETS_RULES}, ("GET", "pets/1"), False),
        ({"AUTHZ_RULES": PETS_RULES}, ("POST", "pets"), False),
        ({"AUTHZ_OPENAPI": VERSIONED}, ("DELETE", "v2/pets/1"), False),
        ({"AUTHZ_OPENAPI": VERSIONED, "AUTHZ_POLICY_SCOPE": "route"}, ("GET", "v2/pets/1"), False),
        ({"AUTHZ_OPENAPI": PETSTORE, "AUTHZ_OPENAPI_SCHEMES": "petstore_auth"}, ("GET", "pet/1"), False),
        ({"AUTHZ_OPENAPI": VERSIONED, "AUTHZ_CONTEXT_CLAIMS": "tenant"}, ("GET", "v2/pets/1"), True),
        ({"AUTHZ_OPENAPI": VERSIONED}, ("POST", "v2/pets"), True),
    ],
)
def test_same_response_as_the_handler_on_a_signed_token(
    case: tuple[dict[str, str], tuple[str, str], bool],
    issuer: LocalIssuer,
    jwt_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    claims_file: Any,
) -> None:
    settings, target, simple = case
    token = issuer.mint(sub="dana", scope="pets:read read:pets", claims={"tenant": "acme", "groups": ["g1"]})
    payload = token.split(".")[1]
    token_claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    requested = arn(*target)
    if simple:
        event: dict[str, Any] = {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": requested,
            "headers": {"authorization": f"Bearer {token}"},
        }
    else:
        event = token_event(token, requested)
    _, expected = outcome(create_handler({**jwt_env, **settings}), event)
    capsys.readouterr()  # the handler's logs

    options = {
        "AUTHZ_RULES": "--rules",
        "AUTHZ_OPENAPI": "--openapi",
        "AUTHZ_OPENAPI_SCHEMES": "--schemes",
        "AUTHZ_POLICY_SCOPE": "--scope",
        "AUTHZ_CONTEXT_CLAIMS": "--context-claims",
    }
    argv = [arg for name, value in settings.items() for arg in (options[name], value)]
    argv += ["--format", "simple"] if simple else []
    code, response, _ = run(capsys, *argv, "--claims", claims_file(token_claims), "--arn", requested)
    assert response == expected
    allowed = response["isAuthorized"] if simple else iam.allows(response["policyDocument"], requested)
    assert code == (0 if allowed else 1)


# Bad input: exit 2, a clear message, nothing on stdout ---------------------------------

GOOD = claims()
GOOD_ARN = arn("GET", "pets/1")


@pytest.mark.parametrize(
    ("argv", "claims_document", "fragment"),
    [
        (["--rules", PETS_RULES], GOOD, "the following arguments are required: --arn"),
        (["--rules", PETS_RULES, "--arn", "arn:aws:s3:::bucket/key"], GOOD, "--arn: not an execute-api ARN"),
        (["--rules", PETS_RULES, "--arn", f"{API}/get/pets"], GOOD, "--arn: method ARN has an invalid HTTP verb"),
        (["--rules", PETS_RULES, "--arn", "arn:aws:execute-api:us-east-1:123:abc/prod/GET/x"], GOOD, "account id"),
        (["--rules", PETS_RULES, "--arn", GOOD_ARN], "{not json", "is not JSON"),
        (["--rules", PETS_RULES, "--arn", GOOD_ARN], ["sub", "alice"], "the claims must be a JSON object"),
        (["--rules", PETS_RULES, "--arn", GOOD_ARN], {"iss": ISSUER, "exp": EXP}, "the claims need sub"),
        (["--rules", PETS_RULES, "--arn", GOOD_ARN], {**GOOD, "sub": ""}, "the claims need sub"),
        (["--rules", PETS_RULES, "--arn", GOOD_ARN], {"sub": "a", "exp": EXP}, "the claims need iss"),
        (["--rules", PETS_RULES, "--arn", GOOD_ARN], {"sub": "a", "iss": ISSUER}, "the claims need exp"),
        (["--rules", PETS_RULES, "--arn", GOOD_ARN], {**GOOD, "exp": "soon"}, "the claims need exp"),
        (["--rules", PETS_RULES, "--arn", GOOD_ARN], {**GOOD, "exp": 10**400}, "the claims need exp"),
        (["--rules", PETS_RULES, "--arn", GOOD_ARN], {**GOOD, "scope": 7}, "scope/scp must be a string"),
        (["--rules", PETS_RULES, "--arn", GOOD_ARN], {**GOOD, "groups": {"a": 1}}, "groups must be a string"),
        (["--rules", "missing-rules.yaml", "--arn", GOOD_ARN], GOOD, "missing-rules.yaml: cannot read the file"),
        (["--openapi", "missing-openapi.yaml", "--arn", GOOD_ARN], GOOD, "AUTHZ_OPENAPI: missing-openapi.yaml"),
        (["--rules", '{"rules": [{"effect": "maybe", "routes": ["GET /x"]}]}', "--arn", GOOD_ARN], GOOD,
         "rule 1: effect must be 'allow' or 'deny'"),
        (["--rules", '{"rules": [{"effect": "allow", "routes": ["FETCH /x"]}]}', "--arn", GOOD_ARN], GOOD,
         "AUTHZ_RULES (inline JSON): rule 1"),
        (["--rules", "{not json", "--arn", GOOD_ARN], GOOD, "not valid JSON"),
        (["--rules", "", "--arn", GOOD_ARN], GOOD, "--rules is empty"),  # blank would mean no rules: all allowed
        (["--openapi", " ", "--arn", GOOD_ARN], GOOD, "--openapi is empty"),
        (["--rules", PETS_RULES, "--rules", PETS_RULES, "--arn", GOOD_ARN], GOOD, "--rules may be given once"),
        (["--arn", GOOD_ARN], GOOD, "give --rules, --openapi or both"),
        (["--rules", PETS_RULES, "--schemes", "oauth", "--arn", GOOD_ARN], GOOD,
         "AUTHZ_OPENAPI_SCHEMES is set but AUTHZ_OPENAPI is not"),
        (["--openapi", VERSIONED, "--schemes", "nope", "--arn", GOOD_ARN], GOOD, "nope"),
        (["--openapi", VERSIONED, "--schemes", ",", "--arn", GOOD_ARN], GOOD, "--schemes is empty"),
        (["--rules", PETS_RULES, "--scope", "stage", "--arn", GOOD_ARN], GOOD, "invalid choice: 'stage'"),
        (["--rules", PETS_RULES, "--format", "auto", "--arn", GOOD_ARN], GOOD, "invalid choice: 'auto'"),
        (["--rules", PETS_RULES, "--context-claims", "sub", "--arn", GOOD_ARN], GOOD,
         "AUTHZ_CONTEXT_CLAIMS: context key 'sub' is reserved"),
        (["--rules", PETS_RULES, "--context-claims", "big", "--arn", GOOD_ARN], {**GOOD, "big": "x" * 5000},
         "the handler would answer 401: context is"),
    ],
)  # fmt: skip
def test_bad_input_is_exit_2(
    argv: list[str], claims_document: object, fragment: str, capsys: pytest.CaptureFixture[str], claims_file: Any
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["policy", *argv, "--claims", claims_file(claims_document)])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert fragment in err
    assert "Traceback" not in err


def test_missing_claims_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["policy", "--rules", PETS_RULES, "--claims", str(tmp_path / "nope.json"), "--arn", GOOD_ARN])
    assert info.value.code == 2
    assert "cannot read claims" in capsys.readouterr().err


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["policy", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--rules", "--openapi", "--claims", "--arn", "--schemes", "--scope", "--format"):
        assert option in out
    assert "--context-claims" in out and "--groups-claim" in out
    assert "examples:" in out
    assert "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets/1" in out
    assert "0 the requested route is allowed, 1 it is denied" in out


def test_top_level_help_lists_policy(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "policy" in capsys.readouterr().out


# As a user runs it ---------------------------------------------------------------------


def console_script() -> str:
    script = Path(sys.executable).with_name("authorizers")
    if not script.exists():
        pytest.skip("the authorizers console script is not installed next to this interpreter")
    return str(script)


@pytest.mark.parametrize(("target", "expected"), [(("GET", "v2/pets/1"), 0), (("POST", "v2/pets"), 1)])
def test_console_script(target: tuple[str, str], expected: int, tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "AUTHZ_", "POWERTOOLS_"))}
    result = subprocess.run(
        [
            console_script(), "policy", "--openapi", VERSIONED, "--claims", "-", "--arn", arn(*target),
            "--context-claims", "tenant",
        ],
        input=json.dumps(claims(scope="pets:read", tenant="acme")),
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )  # fmt: skip
    assert result.returncode == expected, result.stderr
    response = json.loads(result.stdout)  # stdout is the response and nothing else
    assert iam.allows(response["policyDocument"], arn(*target)) is (expected == 0)
    assert iam.allows(response["policyDocument"], arn("GET", "v1/pets"))
    assert response["context"]["tenant"] == "acme"
    assert f"decision: {'allow' if expected == 0 else 'deny'} {target[0]} /{target[1]}" in result.stderr
    assert "principal class:" in result.stderr
    assert "policy scope: api" in result.stderr


def test_console_script_bad_arn() -> None:
    result = subprocess.run(
        [console_script(), "policy", "--rules", PETS_RULES, "--claims", "-", "--arn", "not-an-arn"],
        input=json.dumps(claims()),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert "authorizers: error: --arn: not an execute-api ARN" in result.stderr


def test_audience_is_not_previewed(capsys: pytest.CaptureFixture[str], claims_file: Any) -> None:
    # Authentication is not previewed: a token for another audience still gets its preview.
    document = claims_file(claims(aud="someone-else-than-" + DEFAULT_AUDIENCE))
    assert run(capsys, "--rules", PETS_RULES, "--claims", document, "--arn", GOOD_ARN)[0] == 0
