"""The pure parts of the layer build (layer/build.py) and its canary (layer/canary.py).

No network and no pip here: requirement splitting, the lxml/xmlsec pair rule, what is
stripped, ELF reading, budgets and the deterministic zip. `make layer` runs the real build.
"""

from __future__ import annotations

import importlib.util
import os
import re
import struct
import sys
import sysconfig
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from layer import build, canary
from layer.build import BuildError, Pin
from tests.conftest import run_python

ROOT = Path(__file__).resolve().parent.parent
REAL_REQUIREMENTS = (ROOT / "layer" / "content" / "requirements.txt").read_text()
MIB = 1024 * 1024


# --- requirements: one file, two variants ---------------------------------------------------


def test_the_real_requirements_are_exact_pins_with_the_native_pair() -> None:
    pins = build.parse_requirements(REAL_REQUIREMENTS)
    build.check_pins(pins)  # raises on a loose pin or a broken pair
    keys = {pin.key for pin in pins}
    assert {"lxml", "xmlsec", "python3-saml", "cryptography", "pyjwt"} <= keys
    assert all(pin.version for pin in pins)


def test_slim_is_full_without_the_saml_group_and_nothing_else() -> None:
    full = build.parse_requirements(REAL_REQUIREMENTS)
    slim = build.variant_pins(full, "slim")
    assert {pin.key for pin in full} - {pin.key for pin in slim} == {"python3-saml", "isodate", "lxml", "xmlsec"}
    assert [pin for pin in full if pin.key not in build.SAML_GROUP] == slim  # same lines, same order
    assert build.variant_pins(full, "full") == full


def test_a_derived_requirements_file_reads_back_as_the_same_pins() -> None:
    full = build.parse_requirements(REAL_REQUIREMENTS)
    slim = build.variant_pins(full, "slim")
    text = build.render_requirements(slim, "slim")
    assert text.startswith("# slim layer: derived from layer/content/requirements.txt")
    assert build.parse_requirements(text) == slim


def test_an_unknown_variant_is_refused() -> None:
    with pytest.raises(BuildError, match="unknown variant 'tiny'"):
        build.variant_pins(build.parse_requirements(REAL_REQUIREMENTS), "tiny")


@pytest.mark.parametrize(
    ("lxml_line", "xmlsec_line", "complaint"),
    [
        ("lxml==6.1.3", None, "xmlsec not pinned"),
        (None, "xmlsec==1.3.17", "lxml not pinned"),
        ("lxml==6.1.3", "xmlsec>=1.3.17", "xmlsec>=1.3.17"),
        ("lxml>=6.0,<6.2", "xmlsec==1.3.17", "lxml>=6.0,<6.2"),
        ("lxml==6.*", "xmlsec==1.3.17", "lxml==6.*"),
        ("lxml", "xmlsec==1.3.17", "lxml lxml"),
    ],
)
def test_lxml_and_xmlsec_are_pinned_together_with_double_equals(
    lxml_line: str | None, xmlsec_line: str | None, complaint: str
) -> None:
    lines = ["cryptography==50.0.2", *(line for line in (lxml_line, xmlsec_line) if line)]
    with pytest.raises(BuildError, match="lxml and xmlsec must be pinned together") as raised:
        build.check_pins(build.parse_requirements("\n".join(lines)))
    assert complaint in str(raised.value)


@pytest.mark.parametrize("pair", [("lxml==6.1.3", "xmlsec==1.3.17"), ()])
def test_the_pair_rule_accepts_both_pinned_or_neither(pair: tuple[str, ...]) -> None:
    build.check_pins(build.parse_requirements("\n".join(["PyJWT==2.15.1", *pair])))


@pytest.mark.parametrize(
    "line",
    ["requests>=2.32", "requests", 'PyJWT==2.15.1 ; python_version < "3.13"', "idna~=3.20", "certifi===2026.10.19"],
)
def test_every_layer_requirement_must_be_an_exact_pin(line: str) -> None:
    with pytest.raises(BuildError, match="exact pin"):
        build.check_pins(build.parse_requirements(f"cryptography==50.0.2\n{line}\n"))


