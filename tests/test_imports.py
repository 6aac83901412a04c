"""Import boundaries: policies stands alone, and cold starts load only what they need."""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from authorizers.local_issuer import DEFAULT_AUDIENCE, LocalIssuer
from tests.conftest import run_python, watching
from tests.keyserver import KeyServer, SigningKey, jwks

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
HEAVY = ("lxml", "xmlsec", "onelogin", "authlib", "boto3")


def authorizers_imports(source: str) -> list[str]:
    """Every import of ``authorizers`` in ``source``: statements and import_module/__import__ calls."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Name, ast.Attribute))
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        found += [name for name in names if name == "authorizers" or name.startswith("authorizers.")]
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import authorizers", ["authorizers"]),
        ("import os, authorizers.errors as e", ["authorizers.errors"]),
        ("from authorizers.errors import X", ["authorizers.errors"]),
        ("def f():\n    from authorizers import cli", ["authorizers"]),
        ("import importlib\nimportlib.import_module('authorizers.jwt')", ["authorizers.jwt"]),
        ("__import__('authorizers')", ["authorizers"]),
        ("from policies.errors import X\nfrom . import arn\nimport authorizers_extra", []),
    ],
)
def test_the_scanner_finds_imports(source: str, expected: list[str]) -> None:
    assert authorizers_imports(source) == expected


def test_policies_never_imports_authorizers() -> None:
    files = sorted(POLICIES.rglob("*.py"))
    assert {"arn.py", "context.py", "request.py", "response.py"} <= {f.name for f in files}
    offenders = {str(f.relative_to(ROOT)): authorizers_imports(f.read_text()) for f in files}
    assert {name: found for name, found in offenders.items() if found} == {}


# Records every attempt to import a watched top-level package, whether or not it is
# installed (none of the SAML/boto stack is installed here, so sys.modules alone would
# prove little), then lets the normal import machinery carry on.


def test_policies_alone_does_not_load_authorizers() -> None:
    code = watching(
        ["authorizers"],
        """
        import policies
        print(json.dumps({"attempts": watch.attempts, "loaded": loaded()}))
        """,
    )
    assert run_python(code) == {"attempts": [], "loaded": []}


def test_jwt_handler_module_does_not_load_heavy_dependencies() -> None:
    code = watching(
        [*HEAVY, "requests"],
        """
        import authorizers.handlers.jwt
        before = {"attempts": list(watch.attempts), "loaded": loaded()}
        # The watch itself works: an attempted import is seen even when it fails.
        try:
            import lxml.etree  # noqa: F401
        except ImportError:
            pass
        print(json.dumps({"before": before, "probe": watch.attempts}))
        """,
    )
    outcome = run_python(code)
    assert outcome["before"] == {"attempts": [], "loaded": []}
    assert outcome["probe"][0] == "lxml"


def handler_code(names: list[str], module: str = "authorizers.handlers.jwt") -> str:
    return watching(
        names,
        f"""
        environ = json.loads(sys.stdin.read())
        from {module} import create_handler
        from authorizers.handlers.runtime import decide
        handler = create_handler(environ["env"])
        decision, _ = decide(handler, environ["event"])
        print(json.dumps({{"decision": decision, "attempts": watch.attempts, "loaded": loaded()}}))
        """,
    )


def test_static_jwks_handler_never_imports_requests(issuer: LocalIssuer) -> None:
    env = {"JWT_ISSUER": issuer.issuer, "JWT_AUDIENCE": DEFAULT_AUDIENCE, "JWT_JWKS": json.dumps(issuer.jwks())}
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {issuer.mint(sub='alice')}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets",
    }
    outcome = run_python(handler_code(["requests", "urllib3", *HEAVY]), json.dumps({"env": env, "event": event}))
    assert outcome == {"decision": "allow", "attempts": [], "loaded": []}


def test_jwks_uri_handler_does_import_requests(issuer: LocalIssuer) -> None:
    # The counterpart, so the test above can fail: a remote key source needs requests.
    env = {
        "JWT_ISSUER": issuer.issuer,
        "JWT_AUDIENCE": DEFAULT_AUDIENCE,
        "JWT_JWKS_URI": issuer.jwks_uri,
        "JWT_PREFETCH_KEYS": "false",
    }
    event = {
        "type": "TOKEN",
        "authorizationToken": "",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:a/p/GET/",
    }
    outcome = run_python(handler_code(["requests"]), json.dumps({"env": env, "event": event}))
    assert outcome["decision"] == "unauthorized"
    assert "requests" in outcome["loaded"]


# The Cognito handler ---------------------------------------------------------------------

COGNITO_POOL_ID = "eu-west-1_AbC123xyZ"
COGNITO_MODULES = ["authorizers.cognito", "authorizers.cognito.pools", "authorizers.cognito.validator"]


@pytest.mark.parametrize(
    ("module", "cognito_modules"), [("authorizers.handlers.jwt", []), ("authorizers.handlers.cognito", COGNITO_MODULES)]
)
def test_handler_modules_load_no_aws_sdk_and_no_revocation(module: str, cognito_modules: list[str]) -> None:
    code = watching(
        [*HEAVY, "botocore", "requests"],
        f"""
        import {module}
        cognito = sorted(m for m in sys.modules if m.startswith("authorizers.cognito"))
        print(json.dumps({{"attempts": watch.attempts, "loaded": loaded(), "cognito": cognito}}))
        """,
    )
    assert run_python(code) == {"attempts": [], "loaded": [], "cognito": cognito_modules}


@pytest.fixture
def cognito_keys(key1: SigningKey) -> Iterator[KeyServer]:
    """The pool's JWKS where COGNITO_ENDPOINT points ({endpoint}/{pool id}/.well-known/jwks.json)."""
    with KeyServer() as server:
        server.serve_json(f"/{COGNITO_POOL_ID}/.well-known/jwks.json", jwks(key1))
        server.serve_json("/jwks.json", jwks(key1))
        yield server


