"""Every handler of the ``sam build`` output under the Lambda Runtime Interface Emulator.

Tests marked ``rie`` run only under ``make rie`` (``pytest -m rie``), which makes what they
need first: ``make template`` (the build output in build/sam, and aws-sam-cli, which ships the
emulator) and ``make rie-tools`` (a Python 3.12 with awslambdaric). They fail, not skip, when
it is missing. Each run starts the real emulator on loopback with the built function and its
layer, its handler and environment read from the built template, and env.json applied as
``sam local invoke --env-vars`` applies it. Events and env.json are written fresh by
``events.generate`` (SigV4 and SAML events are time-bound); Cognito's keys come from a moto
server on loopback. Allowed answers are compared with the same handler run in-process from
the source, so the build is checked to behave as the code does.

The tests without the mark check the runner's pieces (template, environment, outcome, CLI
usage errors) and run with the rest of the suite.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from authorizers import rie
from authorizers.cli import environment
from authorizers.handlers.runtime import decide
from tests.conftest import decision_lines
from tests.motoserver import moto_server

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / "build" / "sam"
ALL_FUNCTIONS = (
    "JwtAuthorizerFunction",
    "CognitoAuthorizerFunction",
    "SamlAuthorizerFunction",
    "SigV4AuthorizerFunction",
    "MultiAuthorizerFunction",
)
HANDLER_MODULES = {
    "JwtAuthorizerFunction": "jwt",
    "CognitoAuthorizerFunction": "cognito",
    "SamlAuthorizerFunction": "saml",
    "SigV4AuthorizerFunction": "sigv4",
    "MultiAuthorizerFunction": "multi",
}


# --- what the runs share ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Toolchain:
    build: rie.BuildOutput
    python: Path
    binary: Path


@dataclass(frozen=True)
class Generated:
    events: Mapping[str, dict[str, Any]]
    env_document: Mapping[str, Any]
    event_files: Mapping[str, Path]
    env_file: Path


@dataclass(frozen=True)
class Run:
    outcomes: list[tuple[str, dict[str, Any] | None, str]]
    invocations: list[rie.Invocation]
    logs: str
    environ: dict[str, str]

    @property
    def decisions(self) -> list[str]:
        return [decision for decision, _, _ in self.outcomes]

    def logged(self) -> list[dict[str, Any]]:
        """The handler's decision log lines (JSON with a "decision" key), in order."""
        return decision_lines(self.logs)


TIMINGS: list[tuple[str, float, float, float]] = []  # function, init ms, first round trip ms, warm ms (median)


