"""Build the Lambda layer zips: ``authorizers``, ``policies`` and the pinned dependencies.

Usage: ``python layer/build.py --python 3.12 --arch x86_64 --arch arm64 --variant full --variant slim --out dist``

* ``full`` installs ``layer/content/requirements.txt`` as it is (every validator); ``slim`` is
  derived from it by dropping the SAML group (python3-saml, isodate, lxml, xmlsec), so the pins
  have one source of truth. lxml and xmlsec must be pinned together, with ``==``.
* Wheels only, manylinux for the Lambda architecture and Python, never the host's bytecode.
* Tests, build-time sources, typing stubs, the Powertools utilities the handlers never import
  and the native libraries' symbol tables are stripped (see STRIPPED and PRUNED for why each
  is safe); dist-info metadata stays (importlib.metadata reads it).
* Bytecode is compiled by the target Python when a real interpreter of it exists, as
  unchecked-hash .pyc (valid whatever the timestamps in the zip); otherwise the layer ships
  without bytecode and says so. The slim layer then ships its dependencies as bytecode only
  (sourceless .pyc; our own packages keep their sources) to stay within its budget.
* Zips are deterministic (sorted entries, fixed timestamps and modes); their sizes are printed
  against the budgets, and a zip over its budget fails the build. Then layer/canary.py checks
  each zip (native architecture, imports with the target Python).
"""

from __future__ import annotations

import argparse
import email.parser
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make the layer package importable
    sys.path.insert(0, str(ROOT))

from layer.canary import (  # noqa: E402
    ARCHITECTURES,
    PYTHONS,
    TRIPLET_OF_ARCH,
    VARIANTS,
    check_zip,
    find_python,
    layer_zip_name,
)

REQUIREMENTS = ROOT / "layer" / "content" / "requirements.txt"
OWN_PACKAGES = ("authorizers", "policies")
SAML_GROUP = frozenset({"python3-saml", "isodate", "lxml", "xmlsec"})  # what the slim layer leaves out
NATIVE_PAIR = ("lxml", "xmlsec")  # both link libxml2 statically: one build each, so pinned together
BUDGET_MIB = {"full": 18.0, "slim": 6.0}
MIB = 1024 * 1024
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: the same bytes on every build
PIP_TIMEOUT = 900

# Files removed from every layer, by suffix, and why that is safe.
STRIPPED = {
    ".pyi": "typing stub: read by type checkers, never imported",
    ".pyx": "Cython source: compiled into the shipped extension already",
    ".pxd": "Cython declarations: for compiling against the package",
    ".pxi": "Cython include: for compiling against the package",
    ".h": "C header: for compiling against the package",
    ".c": "C source: compiled into the shipped extension already",
}
# Parts of packages the layer's code never reaches, by path or pattern under python/, and why.
PRUNED = {
    "bin": "console scripts whose first line names this machine's interpreter",
    "*.dist-info/RECORD": "pip's uninstall manifest, no longer true once stripped; METADATA stays",
    "lxml/includes": "C headers and Cython declarations for building against lxml",
    # cryptography's Rust extension loads only cffi's _cffi_backend extension (kept); the cffi
    # package and pycparser generate and compile C, which never happens on Lambda.
    "cffi": "cffi's C code generator and compiler driver; only _cffi_backend runs",
    "pycparser": "C parser for cffi's code generator",
    # Optional accelerators with pure-Python twins in the same package.
    "yaml/_yaml.*.so": "libyaml loader (yaml.CSafeLoader); the toolkit uses yaml.SafeLoader",
    "_yaml": "PyYAML's old import name for that libyaml loader",
    "charset_normalizer/*.so": "mypyc builds of md.py and cd.py, which are shipped",
    # The handlers use Powertools' Logger, Metrics and (usage keys) parameters only; what is
    # pruned is imported by none of those, and most of it needs packages the layer lacks.
    "aws_lambda_powertools/event_handler": "API routers (Powertools' largest part); the handlers are authorizers",
    "aws_lambda_powertools/utilities/auth_alpha": "alpha JWT helpers; the toolkit has its own validators",
    "aws_lambda_powertools/utilities/batch": "SQS/Kinesis batch processing",
    "aws_lambda_powertools/utilities/circuit_breaker": "circuit breaker for outgoing calls",
    "aws_lambda_powertools/utilities/data_classes": "event classes; the toolkit parses its own events",
    "aws_lambda_powertools/utilities/data_masking": "needs aws-encryption-sdk, not in the layer",
    "aws_lambda_powertools/utilities/feature_flags": "AppConfig feature flags",
    "aws_lambda_powertools/utilities/idempotency": "idempotent handlers with DynamoDB/Redis",
    "aws_lambda_powertools/utilities/kafka": "Kafka consumers (Avro/Protobuf)",
    "aws_lambda_powertools/utilities/metadata": "Lambda metadata endpoint client",
    "aws_lambda_powertools/utilities/parser": "needs pydantic, not in the layer",
    "aws_lambda_powertools/utilities/serialization.py": "base64/JSON helpers for the parser",
    "aws_lambda_powertools/utilities/streaming": "S3 object streaming",
    "aws_lambda_powertools/utilities/validation": "needs fastjsonschema, not in the layer",
}


