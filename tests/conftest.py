"""Shared fixtures: a loopback issuer, token crafting, handlers built from an environment."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from authorizers.handlers.jwt import create_handler
from authorizers.handlers.runtime import AuthorizerHandler, decide
from authorizers.local_issuer import DEFAULT_AUDIENCE, LocalIssuer
from authorizers.observability import SERVICE
from tests.keyserver import SigningKey

VECTORS = Path(__file__).parent / "vectors"
EVENTS = VECTORS / "events"
AUDIENCE = DEFAULT_AUDIENCE


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def craft(header: Mapping[str, Any], claims: Mapping[str, Any] | bytes, signature: bytes = b"") -> str:
    """A token from raw parts, signature supplied by the caller (for malformed and forged tokens)."""
    payload = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    return f"{b64url(json.dumps(header).encode())}.{b64url(payload)}.{b64url(signature)}"


def sign_raw(header: Mapping[str, Any], claims: Mapping[str, Any], alg: str, key: Any) -> str:
    """A token signed with pyjwt's algorithm implementation, header exactly as given."""
    from jwt.algorithms import get_default_algorithms

    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    algorithm = get_default_algorithms()[alg]
    signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(key))
    return f"{signing_input}.{b64url(signature)}"


def expected_policy_response(
    effect: str, resource: str, principal_id: str = "alice", context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The exact IAM policy response expected for one statement over one resource."""
    response: dict[str, Any] = {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": [resource]}],
        },
    }
    if context is not None:
        response["context"] = context
    return response


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def token_event(
    token: str, method_arn: str = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets"
) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": method_arn}


@pytest.fixture(scope="session")
def issuer() -> Iterator[LocalIssuer]:
    """One RS256 issuer on loopback for the whole run (key generation is the slow part)."""
    with LocalIssuer() as running:
        yield running


@pytest.fixture(scope="session")
def key1() -> SigningKey:
    """RSA signing keys for the loopback key server tests (tests/keyserver.py)."""
    return SigningKey.generate("key-1")


@pytest.fixture(scope="session")
def key2() -> SigningKey:
    return SigningKey.generate("key-2")


@pytest.fixture
def jwt_env(issuer: LocalIssuer) -> dict[str, str]:
    """A minimal, valid JWT handler environment using the issuer's JWKS, pinned inline."""
    return {
        "JWT_ISSUER": issuer.issuer,
        "JWT_AUDIENCE": AUDIENCE,
        "JWT_JWKS": json.dumps(issuer.jwks()),
        "POWERTOOLS_METRICS_NAMESPACE": "Tests",
    }


@pytest.fixture
def make_handler() -> Any:
    def build(environ: Mapping[str, str]) -> AuthorizerHandler:
        return create_handler(dict(environ))

    return build


def outcome(handler: AuthorizerHandler, event: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """("allow" | "deny", response), ("unauthorized", None) or ("error", None)."""
    return decide(handler, event)


def decision_lines(text: str) -> list[dict[str, Any]]:
    """The handler's structured decision log lines (JSON with a "decision" key) in ``text``."""
    lines = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "decision" in record:
            lines.append(record)
    return lines


@pytest.fixture
def decision_log(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """``read()`` gives (decision lines, all output) written since the previous read.

    The toolkit's log handler writes to the current ``sys.stdout``, so capsys sees it; the
    level is held at INFO here in case an earlier in-process demo quietened the logger.
    """
    service_logger = logging.getLogger(SERVICE)
    saved_level = service_logger.level
    service_logger.setLevel(logging.INFO)
    capsys.readouterr()

    def read() -> tuple[list[dict[str, Any]], str]:
        captured = capsys.readouterr()
        return decision_lines(captured.out), captured.out + captured.err

    yield read
    service_logger.setLevel(saved_level)


def refusal_message(load: Callable[[dict[str, str]], object], environ: dict[str, str], *names: str) -> str:
    """The ConfigurationError ``load(environ)`` raises, checked to name every variable in ``names``."""
    from authorizers.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        load(environ)
    message = str(info.value)
    for name in names:
        assert name in message, message
    return message


def run_python(code: str, stdin: str = "") -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON document as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=Path(__file__).resolve().parent.parent,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "POWERTOOLS_LOG_LEVEL": "CRITICAL", "POWERTOOLS_METRICS_DISABLED": "true"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# A prelude for run_python: records every import attempted of the watched top-level names.
_WATCH = """
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


def watching(names: list[str], code: str) -> str:
    """``code`` (dedented) after a prelude defining ``watch.attempts`` and ``loaded()`` for ``names``."""
    return _WATCH.format(names=names) + textwrap.dedent(code)
