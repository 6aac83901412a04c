"""Check a built layer zip the way Lambda will use it.

Usage: ``python layer/canary.py dist/apigw-authorizers-layer-py3.12-x86_64-full.zip [...]``

For every zip, without running anything from it:

* every native library is an ELF file for the zip's architecture (read from the ELF header),
  its extension-module tag names the layer's Python, and the glibc symbol versions it needs
  exist on that Lambda runtime (python3.11 runs on Amazon Linux 2, 3.12+ on Amazon Linux 2023);
* bytecode, if any, belongs to the layer's Python only;
* the slim variant carries none of the SAML packages, the full one all of them.

When the zip's architecture is this machine's and a real interpreter of the layer's Python
exists, the zip is unpacked and that interpreter runs with ``-I -S`` and ``sys.path`` holding
the layer and the standard library only (nothing leaks in from a virtual environment):

* every module in ``authorizers/handlers/`` is imported, each in a fresh process (its cold
  import time is reported); in the slim layer the SAML handler must fail, and the error a
  user would see is reported;
* the JWT handler is built from a static configuration (inline JWKS) and answers one signed
  and one forged token;
* full layer: the libxml2 versions lxml and xmlsec run with are reported and must agree, and
  an XML signature made and checked by python3-saml proves xmlsec and lxml work together.

This module uses the standard library only: it also runs, as the probe, inside the layer.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

ARCHITECTURES = ("x86_64", "arm64")  # Lambda's names
VARIANTS = ("full", "slim")
PYTHONS = ("3.11", "3.12", "3.13")
ELF_MACHINE_OF_ARCH = {"x86_64": 62, "arm64": 183}  # EM_X86_64, EM_AARCH64
ELF_MACHINE_NAMES = {3: "i386", 8: "mips", 20: "ppc", 21: "ppc64", 22: "s390", 40: "arm", 62: "x86_64", 183: "aarch64"}
TRIPLET_OF_ARCH = {"x86_64": "x86_64", "arm64": "aarch64"}  # in extension module names
HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
# python3.11 runs on Amazon Linux 2 (glibc 2.26); python3.12 and 3.13 on Amazon Linux 2023 (glibc 2.34).
RUNTIME_GLIBC = {"3.11": (2, 26), "3.12": (2, 34), "3.13": (2, 34)}
SAML_TOP_LEVEL = ("onelogin", "lxml", "xmlsec", "isodate")  # what the slim layer leaves out
ZIP_NAME = re.compile(
    r"apigw-authorizers-layer-py(?P<python>3\.\d+)-(?P<arch>x86_64|arm64)-(?P<variant>full|slim)\.zip$"
)
INTERPRETER_TIMEOUT = 5  # seconds: a python that cannot even start in this time does not count
PROBE_TIMEOUT = 120

SHT_GNU_VERNEED = 0x6FFFFFFE


def layer_zip_name(python: str, arch: str, variant: str) -> str:
    return f"apigw-authorizers-layer-py{python}-{arch}-{variant}.zip"


# --- ELF ------------------------------------------------------------------------------


def elf_machine(header: bytes) -> int | None:
    """The ``e_machine`` of an ELF header, or None when the bytes are not ELF."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    byte_order = {1: "little", 2: "big"}.get(header[5])
    if byte_order is None:
        raise ValueError(f"ELF header with an unknown data encoding {header[5]}")
    return int.from_bytes(header[18:20], byte_order)  # type: ignore[arg-type]


def machine_name(machine: int) -> str:
    return ELF_MACHINE_NAMES.get(machine, f"e_machine {machine}")


