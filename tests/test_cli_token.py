"""``authorizers token``: development tokens that the real JWT handler accepts, and nothing leaked."""

from __future__ import annotations

import base64
import json
import os
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from authorizers.cli import main
from authorizers.devtoken import DEV_AUDIENCE, DEV_ISSUER, parse_claim, parse_ttl
from authorizers.handlers.jwt import create_handler
from tests.conftest import outcome, token_event

ROOT = Path(__file__).resolve().parent.parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The command in-process: exit status, stdout, stderr."""
    capsys.readouterr()
    try:
        status = main(["token", *argv])
    except SystemExit as exc:  # argparse and usage errors exit through parser.exit
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def mint(capsys: pytest.CaptureFixture[str], key_dir: Path, *argv: str) -> tuple[str, str]:
    status, out, err = run(capsys, "--key-dir", str(key_dir), *argv)
    assert status == 0, err
    return out.removesuffix("\n"), err


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def decide_with(environ: dict[str, str], token: str) -> tuple[str, dict[str, Any] | None]:
    """The real JWT handler, built from ``environ`` as at a cold start, on a REST TOKEN event."""
    return outcome(create_handler({**environ, "POWERTOOLS_METRICS_NAMESPACE": "Tests"}), token_event(token))


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


# The whole chain: token, JWKS, real handler ------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "ES384", "EdDSA"])
def test_minted_token_is_allowed_by_the_real_handler_with_the_written_settings(
    capsys: pytest.CaptureFixture[str], key_dir: Path, tmp_path: Path, alg: str
) -> None:
    env_file = tmp_path / "env.json"
    token, _ = mint(capsys, key_dir, "--alg", alg, "--sub", "alice", "--env-out", str(env_file))
    assert jwt.get_unverified_header(token)["alg"] == alg
    environ = json.loads(env_file.read_text())
    assert environ["JWT_ISSUER"] == DEV_ISSUER and environ["JWT_AUDIENCE"] == DEV_AUDIENCE
    decision, response = decide_with(environ, token)
    assert decision == "allow"
    assert response is not None and response["principalId"] == "alice"


def test_the_jwks_file_works_as_jwt_jwks_by_path(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    jwks_file = key_dir.parent / "jwks.json"
    token, _ = mint(capsys, key_dir, "--jwks-out", str(jwks_file))
    environ = {"JWT_ISSUER": DEV_ISSUER, "JWT_AUDIENCE": DEV_AUDIENCE, "JWT_JWKS": str(jwks_file)}
    assert decide_with(environ, token)[0] == "allow"


def test_a_token_with_one_character_changed_is_refused(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    env_file = key_dir.parent / "env.json"
    token, _ = mint(capsys, key_dir, "--env-out", str(env_file))
    environ = json.loads(env_file.read_text())
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    forged = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    assert decide_with(environ, f"{header}.{payload}.{forged}")[0] == "unauthorized"
    assert decide_with(environ, token)[0] == "allow"


def test_another_directory_key_is_not_trusted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    env_file = tmp_path / "env.json"
    mint(capsys, tmp_path / "mine", "--env-out", str(env_file))
    theirs, _ = mint(capsys, tmp_path / "theirs")
    assert decide_with(json.loads(env_file.read_text()), theirs)[0] == "unauthorized"


# Claims ------------------------------------------------------------------------------------------------


def test_claims_scope_groups_and_extra_claims(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    token, _ = mint(
        capsys,
        key_dir,
        *("--sub", "alice", "--scope", "pets:read pets:write", "--scope", "pets:read,admin"),
        *("--groups", "vets,admins", "--claim", "tenant=acme", "--claim", 'roles=["a","b"]'),
        *("--claim", "level=3", "--claim", "beta=true", "--claim", "note=not json {", "--typ", "at+jwt"),
    )
    claims = claims_of(token)
    assert claims["sub"] == "alice"
    assert claims["scope"] == "pets:read pets:write admin"
    assert claims["groups"] == ["vets", "admins"]
    assert (claims["tenant"], claims["roles"], claims["level"], claims["beta"]) == ("acme", ["a", "b"], 3, True)
    assert claims["note"] == "not json {"
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"


def test_the_handler_sees_the_scopes_and_groups(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    """Required scopes and rules on groups: the claims reach the handler as the options said."""
    env_file = key_dir.parent / "env.json"
    token, _ = mint(capsys, key_dir, "--scope", "pets:read", "--groups", "vets", "--env-out", str(env_file))
    environ = json.loads(env_file.read_text())
    assert decide_with({**environ, "JWT_REQUIRED_SCOPES": "pets:read"}, token)[0] == "allow"
    assert decide_with({**environ, "JWT_REQUIRED_SCOPES": "pets:write"}, token)[0] == "deny"
    rules = json.dumps({"rules": [{"effect": "allow", "routes": ["GET /pets"], "when": {"groups": ["vets"]}}]})
    assert decide_with({**environ, "AUTHZ_RULES": rules}, token)[0] == "allow"
    rules = json.dumps({"rules": [{"effect": "allow", "routes": ["GET /pets"], "when": {"groups": ["admins"]}}]})
    assert decide_with({**environ, "AUTHZ_RULES": rules}, token)[0] == "deny"


def test_ttl_sets_the_expiry_and_defaults_to_an_hour(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    before = int(time.time())
    claims = claims_of(mint(capsys, key_dir)[0])
    assert claims["exp"] - claims["iat"] == 3600 and before <= claims["iat"] <= int(time.time())
    claims = claims_of(mint(capsys, key_dir, "--ttl", "15m")[0])
    assert claims["exp"] - claims["iat"] == 900
    claims = claims_of(mint(capsys, key_dir, "--ttl", "90", "--issued-at", "1700000000")[0])
    assert (claims["iat"], claims["exp"]) == (1700000000, 1700000090)


def test_several_audiences(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    env_file = key_dir.parent / "env.json"
    token, _ = mint(capsys, key_dir, "--aud", "api-1", "--aud", "api-2", "--env-out", str(env_file))
    assert claims_of(token)["aud"] == ["api-1", "api-2"]
    environ = json.loads(env_file.read_text())
    assert environ["JWT_AUDIENCE"] == "api-1,api-2"
    assert decide_with({**environ, "JWT_AUDIENCE": "api-2"}, token)[0] == "allow"
    assert decide_with({**environ, "JWT_AUDIENCE": "api-3"}, token)[0] == "unauthorized"


def test_expired_token_is_refused_and_one_just_valid_is_not(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    """Issued two hours ago: a 60 s token is long expired, a 3 h one still good (leeway 0)."""
    env_file = key_dir.parent / "env.json"
    two_hours_ago = str(int(time.time()) - 7200)
    expired, _ = mint(capsys, key_dir, "--issued-at", two_hours_ago, "--ttl", "60", "--env-out", str(env_file))
    valid, _ = mint(capsys, key_dir, "--issued-at", two_hours_ago, "--ttl", "3h")
    environ = {**json.loads(env_file.read_text()), "JWT_LEEWAY_SECONDS": "0"}
    assert decide_with(environ, expired)[0] == "unauthorized"
    assert decide_with(environ, valid)[0] == "allow"


# The key directory -----------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_directory_and_key_file_permissions(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    _, err = mint(capsys, key_dir, "--alg", "ES256")
    assert mode(key_dir) == 0o700
    assert mode(key_dir / "ES256.pem") == 0o600
    assert (key_dir / ".gitignore").read_text().splitlines()[-1] == "*"  # never committed
    assert f"created a new development key: {key_dir / 'ES256.pem'}" in err


def test_default_key_directory_is_in_the_working_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status, _, _ = run(capsys)
    assert status == 0
    assert mode(tmp_path / ".authorizers-dev") == 0o700
    assert mode(tmp_path / ".authorizers-dev" / "RS256.pem") == 0o600


def test_key_is_reused_across_runs(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    first_env, second_env = key_dir.parent / "first.json", key_dir.parent / "second.json"
    first, _ = mint(capsys, key_dir, "--env-out", str(first_env))
    pem = (key_dir / "RS256.pem").read_bytes()
    second, err = mint(capsys, key_dir, "--env-out", str(second_env))
    assert "created" not in err
    assert (key_dir / "RS256.pem").read_bytes() == pem
    assert jwt.get_unverified_header(first)["kid"] == jwt.get_unverified_header(second)["kid"]
    assert first_env.read_text() == second_env.read_text()
    # The first run's settings accept the second run's token: one key, one JWKS.
    assert decide_with(json.loads(first_env.read_text()), second)[0] == "allow"


def test_jwks_holds_every_key_of_the_directory(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    env_file = key_dir.parent / "env.json"
    rsa_token, _ = mint(capsys, key_dir)
    ec_token, _ = mint(capsys, key_dir, "--alg", "ES256", "--env-out", str(env_file))
    environ = json.loads(env_file.read_text())
    assert sorted(key["alg"] for key in json.loads(environ["JWT_JWKS"])["keys"]) == ["ES256", "RS256"]
    assert environ["JWT_ALGORITHMS"] == "ES256,RS256"
    assert decide_with(environ, rsa_token)[0] == "allow"
    assert decide_with(environ, ec_token)[0] == "allow"


def test_a_key_file_readable_by_others_is_refused(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    mint(capsys, key_dir)
    (key_dir / "RS256.pem").chmod(0o644)
    status, out, err = run(capsys, "--key-dir", str(key_dir))
    assert (status, out) == (2, "")
    assert "readable by other users" in err and "chmod 600" in err


def test_a_key_file_of_another_algorithm_is_refused(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    mint(capsys, key_dir)
    os.replace(key_dir / "RS256.pem", key_dir / "ES256.pem")
    status, out, err = run(capsys, "--key-dir", str(key_dir), "--alg", "ES256")
    assert (status, out) == (2, "")
    assert "holds no ES256 key" in err


# Output: the token alone on stdout, the key never shown -----------------------------------------------


def test_stdout_is_the_token_alone_in_a_real_process(key_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "authorizers.cli", "token", "--key-dir", str(key_dir), "--print-env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].count(".") == 2
    assert claims_of(lines[0])["iss"] == DEV_ISSUER
    assert "DEVELOPMENT key" in result.stderr and "for local testing only" in result.stderr


def test_print_env_gives_shell_exports_of_the_settings(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    token, err = mint(capsys, key_dir, "--print-env", "--aud", "my-api", "--iss", "https://issuer.invalid")
    exports = [shlex.split(line) for line in err.splitlines() if line.startswith("export ")]
    environ = dict(words[1].split("=", 1) for words in exports)
    assert set(environ) == {"JWT_ISSUER", "JWT_AUDIENCE", "JWT_JWKS", "JWT_ALGORITHMS"}
    assert (environ["JWT_ISSUER"], environ["JWT_AUDIENCE"]) == ("https://issuer.invalid", "my-api")
    assert decide_with(environ, token)[0] == "allow"


def test_the_private_key_is_never_printed_or_written_out(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    outputs = key_dir.parent
    status, out, err = run(
        capsys,
        *("--key-dir", str(key_dir), "--print-env"),
        *("--jwks-out", str(outputs / "jwks.json"), "--env-out", str(outputs / "env.json")),
    )
    assert status == 0
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (key_dir / "RS256.pem").read_bytes()
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    private_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private))
    body = "".join(pem.decode().splitlines()[1:-1])
    everything = out + err + (outputs / "jwks.json").read_text() + (outputs / "env.json").read_text()
    assert "PRIVATE KEY" not in everything
    assert body[20:80] not in everything.replace("\n", "")
    for member in ("d", "p", "q", "dp", "dq", "qi"):
        assert private_jwk[member] not in everything
    for key in json.loads((outputs / "jwks.json").read_text())["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_help_says_development_only_and_gives_examples(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--help")
    assert status == 0
    assert "DEVELOPMENT ONLY" in out and "Never configure a" in out
    assert "TOKEN=$(authorizers token" in out and "examples:" in out


# Bad usage: exit 2, a clear message, no token ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ttl", "0"], "--ttl '0': must be between"),
        (["--ttl", "soon"], "expected seconds or a number with s, m, h or d"),
        (["--ttl", "400d"], "must be between 1 second and 366 days"),
        (["--claim", "tenant"], "expected NAME=VALUE"),
        (["--claim", "=x"], "expected NAME=VALUE"),
        (["--claim", "iss=https://evil.invalid"], "--claim cannot set iss: use its own option"),
        (["--claim", "exp=1"], "--claim cannot set exp"),
        (["--claim", "a=1", "--claim", "a=2"], "--claim a is given twice"),
        (["--alg", "HS256"], "invalid choice: 'HS256'"),
        (["--alg", "none"], "invalid choice: 'none'"),
        (["--issued-at", "yesterday"], "--issued-at 'yesterday': expected whole seconds"),
        (["--issued-at", "-5"], "--issued-at must not be negative"),
        (["--sub", " "], "the issuer and subject must not be empty"),
        (["--iss", ""], "the issuer and subject must not be empty"),
        (["--unknown"], "unrecognized arguments: --unknown"),
    ],
)
def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str], key_dir: Path, argv: list[str], message: str) -> None:
    status, out, err = run(capsys, "--key-dir", str(key_dir), *argv)
    assert (status, out) == (2, "")
    assert message in err


def test_bad_usage_creates_no_key(capsys: pytest.CaptureFixture[str], key_dir: Path) -> None:
    assert run(capsys, "--key-dir", str(key_dir), "--claim", "sub=x")[0] == 2
    assert not key_dir.exists()


def test_a_key_directory_that_is_a_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    status, out, err = run(capsys, "--key-dir", str(not_a_dir))
    assert (status, out) == (2, "")
    assert "exists and is not a directory" in err


def test_an_unwritable_output_exits_2(capsys: pytest.CaptureFixture[str], key_dir: Path, tmp_path: Path) -> None:
    status, out, err = run(capsys, "--key-dir", str(key_dir), "--jwks-out", str(tmp_path / "missing" / "j.json"))
    assert (status, out) == (2, "")
    assert "--jwks-out: cannot write" in err


# Option parsing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [("1", 1), ("90s", 90), ("15m", 900), ("1h", 3600), ("7D", 604800)])
def test_parse_ttl(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tenant=acme", ("tenant", "acme")),
        ("n=42", ("n", 42)),
        ("ok=false", ("ok", False)),
        ("empty=", ("empty", "")),
        ("roles=[1]", ("roles", [1])),
        ("x=NaN", ("x", "NaN")),  # JSON has no NaN: kept as text, never a non-standard token
        ("x=1e999", ("x", "1e999")),
        ("custom:tier=a=b", ("custom:tier", "a=b")),
    ],
)
def test_parse_claim(text: str, expected: tuple[str, Any]) -> None:
    assert parse_claim(text) == expected