@pytest.mark.parametrize("text", ["-r other.txt", "--index-url https://example.invalid", "./wheels/x.whl"])
def test_lines_that_are_not_requirements_are_refused(text: str) -> None:
    with pytest.raises(BuildError, match="line 2"):
        build.parse_requirements(f"# pins\n{text}\n")


def test_a_requirement_listed_twice_is_refused_whatever_its_spelling() -> None:
    with pytest.raises(BuildError, match="listed twice"):
        build.parse_requirements("typing_extensions==4.16.0\nTyping-Extensions==4.15.0\n")


def test_comments_and_blank_lines_are_ignored_and_names_canonical() -> None:
    pins = build.parse_requirements("# header\n\nPyYAML==6.0.4  # why\naws_lambda_powertools==3.37.0\n")
    assert [(pin.key, pin.version) for pin in pins] == [("pyyaml", "6.0.4"), ("aws-lambda-powertools", "3.37.0")]


def test_installed_packages_must_be_exactly_the_pins() -> None:
    pins = [Pin("PyJWT", "==2.15.1", "PyJWT==2.15.1"), Pin("idna", "==3.20", "idna==3.20")]
    assert build.check_installed({"pyjwt": "2.15.1", "idna": "3.20"}, pins) == []
    problems = build.check_installed({"pyjwt": "2.15.0", "six": "1.17.0"}, pins)
    assert problems == [
        "pyjwt 2.15.0, pinned 2.15.1",
        "idna missing, pinned 3.20",
        "six 1.17.0 was installed but is not pinned in layer/content/requirements.txt",
    ]


def test_installed_distributions_are_read_from_dist_info_metadata(tmp_path: Path) -> None:
    for name, version in (("PyJWT", "2.15.1"), ("charset_normalizer", "3.5.2")):
        info = tmp_path / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nBody\n")
    assert build.installed_distributions(tmp_path) == {"pyjwt": "2.15.1", "charset-normalizer": "3.5.2"}


# --- what leaves the layer -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "stripped"),
    [
        ("authorizers/handlers/jwt.py", False),
        ("authorizers/samples/rest-token.json", False),
        ("cryptography/hazmat/bindings/_rust.abi3.so", False),
        ("cryptography/hazmat/bindings/_rust/x509.pyi", True),
        ("cryptography-50.0.2.dist-info/METADATA", False),
        ("cryptography-50.0.2.dist-info/licenses/LICENSE", False),
        ("cryptography-50.0.2.dist-info/RECORD", True),
        ("_cffi_backend.cpython-312-x86_64-linux-gnu.so", False),
        ("cffi/api.py", True),
        ("pycparser/c_parser.py", True),
        ("lxml/etree.cpython-312-x86_64-linux-gnu.so", False),
        ("lxml/etree.pyx", True),
        ("lxml/etree.h", True),
        ("lxml/includes/libxml/tree.h", True),
        ("lxml/includes/__init__.py", True),
        ("certifi/cacert.pem", False),
        ("certifi/tests/test_certify.py", True),
        ("somepackage/test/helpers.py", True),
        ("somepackage/testing.py", False),
        ("somepackage/tests.py", False),
        ("yaml/__init__.py", False),
        ("_yaml/__init__.py", True),
        ("yaml/_yaml.cpython-312-x86_64-linux-gnu.so", True),
        ("charset_normalizer/md.py", False),
        ("charset_normalizer/md.cpython-312-x86_64-linux-gnu.so", True),
        ("bin/jp.py", True),
        ("aws_lambda_powertools/logging/logger.py", False),
        ("aws_lambda_powertools/metrics/metrics.py", False),
        ("aws_lambda_powertools/utilities/parameters/ssm.py", False),
        ("aws_lambda_powertools/utilities/jmespath_utils/__init__.py", False),
        ("aws_lambda_powertools/utilities/typing/lambda_context.py", False),
        ("aws_lambda_powertools/event_handler/api_gateway.py", True),
        ("aws_lambda_powertools/utilities/parser/models/apigw.py", True),
        ("aws_lambda_powertools/utilities/serialization.py", True),
        ("aws_lambda_powertools/utilities/data_classes_extra/x.py", False),  # a prefix of a pruned name only
    ],
)
def test_strip_rules(path: str, stripped: bool) -> None:
    assert (build.strip_reason(PurePosixPath(path), "cpython-312") is not None) is stripped