def glibc_needed(image: bytes) -> tuple[int, int] | None:
    """The newest ``GLIBC_x.y`` symbol version a 64-bit little-endian ELF file requires.

    Read from its version-needs section (what the dynamic loader checks), not from strings.
    """
    if elf_machine(image[:20]) is None or image[4] != 2 or image[5] != 1:
        return None
    section_offset = int.from_bytes(image[0x28:0x30], "little")
    entry_size = int.from_bytes(image[0x3A:0x3C], "little")
    count = int.from_bytes(image[0x3C:0x3E], "little")
    sections = [image[section_offset + i * entry_size : section_offset + (i + 1) * entry_size] for i in range(count)]
    newest: tuple[int, int] | None = None
    for section in sections:
        if int.from_bytes(section[4:8], "little") != SHT_GNU_VERNEED:
            continue
        offset, link, entries = (int.from_bytes(section[a:b], "little") for a, b in ((24, 32), (40, 44), (44, 48)))
        strings_at = int.from_bytes(sections[link][24:32], "little")
        for name in _version_need_names(image, offset, entries):
            text = image[strings_at + name : image.index(b"\0", strings_at + name)].decode("ascii", "replace")
            match = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", text)
            if match:
                version = (int(match[1]), int(match[2]))
                newest = version if newest is None else max(newest, version)
    return newest


def _version_need_names(image: bytes, offset: int, entries: int) -> Iterator[int]:
    """String-table offsets of every needed version (Elf64_Verneed and Elf64_Vernaux chains)."""
    for _ in range(entries):
        aux_count = int.from_bytes(image[offset + 2 : offset + 4], "little")
        aux = offset + int.from_bytes(image[offset + 8 : offset + 12], "little")
        for _ in range(aux_count):
            yield int.from_bytes(image[aux + 8 : aux + 12], "little")
            aux += int.from_bytes(image[aux + 12 : aux + 16], "little")
        step = int.from_bytes(image[offset + 12 : offset + 16], "little")
        if step == 0:
            return
        offset += step


# --- finding the target interpreter -------------------------------------------------------


def find_python(version: str) -> str | None:
    """A real CPython ``version`` interpreter: pyenv's versions first, never pyenv's shim."""
    for candidate in _python_candidates(version):
        if _runs_as(candidate, version):
            return candidate
    return None


def _python_candidates(version: str) -> Iterator[str]:
    root = _pyenv_root()
    if root is not None:
        installed = (root / "versions").glob(f"{version}*/bin/python{version}")
        yield from sorted((str(path) for path in installed), key=_natural, reverse=True)
    on_path = shutil.which(f"python{version}")
    if on_path and "shims" not in Path(on_path).parts:  # the shim hangs on these machines
        yield on_path
    yield sys.executable  # e.g. a virtual environment made with that version


