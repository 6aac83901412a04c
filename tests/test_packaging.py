"""The layer, the template and the pins agree with each other and with the code."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_layer_requirements_are_pinned_exactly_as_the_constraints() -> None:
    layer = _pins(ROOT / "layer" / "content" / "requirements.txt")
    constraints = _pins(ROOT / "constraints.txt")
    assert layer, "the layer pins nothing"
    assert {name: constraints.get(name) for name in layer} == layer


def test_layer_carries_every_runtime_dependency_of_the_jwt_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["jwt"]]
    names = {re.sub(r"[-_.]+", "-", re.split(r"[<>=\[ ]", spec)[0]).lower() for spec in wanted}
    layer = set(_pins(ROOT / "layer" / "content" / "requirements.txt"))
    assert names <= layer


def test_layer_content_links_to_the_packages() -> None:
    for package in ("authorizers", "policies"):
        link = ROOT / "layer" / "content" / package
        assert link.is_symlink()
        assert link.resolve() == (ROOT / package).resolve()


def test_every_handler_in_the_template_is_importable_and_callable() -> None:
    template = (ROOT / "sam-template.yaml").read_text()
    handlers = re.findall(r"^\s+Handler:\s*(\S+)\s*$", template, flags=re.MULTILINE)
    assert handlers == ["authorizers.handlers.jwt.handler"]
    for dotted in handlers:
        module_name, _, attribute = dotted.rpartition(".")
        module = importlib.import_module(module_name)
        factory = module.create_handler  # the handler itself is built from the environment
        assert callable(factory)
        assert attribute == "handler"


def test_template_sets_only_variables_the_settings_know() -> None:
    from authorizers.settings import KNOWN_VARIABLES

    template = (ROOT / "sam-template.yaml").read_text()
    ours = set(re.findall(r"^\s+((?:JWT|AUTHZ)_[A-Z_]+):", template, flags=re.MULTILINE))
    assert ours
    assert ours <= KNOWN_VARIABLES


def test_both_packages_are_typed() -> None:
    assert (ROOT / "authorizers" / "py.typed").exists()
    assert (ROOT / "policies" / "py.typed").exists()