@pytest.mark.parametrize(
    ("path", "cache_tag", "stripped"),
    [
        ("jwt/__pycache__/api.cpython-312.pyc", "cpython-312", False),
        ("jwt/__pycache__/api.cpython-311.pyc", "cpython-312", True),
        ("jwt/__pycache__/api.cpython-312.opt-1.pyc", "cpython-312", True),
        ("jwt/__pycache__/api.cpython-312.pyc", None, True),
        ("jwt/api.pyc", "cpython-312", True),  # legacy location: would be imported without its source
        ("__pycache__/typing_extensions.cpython-313.pyc", "cpython-313", False),
    ],
)
def test_only_the_target_interpreters_bytecode_stays(path: str, cache_tag: str | None, stripped: bool) -> None:
    assert (build.strip_reason(PurePosixPath(path), cache_tag) is not None) is stripped


def test_strip_tree_removes_files_and_the_folders_they_leave_empty(tmp_path: Path) -> None:
    files = {
        "certifi/tests/test_certify.py": b"x" * 10,
        "certifi/cacert.pem": b"pem",
        "jwt/__pycache__/api.cpython-311.pyc": b"y" * 5,
        "jwt/api.py": b"code",
    }
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    removed = build.strip_tree(tmp_path, cache_tag="cpython-312")
    assert removed == {"a package's own test suite": 10, "bytecode of another interpreter": 5}
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert left == ["certifi", "certifi/cacert.pem", "jwt", "jwt/api.py"]


def test_nothing_the_handlers_import_is_stripped() -> None:
    """Every module the handlers, logger, metrics and usage-key providers load survives the strip rules."""
    loaded = run_python(
        """
        import json, pkgutil, sys, importlib
        import authorizers.handlers
        for module in pkgutil.iter_modules(authorizers.handlers.__path__):
            importlib.import_module(f"authorizers.handlers.{module.name}")
        from authorizers.observability import make_logger, make_metrics
        make_logger(); make_metrics()
        import aws_lambda_powertools.utilities.parameters, authorizers.usage_keys, policies.rules, yaml, requests
        print(json.dumps(sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})))
        """
    )
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    third_party = [Path(path).resolve() for path in loaded if Path(path).resolve().is_relative_to(site)]
    assert any(path.parts[-2:] == ("logging", "logger.py") for path in third_party)
    stripped = {
        str(relative): reason
        for path in third_party
        if (reason := build.strip_reason(relative := PurePosixPath(path.relative_to(site).as_posix()), None))
        and relative.suffix != ".so"  # optional accelerators: loaded when present, stripped on purpose
    }
    assert stripped == {}