@pytest.fixture(scope="module")
def toolchain() -> Toolchain:
    try:
        build = rie.BuildOutput.load(BUILD_DIR)
        python = rie.find_python(rie_tools=ROOT / ".tools" / "rie")
        binary = rie.find_emulator(sam_tools=ROOT / ".tools" / "sam")
        rie.check_python(python, "python3.12")
    except rie.RieSetupError as exc:
        pytest.fail(f"`make rie` makes what these tests need (make template, make rie-tools): {exc}")
    missing = [name for name in ALL_FUNCTIONS if name not in build.function_ids()]
    if missing:
        pytest.fail(f"the build output lacks {', '.join(missing)}: run `make template` again")
    return Toolchain(build, python, binary)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    from events.generate import generate

    out = tmp_path_factory.mktemp("rie-events")
    written = generate(out / "events", out / "env.json", now=time.time())
    events = {name: json.loads(path.read_text(encoding="utf-8")) for name, path in written.events.items()}
    document = json.loads(written.env_file.read_text(encoding="utf-8"))
    return Generated(events, document, written.events, written.env_file)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """Cognito's JWKS for the generated Cognito tokens (signed with moto's published key)."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module", autouse=True)
def timing_report(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the module: the cold starts and invocation times seen under the emulator."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not TIMINGS:
        return
    with capture.global_and_fixture_disabled():  # numbers to read, not test output
        reporter.write_line("")
        reporter.write_line("under the Lambda Runtime Interface Emulator (init: the cold start the emulator reports):")
        for function, init, first, warm in TIMINGS:
            reporter.write_line(f"  {function:28} init {init:6.0f} ms  first {first:6.0f} ms  warm {warm:5.1f} ms")


def run_function(
    toolchain: Toolchain,
    generated: Generated,
    function_id: str,
    events: list[dict[str, Any]],
    **changes: str,
) -> Run:
    """Invoke ``events`` in order on one emulator: env.json's variables for it, then ``changes``."""
    function = toolchain.build.function(function_id)
    overrides = {**environment(dict(generated.env_document), function_id), **changes}
    environ, ignored = rie.function_environment(function, overrides, caller={})
    assert ignored == [], f"env.json sets variables the template does not declare for {function_id}"
    with rie.Emulator(function, toolchain.python, toolchain.binary, environ) as emulator:
        process_group = emulator.process_id
        invocations = [emulator.invoke(event) for event in events]
    assert gone(lambda: os.killpg(process_group, 0)), "the emulator or the runtime it started is still running"
    logs = emulator.logs()
    inits = rie.init_durations_ms(logs)
    if inits and len(invocations) > 1 and invocations[0].status == 200:
        warm = sorted(invocation.seconds for invocation in invocations[1:])[len(invocations[1:]) // 2]
        TIMINGS.append((function_id, inits[0], invocations[0].seconds * 1000, warm * 1000))
    return Run(
        [rie.outcome(event, inv) for event, inv in zip(events, invocations, strict=True)], invocations, logs, environ
    )


def gone(signal_zero: Any, within: float = 5.0) -> bool:
    """Whether the process (group) stops existing within a few seconds: init reaps the orphans."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            signal_zero()
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def in_process(function_id: str, environ: Mapping[str, str], event: Mapping[str, Any]) -> tuple[str, Any]:
    """The same handler from the source tree, in this process, on the same environment."""
    import importlib

    module = importlib.import_module(f"authorizers.handlers.{HANDLER_MODULES[function_id]}")
    return decide(module.create_handler(dict(environ)), event)


def assert_allowed_as_in_process(function_id: str, run: Run, events: list[dict[str, Any]]) -> None:
    """The first ``len(events)`` outcomes are Allow, with the answers the source gives in-process."""
    for (decision, response, detail), event in zip(run.outcomes[: len(events)], events, strict=True):
        assert (decision, detail) == ("allow", ""), run.logs
        assert in_process(function_id, run.environ, event) == ("allow", response)


# --- tampering with a credential -------------------------------------------------------------------------


def authorization_of(event: Mapping[str, Any]) -> str:
    if event.get("type") == "TOKEN":
        return str(event["authorizationToken"])
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    return str(headers["authorization"])


def replaced(event: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """A copy of ``event`` with every string equal to ``old`` (header, identity source) set to ``new``."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return new if value == old else value

    result: dict[str, Any] = walk(copy.deepcopy(event))
    assert result != event, "the event does not carry that credential"
    return result


def flip(text: str, at: int) -> str:
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1 :]


