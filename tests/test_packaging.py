"""The layer, the template and the pins agree with each other and with the code."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

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
    # The authorizers; example backends carry their code inline and are not ours to import.
    functions = _template_functions()
    handlers = [p["Handler"] for p in functions.values() if "InlineCode" not in p]
    assert handlers == [
        "authorizers.handlers.jwt.handler",
        "authorizers.handlers.cognito.handler",
        "authorizers.handlers.saml.handler",
        "authorizers.handlers.sigv4.handler",
    ]
    for dotted in handlers:
        module_name, _, attribute = dotted.rpartition(".")
        module = importlib.import_module(module_name)
        factory = module.create_handler  # the handler itself is built from the environment
        assert callable(factory)
        assert attribute == "handler"


def test_the_sigv4_example_api_never_caches_the_authorizer() -> None:
    # One signature must not let another request in: the result cache is off.
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "sam-template.yaml").read_text(), Loader=Loader)  # noqa: S506
    authorizer = template["Resources"]["SigV4ExampleApi"]["Properties"]["Auth"]["Authorizers"]["SigV4Authorizer"]
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["Identity"]["ReauthorizeEvery"] == 0


def _template_functions() -> dict[str, Any]:
    import yaml

    class CloudFormationLoader(yaml.SafeLoader):
        pass

    # !Ref, !Sub, !If, ...: their values do not matter here, only the variable names.
    CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "sam-template.yaml").read_text(), Loader=CloudFormationLoader)  # noqa: S506
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_template_sets_only_variables_each_handler_reads() -> None:
    from authorizers.settings import (
        COGNITO_VARIABLES,
        KNOWN_VARIABLES,
        OUR_PREFIXES,
        SAML_VARIABLES,
        SIGV4_VARIABLES,
    )

    reads = {
        "authorizers.handlers.jwt.handler": KNOWN_VARIABLES,
        "authorizers.handlers.cognito.handler": COGNITO_VARIABLES,
        "authorizers.handlers.saml.handler": SAML_VARIABLES,
        "authorizers.handlers.sigv4.handler": SIGV4_VARIABLES,
    }
    functions = {name: p for name, p in _template_functions().items() if "InlineCode" not in p}
    assert {properties["Handler"] for properties in functions.values()} == set(reads)
    for name, properties in functions.items():
        ours = {v for v in properties["Environment"]["Variables"] if v.startswith(OUR_PREFIXES)}
        assert ours, name
        # A variable the handler does not read would fail its cold start.
        assert ours <= reads[properties["Handler"]], (name, sorted(ours - reads[properties["Handler"]]))


def test_both_packages_are_typed() -> None:
    assert (ROOT / "authorizers" / "py.typed").exists()
    assert (ROOT / "policies" / "py.typed").exists()