class BuildError(Exception):
    """A reason not to ship the layer, worded for the person running the build."""


# --- requirements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    name: str
    specifier: str
    line: str

    @property
    def key(self) -> str:
        return canonical_name(self.name)

    @property
    def version(self) -> str | None:
        exact = re.fullmatch(r"==\s*([A-Za-z0-9.+!]+)", self.specifier)
        return exact[1] if exact and "*" not in self.specifier else None


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirements(text: str) -> list[Pin]:
    pins: dict[str, Pin] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)", line)
        if match is None:
            raise BuildError(f"requirements line {number}: {line!r} is not a requirement (name==version)")
        pin = Pin(match[1], match[2].strip(), line)
        if pin.key in pins:
            raise BuildError(f"requirements line {number}: {pin.name} is listed twice")
        pins[pin.key] = pin
    return list(pins.values())


def check_pins(pins: Sequence[Pin]) -> None:
    """Refuse requirements the layer cannot be reproduced from."""
    by_key = {pin.key: pin for pin in pins}
    pair = [by_key.get(name) for name in NATIVE_PAIR]
    if any(pair) and not all(pin is not None and pin.version for pin in pair):
        state = ", ".join(
            f"{name} {'not pinned' if pin is None else pin.line}" for name, pin in zip(NATIVE_PAIR, pair, strict=True)
        )
        raise BuildError(
            f"lxml and xmlsec must be pinned together with == (each links its own libxml2, "
            f"and they must be the same build): {state}"
        )
    loose = [pin.line for pin in pins if pin.version is None]
    if loose:
        raise BuildError(f"every layer requirement must be an exact pin (name==version), not: {', '.join(loose)}")


def variant_pins(pins: Sequence[Pin], variant: str) -> list[Pin]:
    if variant == "full":
        return list(pins)
    if variant == "slim":
        return [pin for pin in pins if pin.key not in SAML_GROUP]
    raise BuildError(f"unknown variant {variant!r}: choose from {', '.join(VARIANTS)}")


def render_requirements(pins: Sequence[Pin], variant: str) -> str:
    header = f"# {variant} layer: derived from layer/content/requirements.txt by layer/build.py\n"
    return header + "".join(f"{pin.line}\n" for pin in pins)


def check_installed(installed: dict[str, str], pins: Sequence[Pin]) -> list[str]:
    """What pip put in the layer must be exactly the pins: nothing missing, nothing unpinned."""
    wanted = {pin.key: pin.version for pin in pins}
    problems = [
        f"{name} {installed.get(name, 'missing')}, pinned {version}"
        for name, version in wanted.items()
        if installed.get(name) != version
    ]
    problems += [
        f"{name} {version} was installed but is not pinned in layer/content/requirements.txt"
        for name, version in sorted(installed.items())
        if name not in wanted
    ]
    return problems