def _pyenv_root() -> Path | None:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            answer = subprocess.run(  # noqa: S603
                [pyenv, "root"], capture_output=True, text=True, timeout=INTERPRETER_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            answer = None
        if answer is not None and answer.returncode == 0 and answer.stdout.strip():
            return Path(answer.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def _natural(text: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _runs_as(interpreter: str, version: str) -> bool:
    probe = "import sys; print('%d.%d' % sys.version_info[:2], sys.implementation.name)"
    try:
        answer = subprocess.run(  # noqa: S603
            [interpreter, "-I", "-S", "-c", probe],
            capture_output=True,
            text=True,
            timeout=INTERPRETER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return answer.returncode == 0 and answer.stdout.split() == [version, "cpython"]


# --- checks on the zip ----------------------------------------------------------------------


@dataclass
class Report:
    name: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def note(self, line: str) -> None:
        self.lines.append(line)

    def fail(self, problem: str) -> None:
        self.problems.append(problem)

    def render(self) -> str:
        verdict = "FAILED" if self.problems else "ok"
        body = [f"  {line}" for line in self.lines] + [f"  PROBLEM: {problem}" for problem in self.problems]
        return "\n".join([f"canary {self.name}: {verdict}", *body])


def check_zip(path: Path, python: str, arch: str, variant: str) -> Report:
    report = Report(path.name)
    with zipfile.ZipFile(path) as archive:
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
        outside = [name for name in names if not name.startswith("python/")]
        if outside:
            report.fail(f"{len(outside)} files outside python/ (only /opt/python is on sys.path): {outside[:3]}")
        _check_native(archive, names, python, arch, report)
        _check_bytecode(names, python, report, lambda name: archive.read(name)[:4])
    _check_variant_content(names, variant, report)
    host = HOST_ARCH.get(platform.machine().lower())
    if host != arch:
        report.note(f"imports not run: {arch} code cannot run on this {platform.machine()} machine (ELF checks only)")
        return report
    interpreter = find_python(python)
    if interpreter is None:
        report.note(f"imports not run: no Python {python} interpreter found (pyenv versions or python{python} on PATH)")
        return report
    with tempfile.TemporaryDirectory(prefix="layer-canary-") as scratch:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(scratch)  # our own zip, paths checked above to stay under python/
        _run_probes(interpreter, Path(scratch) / "python", variant, report)
    return report


def _check_native(archive: zipfile.ZipFile, names: Sequence[str], python: str, arch: str, report: Report) -> None:
    wanted = ELF_MACHINE_OF_ARCH[arch]
    tag = re.compile(r"\.cpython-(\d)(\d+)-([a-z0-9_]+)-linux-gnu\.so$")
    seen = 0
    newest: tuple[int, int] = (0, 0)
    for name in names:
        with archive.open(name) as stream:
            header = stream.read(64)
        machine = elf_machine(header)
        if machine is None:
            if name.endswith(".so") or ".so." in PurePosixPath(name).name:
                report.fail(f"{name}: named like a native library but not an ELF file")
            continue
        seen += 1
        if machine != wanted:
            report.fail(f"{name}: {machine_name(machine)} ELF in the {arch} layer")
        found = tag.search(name)
        if found and (f"{found[1]}.{found[2]}" != python or found[3] != TRIPLET_OF_ARCH[arch]):
            report.fail(f"{name}: built for another interpreter or architecture than Python {python} {arch}")
        needed = glibc_needed(archive.read(name))
        if needed is not None:
            newest = max(newest, needed)
            if needed > RUNTIME_GLIBC[python]:
                report.fail(f"{name}: needs glibc {_dotted(needed)}, the python{python} runtime has {_runtime(python)}")
    if seen == 0:
        report.fail("no native library at all: cryptography's is always there, so the wheels are wrong")
        return
    report.note(
        f"{seen} native libraries, every one {machine_name(wanted)} ELF; newest glibc needed "
        f"{_dotted(newest)} (python{python} runtime: {_runtime(python)})"
    )


def _dotted(version: tuple[int, int]) -> str:
    return ".".join(map(str, version))


def _runtime(python: str) -> str:
    return f"glibc {_dotted(RUNTIME_GLIBC[python])}"


def _check_bytecode(names: Sequence[str], python: str, report: Report, magic_of: Callable[[str], bytes]) -> None:
    compiled = [name for name in names if name.endswith((".pyc", ".pyo"))]
    own_tag = f".cpython-{python.replace('.', '')}.pyc"
    present = set(names)
    # Sourceless bytecode (the slim layer's dependencies) sits where its .py would be, untagged:
    # it must carry the same magic number as the tagged files, so the same interpreter's.
    sourceless = [n for n in compiled if "/__pycache__/" not in n and n[:-1] not in present]
    foreign = [n for n in compiled if n not in sourceless and not (n.endswith(own_tag) and "/__pycache__/" in n)]
    if foreign:
        report.fail(f"{len(foreign)} bytecode files of another interpreter, e.g. {foreign[0]}")
    if sourceless:
        magics = {magic_of(name) for name in compiled if name not in sourceless}
        odd = [name for name in sourceless if magic_of(name) not in magics]
        if not magics or odd:
            report.fail(f"sourceless bytecode of another interpreter, e.g. {(odd or sourceless)[0]}")
    sources = sum(name.endswith(".py") for name in names)
    if compiled:
        note = f"bytecode: {len(compiled)} files for {sources} sources, all {own_tag[1:-4]}"
        report.note(note + (f" ({len(sourceless)} without their source)" if sourceless else ""))
    else:
        report.note(f"bytecode: none ({sources} sources are compiled at every cold start)")


def _check_variant_content(names: Sequence[str], variant: str, report: Report) -> None:
    top_level = {PurePosixPath(name).parts[1].split(".")[0] for name in names if name.count("/") >= 1}
    present = sorted(package for package in SAML_TOP_LEVEL if package in top_level)
    if variant == "slim" and present:
        report.fail(f"the slim layer carries SAML packages: {', '.join(present)}")
    if variant == "full" and len(present) != len(SAML_TOP_LEVEL):
        report.fail(f"the full layer lacks SAML packages: {sorted(set(SAML_TOP_LEVEL) - set(present))}")
    for package in ("authorizers", "policies"):
        if package not in top_level:
            report.fail(f"the layer lacks the {package} package")


# --- running the layer --------------------------------------------------------------------


def _run_probes(interpreter: str, layer: Path, variant: str, report: Report) -> None:
    handlers = sorted(
        path.stem for path in (layer / "authorizers" / "handlers").glob("*.py") if path.name != "__init__.py"
    )
    report.note(f"interpreter: {interpreter} -I -S -B, sys.path = [layer/python, standard library]")
    timings = []
    for module in handlers:
        result = _probe(interpreter, layer, ["import", f"authorizers.handlers.{module}"], report)
        if result is None:
            continue
        if result["error"] is None:
            timings.append(f"{module} {result['milliseconds']:.0f}")
            if variant == "slim" and module == "saml":
                _check_slim_saml_start(interpreter, layer, report)
        elif variant == "slim" and module == "saml" and _names_saml_libraries(result["error"]):
            report.note(f"slim: authorizers.handlers.saml fails to import, as it must: {result['error']}")
            if result["error"].startswith("ModuleNotFoundError"):
                report.note("slim: that is a bare ModuleNotFoundError: users get no hint to use the full layer")
        else:
            report.fail(f"authorizers.handlers.{module} does not import: {result['error']}")
        for leak in result["leaks"]:
            report.fail(leak)
    report.note(f"cold import ms of authorizers.handlers.* (fresh process each): {', '.join(timings) or 'none'}")
    checks = _probe(interpreter, layer, ["checks", variant], report)
    if checks is None:
        return
    for line in checks["notes"]:
        report.note(line)
    for problem in checks["problems"]:
        report.fail(problem)
    if checks.get("jwt_fixture"):
        _check_jwt_cold_start(interpreter, layer, checks["jwt_fixture"], report)


def _check_jwt_cold_start(interpreter: str, layer: Path, fixture: dict[str, Any], report: Report) -> None:
    """A whole JWT cold start in a fresh process: import, handler from inline JWKS, first request."""
    with tempfile.TemporaryDirectory(prefix="layer-fixture-") as scratch:
        path = Path(scratch) / "fixture.json"
        path.write_text(json.dumps(fixture))
        result = _probe(interpreter, layer, ["jwt-cold", str(path)], report)
    if result is None:
        return
    if result["error"] is not None or result["decision"] != "allow":
        report.fail(f"jwt cold start: {result['error'] or result['decision']}")
        return
    report.note(f"jwt cold start (import, handler from inline JWKS, first request): {result['milliseconds']:.0f} ms")


def _names_saml_libraries(error: str) -> bool:
    """The slim layer's SAML handler must fail for the missing SAML libraries, not another reason."""
    return any(re.search(rf"\b{name}\b", error) for name in (*SAML_TOP_LEVEL, "python3-saml"))


def _check_slim_saml_start(interpreter: str, layer: Path, report: Report) -> None:
    result = _probe(interpreter, layer, ["saml-start"], report)
    if result is None:
        return
    if result["error"] is None:
        report.fail("slim: the SAML handler starts although the SAML libraries are absent")
    elif not _names_saml_libraries(result["error"]):
        report.fail(f"slim: the SAML handler fails at cold start for another reason: {result['error']}")
    else:
        report.note(f"slim: the SAML handler imports but fails at cold start, as it must: {result['error']}")


def _probe(interpreter: str, layer: Path, arguments: list[str], report: Report) -> dict[str, Any] | None:
    with tempfile.TemporaryDirectory(prefix="layer-probe-") as scratch:
        out = Path(scratch) / "result.json"
        # Only what the interpreter needs to start: no PYTHON* variables, no AWS credentials.
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": "UTC"}
        # -B: /opt is read-only on Lambda, so nothing compiled during one probe may help the next.
        command = [interpreter, "-I", "-S", "-B", str(Path(__file__).resolve()), "--probe", str(layer), str(out)]
        command += arguments
        try:
            finished = subprocess.run(  # noqa: S603
                command, capture_output=True, text=True, timeout=PROBE_TIMEOUT, env=environment, check=False
            )
        except subprocess.TimeoutExpired:
            report.fail(f"probe {' '.join(arguments)} timed out after {PROBE_TIMEOUT} s")
            return None
        if finished.returncode != 0 or not out.exists():
            tail = (finished.stderr or finished.stdout).strip().splitlines()[-3:]
            report.fail(f"probe {' '.join(arguments)} crashed (exit {finished.returncode}): {' | '.join(tail)}")
            return None
        result: dict[str, Any] = json.loads(out.read_text())
        return result


# --- the probe: runs inside the target interpreter, on the unpacked layer only -------------


def probe(layer: str, out: str, action: str, arguments: Sequence[str]) -> None:
    sys.path.insert(0, layer)
    result: dict[str, Any]
    if action == "import":
        result = _probe_import(arguments[0])
    elif action == "saml-start":
        result = _probe_saml_start()
    elif action == "jwt-cold":
        result = _probe_jwt_cold_start(arguments[0])
    else:
        result = _probe_checks(arguments[0])
    result["leaks"] = _foreign_modules(layer)
    Path(out).write_text(json.dumps(result))


def _probe_import(module: str) -> dict[str, Any]:
    import importlib

    started = time.perf_counter()
    try:
        importlib.import_module(module)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "milliseconds": None}
    return {"error": None, "milliseconds": (time.perf_counter() - started) * 1000}


def _probe_jwt_cold_start(fixture_path: str) -> dict[str, Any]:
    fixture = json.loads(Path(fixture_path).read_text())
    started = time.perf_counter()
    try:
        from authorizers.handlers.jwt import create_handler
        from authorizers.handlers.runtime import decide

        decision = decide(create_handler(fixture["environ"]), fixture["event"])[0]
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"error": None, "decision": decision, "milliseconds": (time.perf_counter() - started) * 1000}


def _probe_saml_start() -> dict[str, Any]:
    from authorizers.handlers.saml import create_handler

    _key, certificate = _self_signed()
    environ = {
        "SAML_IDP_ENTITY_ID": "https://idp.canary.invalid",
        "SAML_IDP_CERT": certificate,
        "SAML_SP_ENTITY_ID": "https://sp.canary.invalid",
        "SAML_ACS_URL": "https://sp.canary.invalid/acs",
    }
    try:
        create_handler(environ)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"error": None}


def _probe_checks(variant: str) -> dict[str, Any]:
    notes: list[str] = []
    problems: list[str] = []
    fixture: dict[str, Any] = {}
    checks = [functools.partial(_check_jwt_handler, fixture=fixture), functools.partial(_check_pure_fallbacks)]
    if variant == "full":
        checks += [functools.partial(_check_libxml2), functools.partial(_check_xml_signature)]
    for check in checks:
        try:
            check(notes, problems)
        except Exception as exc:
            problems.append(f"{check.func.__name__[7:]}: {type(exc).__name__}: {exc}")
    return {"notes": notes, "problems": problems, "jwt_fixture": fixture}


def _check_jwt_handler(notes: list[str], problems: list[str], fixture: dict[str, Any]) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from authorizers.handlers.jwt import create_handler
    from authorizers.handlers.runtime import decide

    issuer, audience = "https://issuer.canary.invalid", "canary-api"
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True)
    public.update(kid="canary-1", use="sig", alg="RS256")
    environ = {"JWT_ISSUER": issuer, "JWT_AUDIENCE": audience, "JWT_JWKS": json.dumps({"keys": [public]})}
    handler = create_handler(environ)
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "sub": "canary", "iat": now, "exp": now + 300}
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    arn = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets"
    outcomes = {}
    for label, key in (("signed", signing_key), ("forged", forger)):
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "canary-1"})
        event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": arn}
        outcomes[label] = decide(handler, event)[0]
        if label == "signed":  # for a cold start in a fresh process (a throwaway key, 5 minutes)
            fixture.update(environ=environ, event=event)
    if outcomes == {"signed": "allow", "forged": "unauthorized"}:
        notes.append("jwt: handler built from inline JWKS; signed token allowed, forged token unauthorized")
    else:
        problems.append(f"jwt: expected signed allow and forged unauthorized, got {outcomes}")