def handler_case(env: dict[str, str], token: str) -> str:
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets",
    }
    return json.dumps({"env": env, "event": event})


def cognito_case(server: KeyServer, key: SigningKey, **env: str) -> str:
    now = int(time.time())
    claims = {
        "iss": f"https://cognito-idp.eu-west-1.amazonaws.com/{COGNITO_POOL_ID}",
        "sub": "alice",
        "token_use": "access",
        "client_id": "app-client",
        "scope": "aws.cognito.signin.user.admin",
        "iat": now,
        "exp": now + 300,
    }
    environ = {
        "COGNITO_USER_POOL_ID": COGNITO_POOL_ID,
        "COGNITO_CLIENT_ID": "app-client",
        "COGNITO_ENDPOINT": server.base_url,
        **env,
    }
    return handler_case(environ, key.sign(claims))


def test_cognito_handler_without_revocation_never_imports_boto3(cognito_keys: KeyServer, key1: SigningKey) -> None:
    outcome = run_python(
        handler_code(list(HEAVY), module="authorizers.handlers.cognito"), cognito_case(cognito_keys, key1)
    )
    assert outcome == {"decision": "allow", "attempts": [], "loaded": []}
    assert cognito_keys.requests(f"/{COGNITO_POOL_ID}/.well-known/jwks.json") == 1  # fetched at cold start


# Every top-level package in sys.modules after one decision, the standard library left out.
PACKAGES = """
import json, sys
environ = json.loads(sys.stdin.read())
from {module} import create_handler
from authorizers.handlers.runtime import decide
decision, _ = decide(create_handler(environ["env"]), environ["event"])
packages = {{name.split(".")[0] for name in sys.modules}} - set(sys.stdlib_module_names)
print(json.dumps({{"decision": decision, "packages": sorted(p for p in packages if not p.startswith("_"))}}))
"""


def test_cognito_handler_loads_nothing_the_jwt_handler_does_not(cognito_keys: KeyServer, key1: SigningKey) -> None:
    # Both with remote keys from the same loopback server. botocore is in both lists: the
    # Powertools logger imports it (to tag boto3 requests), whichever the handler.
    jwt_env = {
        "JWT_ISSUER": "https://issuer.example.com",
        "JWT_AUDIENCE": "api",
        "JWT_JWKS_URI": cognito_keys.url("/jwks.json"),
    }
    jwt_token = key1.mint("https://issuer.example.com", "api")
    jwt = run_python(PACKAGES.format(module="authorizers.handlers.jwt"), handler_case(jwt_env, jwt_token))
    cognito = run_python(PACKAGES.format(module="authorizers.handlers.cognito"), cognito_case(cognito_keys, key1))
    assert (jwt["decision"], cognito["decision"]) == ("allow", "allow")
    assert set(cognito["packages"]) - set(jwt["packages"]) == set()
    assert {"authorizers", "policies", "requests"} <= set(cognito["packages"])
    assert not {"boto3", *HEAVY} & set(cognito["packages"])


def test_cognito_handler_with_revocation_imports_boto3_at_cold_start(cognito_keys: KeyServer, key1: SigningKey) -> None:
    # The counterpart, so the tests above can fail. With revocation checks configured, boto3
    # and the GetUser clients are made at cold start, so no request pays for them. The key
    # server does not answer GetUser, so the check cannot be made and the authorizer fails closed.
    code = watching(
        ["boto3"],
        """
        environ = json.loads(sys.stdin.read())
        from authorizers.handlers.cognito import create_handler
        from authorizers.handlers.runtime import decide
        handler = create_handler(environ["env"])
        cold_start = loaded()
        decision, _ = decide(handler, environ["event"])
        print(json.dumps({"cold_start": cold_start, "decision": decision, "loaded": loaded()}))
        """,
    )
    outcome = run_python(code, cognito_case(cognito_keys, key1, COGNITO_CHECK_REVOCATION="true"))
    assert "boto3" in outcome["cold_start"]
    assert outcome["decision"] == "error"
