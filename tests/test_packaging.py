"""The layer, the template and the pins agree with each other and with the code.

The template is read as CloudFormation YAML with its intrinsic functions kept (``!Ref X``
becomes ``{"Ref": "X"}``), so conditions and references are evaluated here for every
combination of the parameters that drive them, and the example APIs' wiring is checked
where it matters for security. When aws-sam-cli is installed (``make template``), the SAM
transform itself runs too, so the checks also cover what SAM generates (permissions,
authorizer definitions).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib
import importlib.util
import itertools
import json
import os
import re
import subprocess
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from authorizers.credentials import bearer_token
from authorizers.errors import CredentialRejected, Reason
from policies.request import parse_event

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "sam-template.yaml"
SAM_PYTHON = ROOT / ".tools" / "sam" / "bin" / "python"

AUTHORIZER_HANDLERS = {
    "JwtAuthorizerFunction": "authorizers.handlers.jwt.handler",
    "CognitoAuthorizerFunction": "authorizers.handlers.cognito.handler",
    "SamlAuthorizerFunction": "authorizers.handlers.saml.handler",
    "SigV4AuthorizerFunction": "authorizers.handlers.sigv4.handler",
    "MultiAuthorizerFunction": "authorizers.handlers.multi.handler",
}
# The multi-scheme function's condition for each scheme, and the function of that scheme.
MULTI_SCHEMES = {
    "jwt": ("MultiUsesJwt", "JwtAuthorizerFunction"),
    "cognito": ("MultiUsesCognito", "CognitoAuthorizerFunction"),
    "saml": ("MultiUsesSaml", "SamlAuthorizerFunction"),
    "sigv4": ("MultiUsesSigV4", "SigV4AuthorizerFunction"),
}
PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "apigw-authorizers",
    "AWS::NoValue": None,
}


# -- reading the template ---------------------------------------------------------------


def _cloudformation_loader() -> type[Any]:
    import yaml

    class CloudFormationLoader(yaml.SafeLoader):
        pass

    def intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if suffix in ("Ref", "Condition"):
            return {suffix: value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    CloudFormationLoader.add_multi_constructor("!", intrinsic)
    return CloudFormationLoader


@functools.cache
def _template() -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.load(TEMPLATE_PATH.read_text(), Loader=_cloudformation_loader())  # noqa: S506
    return loaded


def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = _template()["Resources"]
    return resources


def _properties(name: str) -> dict[str, Any]:
    properties: dict[str, Any] = _resources()[name]["Properties"]
    return properties


def _functions() -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in _resources().items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _authorizer_functions() -> dict[str, dict[str, Any]]:
    # Example backends carry their code inline; every other function is an authorizer.
    return {name: p for name, p in _functions().items() if "InlineCode" not in p}


def _variables(function: str) -> dict[str, Any]:
    variables: dict[str, Any] = _functions()[function]["Environment"]["Variables"]
    return variables


# -- evaluating conditions and references -------------------------------------------------


class _Evaluator:
    """Evaluates the template's conditions for one set of parameter values."""

    def __init__(self, parameters: Mapping[str, str]) -> None:
        self.parameters = {**PSEUDO_PARAMETERS, **parameters}
        self.conditions: dict[str, bool] = {}

    def value(self, expression: Any) -> Any:
        if isinstance(expression, str | int | float | bool):
            return expression
        (function, argument), *rest = expression.items()
        assert not rest, expression
        if function == "Ref":
            return self.parameters[argument]
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            left, right = (self.value(item) for item in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self.value(argument[0])
        if function == "Fn::And":
            return all(self.value(item) for item in argument)
        if function == "Fn::Or":
            return any(self.value(item) for item in argument)
        if function == "Fn::If":
            name, when_true, when_false = argument
            return self.value(when_true if self.condition(name) else when_false)
        if function == "Fn::Join":
            separator, items = argument
            values = self.value(items) if isinstance(items, dict) else [self.value(item) for item in items]
            return separator.join(values)
        if function == "Fn::Split":
            separator, text = argument
            return self.value(text).split(separator)
        raise AssertionError(f"not evaluated here: {function}")

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.value(_template()["Conditions"][name]))
        return self.conditions[name]


def _parameters_of_conditions() -> set[str]:
    names: set[str] = set()
    for expression in _template()["Conditions"].values():
        for kind, target in _references(expression, None):
            if kind == "Ref":
                names.add(target)
    return names


SCHEME_SAMPLES = ("", "jwt", "sigv4", "cognito,saml", "saml,jwt", "jwt,cognito,saml,sigv4")


