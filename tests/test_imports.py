"""Import boundaries: policies stands alone, and cold starts load only what they need."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from authorizers.local_issuer import DEFAULT_AUDIENCE, LocalIssuer

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


def run_python(code: str, stdin: str = "") -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON document as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "POWERTOOLS_LOG_LEVEL": "CRITICAL", "POWERTOOLS_METRICS_DISABLED": "true"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# Records every attempt to import a watched top-level package, whether or not it is
# installed (none of the SAML/boto stack is installed here, so sys.modules alone would
# prove little), then lets the normal import machinery carry on.
WATCH = """
import json, sys

class Watch:
    def __init__(self, names):
        self.names, self.attempts = set(names), []
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            self.attempts.append(fullname)
        return None

watch = Watch({names!r})
sys.meta_path.insert(0, watch)

def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in watch.names)
"""


def test_policies_alone_does_not_load_authorizers() -> None:
    code = WATCH.format(names=["authorizers"]) + textwrap.dedent(
        """
        import policies
        print(json.dumps({"attempts": watch.attempts, "loaded": loaded()}))
        """
    )
    assert run_python(code) == {"attempts": [], "loaded": []}


def test_jwt_handler_module_does_not_load_heavy_dependencies() -> None:
    code = WATCH.format(names=[*HEAVY, "requests"]) + textwrap.dedent(
        """
        import authorizers.handlers.jwt
        before = {"attempts": list(watch.attempts), "loaded": loaded()}
        # The watch itself works: an attempted import is seen even when it fails.
        try:
            import lxml.etree  # noqa: F401
        except ImportError:
            pass
        print(json.dumps({"before": before, "probe": watch.attempts}))
        """
    )
    outcome = run_python(code)
    assert outcome["before"] == {"attempts": [], "loaded": []}
    assert outcome["probe"][0] == "lxml"


def handler_code(names: list[str]) -> str:
    return WATCH.format(names=names) + textwrap.dedent(
        """
        environ = json.loads(sys.stdin.read())
        from authorizers.handlers.jwt import create_handler
        from authorizers.handlers.runtime import decide
        handler = create_handler(environ["env"])
        decision, _ = decide(handler, environ["event"])
        print(json.dumps({"decision": decision, "attempts": watch.attempts, "loaded": loaded()}))
        """
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