def test_the_layer_copies_modules_and_declared_package_data_only(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    for name in ("__init__.py", "mod.py", "sub/__init__.py", "sub/deep.py", "data/x.json", "notpkg/loose.py"):
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text("# x\n")
    for name in ("ruff.toml", ".ruff_cache/0/blob", "__pycache__/mod.cpython-312.pyc", "secret.pem"):
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text("junk")
    files = build.own_package_files(tmp_path, "pkg", ["data/*.json"])
    assert [path.relative_to(package).as_posix() for path in files] == [
        "__init__.py",
        "data/x.json",
        "mod.py",
        "sub/__init__.py",
        "sub/deep.py",
    ]


def test_the_real_packages_ship_their_samples_and_no_tool_config() -> None:
    files = [
        path.relative_to(ROOT).as_posix() for path in build.own_package_files(ROOT, "authorizers", ["samples/*.json"])
    ]
    assert "authorizers/handlers/jwt.py" in files
    assert "authorizers/samples/rest-token.json" in files
    policies = [path.name for path in build.own_package_files(ROOT, "policies", ["py.typed"])]
    assert "py.typed" in policies
    assert "ruff.toml" not in policies


# --- ELF -------------------------------------------------------------------------------


def _elf_header(machine: int, *, big_endian: bool = False, elf_class: int = 2) -> bytes:
    order = ">" if big_endian else "<"
    ident = b"\x7fELF" + bytes([elf_class, 2 if big_endian else 1, 1]) + bytes(9)
    return ident + struct.pack(f"{order}HHI", 3, machine, 1) + bytes(44)


@pytest.mark.parametrize(
    ("header", "machine"),
    [
        (_elf_header(62), 62),
        (_elf_header(183), 183),
        (_elf_header(3, elf_class=1), 3),
        (_elf_header(22, big_endian=True), 22),
        (b"PK\x03\x04" + bytes(60), None),
        (b"\x7fELF", None),  # too short to hold e_machine
        (b"", None),
    ],
)
def test_elf_machine_is_read_from_the_header(header: bytes, machine: int | None) -> None:
    assert canary.elf_machine(header) == machine


def test_an_elf_header_with_an_unknown_byte_order_is_refused() -> None:
    header = bytearray(_elf_header(62))
    header[5] = 7
    with pytest.raises(ValueError, match="data encoding"):
        canary.elf_machine(bytes(header))


def test_machine_names() -> None:
    assert canary.machine_name(canary.ELF_MACHINE_OF_ARCH["arm64"]) == "aarch64"
    assert canary.machine_name(canary.ELF_MACHINE_OF_ARCH["x86_64"]) == "x86_64"
    assert canary.machine_name(999) == "e_machine 999"


def _elf_needing(versions: list[str]) -> bytes:
    """A minimal ELF64 file whose only content is a version-needs section (and its strings)."""
    strings = b"\0libc.so.6\0" + b"".join(name.encode() + b"\0" for name in versions)
    offsets = [strings.index(b"\0" + name.encode() + b"\0") + 1 for name in versions]
    strings_at, needs_at = 64, 64 + len(strings)
    needs = struct.pack("<HHIII", 1, len(versions), 1, 16, 0)
    for index, offset in enumerate(offsets):
        needs += struct.pack("<IHHII", 0, 0, 0, offset, 16 if index < len(versions) - 1 else 0)
    sections_at = needs_at + len(needs)
    header = _elf_header(62)[:16] + struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, sections_at, 0, 64, 0, 0, 64, 3, 0)
    null = bytes(64)
    string_table = struct.pack("<IIQQQQIIQQ", 0, 3, 0, 0, strings_at, len(strings), 0, 0, 1, 0)
    version_needs = struct.pack("<IIQQQQIIQQ", 0, canary.SHT_GNU_VERNEED, 0, 0, needs_at, len(needs), 1, 1, 8, 0)
    return header + strings + needs + null + string_table + version_needs


@pytest.mark.parametrize(
    ("versions", "newest"),
    [
        (["GLIBC_2.2.5", "GLIBC_2.17", "GLIBC_2.28", "GLIBC_2.3"], (2, 28)),
        (["GLIBC_2.2.5"], (2, 2)),
        (["GLIBC_PRIVATE", "GLIBC_2.14"], (2, 14)),
        (["GCC_3.0"], None),
    ],
)
def test_the_newest_glibc_version_needed_is_read_from_version_needs(
    versions: list[str], newest: tuple[int, int] | None
) -> None:
    assert canary.glibc_needed(_elf_needing(versions)) == newest