def _samples(name: str) -> tuple[str, ...]:
    """Values worth trying for a parameter: each allowed value, else its default and a set value."""
    if name == "AuthorizerSchemes":
        return SCHEME_SAMPLES
    parameter = _template()["Parameters"][name]
    if "AllowedValues" in parameter:
        return tuple(str(value) for value in parameter["AllowedValues"])
    return tuple(dict.fromkeys((str(parameter.get("Default", "")), "set-x")))


def _every_combination() -> Iterator[_Evaluator]:
    names = sorted(_parameters_of_conditions())
    for values in itertools.product(*(_samples(name) for name in names)):
        yield _Evaluator(dict(zip(names, values, strict=True)))


def _references(node: Any, evaluator: _Evaluator | None) -> Iterator[tuple[str, str]]:
    """(kind, name) of every Ref, GetAtt, Sub variable and Condition in node.

    With an evaluator, only the branch of each Fn::If that applies is followed.
    """
    if isinstance(node, list):
        for item in node:
            yield from _references(item, evaluator)
        return
    if not isinstance(node, dict):
        return
    if len(node) == 1:
        (function, argument), *_ = node.items()
        if function == "Ref" and isinstance(argument, str):
            yield "Ref", argument.split(".")[0]  # SAM's Api.Stage and Api.Deployment
            return
        if function == "Fn::GetAtt":
            yield "GetAtt", argument[0]
            return
        if function == "Condition":
            yield "Condition", argument
            return
        if function == "Fn::If":
            name, when_true, when_false = argument
            yield "Condition", name
            if evaluator is None:
                yield from _references([when_true, when_false], None)
            else:
                yield from _references(when_true if evaluator.condition(name) else when_false, evaluator)
            return
        if function == "Fn::Sub":
            text, local = (argument, {}) if isinstance(argument, str) else argument
            for variable in re.findall(r"\$\{([^!}][^}]*)\}", text):
                if variable not in local:
                    yield "Ref", variable.split(".")[0]
            yield from _references(local, evaluator)
            return
    for value in node.values():
        yield from _references(value, evaluator)


def _present(evaluator: _Evaluator, section: str) -> dict[str, Any]:
    return {
        name: body
        for name, body in _template().get(section, {}).items()
        if "Condition" not in body or evaluator.condition(body["Condition"])
    }


def test_every_combination_of_conditions_gives_a_template_whose_references_exist() -> None:
    parameters = set(_template()["Parameters"]) | set(PSEUDO_PARAMETERS)
    conditions = set(_template()["Conditions"])
    seen: set[tuple[tuple[str, bool], ...]] = set()
    for evaluator in _every_combination():
        vector = tuple(sorted((name, evaluator.condition(name)) for name in conditions))
        if vector in seen:
            continue
        seen.add(vector)
        resources = _present(evaluator, "Resources")
        for section in ("Resources", "Outputs"):
            for name, body in _present(evaluator, section).items():
                content = {key: value for key, value in body.items() if key != "Condition"}
                for kind, target in _references(content, evaluator):
                    if kind == "Condition":
                        assert target in conditions, (name, target)
                    else:
                        assert target in resources or (kind == "Ref" and target in parameters), (
                            name,
                            target,
                            dict(vector),
                        )
                depends_on = body.get("DependsOn", [])
                for dependency in [depends_on] if isinstance(depends_on, str) else depends_on:
                    assert dependency in resources, (name, dependency, dict(vector))
    # Off, JWT only, each optional function alone and together, with and without examples.
    assert len(seen) > 20


@pytest.mark.parametrize(
    ("parameters", "deployed"),
    [
        ({}, {"JwtAuthorizerFunction"}),
        ({"CognitoUserPoolId": "us-east-1_abc"}, {"JwtAuthorizerFunction", "CognitoAuthorizerFunction"}),
        ({"SamlIdpMetadata": "https://idp.example/metadata"}, {"JwtAuthorizerFunction", "SamlAuthorizerFunction"}),
        ({"SamlIdpEntityId": "https://idp.example"}, {"JwtAuthorizerFunction", "SamlAuthorizerFunction"}),
        ({"SigV4Credentials": "ssm:/keys/"}, {"JwtAuthorizerFunction", "SigV4AuthorizerFunction"}),
        ({"AuthorizerSchemes": "jwt,sigv4"}, {"JwtAuthorizerFunction", "MultiAuthorizerFunction"}),
    ],
)
def test_optional_functions_are_deployed_exactly_when_their_settings_are_given(
    parameters: dict[str, str], deployed: set[str]
) -> None:
    defaults = {name: str(p.get("Default", "required")) for name, p in _template()["Parameters"].items()}
    evaluator = _Evaluator({**defaults, **parameters})
    present = {name for name in _present(evaluator, "Resources") if name in AUTHORIZER_HANDLERS}
    assert present == deployed
    assert not {name for name in _present(evaluator, "Resources") if name.startswith(("Example", "SigV4Example"))}