def forged_jwt(event: dict[str, Any]) -> dict[str, Any]:
    """The token with one character in the middle of its signature changed."""
    value = authorization_of(event)
    signature_start = value.rindex(".") + 1
    return replaced(event, value, flip(value, (signature_start + len(value)) // 2))


def forged_sigv4(event: dict[str, Any]) -> dict[str, Any]:
    value = authorization_of(event)
    last = value[-1]
    return replaced(event, value, value[:-1] + ("0" if last != "0" else "1"))


def forged_saml(event: dict[str, Any]) -> dict[str, Any]:
    """The signed Response with its NameID changed (test-only string surgery on the signed XML)."""
    import base64

    value = authorization_of(event)
    scheme, _, encoded = value.partition(" ")
    xml = base64.b64decode(encoded)
    assert b"dev-user@example.com" in xml
    forged = xml.replace(b"dev-user@example.com", b"mallory@example.com")
    return replaced(event, value, f"{scheme} {base64.b64encode(forged).decode('ascii')}")


# --- every handler under the emulator (make rie) ---------------------------------------------------------


@pytest.mark.rie
def test_jwt_allows_every_event_kind_as_the_source_does(toolchain: Toolchain, generated: Generated) -> None:
    names = ["jwt-token", "jwt-request", "jwt-http", "jwt-websocket", "jwt-token"]  # the last one warm
    events = [generated.events[name] for name in names]
    run = run_function(toolchain, generated, "JwtAuthorizerFunction", events)
    assert_allowed_as_in_process("JwtAuthorizerFunction", run, events)
    assert run.outcomes[2][1] is not None and run.outcomes[2][1]["isAuthorized"] is True  # HTTP API simple response
    assert [line["principal"] for line in run.logged()] == ["dev-user"] * len(events)
    assert len(rie.init_durations_ms(run.logs)) == 1  # one cold start, then warm invocations


@pytest.mark.rie
def test_jwt_deny_is_a_403_policy(toolchain: Toolchain, generated: Generated) -> None:
    event = generated.events["jwt-token"]
    run = run_function(toolchain, generated, "JwtAuthorizerFunction", [event], JWT_REQUIRED_SCOPES="pets:admin")
    ((decision, response, _),) = run.outcomes
    assert decision == "deny"
    assert response is not None
    statements = response["policyDocument"]["Statement"]
    assert {statement["Effect"] for statement in statements} == {"Deny"}
    assert [line["reason"] for line in run.logged()] == ["insufficient_scope"]
    assert (decision, response) == in_process("JwtAuthorizerFunction", run.environ, event)


@pytest.mark.rie
def test_jwt_forged_or_missing_token_is_a_401(toolchain: Toolchain, generated: Generated) -> None:
    good = generated.events["jwt-token"]
    events = [forged_jwt(good), replaced(good, authorization_of(good), ""), good]
    run = run_function(toolchain, generated, "JwtAuthorizerFunction", events)
    assert run.decisions == ["unauthorized", "unauthorized", "allow"]
    assert [invocation.status for invocation in run.invocations] == [200, 200, 200]
    assert [line.get("reason") for line in run.logged()] == ["invalid_signature", "missing_credential", None]
    forged_value = authorization_of(events[0]).removeprefix("Bearer ")
    assert forged_value.split(".")[2] not in run.logs  # no signature in the logs


@pytest.mark.rie
def test_cold_start_configuration_error_is_a_500(toolchain: Toolchain, generated: Generated) -> None:
    event = generated.events["jwt-token"]
    run = run_function(toolchain, generated, "JwtAuthorizerFunction", [event, event], JWT_ISSUER="")
    assert run.decisions == ["error", "error"]  # Lambda starts it again for each request, and it fails again
    assert [invocation.status for invocation in run.invocations] == [502, 502]
    assert run.outcomes[0][2] == "ConfigurationError: JWT_ISSUER is required"
    assert "authorizer cannot start" in run.logs


@pytest.mark.rie
def test_keys_unreachable_at_request_time_is_a_500(toolchain: Toolchain, generated: Generated) -> None:
    import socket

    with socket.socket() as closed:  # a loopback port nobody listens on
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/jwks.json"
    event = generated.events["jwt-token"]
    run = run_function(toolchain, generated, "JwtAuthorizerFunction", [event], JWT_JWKS="", JWT_JWKS_URI=dead)
    ((decision, response, detail),) = run.outcomes
    assert (decision, response) == ("error", None)
    assert run.invocations[0].status == 200  # it started; the request failed closed
    assert detail.startswith("AuthorizerFailed:")
    assert [line["decision"] for line in run.logged()] == ["error"]


@pytest.mark.rie
def test_cognito(toolchain: Toolchain, generated: Generated, moto_url: str) -> None:
    names = ["cognito-token", "cognito-request", "cognito-http", "cognito-websocket"]
    allowed = [generated.events[name] for name in names]
    events = [*allowed, forged_jwt(generated.events["cognito-token"])]
    run = run_function(toolchain, generated, "CognitoAuthorizerFunction", events, COGNITO_ENDPOINT=moto_url)
    assert run.decisions == ["allow"] * len(allowed) + ["unauthorized"]
    assert run.logged()[-1]["reason"] == "invalid_signature"
    assert_allowed_as_in_process("CognitoAuthorizerFunction", run, allowed)


@pytest.mark.rie
def test_saml(toolchain: Toolchain, generated: Generated) -> None:
    names = ["saml-request", "saml-token", "saml-http", "saml-websocket"]
    allowed = [generated.events[name] for name in names]
    replay = generated.events["saml-request"]  # the same assertion again: refused by the replay cache
    events = [*allowed, replay, forged_saml(generated.events["saml-token"])]
    run = run_function(toolchain, generated, "SamlAuthorizerFunction", events)
    assert run.decisions == ["allow"] * len(allowed) + ["unauthorized", "unauthorized"]
    assert [line.get("reason") for line in run.logged()[-2:]] == ["replayed_assertion", "invalid_signature"]
    assert {line["principal"] for line in run.logged()[: len(allowed)]} == {"dev-user@example.com"}
    assert_allowed_as_in_process("SamlAuthorizerFunction", run, allowed)  # a fresh replay cache there


@pytest.mark.rie
def test_sigv4(toolchain: Toolchain, generated: Generated) -> None:
    names = ["sigv4-request", "sigv4-request-presigned", "sigv4-http", "sigv4-http-presigned"]
    allowed = [generated.events[name] for name in names]
    events = [*allowed, forged_sigv4(generated.events["sigv4-request"])]
    run = run_function(toolchain, generated, "SigV4AuthorizerFunction", events)
    assert run.decisions == ["allow"] * len(allowed) + ["unauthorized"]
    assert run.logged()[-1]["reason"] == "invalid_signature"
    assert_allowed_as_in_process("SigV4AuthorizerFunction", run, allowed)


@pytest.mark.rie
def test_multi_scheme(toolchain: Toolchain, generated: Generated, moto_url: str) -> None:
    names = [
        "multi-jwt-token",
        "multi-jwt-http",
        "multi-cognito-request",
        "multi-saml-request",
        "multi-sigv4-request",
        "multi-sigv4-http-presigned",
    ]
    allowed = [generated.events[name] for name in names]
    events = [*allowed, forged_jwt(generated.events["multi-jwt-token"]), forged_sigv4(allowed[4])]
    run = run_function(toolchain, generated, "MultiAuthorizerFunction", events, COGNITO_ENDPOINT=moto_url)
    assert run.decisions == ["allow"] * len(allowed) + ["unauthorized", "unauthorized"]
    assert [line["scheme"] for line in run.logged()[: len(allowed)]] == [
        "jwt",
        "jwt",
        "cognito",
        "saml",
        "sigv4",
        "sigv4",
    ]
    assert [line["reason"] for line in run.logged()[len(allowed) :]] == ["invalid_signature", "invalid_signature"]
    assert_allowed_as_in_process("MultiAuthorizerFunction", run, allowed)


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authorizers.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


@pytest.mark.rie
def test_cli_invoke_rie_exit_codes_and_streams(toolchain: Toolchain, generated: Generated, tmp_path: Path) -> None:
    common = ("invoke", "--rie", "--function", "JwtAuthorizerFunction", "--build-dir", str(BUILD_DIR))
    event_file = generated.event_files["jwt-token"]
    allowed = run_cli(*common, "--event", str(event_file), "--env", str(generated.env_file))
    assert allowed.returncode == 0, allowed.stderr
    expected = in_process(
        "JwtAuthorizerFunction", run_function_environment(toolchain, generated), generated.events["jwt-token"]
    )
    assert ("allow", json.loads(allowed.stdout)) == expected
    assert allowed.stderr.rstrip().endswith("200 Allow")
    assert "under the emulator: init" in allowed.stderr

    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(forged_jwt(generated.events["jwt-token"])), encoding="utf-8")
    refused = run_cli(*common, "--event", str(forged), "--env", str(generated.env_file))
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr.rstrip().endswith("401 Unauthorized")

    env = dict(generated.env_document)
    env["JwtAuthorizerFunction"] = {**env["JwtAuthorizerFunction"], "JWT_REQUIRED_SCOPES": "pets:admin"}
    denying = tmp_path / "deny-env.json"
    denying.write_text(json.dumps(env), encoding="utf-8")
    denied = run_cli(*common, "--event", str(event_file), "--env", str(denying))
    assert denied.returncode == 0
    assert json.loads(denied.stdout)["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert denied.stderr.rstrip().endswith("403 Deny")

    env["JwtAuthorizerFunction"] = {**env["JwtAuthorizerFunction"], "JWT_ISSUER": "", "NOT_DECLARED": "x"}
    broken = tmp_path / "broken-env.json"
    broken.write_text(json.dumps(env), encoding="utf-8")
    failed = run_cli(*common, "--event", str(event_file), "--env", str(broken))
    assert (failed.returncode, failed.stdout) == (3, "")
    assert "500 authorizer failed to start: ConfigurationError: JWT_ISSUER is required" in failed.stderr
    assert "warning: env file: NOT_DECLARED is not in JwtAuthorizerFunction's Environment" in failed.stderr


def run_function_environment(toolchain: Toolchain, generated: Generated) -> dict[str, str]:
    function = toolchain.build.function("JwtAuthorizerFunction")
    overrides = environment(dict(generated.env_document), "JwtAuthorizerFunction")
    return rie.function_environment(function, overrides, caller={})[0]


# --- the runner's pieces (no emulator; these run with the rest of the suite) -----------------------------

BUILT_TEMPLATE = """\
Parameters:
  Named: {Type: String, Default: named-value}
  NoDefault: {Type: String}
  Seconds: {Type: Number, Default: 30}
  Schemes: {Type: String, Default: "jwt,saml"}
Conditions:
  UsesJwt: !Not [!Equals [!Join ["", !Split [jwt, !Ref Schemes]], !Ref Schemes]]
  UsesSigV4: !Not [!Equals [!Join ["", !Split [sigv4, !Ref Schemes]], !Ref Schemes]]
  Both: !And [!Condition UsesJwt, !Condition UsesSigV4]
Globals:
  Function:
    Runtime: python3.12
    Timeout: 7
    MemorySize: 256
    Layers: [!Ref Layer]
    Environment:
      Variables: {FROM_GLOBALS: g, OVERRIDDEN: globals}
Resources:
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: Layer}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: Fn
      Handler: authorizers.handlers.jwt.handler
      MemorySize: 512
      Environment:
        Variables:
          NAMED: !Ref Named
          NO_DEFAULT: {Ref: NoDefault}
          SECONDS: !Ref Seconds
          FLAG: true
          OVERRIDDEN: own
          IF_JWT: !If [UsesJwt, jwt-on, jwt-off]
          IF_BOTH: {"Fn::If": [Both, both, not-both]}
          SUB: !Sub "${Named}-${AWS::Region}"
          ATTRIBUTE: !GetAtt Layer.Arn
  Inline:
    Type: AWS::Serverless::Function
    Properties: {InlineCode: "def handler(e, c): return e", Handler: index.handler}
"""


@pytest.fixture
def fake_build(tmp_path: Path) -> Path:
    build = tmp_path / "build"
    (build / "Fn").mkdir(parents=True)
    (build / "Layer" / "python").mkdir(parents=True)
    (build / "template.yaml").write_text(BUILT_TEMPLATE, encoding="utf-8")
    return build


def test_built_function_as_sam_local_reads_it(fake_build: Path) -> None:
    build = rie.BuildOutput.load(fake_build)
    assert build.function_ids() == ["Fn"]  # inline code is not in the build output
    function = build.function("Fn")
    assert (function.handler, function.runtime, function.timeout, function.memory) == (
        "authorizers.handlers.jwt.handler",
        "python3.12",
        7,
        512,
    )
    assert function.layer_dirs == ((fake_build / "Layer").resolve(),)
    assert function.python_path == [
        str((fake_build / "Fn").resolve()),
        str((fake_build / "Layer" / "python").resolve()),
    ]
    assert dict(function.variables) == {
        "FROM_GLOBALS": "g",
        "OVERRIDDEN": "own",
        "NAMED": "named-value",
        "NO_DEFAULT": "",  # sam local leaves what it cannot resolve blank
        "SECONDS": "30",
        "FLAG": "true",
        "IF_JWT": "jwt-on",
        "IF_BOTH": "not-both",
        "SUB": "named-value-us-east-1",
        "ATTRIBUTE": "",
    }
    assert build.function_for_handler("authorizers.handlers.jwt.handler") == "Fn"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda build: build.function("Nope"), "no function 'Nope' (functions: Fn)"),
        (lambda build: build.function("Inline"), "no function 'Inline'"),
        (lambda build: build.function_for_handler("authorizers.handlers.saml.handler"), "no function with Handler"),
    ],
)
def test_unknown_functions_are_named(fake_build: Path, call: Any, message: str) -> None:
    with pytest.raises(rie.RieSetupError, match=r"make|function") as info:
        call(rie.BuildOutput.load(fake_build))
    assert message in str(info.value)