def _check_pure_fallbacks(notes: list[str], problems: list[str]) -> None:
    """PyYAML and charset_normalizer without their stripped native accelerators still work."""
    import charset_normalizer
    import yaml

    parsed = yaml.safe_load("rules: [{allow: GET /pets}]")
    best = charset_normalizer.from_bytes("Grüße aus München, schöne Grüße".encode()).best()
    guessed = best.encoding if best is not None else None
    if parsed != {"rules": [{"allow": "GET /pets"}]} or guessed != "utf_8":
        problems.append(f"pure-Python fallbacks: yaml gave {parsed!r}, charset_normalizer guessed {guessed!r}")
    else:
        notes.append(f"pure-Python yaml (libyaml: {yaml.__with_libyaml__}) and charset_normalizer work")


def _check_libxml2(notes: list[str], problems: list[str]) -> None:
    import lxml.etree
    import xmlsec

    seen = {"lxml": ".".join(map(str, lxml.etree.LIBXML_VERSION))}
    if hasattr(xmlsec, "get_libxml_version"):
        seen["xmlsec"] = ".".join(map(str, xmlsec.get_libxml_version()))
    compiled = ".".join(map(str, lxml.etree.LIBXML_COMPILED_VERSION))
    notes.append(f"libxml2: lxml {seen['lxml']} (compiled {compiled}), xmlsec {seen.get('xmlsec', 'not reported')}")
    if len(set(seen.values())) != 1:
        problems.append(f"lxml and xmlsec run with different libxml2 builds: {seen}")