@pytest.mark.parametrize("schemes", SCHEME_SAMPLES)
def test_the_multi_function_gets_the_settings_of_exactly_the_listed_schemes(schemes: str) -> None:
    evaluator = _Evaluator({"AuthorizerSchemes": schemes})
    listed = set(schemes.split(",")) - {""}
    assert {scheme for scheme, (condition, _) in MULTI_SCHEMES.items() if evaluator.condition(condition)} == listed
    assert evaluator.condition("DeploysMulti") is bool(listed)


def test_the_schemes_parameter_takes_only_a_comma_list_of_known_schemes() -> None:
    pattern = _template()["Parameters"]["AuthorizerSchemes"]["AllowedPattern"]
    for good in SCHEME_SAMPLES:
        assert re.fullmatch(pattern, good), good
    for bad in ("jwt, sigv4", "JWT", "oauth", "jwt,", ",jwt", "jwt;sigv4", "sigv4a"):
        assert not re.fullmatch(pattern, bad), bad


# -- layer and functions ------------------------------------------------------------------


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


def test_the_layer_is_built_by_sam_for_the_functions_runtime() -> None:
    layer = _resources()["AuthorizersLayer"]
    assert layer["Metadata"]["BuildMethod"] == _template()["Globals"]["Function"]["Runtime"] == "python3.12"
    assert layer["Properties"]["ContentUri"] == "layer/content/"


def test_every_handler_in_the_template_resolves_to_a_module_in_the_layer() -> None:
    functions = _authorizer_functions()
    assert {name: p["Handler"] for name, p in functions.items()} == AUTHORIZER_HANDLERS
    layer_packages = (ROOT / "layer" / "content" / "authorizers").resolve()
    for name, properties in functions.items():
        assert properties["CodeUri"] == "layer/function/", name
        assert properties["Layers"] == [{"Ref": "AuthorizersLayer"}], name
        module_name, _, attribute = properties["Handler"].rpartition(".")
        spec = importlib.util.find_spec(module_name)
        assert spec is not None and spec.origin is not None, name
        assert Path(spec.origin).resolve().is_relative_to(layer_packages), (name, spec.origin)
        module = importlib.import_module(module_name)
        # The handler itself is built from the environment on first access (the cold start).
        assert callable(module.create_handler), name
        assert attribute == "handler"


def test_template_sets_only_variables_each_handler_reads() -> None:
    from authorizers.settings import (
        COGNITO_VARIABLES,
        KNOWN_VARIABLES,
        MULTI_VARIABLES,
        OUR_PREFIXES,
        SAML_VARIABLES,
        SIGV4_VARIABLES,
    )

    reads = {
        "authorizers.handlers.jwt.handler": KNOWN_VARIABLES,
        "authorizers.handlers.cognito.handler": COGNITO_VARIABLES,
        "authorizers.handlers.saml.handler": SAML_VARIABLES,
        "authorizers.handlers.sigv4.handler": SIGV4_VARIABLES,
        "authorizers.handlers.multi.handler": MULTI_VARIABLES,
    }
    for name, properties in _authorizer_functions().items():
        ours = {v for v in properties["Environment"]["Variables"] if v.startswith(OUR_PREFIXES)}
        assert ours, name
        # A variable the handler does not read would fail its cold start.
        assert ours <= reads[properties["Handler"]], (name, sorted(ours - reads[properties["Handler"]]))
    assert "AUTHORIZER_SCHEMES" in _variables("MultiAuthorizerFunction")


