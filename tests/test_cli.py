"""The ``authorizers`` command, as a user runs it (subprocess) and in-process where cheaper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from authorizers import __version__
from authorizers.cli import UsageError, environment, main
from authorizers.local_issuer import DEFAULT_AUDIENCE, LocalIssuer
from tests.conftest import load_event

ROOT = Path(__file__).resolve().parent.parent
TOKEN_EVENT = "apiGatewayAuthorizerTokenEvent.json"


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    # A clean environment: none of the caller's JWT_*/AUTHZ_* settings leak in.
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "AUTHZ_", "POWERTOOLS_"))}
    return subprocess.run(
        [sys.executable, "-m", "authorizers.cli", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def jwks_file(issuer: LocalIssuer, tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(issuer.jwks()))
    return path


@pytest.fixture
def flat_env(issuer: LocalIssuer, jwks_file: Path) -> dict[str, Any]:
    return {"JWT_ISSUER": issuer.issuer, "JWT_AUDIENCE": DEFAULT_AUDIENCE, "JWT_JWKS": str(jwks_file)}


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def token_event_file(tmp_path: Path, authorization: str) -> Path:
    event = load_event(TOKEN_EVENT)
    event["authorizationToken"] = authorization
    return write_json(tmp_path / "event.json", event)


# Arguments -----------------------------------------------------------------------------


def test_version_subprocess() -> None:
    result = run_cli("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"authorizers {__version__}")


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out
    assert "invoke" in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "required" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["invoke", "--event", "e.json"],  # --handler missing
        ["invoke", "--handler", "saml", "--event", "e.json"],  # not a handler
        ["invoke", "--handler", "jwt"],  # --event missing
        ["frobnicate"],
    ],
)
def test_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert capsys.readouterr().out == ""


def test_missing_event_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["invoke", "--handler", "jwt", "--event", str(tmp_path / "nope.json")])
    assert info.value.code == 2
    assert "cannot read event" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["not json", "{", ""])
def test_event_not_json(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "event.json"
    path.write_text(text)
    with pytest.raises(SystemExit) as info:
        main(["invoke", "--handler", "jwt", "--event", str(path)])
    assert info.value.code == 2
    assert "is not JSON" in capsys.readouterr().err


def test_event_not_an_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_json(tmp_path / "event.json", ["TOKEN"])
    with pytest.raises(SystemExit) as info:
        main(["invoke", "--handler", "jwt", "--event", str(path)])
    assert info.value.code == 2
    assert "JSON object" in capsys.readouterr().err


def test_several_functions_without_function(
    tmp_path: Path, flat_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    event = token_event_file(tmp_path, "Bearer x")
    env = write_json(tmp_path / "env.json", {"Parameters": {}, "A": flat_env, "B": flat_env})
    before = dict(os.environ)
    with pytest.raises(SystemExit) as info:
        main(["invoke", "--handler", "jwt", "--event", str(event), "--env", str(env)])
    assert info.value.code == 2
    assert "--function (A, B)" in capsys.readouterr().err
    assert dict(os.environ) == before  # refused before touching the environment


def test_unknown_function(tmp_path: Path, flat_env: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    event = token_event_file(tmp_path, "Bearer x")
    env = write_json(tmp_path / "env.json", {"A": flat_env})
    with pytest.raises(SystemExit) as info:
        main(["invoke", "--handler", "jwt", "--event", str(event), "--env", str(env), "--function", "B"])
    assert info.value.code == 2
    assert "no function 'B'" in capsys.readouterr().err


# The env file, parsed ------------------------------------------------------------------


def test_environment_flat() -> None:
    assert environment({"A": "x", "B": 3, "C": True, "D": False}, None) == {
        "A": "x",
        "B": "3",
        "C": "true",
        "D": "false",
    }


def test_environment_sam() -> None:
    document = {"Parameters": {"SHARED": "p", "OVER": "p"}, "Fn": {"OVER": "f", "OWN": "f"}}
    assert environment(document, None) == {"SHARED": "p", "OVER": "f", "OWN": "f"}
    assert environment(document, "Fn") == {"SHARED": "p", "OVER": "f", "OWN": "f"}


def test_environment_sam_with_several_functions() -> None:
    document = {"Parameters": {"P": "1"}, "A": {"X": "a"}, "B": {"X": "b"}}
    assert environment(document, "B") == {"P": "1", "X": "b"}
    with pytest.raises(UsageError, match="several functions"):
        environment(document, None)


@pytest.mark.parametrize("document", [[], "x", {"A": None}, {"A": ["x"]}, {"Parameters": {"A": {"b": 1}}}])
def test_environment_refused(document: object) -> None:
    with pytest.raises(UsageError):
        environment(document, None)


# invoke, end to end --------------------------------------------------------------------


def test_invoke_allow_with_flat_env(issuer: LocalIssuer, flat_env: dict[str, Any], tmp_path: Path) -> None:
    token = issuer.mint(sub="alice", claims={"exp": 4_000_000_000})
    event = token_event_file(tmp_path, f"Bearer {token}")
    env = write_json(tmp_path / "env.json", flat_env)
    result = run_cli("invoke", "--handler", "jwt", "--event", str(event), "--env", str(env))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {  # stdout is the response and nothing else
        "principalId": "alice",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": ["arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/*/*"],
                }
            ],
        },
        "context": {"scheme": "jwt", "sub": "alice", "issuer": issuer.issuer, "expires_at": 4_000_000_000},
    }
    assert "200 Allow" in result.stderr
    assert '"decision":"allow"' in result.stderr  # the handler's log went to stderr
    assert token not in result.stdout + result.stderr


def test_invoke_with_sam_env_and_function(issuer: LocalIssuer, flat_env: dict[str, Any], tmp_path: Path) -> None:
    token = issuer.mint(sub="bob")
    event_doc = load_event("apiGatewayAuthorizerV2Event.json")
    event_doc["headers"] = {"authorization": f"Bearer {token}"}
    event = write_json(tmp_path / "event.json", event_doc)
    env = write_json(
        tmp_path / "env.json",
        {
            "Parameters": {"JWT_ISSUER": issuer.issuer, "JWT_JWKS": flat_env["JWT_JWKS"], "JWT_AUDIENCE": "other"},
            "JwtAuthorizerFunction": {"JWT_AUDIENCE": DEFAULT_AUDIENCE, "AUTHZ_RESPONSE_FORMAT": "simple"},
            "OtherFunction": {"JWT_AUDIENCE": "wrong"},
        },
    )
    result = run_cli(
        "invoke", "--handler", "jwt", "--event", str(event), "--env", str(env), "--function", "JwtAuthorizerFunction"
    )
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["isAuthorized"] is True
    assert response["context"]["sub"] == "bob"


def test_invoke_expired_token_is_401(issuer: LocalIssuer, flat_env: dict[str, Any], tmp_path: Path) -> None:
    token = issuer.mint(sub="alice", expires_in=-3600)
    event = token_event_file(tmp_path, f"Bearer {token}")
    env = write_json(tmp_path / "env.json", flat_env)
    result = run_cli("invoke", "--handler", "jwt", "--event", str(event), "--env", str(env))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "401" in result.stderr
    assert '"reason":"expired"' in result.stderr


def test_invoke_bad_configuration_is_exit_3(flat_env: dict[str, Any], tmp_path: Path) -> None:
    event = token_event_file(tmp_path, "Bearer x")
    env = write_json(tmp_path / "env.json", {k: v for k, v in flat_env.items() if k != "JWT_AUDIENCE"})
    result = run_cli("invoke", "--handler", "jwt", "--event", str(event), "--env", str(env))
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    assert "JWT_AUDIENCE is required" in result.stderr
    assert "Traceback" not in result.stderr


# demo ----------------------------------------------------------------------------------


def test_demo() -> None:
    result = run_cli("demo")
    assert result.returncode == 0, result.stderr
    assert "9 of 9 scenarios decided as expected" in result.stdout


def test_demo_json() -> None:
    result = run_cli("demo", "--json")
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)
    assert len(outcomes) == 9
    assert all(o["decision"] == o["expected"] for o in outcomes)
    expected = ["allow"] * 4 + ["deny", "unauthorized", "unauthorized", "allow", "deny"]
    assert [o["decision"] for o in outcomes] == expected


def test_invoke_the_multi_scheme_handler_on_the_committed_events(tmp_path: Path) -> None:
    """The JWT event of events/ through the multi handler, with env.json's settings for it."""
    document = json.loads((ROOT / "env.json").read_text())
    settings = environment(document, "MultiAuthorizerFunction")
    # Cognito needs a running emulator for its keys (events/README.md): left out here.
    settings = {k: v for k, v in settings.items() if not k.startswith("COGNITO_")}
    settings["AUTHORIZER_SCHEMES"] = "jwt,saml,sigv4"
    env = write_json(tmp_path / "env.json", settings)
    allowed = run_cli("invoke", "--handler", "multi", "--event", "events/multi-jwt-token.json", "--env", str(env))
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["context"]["scheme"] == "jwt"
    assert "200 Allow" in allowed.stderr
    event = json.loads((ROOT / "events" / "multi-jwt-token.json").read_text())
    event["authorizationToken"] = "Basic YWxpY2U6c2VjcmV0"
    refused = run_cli(
        "invoke", "--handler", "multi", "--event", str(write_json(tmp_path / "e.json", event)), "--env", str(env)
    )
    assert refused.returncode == 1
    assert "unsupported_scheme" in refused.stderr