def test_missing_build_output_names_make_template(tmp_path: Path) -> None:
    with pytest.raises(rie.RieSetupError, match=r"run `make template`"):
        rie.BuildOutput.load(tmp_path / "nothing")


def test_environment_takes_only_declared_names_and_nothing_of_the_shell(fake_build: Path) -> None:
    function = rie.BuildOutput.load(fake_build).function("Fn")
    caller = {
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "caller-secret",
        "AWS_PROFILE": "developer",
        "NAMED": "from-the-shell",  # sam local would take it; this runner does not
        "HOME": "/root",
    }
    environ, ignored = rie.function_environment(function, {"NAMED": "from-env-json", "UNDECLARED": "x"}, caller)
    assert ignored == ["UNDECLARED"]
    assert environ["NAMED"] == "from-env-json"
    assert "UNDECLARED" not in environ
    assert (environ["AWS_REGION"], environ["AWS_DEFAULT_REGION"]) == ("eu-west-1", "eu-west-1")
    assert (environ["AWS_ACCESS_KEY_ID"], environ["AWS_SECRET_ACCESS_KEY"]) == ("AKIDEXAMPLE", "caller-secret")
    assert "AWS_PROFILE" not in environ and "HOME" not in environ
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == "Fn"
    assert (environ["AWS_LAMBDA_FUNCTION_TIMEOUT"], environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) == ("7", "512")
    assert environ["PYTHONPATH"].split(os.pathsep) == function.python_path
    assert environ["PYTHONDONTWRITEBYTECODE"] == "1"