def test_the_multi_function_takes_each_schemes_own_settings_and_empty_ones_otherwise() -> None:
    from authorizers.settings import SCHEME_VARIABLES

    multi = _variables("MultiAuthorizerFunction")
    assert multi["AUTHORIZER_SCHEMES"] == {"Ref": "AuthorizerSchemes"}
    for scheme, (condition, function) in MULTI_SCHEMES.items():
        own = {name: value for name, value in _variables(function).items() if name in SCHEME_VARIABLES[scheme]}
        assert {name: value for name, value in multi.items() if name in SCHEME_VARIABLES[scheme]} == {
            name: {"Fn::If": [condition, value, ""]} for name, value in own.items()
        }
    # The rules and responses of every authorizer; usage keys are the JWT function's alone.
    shared = {name: value for name, value in _variables("JwtAuthorizerFunction").items() if name.startswith("AUTHZ_")}
    assert {name: value for name, value in multi.items() if name.startswith("AUTHZ_")} == {
        name: value for name, value in shared.items() if not name.startswith("AUTHZ_USAGE_")
    }


# What `sam local invoke --env-vars` needs declared (it overrides declared variables only),
# each from a parameter whose default "" means "unset".
LOCAL_TESTING_VARIABLES = {
    "JwtAuthorizerFunction": ["JWT_JWKS", "JWT_JWKS_URI", "JWT_REQUIRED_CLAIMS", "JWT_TOKEN_TYPE"],
    "CognitoAuthorizerFunction": ["COGNITO_ENDPOINT", "COGNITO_ISSUER_ENDPOINT"],
    "SamlAuthorizerFunction": ["SAML_IDP_METADATA", "SAML_IDP_ENTITY_ID", "SAML_IDP_CERT", "SAML_CONTEXT_ATTRIBUTES"],
    "SigV4AuthorizerFunction": ["SIGV4_CREDENTIALS", "SIGV4_REGION"],
}


@pytest.mark.parametrize("function", sorted(LOCAL_TESTING_VARIABLES))
def test_settings_for_local_testing_are_declared_with_empty_defaults(function: str) -> None:
    variables = _variables(function)
    for name in LOCAL_TESTING_VARIABLES[function]:
        parameter = variables[name]["Ref"]
        assert _template()["Parameters"][parameter]["Default"] == "", (function, name)


def _environment(function: str, parameters: Mapping[str, str]) -> dict[str, str]:
    """The function's variables as deployed with these parameter values (defaults otherwise)."""
    defaults = {name: str(p["Default"]) for name, p in _template()["Parameters"].items() if "Default" in p}
    evaluator = _Evaluator({**defaults, **parameters})
    return {name: str(evaluator.value(value)) for name, value in _variables(function).items()}