def test_glibc_needs_of_a_real_library_agree_with_its_strings() -> None:
    spec = importlib.util.find_spec("_cffi_backend")  # a compiled extension in the test environment
    assert spec is not None
    assert spec.origin is not None
    image = Path(spec.origin).read_bytes()
    found = re.findall(rb"GLIBC_2\.(\d+)", image)
    assert found, "expected a glibc-linked extension"
    assert canary.glibc_needed(image) == (2, max(int(minor) for minor in found))


def test_a_non_elf_file_needs_no_glibc() -> None:
    assert canary.glibc_needed(b"#!/bin/sh\n" + bytes(100)) is None


# --- budgets, names, zips ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "size", "over"),
    [
        ("full", 18 * MIB, False),
        ("full", 18 * MIB + 1, True),
        ("slim", 6 * MIB, False),
        ("slim", 6 * MIB + 1, True),
        ("slim", 1, False),
    ],
)
def test_budgets(variant: str, size: int, over: bool) -> None:
    problem = build.over_budget(variant, size)
    assert (problem is not None) is over
    if problem:
        assert f"over its {build.BUDGET_MIB[variant]:g} MiB budget" in problem


def test_the_size_table_marks_a_layer_over_budget() -> None:
    builds = [
        build.Built("full", "x86_64", Path("dist/a.zip"), 15 * MIB, 40 * MIB),
        build.Built("slim", "arm64", Path("dist/b.zip"), 7 * MIB, 18 * MIB),
    ]
    lines = build.size_table(builds).splitlines()
    assert lines[0].split()[:3] == ["variant", "arch", "zipped"]
    assert lines[1].split()[:6] == ["full", "x86_64", "15.00", "40.00", "18", "ok"]
    assert lines[2].split()[:6] == ["slim", "arm64", "7.00", "18.00", "6", "OVER"]


@pytest.mark.parametrize("python", canary.PYTHONS)
@pytest.mark.parametrize("arch", canary.ARCHITECTURES)
@pytest.mark.parametrize("variant", canary.VARIANTS)
def test_zip_names_say_python_arch_and_variant(python: str, arch: str, variant: str) -> None:
    assert canary.describe(Path("dist") / canary.layer_zip_name(python, arch, variant)) == (python, arch, variant)


def test_a_zip_of_another_name_is_refused() -> None:
    with pytest.raises(ValueError, match="not a layer zip name"):
        canary.describe(Path("layer.zip"))