def installed_distributions(site: Path) -> dict[str, str]:
    found = {}
    for metadata in site.glob("*.dist-info/METADATA"):
        headers = email.parser.Parser().parsestr(metadata.read_text(encoding="utf-8"), headersonly=True)
        found[canonical_name(headers["Name"])] = headers["Version"]
    return found


# --- what goes in, what comes out ---------------------------------------------------------------


def strip_reason(relative: PurePosixPath, cache_tag: str | None) -> str | None:
    """Why a file under python/ leaves the layer, or None to keep it.

    ``cache_tag`` is the target interpreter's (``cpython-312``): its bytecode stays, any other
    interpreter's goes; None removes all bytecode (nothing compiled for the target yet).
    """
    text = relative.as_posix()
    for pattern, reason in PRUNED.items():
        if text.startswith(pattern + "/") or fnmatch.fnmatchcase(text, pattern):
            return reason
    if relative.suffix in (".pyc", ".pyo"):
        own = cache_tag is not None and relative.parent.name == "__pycache__" and text.endswith(f".{cache_tag}.pyc")
        return None if own else "bytecode of another interpreter"
    if relative.suffix in STRIPPED:
        return STRIPPED[relative.suffix]
    if any(part in ("tests", "test") for part in relative.parts[:-1]):
        return "a package's own test suite"
    return None