TOKEN_EVENT = {
    "type": "TOKEN",
    "authorizationToken": "Bearer x",
    "methodArn": "arn:aws:execute-api:us-east-1:123456789012:a/p/GET/pets",
}


def policy(effect: str, resource: str) -> bytes:
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": [resource]}
    return json.dumps(
        {"principalId": "alice", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}
    ).encode()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, policy("Allow", "arn:aws:execute-api:us-east-1:123456789012:a/p/*"), ("allow", "")),
        (200, policy("Deny", "arn:aws:execute-api:us-east-1:123456789012:a/p/GET/pets"), ("deny", "")),
        (
            200,
            policy("Allow", "arn:aws:execute-api:us-east-1:123456789012:a/p/GET/other"),
            ("deny", ""),
        ),  # not this route
        (200, b'{"isAuthorized": true}', ("allow", "")),
        (200, b'{"isAuthorized": "true"}', ("deny", "")),  # only the JSON true allows
        (200, b'{"errorMessage": "Unauthorized", "errorType": "Exception"}', ("unauthorized", "Unauthorized")),
        (
            200,
            b'{"errorMessage": "Authorizer failed closed", "errorType": "AuthorizerFailed"}',
            ("error", "AuthorizerFailed: Authorizer failed closed"),
        ),
        (
            502,
            b'{"errorMessage": "X is required", "errorType": "ConfigurationError"}',
            ("error", "ConfigurationError: X is required"),
        ),
        (502, b"", ("error", "the emulator answered HTTP 502")),
        (200, b"not json", ("error", "the emulator answered HTTP 200")),
    ],
)
def test_outcome_as_api_gateway_sees_it(status: int, body: bytes, expected: tuple[str, str]) -> None:
    decision, response, detail = rie.outcome(TOKEN_EVENT, rie.Invocation(status, body, 0.01))
    assert (decision, detail) == expected
    assert (response is not None) == (decision in ("allow", "deny"))