def test_zips_are_deterministic_and_sorted(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    for name, data in (("python/b.py", b"b = 1\n"), ("python/a/x.so", b"\x7fELF"), ("python/a/__init__.py", b"")):
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        (stage / name).write_bytes(data)
    (stage / "python/a/x.so").chmod(0o755)
    first = tmp_path / "first.zip"
    unzipped = build.write_zip(stage, first)
    for index, path in enumerate(sorted(stage.rglob("*"))):
        os.utime(path, (1_000_000 + index, 2_000_000 + index))  # another checkout, other file times
    second = tmp_path / "second.zip"
    build.write_zip(stage, second)
    assert first.read_bytes() == second.read_bytes()
    assert unzipped == len(b"b = 1\n") + 4
    with zipfile.ZipFile(first) as archive:
        infos = archive.infolist()
        assert [info.filename for info in infos] == [
            "python/",
            "python/a/",
            "python/a/__init__.py",
            "python/a/x.so",
            "python/b.py",
        ]
        assert {info.date_time for info in infos} == {build.ZIP_TIME}
        modes = {info.filename: info.external_attr >> 16 for info in infos}
        assert modes["python/a/x.so"] == 0o100755
        assert modes["python/b.py"] == 0o100644
        assert archive.read("python/b.py") == b"b = 1\n"
    assert not list(tmp_path.glob("*.partial"))


def test_bytecode_of_another_interpreter_in_a_zip_is_reported() -> None:
    report = canary.Report("x.zip")
    names = [
        "python/jwt/api.py",
        "python/jwt/__pycache__/api.cpython-312.pyc",
        "python/jwt/__pycache__/api.cpython-311.pyc",
    ]
    canary._check_bytecode(names, "3.12", report, lambda name: MAGIC_312)
    assert report.problems == [
        "1 bytecode files of another interpreter, e.g. python/jwt/__pycache__/api.cpython-311.pyc"
    ]


MAGIC_312, MAGIC_311 = (3531).to_bytes(2, "little") + b"\r\n", (3495).to_bytes(2, "little") + b"\r\n"


@pytest.mark.parametrize(("sourceless_magic", "ok"), [(MAGIC_312, True), (MAGIC_311, False)])
def test_sourceless_bytecode_must_be_the_target_interpreters(sourceless_magic: bytes, ok: bool) -> None:
    """The slim layer's dependencies ship as module.pyc beside where the source was."""
    report = canary.Report("x.zip")
    names = ["python/policies/arn.py", "python/policies/__pycache__/arn.cpython-312.pyc", "python/jwt/api.pyc"]
    magics = {"python/policies/__pycache__/arn.cpython-312.pyc": MAGIC_312, "python/jwt/api.pyc": sourceless_magic}
    canary._check_bytecode(names, "3.12", report, magics.__getitem__)
    assert report.problems == ([] if ok else ["sourceless bytecode of another interpreter, e.g. python/jwt/api.pyc"])


def test_make_sourceless_keeps_our_sources_and_moves_the_dependencies_bytecode(tmp_path: Path) -> None:
    site = tmp_path / "python"
    for relative in ("jwt/api.py", "authorizers/cli.py", "jwt/odd.py"):
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text("x = 1\n")
    for relative in ("jwt/__pycache__/api.cpython-312.pyc", "authorizers/__pycache__/cli.cpython-312.pyc"):
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_bytes(MAGIC_312 + b"code")
    removed = build.make_sourceless(site, "cpython-312")
    assert removed == len("x = 1\n")
    files = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert files == ["authorizers/__pycache__/cli.cpython-312.pyc", "authorizers/cli.py", "jwt/api.pyc", "jwt/odd.py"]
    assert not (site / "jwt" / "__pycache__").exists()


@pytest.mark.parametrize(
    ("variant", "top_level", "problem"),
    [
        ("slim", ["authorizers", "policies", "jwt"], None),
        ("slim", ["authorizers", "policies", "lxml"], "the slim layer carries SAML packages: lxml"),
        ("full", ["authorizers", "policies", "onelogin", "lxml", "xmlsec", "isodate"], None),
        ("full", ["authorizers", "policies", "onelogin", "lxml", "isodate"], "the full layer lacks SAML packages"),
        ("slim", ["authorizers"], "the layer lacks the policies package"),
    ],
)
def test_variant_content_is_checked(variant: str, top_level: list[str], problem: str | None) -> None:
    report = canary.Report("x.zip")
    canary._check_variant_content([f"python/{name}/__init__.py" for name in top_level], variant, report)
    if problem is None:
        assert report.problems == []
    else:
        assert len(report.problems) == 1
        assert report.problems[0].startswith(problem)


# --- finding the target interpreter ------------------------------------------------------


def test_an_interpreter_that_hangs_or_lies_does_not_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(canary, "INTERPRETER_TIMEOUT", 0.5)
    hanging = tmp_path / "hanging"
    hanging.write_text("#!/bin/sh\nsleep 30\n")
    lying = tmp_path / "lying"
    lying.write_text("#!/bin/sh\necho 3.12 cpython\nexit 1\n")
    for script in (hanging, lying):
        script.chmod(0o755)
        assert canary._runs_as(str(script), "3.12") is False
    assert canary._runs_as(str(tmp_path / "missing"), "3.12") is False


def test_the_running_interpreter_is_recognised_for_its_own_version_only() -> None:
    own = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert canary._runs_as(sys.executable, own) is True
    assert canary._runs_as(sys.executable, "3.99") is False
    found = canary.find_python(own)
    assert found is not None
    assert "shims" not in Path(found).parts


# --- the canary on crafted zips (arm64: no imports run on this machine, ELF checks only) ----


def _layer_zip(tmp_path: Path, native: dict[str, bytes]) -> Path:
    path = tmp_path / canary.layer_zip_name("3.12", "arm64", "slim")
    with zipfile.ZipFile(path, "w") as archive:
        for package in ("authorizers", "policies"):
            archive.writestr(f"python/{package}/__init__.py", "")
        for name, data in native.items():
            archive.writestr(f"python/{name}", data)
    return path


def _check_arm64(path: Path) -> canary.Report:
    if canary.HOST_ARCH.get(os.uname().machine) == "arm64":
        pytest.skip("on an arm64 machine the canary would run the crafted layer")
    return canary.check_zip(path, "3.12", "arm64", "slim")


def test_an_arm64_layer_of_aarch64_libraries_passes(tmp_path: Path) -> None:
    report = _check_arm64(_layer_zip(tmp_path, {"m.cpython-312-aarch64-linux-gnu.so": _elf_header(183)}))
    assert report.problems == []
    assert "1 native libraries, every one aarch64 ELF" in report.lines[0]
    assert any("arm64 code cannot run on this" in line for line in report.lines)


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("m.cpython-312-aarch64-linux-gnu.so", _elf_header(62), "x86_64 ELF in the arm64 layer"),
        ("m.abi3.so", _elf_header(62), "x86_64 ELF in the arm64 layer"),
        ("m.cpython-311-aarch64-linux-gnu.so", _elf_header(183), "another interpreter or architecture"),
        ("m.cpython-312-x86_64-linux-gnu.so", _elf_header(183), "another interpreter or architecture"),
        ("libs/libfoo.so.1", b"not elf", "named like a native library but not an ELF file"),
    ],
)
def test_the_canary_refuses_native_code_for_another_machine(
    tmp_path: Path, name: str, data: bytes, problem: str
) -> None:
    native = {"ok.cpython-312-aarch64-linux-gnu.so": _elf_header(183), name: data}
    report = _check_arm64(_layer_zip(tmp_path, native))
    assert len(report.problems) == 1
    assert problem in report.problems[0]
    assert report.render().startswith(f"canary {canary.layer_zip_name('3.12', 'arm64', 'slim')}: FAILED")