def _check_xml_signature(notes: list[str], problems: list[str]) -> None:
    from onelogin.saml2.utils import OneLogin_Saml2_Utils

    key, certificate = _self_signed()
    document = (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_canary" Version="2.0">'
        "<saml:Issuer>canary</saml:Issuer></samlp:Response>"
    )
    signed = OneLogin_Saml2_Utils.add_sign(document, key, certificate)
    tampered = signed.replace(b">canary<", b">forger<")
    valid = OneLogin_Saml2_Utils.validate_sign(signed, certificate, raise_exceptions=False)
    forged = OneLogin_Saml2_Utils.validate_sign(tampered, certificate, raise_exceptions=False)
    if valid is True and forged is False:
        notes.append("saml: python3-saml signed an XML document with xmlsec; signature valid, tampered copy refused")
    else:
        problems.append(f"saml: signature check broken (valid={valid}, tampered={forged})")


def _self_signed() -> tuple[str, str]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "layer canary")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def _foreign_modules(layer: str) -> list[str]:
    """Modules loaded from anywhere but the layer and the interpreter's standard library."""
    import sysconfig

    allowed = tuple(
        os.path.realpath(place)
        for place in (layer, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
    )
    leaks = []
    for name, module in sorted(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if origin and not os.path.realpath(origin).startswith(allowed) and os.path.realpath(origin) != __file__:
            leaks.append(f"{name} loaded from outside the layer: {origin}")
    return leaks


# --- command line ------------------------------------------------------------------------


def describe(path: Path) -> tuple[str, str, str]:
    """Python, architecture and variant from a layer zip's name."""
    match = ZIP_NAME.search(path.name)
    if match is None:
        raise ValueError(f"{path.name}: not a layer zip name like {layer_zip_name('3.12', 'x86_64', 'full')}")
    return match["python"], match["arch"], match["variant"]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["--probe"]:
        probe(arguments[1], arguments[2], arguments[3], arguments[4:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zips", nargs="+", type=Path, help="layer zips, named as layer/build.py names them")
    options = parser.parse_args(arguments)
    failed = 0
    for path in options.zips:
        python, arch, variant = describe(path)
        report = check_zip(path, python, arch, variant)
        print(report.render(), flush=True)
        failed += bool(report.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