def _shape(value: Any) -> Any:
    """A comparable picture of loaded settings (objects without equality by their plain attributes)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value).__name__, {f.name: _shape(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _shape(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_shape(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted(repr(item) for item in value)
    if value is None or isinstance(value, str | int | float | bool | bytes | enum.Enum):
        return value
    attributes = getattr(value, "__dict__", None) or {
        slot: getattr(value, slot) for slot in getattr(type(value), "__slots__", ()) if hasattr(value, slot)
    }
    plain = {
        key: item for key, item in attributes.items() if item is None or isinstance(item, str | int | float | bool)
    }
    return type(value).__name__, plain


REQUIRED_SETTINGS = {
    "JwtAuthorizerFunction": {"JwtIssuer": "https://issuer.example", "JwtAudience": "orders-api"},
    "CognitoAuthorizerFunction": {"CognitoUserPoolId": "us-east-1_AbCdEf123", "CognitoClientId": "client1"},
    "SamlAuthorizerFunction": {
        "SamlIdpEntityId": "https://idp.example/saml",
        "SamlSpEntityId": "https://api.example/saml",
        "SamlAcsUrl": "https://api.example/saml/acs",
    },
    "SigV4AuthorizerFunction": {"SigV4Credentials": '{"AKIDEXAMPLE0000001": {"secret": "s3cr3t-for-tests-only"}}'},
}
LOADERS = {
    "JwtAuthorizerFunction": "load_jwt_settings",
    "CognitoAuthorizerFunction": "load_cognito_settings",
    "SamlAuthorizerFunction": "load_saml_settings",
    "SigV4AuthorizerFunction": "load_sigv4_settings",
    "MultiAuthorizerFunction": "load_multi_settings",
}


@pytest.mark.parametrize("function", sorted(LOADERS))
def test_the_templates_empty_defaults_load_as_unset_settings(function: str) -> None:
    # The template cannot leave a variable out, only empty: "" must mean what "absent" means.
    import authorizers.settings
    from tests.samlkit import shared_key

    parameters: dict[str, str] = {"SamlIdpCert": shared_key("idp").cert_pem}
    for values in REQUIRED_SETTINGS.values():
        parameters.update(values)
    if function == "MultiAuthorizerFunction":
        parameters["AuthorizerSchemes"] = "jwt,sigv4"
    environment = {**_environment(function, parameters), "AWS_REGION": "us-east-1"}
    assert "" in environment.values(), "nothing left empty: this test would prove nothing"
    loader = getattr(authorizers.settings, LOADERS[function])
    without_empty = {name: value for name, value in environment.items() if value != ""}
    assert _shape(loader(environment)) == _shape(loader(without_empty))


def test_an_empty_groups_claim_means_the_default_groups_claim() -> None:
    # A template passes an empty parameter for a setting left out: the default claim applies.
    from authorizers.settings import load_jwt_settings

    base = {"JWT_ISSUER": "https://issuer.example", "JWT_AUDIENCE": "orders-api"}
    loaded = load_jwt_settings({**base, "JWT_GROUPS_CLAIM": ""})
    assert loaded.issuers[0].groups_claim == "groups"


def test_the_example_backend_echoes_the_authorizer_context_of_every_api_kind() -> None:
    namespace: dict[str, Any] = {}
    exec(_functions()["ExampleBackendFunction"]["InlineCode"], namespace)  # noqa: S102 - our own template's code
    context = {"principalId": "alice", "scheme": "jwt", "scopes": "pets:read"}
    events = {
        "GET /v1/pets": {"requestContext": {"httpMethod": "GET", "resourcePath": "/v1/pets", "authorizer": context}},
        "GET /v2/pets": {"requestContext": {"routeKey": "GET /v2/pets", "authorizer": {"lambda": context}}},
        "$default": {"requestContext": {"routeKey": "$default", "authorizer": context}},
    }
    for route, event in events.items():
        response = namespace["handler"](event, None)
        assert response["statusCode"] == 200
        body = json.loads(response["body"])
        assert body["route"] == route
        assert body["authorizer"] == event["requestContext"]["authorizer"]


# -- the example APIs, where they matter for security -----------------------------------------


def _sam_authorizer(api: str, name: str) -> dict[str, Any]:
    authorizer: dict[str, Any] = _properties(api)["Auth"]["Authorizers"][name]
    return authorizer


def test_example_apis_are_off_unless_asked_for() -> None:
    parameter = _template()["Parameters"]["DeployExampleApis"]
    assert parameter["Default"] == "false"
    for name, resource in _resources().items():
        if name.startswith(("Example", "SigV4Example")):
            condition = resource.get("Condition")
            assert condition in ("ExampleApis", "ExampleSigV4Api"), name
    assert not _Evaluator({"DeployExampleApis": "false", "SigV4Credentials": "x"}).condition("ExampleSigV4Api")


def test_the_sigv4_example_api_never_caches_the_authorizer() -> None:
    # One signature must not let another request in: the result cache is off.
    authorizer = _sam_authorizer("SigV4ExampleApi", "SigV4Authorizer")
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["SigV4AuthorizerFunction", "Arn"]}
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["Identity"]["ReauthorizeEvery"] == 0
    assert _properties("SigV4ExampleApi")["Auth"]["DefaultAuthorizer"] == "SigV4Authorizer"
    assert _variables("SigV4AuthorizerFunction")["AUTHZ_POLICY_SCOPE"] == "route"


def test_every_sam_authorizer_of_a_sigv4_function_has_its_cache_off() -> None:
    for api, resource in _resources().items():
        for authorizer in resource.get("Properties", {}).get("Auth", {}).get("Authorizers", {}).values():
            if authorizer.get("FunctionArn") in (
                {"Fn::GetAtt": ["SigV4AuthorizerFunction", "Arn"]},
                {"Fn::GetAtt": ["MultiAuthorizerFunction", "Arn"]},
            ):
                assert authorizer["Identity"]["ReauthorizeEvery"] == 0, api


def test_the_jwt_rest_authorizer_caches_by_token_only_with_api_scoped_policies() -> None:
    api = _properties("ExampleRestApi")
    authorizer = _sam_authorizer("ExampleRestApi", "JwtTokenAuthorizer")
    assert api["Auth"]["DefaultAuthorizer"] == "JwtTokenAuthorizer"
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["JwtAuthorizerFunction", "Arn"]}
    assert authorizer["FunctionPayloadType"] == "TOKEN"
    assert authorizer["Identity"]["Header"] == "Authorization"
    # The answer of a cached authorizer must hold for every route: api scope, the default.
    assert _variables("JwtAuthorizerFunction")["AUTHZ_POLICY_SCOPE"] == {"Ref": "AuthzPolicyScope"}
    assert _template()["Parameters"]["AuthzPolicyScope"]["Default"] == "api"
    for scope, cached in (("api", True), ("route", False)):
        ttl = _Evaluator({"AuthzPolicyScope": scope}).value(authorizer["Identity"]["ReauthorizeEvery"])
        assert (ttl > 0) is cached, scope
        assert ttl <= 3600


def test_the_rest_api_meters_v2_with_the_key_the_authorizer_names() -> None:
    api = _properties("ExampleRestApi")
    assert api["ApiKeySourceType"] == "AUTHORIZER"  # never a client's x-api-key header
    plan = _properties("ExampleRestUsagePlan")
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "ExampleRestApi"}, "Stage": {"Ref": "ExampleRestApi.Stage"}}]
    assert plan["Throttle"]["RateLimit"] > 0 and plan["Throttle"]["BurstLimit"] > 0
    key = _properties("ExampleRestUsagePlanKey")
    assert key == {
        "KeyId": {"Ref": "ExampleRestApiKey"},
        "KeyType": "API_KEY",
        "UsagePlanId": {"Ref": "ExampleRestUsagePlan"},
    }
    assert _template()["Parameters"]["ExampleApiKeyValue"]["NoEcho"] is True
    routes = {}
    for event in _functions()["ExampleBackendFunction"]["Events"].values():
        if event["Type"] == "Api":
            assert event["Properties"]["RestApiId"] == {"Ref": "ExampleRestApi"}
            path = event["Properties"]["Path"]
            routes[f"{event['Properties']['Method']} {path}"] = event["Properties"].get("Auth", {})
    assert {route.split()[1].split("/")[1] for route in routes} == {"v1", "v2"}
    for route, auth in routes.items():
        assert auth.get("ApiKeyRequired", False) is ("/v2/" in route), route
    usage = {name: _variables("JwtAuthorizerFunction")[name] for name in ("AUTHZ_USAGE_KEYS", "AUTHZ_USAGE_KEY_CLAIM")}
    assert usage == {
        "AUTHZ_USAGE_KEYS": {"Ref": "AuthzUsageKeys"},
        "AUTHZ_USAGE_KEY_CLAIM": {"Ref": "AuthzUsageKeyClaim"},
    }


def test_the_http_api_authorizer_caches_per_route_with_simple_responses() -> None:
    authorizer = _sam_authorizer("ExampleHttpApi", "JwtLambdaAuthorizer")
    assert _properties("ExampleHttpApi")["Auth"]["DefaultAuthorizer"] == "JwtLambdaAuthorizer"
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["JwtAuthorizerFunction", "Arn"]}
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableFunctionDefaultPermissions"] is True
    identity = authorizer["Identity"]
    assert identity["Headers"] == ["Authorization"]
    # Simple responses carry no routes: a cached answer must be kept per route.
    if identity.get("ReauthorizeEvery", 300) > 0:
        assert "routeKey" in identity.get("Context", [])
    for response_format, simple in (("auto", True), ("simple", True), ("iam", False)):
        evaluator = _Evaluator({"AuthzResponseFormat": response_format})
        assert evaluator.value(authorizer["EnableSimpleResponses"]) is simple, response_format


def test_the_websocket_authorizer_reads_the_header_our_handlers_read_on_connect() -> None:
    authorizer = _properties("ExampleWebSocketAuthorizer")
    assert authorizer["AuthorizerType"] == "REQUEST"
    assert "${JwtAuthorizerFunction.Arn}" in authorizer["AuthorizerUri"]["Fn::Sub"]
    (source,) = authorizer["IdentitySource"]
    prefix = "route.request.header."
    assert source.startswith(prefix)
    event = json.loads((ROOT / "tests" / "vectors" / "events" / "apiGatewayAuthorizerWebSocketEvent.json").read_text())
    without = parse_event(event)
    with pytest.raises(CredentialRejected) as refused:
        bearer_token(without)
    assert refused.value.reason is Reason.MISSING_CREDENTIAL
    header = source.removeprefix(prefix)
    event["headers"][header] = "Bearer header.payload.signature"
    event["multiValueHeaders"][header] = ["Bearer header.payload.signature"]
    assert bearer_token(parse_event(event)) == "header.payload.signature"


def test_only_connect_is_authorized_on_the_websocket_api() -> None:
    routes = {
        _properties(name)["RouteKey"]: _properties(name)
        for name, resource in _resources().items()
        if resource["Type"] == "AWS::ApiGatewayV2::Route"
    }
    assert routes["$connect"]["AuthorizationType"] == "CUSTOM"
    assert routes["$connect"]["AuthorizerId"] == {"Ref": "ExampleWebSocketAuthorizer"}
    for key, route in routes.items():
        assert route["ApiId"] == {"Ref": "ExampleWebSocketApi"}
        if key != "$connect":
            assert route["AuthorizationType"] == "NONE", key


def _source_arn_api(permission: dict[str, Any]) -> tuple[str, str]:
    """(the API the permission's SourceArn names, the rest of the ARN after it)."""
    sub = permission["SourceArn"]["Fn::Sub"]
    text, local = (sub, {}) if isinstance(sub, str) else sub
    match = re.fullmatch(
        r"arn:(?:aws|\$\{AWS::Partition\}):execute-api:\$\{AWS::Region\}:\$\{AWS::AccountId\}:\$\{(\w+)\}(/.*)", text
    )
    assert match, text
    variable, rest = match.groups()
    api = local[variable]["Ref"] if variable in local else variable
    return api, rest


def test_raw_websocket_authorizer_and_backend_permissions_are_scoped_to_their_api() -> None:
    permissions = {
        name: resource["Properties"]
        for name, resource in _resources().items()
        if resource["Type"] == "AWS::Lambda::Permission"
    }
    assert permissions
    for name, permission in permissions.items():
        assert permission["Principal"] == "apigateway.amazonaws.com", name
        api, _ = _source_arn_api(permission)
        assert _resources()[api]["Type"] in ("AWS::Serverless::Api", "AWS::ApiGatewayV2::Api"), name
        assert _resources()[name]["Condition"] == _resources()[api]["Condition"], name
    authorizer = permissions["ExampleWebSocketAuthorizerPermission"]
    assert authorizer["FunctionName"] == {"Ref": "JwtAuthorizerFunction"}
    assert _source_arn_api(authorizer) == ("ExampleWebSocketApi", "/authorizers/${ExampleWebSocketAuthorizer}")


# -- the SAM transform's output (needs aws-sam-cli: make template installs it) -----------------

_TRANSLATE = """
import json, logging, sys
logging.disable(logging.WARNING)
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse
template = yaml_parse(sys.stdin.read())
for resource in template["Resources"].values():
    properties = resource.get("Properties", {})
    for key in ("CodeUri", "ContentUri"):  # what sam build and sam package would upload
        if isinstance(properties.get(key), str):
            properties[key] = "s3://bucket/" + properties[key]
translated = Translator(managed_policy_map={}, sam_parser=Parser()).translate(
    template, parameter_values={}, get_managed_policy_map=lambda: {}
)
json.dump(translated, sys.stdout)
"""


@functools.cache
def _translated() -> dict[str, Any]:
    if not SAM_PYTHON.exists():
        pytest.skip("aws-sam-cli is not installed (make template installs it)")
    environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", _TRANSLATE],
        input=TEMPLATE_PATH.read_text(),
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    translated: dict[str, Any] = json.loads(result.stdout)
    return translated


def _lambda_authorizers(translated: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(API, function, authorizer definition) of every Lambda authorizer after the transform."""
    for name, resource in translated["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::ApiGatewayV2::Authorizer":
            (function,) = re.findall(r"\$\{(\w+)\.Arn\}", properties["AuthorizerUri"]["Fn::Sub"])
            yield properties["ApiId"]["Ref"], function, properties
        body = (
            properties.get("Body")
            if resource["Type"] in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api")
            else None
        )
        if body:
            schemes = {**body.get("securityDefinitions", {}), **body.get("components", {}).get("securitySchemes", {})}
            for scheme in schemes.values():
                definition = scheme.get("x-amazon-apigateway-authorizer")
                if definition and "authorizerUri" in definition:
                    function = definition["authorizerUri"]["Fn::Sub"][1]["__FunctionArn__"]["Fn::GetAtt"][0]
                    yield name, function, definition


def _function_of(reference: dict[str, Any]) -> str:
    name: str = reference["Ref"] if "Ref" in reference else reference["Fn::GetAtt"][0]
    return name


def test_after_the_transform_every_lambda_authorizer_may_be_invoked_by_its_own_api_only() -> None:
    translated = _translated()
    permissions = [
        resource["Properties"]
        for resource in translated["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Permission"
    ]
    authorizers = list(_lambda_authorizers(translated))
    assert {function for _, function, _ in authorizers} == {"JwtAuthorizerFunction", "SigV4AuthorizerFunction"}
    assert len(authorizers) == 4  # REST TOKEN, REST REQUEST (SigV4), HTTP API, WebSocket
    for api, function, _ in authorizers:
        granted = [
            _source_arn_api(p)
            for p in permissions
            if _function_of(p["FunctionName"]) == function and "/authorizers/" in str(p["SourceArn"])
        ]
        assert any(granted_api == api and rest.startswith("/authorizers/") for granted_api, rest in granted), api
    for permission in permissions:  # no permission opens a function to every API of the account
        assert permission["Principal"] == "apigateway.amazonaws.com"
        api, _ = _source_arn_api(permission)
        assert translated["Resources"][api]["Type"] in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api")


def test_after_the_transform_the_authorizers_cache_as_intended() -> None:
    translated = _translated()
    by_function_and_kind = {
        (function, definition.get("type", "websocket")): (api, definition)
        for api, function, definition in _lambda_authorizers(translated)
    }
    _, sigv4 = by_function_and_kind[("SigV4AuthorizerFunction", "request")]
    assert sigv4["authorizerResultTtlInSeconds"] == 0
    assert "identitySource" not in sigv4  # presigned URLs carry no Authorization header
    _, token = by_function_and_kind[("JwtAuthorizerFunction", "token")]
    assert token["authorizerResultTtlInSeconds"] == {"Fn::If": ["RouteScopedPolicies", 0, 300]}
    http_api, http = by_function_and_kind[("JwtAuthorizerFunction", "request")]
    assert translated["Resources"][http_api]["Type"] == "AWS::ApiGatewayV2::Api"
    assert http["authorizerPayloadFormatVersion"] == "2.0"
    assert http["authorizerResultTtlInSeconds"] > 0
    assert http["identitySource"] == ["$request.header.Authorization", "$context.routeKey"]


# -- the example rules (examples/example-api-rules.json) ----------------------------------------


def _example_routes() -> dict[str, set[str]]:
    """The example APIs' routes ("METHOD /path"), by the authorizer function guarding them."""
    routes: dict[str, set[str]] = {"JwtAuthorizerFunction": {"GET /$connect"}, "SigV4AuthorizerFunction": set()}
    for event in _functions()["ExampleBackendFunction"]["Events"].values():
        routes["JwtAuthorizerFunction"].add(f"{event['Properties']['Method']} {event['Properties']['Path']}")
    for path, operations in _properties("SigV4ExampleApi")["DefinitionBody"]["paths"].items():
        routes["SigV4AuthorizerFunction"].update(f"{method.upper()} {path}" for method in operations)
    return routes


def test_the_example_rules_open_each_example_route_to_its_principals_only() -> None:
    from policies.principal import Principal
    from policies.routes import request_segments
    from policies.rules import Effect, load_rules

    rules = load_rules(str(ROOT / "examples" / "example-api-rules.json"))
    reader = Principal("alice", "jwt", scopes=frozenset({"pets:read"}))
    writer = Principal("bob", "jwt", scopes=frozenset({"pets:read", "pets:write"}))
    nobody = Principal("carol", "jwt")
    partner = Principal("partner-a", "sigv4")
    guarded_by = _example_routes()
    assert guarded_by == {
        "JwtAuthorizerFunction": {
            *("GET /v1/pets", "GET /v1/pets/{id}", "GET /v2/pets", "POST /v2/pets", "GET /$connect")
        },
        "SigV4AuthorizerFunction": {"GET /v1/pets/{id}", "GET /v2/pets/{id}"},
    }
    # Each authorizer produces principals of its own scheme only: judge each route by those.
    for function, route in ((f, r) for f, routes in guarded_by.items() for r in routes):
        method, path = route.split(" ")
        segments = request_segments(path.replace("{id}", "42").lstrip("/"))
        principals: tuple[Principal, ...]
        if function == "SigV4AuthorizerFunction":
            principals, expected = (partner,), {"partner-a": Effect.ALLOW}
        else:
            reads = Effect.DENY if method == "POST" else Effect.ALLOW
            principals, expected = (reader, writer, nobody), {"alice": reads, "bob": Effect.ALLOW, "carol": Effect.DENY}
        assert {p.principal_id: rules.decide(p, "dev", method, segments) for p in principals} == expected, route
    assert rules.decide(reader, "dev", "POST", ("v2", "pets")) is Effect.DENY
    assert rules.decide(partner, "dev", "GET", ("v1", "pets")) is Effect.DENY