def test_the_canary_refuses_a_library_needing_a_newer_glibc_than_the_runtime(tmp_path: Path) -> None:
    old_enough = bytearray(_elf_needing(["GLIBC_2.34"]))
    too_new = bytearray(_elf_needing(["GLIBC_2.17", "GLIBC_2.35"]))
    for image in (old_enough, too_new):
        image[18:20] = struct.pack("<H", 183)
    native = {"a.cpython-312-aarch64-linux-gnu.so": bytes(old_enough), "b.abi3.so": bytes(too_new)}
    report = _check_arm64(_layer_zip(tmp_path, native))
    assert report.problems == ["python/b.abi3.so: needs glibc 2.35, the python3.12 runtime has glibc 2.34"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("ConfigurationError: SAML needs python3-saml, lxml and xmlsec (onelogin is missing)", True),
        ("ModuleNotFoundError: No module named 'onelogin'", True),
        ("ModuleNotFoundError: No module named 'lxml'", True),
        ("ModuleNotFoundError: No module named '_cffi_backend'", False),
        ("ModuleNotFoundError: No module named 'lxmlx'", False),
        ("ConfigurationError: SAML_ACS_URL is required: one URL", False),
    ],
)
def test_the_slim_saml_handler_must_fail_for_the_missing_saml_libraries(error: str, expected: bool) -> None:
    assert canary._names_saml_libraries(error) is expected