def executable(path: Path, text: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{text}", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_an_emulator_that_exits_is_reported_with_its_output(fake_build: Path, tmp_path: Path) -> None:
    function = rie.BuildOutput.load(fake_build).function("Fn")
    fake = executable(tmp_path / "rie", "import sys\nprint('listen tcp: address already in use')\nsys.exit(1)\n")
    with (
        pytest.raises(rie.RieError, match="address already in use"),
        rie.Emulator(function, Path(sys.executable), fake, {}),
    ):
        pass


def test_an_emulator_that_never_listens_is_stopped_with_its_children(fake_build: Path, tmp_path: Path) -> None:
    function = rie.BuildOutput.load(fake_build).function("Fn")
    child_pid = tmp_path / "child.pid"
    fake = executable(
        tmp_path / "rie",
        "import pathlib, subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        f"pathlib.Path({str(child_pid)!r}).write_text(str(child.pid))\n"
        "time.sleep(60)\n",
    )
    emulator = rie.Emulator(function, Path(sys.executable), fake, {"PATH": "/usr/bin:/bin"}, startup_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(rie.RieError, match=r"did not start \(waited up to 0.5 s\)"), emulator:
        pass
    assert time.monotonic() - started < 10  # one attempt, not three
    assert gone(lambda: os.killpg(emulator.process_id, 0))
    assert gone(lambda: os.kill(int(child_pid.read_text()), 0))


def test_tools_are_found_or_named(tmp_path: Path) -> None:
    rapid = tmp_path / "sam" / "lib" / "python3.11" / "site-packages" / "samcli" / "local" / "rapid"
    rapid.mkdir(parents=True)
    binary = executable(rapid / f"aws-lambda-rie-{rie.host_architecture()}", "")
    assert rie.find_emulator(environ={}, sam_tools=tmp_path / "sam") == binary
    with pytest.raises(rie.RieSetupError, match=r"run `make template`"):
        rie.find_emulator(environ={}, sam_tools=tmp_path / "none")
    with pytest.raises(rie.RieSetupError, match="not an executable file"):
        rie.find_emulator(environ={rie.RIE_BINARY_ENV: str(tmp_path / "missing")})
    with pytest.raises(rie.RieSetupError, match=r"run `make rie-tools`"):
        rie.find_python(environ={}, rie_tools=tmp_path / "none")
    with pytest.raises(rie.RieSetupError, match=r"cannot import awslambdaric: run `make rie-tools`"):
        rie.check_python(Path(sys.executable), "python3.12")  # the test venv has no awslambdaric
    assert rie.host_architecture("aarch64") == "arm64"
    assert rie.host_architecture("AMD64") == "x86_64"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--function", "Fn", "--build-dir", "{tmp}/nothing"], "run `make template`"),
        (["--function", "Fn", "--rie-python", "{tmp}/no-python"], "no Python with awslambdaric at"),
        (["--handler", "jwt", "--rie-python", "{tmp}/no-python"], "no Python with awslambdaric at"),  # found Fn
        (["--handler", "cognito"], "no function with Handler authorizers.handlers.cognito.handler"),
        (["--function", "Fn", "--handler", "saml"], "Fn runs authorizers.handlers.jwt.handler, not --handler saml"),
        (["--function", "Fn", "--rie-binary", "{tmp}/no-rie", "--rie-python", sys.executable], "not an executable"),
        ([], "the following arguments are required: --handler (or --rie with --function)"),
    ],
)
def test_cli_rie_usage_errors(
    extra: list[str], message: str, fake_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from authorizers.cli import main

    event = tmp_path / "event.json"
    event.write_text(json.dumps(TOKEN_EVENT), encoding="utf-8")
    argv = ["invoke", "--rie", "--event", str(event), "--build-dir", str(fake_build)]
    argv += [item.replace("{tmp}", str(tmp_path)) for item in extra]
    with pytest.raises(SystemExit) as info:
        main(argv)
    captured = capsys.readouterr()
    assert info.value.code == 2
    assert captured.out == ""
    assert message in captured.err
