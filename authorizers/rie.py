"""Run a ``sam build`` function under the AWS Lambda Runtime Interface Emulator, without Docker.

The emulator (``aws-lambda-rie``, shipped in the aws-sam-cli wheel under ``samcli/local/rapid/``)
starts a Python of the function's runtime with ``awslambdaric``, the runtime interface client
of Lambda's Python runtimes, and serves the Lambda invoke API on 127.0.0.1. The function's code
directory comes first on the path and each layer's ``python`` directory after it, as Lambda
mounts them at ``/var/task`` and ``/opt/python``; handler, runtime, timeout and memory come from
the built template (``build/sam/template.yaml``).

Environment, as ``sam local invoke --env-vars env.json`` makes it: the variables the template
declares, a parameter ``Ref`` resolved to the parameter's default (blank without one), overridden
by the env.json values *for declared names only*: a variable the template does not declare would
not reach the deployed function either, so it is reported, not set. Unlike sam, the shell's own
variables are not read, so a run depends only on its files. Lambda's variables are added
(function name, memory, timeout, region, ``AWS_EXECUTION_ENV``); AWS credentials are passed
on from the caller's environment when set, as sam does, and nothing else of it.

Usage::

    build = BuildOutput.load(Path("build/sam"))
    function = build.function("JwtAuthorizerFunction")
    environ, ignored = function_environment(function, {"JWT_ISSUER": "https://issuer.example"})
    with Emulator(function, find_python(), find_emulator(), environ) as emulator:
        invocation = emulator.invoke(event)
    decision, response, detail = outcome(event, invocation)
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_BUILD_DIR = Path("build/sam")
SAM_TOOLS = Path(".tools/sam")  # made by `make template`: aws-sam-cli ships the emulator
RIE_TOOLS = Path(".tools/rie")  # made by `make rie-tools`: a Python 3.12 with awslambdaric
RIE_BINARY_ENV = "AUTHORIZERS_RIE_BINARY"
RIE_PYTHON_ENV = "AUTHORIZERS_RIE_PYTHON"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
LOOPBACK = "127.0.0.1"
UNAUTHORIZED = "Unauthorized"  # the error message API Gateway turns into a 401
INIT_LIMIT_SECONDS = 10  # Lambda's limit for the init phase (the cold start)
# Passed on from the caller as sam local invoke passes the session's credentials.
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
_INIT_REPORT = re.compile(r"INIT REPORT\(durationMs: ([0-9.]+)\)")


class RieSetupError(Exception):
    """Something the emulator run needs is missing or unusable; the message says what makes it."""


class RieError(Exception):
    """The emulator did not start or did not answer."""


# --- the build output ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltFunction:
    """One function of the build output, with what Lambda would run it with."""

    logical_id: str
    handler: str
    runtime: str
    architecture: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]  # each layer's content, the directory holding python/
    timeout: int
    memory: int
    variables: Mapping[str, str] = field(default_factory=dict)  # declared, parameters resolved

    @property
    def python_path(self) -> list[str]:
        """Lambda's order: /var/task, then each layer's site-packages and python directory."""
        paths = [self.code_dir]
        for layer in self.layer_dirs:
            paths += [layer / "python" / "lib" / self.runtime / "site-packages", layer / "python"]
        return [str(path) for path in paths if path.is_dir()]


def _read_template(path: Path) -> dict[str, Any]:
    """The template as data; short-form tags (``!Ref``) read as their long form (``Ref``)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            return {name: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {name: loader.construct_sequence(node, deep=True)}
        return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]

    Loader.add_multi_constructor("!", intrinsic)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    except OSError as exc:
        raise RieSetupError(f"cannot read {path}: {exc.strerror}; run `make template` (sam build)") from None
    except yaml.YAMLError as exc:
        raise RieSetupError(f"{path} is not a readable template: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise RieSetupError(f"{path} has no Resources; run `make template` (sam build)")
    return document


@dataclass(frozen=True)
class BuildOutput:
    """``sam build``'s output directory: the built template and one directory per resource."""

    directory: Path
    template: Mapping[str, Any]

    @classmethod
    def load(cls, directory: Path = DEFAULT_BUILD_DIR) -> BuildOutput:
        template = directory / "template.yaml"
        if not template.is_file():
            raise RieSetupError(f"no sam build output in {directory} ({template} is missing): run `make template`")
        return cls(directory, _read_template(template))

    @property
    def resources(self) -> Mapping[str, Any]:
        resources: Mapping[str, Any] = self.template["Resources"]
        return resources

    def function_ids(self) -> list[str]:
        """Every function of the template that runs code from the build (not inline or image)."""
        return [
            name
            for name, resource in self.resources.items()
            if isinstance(resource, dict)
            and resource.get("Type") == "AWS::Serverless::Function"
            and isinstance((resource.get("Properties") or {}).get("CodeUri"), str)
        ]

    def function_for_handler(self, handler: str) -> str:
        """The one function whose Handler is ``handler`` (e.g. authorizers.handlers.jwt.handler)."""
        matches = [name for name in self.function_ids() if self._properties(name).get("Handler") == handler]
        if len(matches) != 1:
            found = "no function" if not matches else f"several functions ({', '.join(matches)})"
            raise RieSetupError(f"the template has {found} with Handler {handler}; pick one with --function")
        return matches[0]

    def function(self, logical_id: str) -> BuiltFunction:
        if logical_id not in self.function_ids():
            known = ", ".join(self.function_ids()) or "none"
            raise RieSetupError(f"the built template has no function {logical_id!r} (functions: {known})")
        properties = self._properties(logical_id)
        runtime = str(properties.get("Runtime", ""))
        if not runtime.startswith("python"):
            raise RieSetupError(f"{logical_id}: runtime {runtime or '(none)'} is not a Python runtime")
        architectures = properties.get("Architectures") or ["x86_64"]
        code_dir = self.directory / str(properties["CodeUri"])
        if not code_dir.is_dir():
            raise RieSetupError(f"{logical_id}: {code_dir} is missing; run `make template` (sam build)")
        return BuiltFunction(
            logical_id=logical_id,
            handler=str(properties.get("Handler", "")),
            runtime=runtime,
            architecture=str(architectures[0]),
            code_dir=code_dir.resolve(),
            layer_dirs=tuple(self._layer_dir(logical_id, layer) for layer in properties.get("Layers") or []),
            timeout=int(properties.get("Timeout", 3)),
            memory=int(properties.get("MemorySize", 128)),
            variables=self._variables(properties),
        )

    def _properties(self, logical_id: str) -> dict[str, Any]:
        """The function's properties over the template's Globals.Function, as SAM merges them."""
        merged = dict((self.template.get("Globals") or {}).get("Function") or {})
        own = self.resources[logical_id].get("Properties") or {}
        for key, value in own.items():
            if key == "Layers":
                merged[key] = list(merged.get(key) or []) + list(value or [])
            elif key == "Environment":
                variables = {**((merged.get(key) or {}).get("Variables") or {}), **(value.get("Variables") or {})}
                merged[key] = {"Variables": variables}
            else:
                merged[key] = value
        return merged

    def _layer_dir(self, logical_id: str, layer: object) -> Path:
        name = layer.get("Ref") if isinstance(layer, dict) else None
        resource = self.resources.get(name) if isinstance(name, str) else None
        content = ((resource or {}).get("Properties") or {}).get("ContentUri")
        if not isinstance(content, str) or not (self.directory / content).is_dir():
            raise RieSetupError(f"{logical_id}: layer {layer!r} is not part of the build, so it cannot run locally")
        return (self.directory / content).resolve()

    def _variables(self, properties: Mapping[str, Any]) -> dict[str, str]:
        declared = (properties.get("Environment") or {}).get("Variables") or {}
        intrinsics = _Intrinsics(self.template, default_region())
        return {str(name): intrinsics.text(value) for name, value in declared.items()}


class _Unresolved(Exception):
    pass


class _Intrinsics:
    """The intrinsic functions sam local resolves in environment values, over parameter defaults.

    Anything else (``Fn::GetAtt``, ``Fn::ImportValue``, a parameter without a default) leaves
    the value blank, as sam local does.
    """

    def __init__(self, template: Mapping[str, Any], region: str) -> None:
        self._parameters: Mapping[str, Any] = template.get("Parameters") or {}
        self._conditions: Mapping[str, Any] = template.get("Conditions") or {}
        self._pseudo = {"AWS::Region": region, "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
        self._evaluating: set[str] = set()

    def text(self, node: object) -> str:
        try:
            value = self.value(node)
        except (_Unresolved, TypeError, ValueError, IndexError):
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None or isinstance(value, (dict, list)) else str(value)

    def value(self, node: object) -> object:
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            raise _Unresolved
        ((name, args),) = node.items()
        if name == "Ref":
            return self._ref(str(args))
        if name == "Condition":
            return self.condition(str(args))
        if name == "Fn::If":
            condition, when_true, when_false = args
            return self.value(when_true if self.condition(str(condition)) else when_false)
        if name == "Fn::Equals":
            left, right = (str(self.value(item)) for item in args)
            return left == right
        if name == "Fn::Not":
            return not self._truth(args[0])
        if name in ("Fn::And", "Fn::Or"):
            truths = [self._truth(item) for item in args]
            return all(truths) if name == "Fn::And" else any(truths)
        if name == "Fn::Join":
            separator, items = args
            return str(separator).join(str(item) for item in self._list(items))
        if name == "Fn::Split":
            separator, text = args
            return str(self.value(text)).split(str(separator))
        if name == "Fn::Select":
            index, items = args
            return self._list(items)[int(str(self.value(index)))]
        if name == "Fn::Sub" and isinstance(args, str):
            return re.sub(r"\$\{([^}!]+)\}", lambda match: str(self._ref(match.group(1))), args)
        raise _Unresolved

    def condition(self, name: str) -> bool:
        if name not in self._conditions or name in self._evaluating:
            raise _Unresolved
        self._evaluating.add(name)
        try:
            return self._truth(self._conditions[name])
        finally:
            self._evaluating.discard(name)

    def _truth(self, node: object) -> bool:
        value = self.value(node)
        if not isinstance(value, bool):
            raise _Unresolved
        return value

    def _list(self, node: object) -> list[object]:
        value = self.value(node)
        if not isinstance(value, list):
            raise _Unresolved
        return value

    def _ref(self, name: str) -> object:
        if name in self._pseudo:
            return self._pseudo[name]
        parameter = self._parameters.get(name)
        if not isinstance(parameter, dict) or "Default" not in parameter:
            raise _Unresolved
        return parameter["Default"]


# --- the environment -----------------------------------------------------------------------------


def function_environment(
    function: BuiltFunction,
    overrides: Mapping[str, str],
    caller: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """The function's environment, and the override names ignored because the template lacks them.

    ``caller`` (default ``os.environ``) gives only the region and AWS credentials.
    """
    caller = os.environ if caller is None else caller
    region = default_region(caller)
    environ = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "PYTHONPATH": os.pathsep.join(function.python_path),
        # The deployed package is read-only: no bytecode is written next to it (nor into build/).
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # The AWS SDK reads no developer profile and never asks instance metadata (off this machine).
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    environ.update({name: caller[name] for name in CREDENTIAL_VARIABLES if caller.get(name)})
    environ.update(function.variables)
    environ.update({name: value for name, value in overrides.items() if name in function.variables})
    return environ, sorted(name for name in overrides if name not in function.variables)


def default_region(caller: Mapping[str, str] | None = None) -> str:
    """The caller's region, as sam local takes the session's; us-east-1 as sam's default."""
    caller = os.environ if caller is None else caller
    return caller.get("AWS_REGION") or caller.get("AWS_DEFAULT_REGION") or "us-east-1"


# --- the tools -----------------------------------------------------------------------------------


def host_architecture(machine: str | None = None) -> str:
    machine = (machine or platform.machine()).lower()
    if machine not in _ARCHITECTURES:
        raise RieSetupError(f"the Lambda emulator has no build for this machine ({machine})")
    return _ARCHITECTURES[machine]


def find_emulator(
    explicit: str | None = None, environ: Mapping[str, str] | None = None, sam_tools: Path = SAM_TOOLS
) -> Path:
    """``explicit``, else ``$AUTHORIZERS_RIE_BINARY``, else the one inside .tools/sam's aws-sam-cli."""
    environ = os.environ if environ is None else environ
    given = explicit or environ.get(RIE_BINARY_ENV)
    if given:
        path = Path(given)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise RieSetupError(f"the emulator {path} is not an executable file")
        return path
    name = f"aws-lambda-rie-{host_architecture()}"
    found = sorted(sam_tools.glob(f"lib/python3*/site-packages/samcli/local/rapid/{name}"))
    if not found:
        raise RieSetupError(
            f"no {name} in {sam_tools}: run `make template` (aws-sam-cli ships the emulator), "
            f"or give --rie-binary / ${RIE_BINARY_ENV}"
        )
    return found[-1]


def find_python(
    explicit: str | None = None, environ: Mapping[str, str] | None = None, rie_tools: Path = RIE_TOOLS
) -> Path:
    """``explicit``, else ``$AUTHORIZERS_RIE_PYTHON``, else .tools/rie's Python."""
    environ = os.environ if environ is None else environ
    given = explicit or environ.get(RIE_PYTHON_ENV)
    path = Path(given) if given else rie_tools / "bin" / "python"
    if not path.exists():
        hint = "" if given else ": run `make rie-tools`"
        raise RieSetupError(f"no Python with awslambdaric at {path}{hint}")
    return path


def check_python(python: Path, runtime: str) -> None:
    """Refuse a Python that cannot import awslambdaric, or is not the function's runtime."""
    probe = "import sys, awslambdaric; print('python%d.%d' % sys.version_info[:2])"
    try:
        # Never the pyenv shim: it may hang; the timeout keeps this from waiting forever.
        result = subprocess.run(  # noqa: S603 - a fixed argument list
            [str(python), "-c", probe],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": "/usr/bin:/bin"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RieSetupError(f"cannot run {python}: {exc}; run `make rie-tools`") from None
    if result.returncode != 0:
        raise RieSetupError(f"{python} cannot import awslambdaric: run `make rie-tools`")
    version = result.stdout.strip()
    if version != runtime:
        raise RieSetupError(f"the function's runtime is {runtime}, but {python} is {version}")


def check_architecture(function: BuiltFunction) -> None:
    """The layer's native wheels (cryptography, lxml, xmlsec) only load on their architecture."""
    if function.architecture != host_architecture():
        raise RieSetupError(
            f"{function.logical_id} is built for {function.architecture}; this machine is {host_architecture()}"
        )


# --- the emulator --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    status: int  # the emulator's HTTP status: 200, or 502 when the function could not start
    body: bytes
    seconds: float  # the round trip, cold start included on the first invocation

    @property
    def payload(self) -> object:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


class Emulator:
    """The emulator running one function; a context manager that always stops it.

    The function starts (its init phase, the cold start) on the first invocation, as on Lambda.
    ``logs()`` is the emulator's and the function's output, complete once the block has left.
    """

    def __init__(
        self,
        function: BuiltFunction,
        python: Path,
        binary: Path,
        environ: Mapping[str, str],
        startup_timeout: float = 10.0,
    ) -> None:
        self.function = function
        # Absolute, since the emulator runs in the code directory; not resolved: a venv's python
        # finds its packages by the path it is started from.
        self._binary = binary.absolute()
        self._runtime = [str(python.absolute()), "-m", "awslambdaric", function.handler]
        self._environ = dict(environ)
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self.port = 0
        self.process_id = 0  # the emulator's, which leads the process group of the function's runtime

    def __enter__(self) -> Emulator:
        for _attempt in range(3):  # a free port can be taken between probe and bind: retry on exit
            if self._start():
                return self
            if self._process is not None and self._process.poll() is None:
                break  # running, but not listening in time: a retry would not help
        self.stop()
        output = self.logs().strip() or "(no output)"
        raise RieError(f"the emulator did not start (waited up to {self._startup_timeout:g} s); its output:\n{output}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self) -> bool:
        self.stop()
        self.port, api_port = _free_port(), _free_port()
        command = [
            str(self._binary),
            "--runtime-interface-emulator-address",
            f"{LOOPBACK}:{self.port}",
            "--runtime-api-address",
            f"{LOOPBACK}:{api_port}",
            *self._runtime,
        ]
        try:
            self._process = subprocess.Popen(  # noqa: S603 - a fixed argument list
                command,
                cwd=self.function.code_dir,  # Lambda's working directory is /var/task
                env=self._environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends the runtime with it
            )
        except OSError as exc:
            raise RieError(f"cannot start the emulator {self._binary}: {exc.strerror}") from None
        self.process_id = self._process.pid
        self._reader = threading.Thread(target=self._read, args=(self._process,), name="rie-logs", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), timeout=0.5):
                return True
            time.sleep(0.02)
        return False

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            with self._lock:
                self._lines.append(raw.decode("utf-8", "replace"))

    def invoke(self, event: object) -> Invocation:
        """POST the event to the invoke API, as ``sam local invoke`` does."""
        if self._process is None or self._process.poll() is not None:
            raise RieError("the emulator is not running")
        body = json.dumps(event).encode("utf-8")
        # The first invocation waits for the init phase too.
        timeout = INIT_LIMIT_SECONDS + self.function.timeout + 5
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=timeout)
        started = time.perf_counter()
        try:
            connection.request("POST", INVOKE_PATH, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise RieError(f"the emulator did not answer: {exc}") from None
        finally:
            connection.close()
        return Invocation(response.status, answer, time.perf_counter() - started)

    def stop(self) -> None:
        """End the emulator and the runtime it started (the whole process group), then collect the logs."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything left in the group
        process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()

    def logs(self) -> str:
        with self._lock:
            return "".join(self._lines)


# --- the outcome ---------------------------------------------------------------------------------


def outcome(event: Mapping[str, Any], invocation: Invocation) -> tuple[str, dict[str, Any] | None, str]:
    """Name the outcome as API Gateway would see it: (decision, response, detail).

    "allow" or "deny" with the response (a policy that does not allow the requested route is a
    deny, as for the in-process ``decide``), "unauthorized" (the function failed with the
    message ``Unauthorized``: 401), or "error" (any other failure, or no start: 500).
    """
    from authorizers.handlers.runtime import response_decision
    from policies.errors import PolicyError

    payload = invocation.payload
    if invocation.status != 200 or not isinstance(payload, dict):
        return "error", None, _error_detail(payload, invocation)
    # The emulator answers 200 with the error document when the handler raised.
    if "errorMessage" in payload and "errorType" in payload:
        if payload["errorMessage"] == UNAUTHORIZED:
            return "unauthorized", None, UNAUTHORIZED
        return "error", None, _error_detail(payload, invocation)
    try:
        return response_decision(event, payload), payload, ""
    except PolicyError as exc:
        return "error", None, f"the event names no method ARN: {exc}"


def _error_detail(payload: object, invocation: Invocation) -> str:
    if isinstance(payload, dict) and "errorType" in payload:
        return f"{payload['errorType']}: {payload.get('errorMessage', '')}"
    return f"the emulator answered HTTP {invocation.status}"


def init_durations_ms(logs: str) -> list[float]:
    """The init phases (cold starts) the emulator reported, in milliseconds."""
    return [float(value) for value in _INIT_REPORT.findall(logs)]


def display_logs(logs: str) -> str:
    """The function's output and the emulator's warnings, without its routine lines."""
    routine = ("[INFO] (rapid)", "Reset initiated: SandboxTerminated")
    return "".join(line for line in logs.splitlines(keepends=True) if not any(text in line for text in routine))


@contextlib.contextmanager
def running(
    function: BuiltFunction, environ: Mapping[str, str], python: Path | None = None, binary: Path | None = None
) -> Iterator[Emulator]:
    """An emulator for ``function`` with the default tools, checked before it starts."""
    python = python or find_python()
    binary = binary or find_emulator()
    check_architecture(function)
    check_python(python, function.runtime)
    with Emulator(function, python, binary, environ) as emulator:
        yield emulator


__all__ = [
    "BuildOutput",
    "BuiltFunction",
    "Emulator",
    "Invocation",
    "RieError",
    "RieSetupError",
    "find_emulator",
    "find_python",
    "function_environment",
    "outcome",
    "running",
]