def strip_tree(site: Path, cache_tag: str | None) -> dict[str, int]:
    """Remove what strip_reason names; returns bytes removed per reason."""
    removed: dict[str, int] = {}
    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        reason = strip_reason(PurePosixPath(path.relative_to(site).as_posix()), cache_tag)
        if reason is not None:
            removed[reason] = removed.get(reason, 0) + path.stat().st_size
            path.unlink()
    for directory in sorted((p for p in site.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
    return removed


def own_package_files(root: Path, package: str, package_data: Sequence[str]) -> list[Path]:
    """The files a wheel of the project would carry for ``package``: modules and declared data."""
    modules = [
        path
        for path in (root / package).rglob("*.py")
        if "__pycache__" not in path.parts
        and all((directory / "__init__.py").is_file() for directory in _package_dirs(root / package, path))
    ]
    data = [path for pattern in package_data for path in (root / package).glob(pattern) if path.is_file()]
    return sorted(set(modules) | set(data))


def _package_dirs(top: Path, module: Path) -> Iterable[Path]:
    directory = module.parent
    while True:
        yield directory
        if directory == top:
            return
        directory = directory.parent


def copy_own_packages(site: Path) -> int:
    """Real copies (layer/content holds symlinks), never a stray file of the working tree."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = settings.get("tool", {}).get("setuptools", {}).get("package-data", {})
    copied = 0
    for package in OWN_PACKAGES:
        for source in own_package_files(ROOT, package, package_data.get(package, [])):
            target = site / source.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied += 1
    return copied


# --- native libraries ---------------------------------------------------------------------------


def symbol_stripper(arch: str) -> list[str] | None:
    """A command that removes symbol tables and debug data from an ``arch`` shared library."""
    llvm = shutil.which("llvm-strip")
    if llvm:
        return [llvm, "--strip-unneeded"]
    cross = shutil.which(f"{TRIPLET_OF_ARCH[arch]}-linux-gnu-strip")
    if cross:
        return [cross, "--strip-unneeded"]
    native = shutil.which("strip")
    host = os.uname().machine
    if native and TRIPLET_OF_ARCH[arch] == host:
        return [native, "--strip-unneeded"]
    return None


def strip_native(site: Path, arch: str) -> str:
    """Symbols and debug data are for debuggers; the dynamic symbols Python loads stay."""
    libraries = sorted(path for path in site.rglob("*") if path.is_file() and _is_elf(path))
    command = symbol_stripper(arch)
    if command is None:
        return f"native libraries keep their symbols: no llvm-strip or strip for {arch} on this machine"
    before = sum(path.stat().st_size for path in libraries)
    for library in libraries:
        finished = subprocess.run([*command, str(library)], capture_output=True, text=True, check=False)  # noqa: S603
        if finished.returncode != 0:
            raise BuildError(f"{Path(command[0]).name} failed on {library.name}: {finished.stderr.strip()}")
    after = sum(path.stat().st_size for path in libraries)
    return f"{len(libraries)} native libraries stripped: {before / MIB:.1f} -> {after / MIB:.1f} MiB"


def _is_elf(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(4) == b"\x7fELF"


# --- steps -----------------------------------------------------------------------------------


def pip_install(requirements: Path, site: Path, python: str, arch: str) -> None:
    machine = TRIPLET_OF_ARCH[arch]
    # Both tags: with manylinux_2_28 alone, older pips fail and newer ones pick old releases.
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--only-binary=:all:", "--implementation", "cp", "--python-version", python,
        "--platform", f"manylinux2014_{machine}", "--platform", f"manylinux_2_28_{machine}",
        "--target", str(site), "--requirement", str(requirements),
    ]  # fmt: skip
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise BuildError(f"pip did not finish in {PIP_TIMEOUT} s") from None
    if finished.returncode != 0:
        tail = "\n".join((finished.stdout + finished.stderr).strip().splitlines()[-15:])
        raise BuildError(f"pip could not install the {requirements.name} wheels for {python} {arch}:\n{tail}")


def compile_bytecode(interpreter: str, stage: Path) -> None:
    """Unchecked-hash .pyc: valid whatever the file times; paths in tracebacks are /opt/python/..."""
    command = [
        interpreter, "-I", "-S", "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
        "-s", str(stage), "-p", "/opt", str(stage / "python"),
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)  # noqa: S603
    if finished.returncode != 0:
        raise BuildError(f"{interpreter} could not compile the layer:\n{(finished.stdout + finished.stderr)[-2000:]}")


def make_sourceless(site: Path, cache_tag: str, keep: Sequence[str] = OWN_PACKAGES) -> int:
    """Replace the dependencies' sources by their bytecode (``module.pyc`` beside where ``.py`` was).

    For the slim layer's size budget: Python imports a sourceless ``.pyc`` as it is, and the
    bytecode is the target interpreter's (the layer is per Python version). Tracebacks in
    dependencies then show file and line without the source text; ours keep their sources.
    Returns the bytes of source removed.
    """
    removed = 0
    for source in sorted(site.rglob("*.py")):
        relative = source.relative_to(site)
        if relative.parts[0] in keep:
            continue
        compiled = source.parent / "__pycache__" / f"{source.stem}.{cache_tag}.pyc"
        if not compiled.is_file():
            continue  # not compiled (a syntax another version's): keep the source
        removed += source.stat().st_size
        compiled.replace(source.with_suffix(".pyc"))
        source.unlink()
    for cache in sorted(site.rglob("__pycache__"), reverse=True):
        if cache.is_dir() and not any(cache.iterdir()):
            cache.rmdir()
    return removed


def write_zip(stage: Path, target: Path) -> int:
    """A deterministic zip of ``stage``: sorted entries, fixed times and modes. Returns unzipped bytes."""
    entries = sorted(stage.rglob("*"), key=lambda path: path.relative_to(stage).as_posix())
    partial = target.with_name(target.name + ".partial")
    unzipped = 0
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in entries:
            name = path.relative_to(stage).as_posix()
            if path.is_dir():
                info = zipfile.ZipInfo(name + "/", date_time=ZIP_TIME)
                info.external_attr = (0o40755 << 16) | 0x10
                archive.writestr(info, b"")
                continue
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = (0o100755 if path.stat().st_mode & 0o111 else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=9)
    partial.replace(target)
    return unzipped


def over_budget(variant: str, zipped_bytes: int) -> str | None:
    budget = BUDGET_MIB[variant]
    if zipped_bytes > budget * MIB:
        return f"the {variant} layer is {zipped_bytes / MIB:.2f} MiB zipped, over its {budget:g} MiB budget"
    return None


@dataclass
class Built:
    variant: str
    arch: str
    path: Path
    zipped: int
    unzipped: int


def build_one(
    pins: Sequence[Pin], python: str, arch: str, variant: str, *, out: Path, interpreter: str | None
) -> Built:
    clock = {"start": time.monotonic()}
    stage = ROOT / "build" / "layer" / f"py{python}-{arch}-{variant}"
    shutil.rmtree(stage, ignore_errors=True)
    site = stage / "python"
    site.mkdir(parents=True)
    chosen = variant_pins(pins, variant)
    requirements = stage.parent / f"requirements-py{python}-{variant}.txt"
    requirements.write_text(render_requirements(chosen, variant))
    pip_install(requirements, site, python, arch)
    clock["pip"] = time.monotonic()
    problems = check_installed(installed_distributions(site), chosen)
    if problems:
        raise BuildError(f"the {variant} layer's packages differ from the pins: " + "; ".join(problems))
    copy_own_packages(site)
    removed = strip_tree(site, cache_tag=None)
    native = strip_native(site, arch)
    clock["strip"] = time.monotonic()
    if interpreter is not None:
        compile_bytecode(interpreter, stage)
        if variant == "slim":  # its budget leaves no room for both sources and bytecode
            make_sourceless(site, f"cpython-{python.replace('.', '')}")
    clock["compile"] = time.monotonic()
    target = out / layer_zip_name(python, arch, variant)
    unzipped = write_zip(stage, target)
    clock["zip"] = time.monotonic()
    marks = list(clock.items())
    steps = ", ".join(f"{name} {at - marks[i][1]:.1f} s" for i, (name, at) in enumerate(marks[1:]))
    stripped = sum(removed.values()) / MIB
    took = clock["zip"] - clock["start"]
    print(f"built {target.name} in {took:.1f} s ({steps}); stripped {stripped:.1f} MiB; {native}")
    return Built(variant, arch, target, target.stat().st_size, unzipped)


def size_table(builds: Sequence[Built]) -> str:
    rows = [("variant", "arch", "zipped MiB", "unzipped MiB", "budget MiB", "status", "file")]
    for built in builds:
        status = "OVER" if over_budget(built.variant, built.zipped) else "ok"
        rows.append(
            (
                built.variant,
                built.arch,
                f"{built.zipped / MIB:.2f}",
                f"{built.unzipped / MIB:.2f}",
                f"{BUDGET_MIB[built.variant]:g}",
                status,
                str(built.path),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)


def build(python: str, arches: Sequence[str], variants: Sequence[str], out: Path, canary: bool) -> int:
    pins = parse_requirements(REQUIREMENTS.read_text())
    check_pins(pins)
    interpreter = find_python(python)
    if interpreter is None:
        print(f"no Python {python} interpreter found: the layer ships without bytecode (slower cold starts)")
    else:
        print(f"bytecode: compiled by {interpreter} (unchecked-hash .pyc)")
    out.mkdir(parents=True, exist_ok=True)
    builds = [
        build_one(pins, python, arch, variant, out=out, interpreter=interpreter)
        for variant in variants
        for arch in arches
    ]
    print(size_table(builds))
    failures = [problem for built in builds if (problem := over_budget(built.variant, built.zipped))]
    if canary:
        for built in builds:
            report = check_zip(built.path, python, built.arch, built.variant)
            print(report.render(), flush=True)
            failures += [f"canary {built.path.name}: {problem}" for problem in report.problems]
    for failure in failures:
        print(f"layer build FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default="3.12", choices=PYTHONS, help="the Lambda runtime's Python")
    parser.add_argument("--arch", action="append", choices=ARCHITECTURES, help="repeatable; default both")
    parser.add_argument("--variant", action="append", choices=VARIANTS, help="repeatable; default both")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where the zips go")
    parser.add_argument("--no-canary", action="store_true", help="skip layer/canary.py on the built zips")
    options = parser.parse_args(argv)
    arches = list(dict.fromkeys(options.arch or ARCHITECTURES))
    variants = list(dict.fromkeys(options.variant or VARIANTS))
    try:
        return build(options.python, arches, variants, options.out, canary=not options.no_canary)
    except BuildError as exc:
        print(f"layer build FAILED: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
