"""events/ and env.json: every event through its real handler with env.json's settings.

The committed JWT and Cognito events must keep working (fixed claims, far-future expiry);
the SigV4 and SAML ones are time-bound, so they are generated fresh here, as ``make
events`` does, and must be allowed by their handlers too.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from authorizers import devtoken, settings
from authorizers.cli import environment
from authorizers.handlers import cognito, jwt, saml, sigv4
from authorizers.handlers.runtime import AuthorizerHandler
from events import generate as generator
from policies.request import EventKind, parse_event
from tests.conftest import outcome
from tests.motoserver import moto_server

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
ENV_FILE = ROOT / "env.json"
FUNCTIONS = {
    "jwt": "JwtAuthorizerFunction",
    "cognito": "CognitoAuthorizerFunction",
    "saml": "SamlAuthorizerFunction",
    "sigv4": "SigV4AuthorizerFunction",
    "multi": "MultiAuthorizerFunction",
}
FACTORIES: Mapping[str, Callable[[Mapping[str, str]], AuthorizerHandler]] = {
    "jwt": jwt.create_handler,
    "cognito": cognito.create_handler,
    "saml": saml.create_handler,
    "sigv4": sigv4.create_handler,
}
KINDS = {
    "token": EventKind.TOKEN,
    "request": EventKind.REQUEST,
    "http": EventKind.HTTP_V2,
    "websocket": EventKind.WEBSOCKET,
}
SIGV4_NAMES = ["sigv4-request", "sigv4-request-presigned", "sigv4-http", "sigv4-http-presigned"]
EXPECTED_EVENTS = {
    *(f"{scheme}-{kind}" for scheme in ("jwt", "cognito", "saml") for kind in KINDS),
    *SIGV4_NAMES,
    *("multi-jwt-token", "multi-jwt-http", "multi-cognito-request", "multi-saml-request"),
    *("multi-sigv4-request", "multi-sigv4-http-presigned"),
}
COMMITTED_JWT = sorted(path.stem for path in EVENTS.glob("jwt-*.json"))
COMMITTED_COGNITO = sorted(path.stem for path in EVENTS.glob("cognito-*.json"))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def env_for(scheme: str, env_file: Path = ENV_FILE) -> dict[str, str]:
    """The function's variables from a SAM env.json, read as ``authorizers invoke --env`` reads them."""
    return {**environment(read_json(env_file), FUNCTIONS[scheme]), "POWERTOOLS_METRICS_NAMESPACE": "Tests"}


def handler_for(scheme: str, env_file: Path = ENV_FILE, **override: str) -> AuthorizerHandler:
    return FACTORIES[scheme]({**env_for(scheme, env_file), **override})


def event(name: str, directory: Path = EVENTS) -> dict[str, Any]:
    document: dict[str, Any] = read_json(directory / f"{name}.json")
    return document


def authorization_of(document: dict[str, Any]) -> str:
    """The credential as the event carries it (TOKEN: the token; otherwise the Authorization header)."""
    request = parse_event(document)
    value = request.token if request.kind is EventKind.TOKEN else request.header("Authorization")
    assert value is not None
    return value


def with_authorization(document: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The event with every occurrence of the credential replaced (headers, multi-value, identity source)."""
    changed: dict[str, Any] = json.loads(json.dumps(document).replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1]))
    assert changed != document
    return changed


def one_character_changed(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> generator.Generated:
    """A run of the generator now, into a temporary directory, as ``make events`` runs it."""
    return generator.generate(tmp_path_factory.mktemp("fresh") / "events")


# The files ---------------------------------------------------------------------------------------------


def test_every_handler_and_kind_has_an_event_and_nothing_else_is_there() -> None:
    assert {path.stem for path in EVENTS.glob("*.json")} == EXPECTED_EVENTS


def test_the_generator_writes_the_same_set(fresh: generator.Generated) -> None:
    assert set(fresh.events) == EXPECTED_EVENTS
    assert all(path.parent == fresh.env_file.parent / "events" for path in fresh.events.values())


@pytest.mark.parametrize("name", sorted(EXPECTED_EVENTS))
def test_each_event_is_the_kind_its_name_says(name: str) -> None:
    kind = name.removesuffix("-presigned").rsplit("-", 1)[-1]
    assert parse_event(event(name)).kind is KINDS[kind]


def test_no_private_key_is_committed() -> None:
    for path in [ENV_FILE, *EVENTS.iterdir()]:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "PRIVATE KEY" not in text, path
            for jwks in _inline_jwks(text):
                for key in jwks["keys"]:
                    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), path


def _inline_jwks(text: str) -> Iterator[dict[str, Any]]:
    try:
        document = json.loads(text)
    except ValueError:
        return
    if isinstance(document, dict):
        for variables in document.values():
            if isinstance(variables, dict) and variables.get("JWT_JWKS"):
                yield json.loads(variables["JWT_JWKS"])


# JWT: committed, offline, for good ---------------------------------------------------------------------


@pytest.mark.parametrize("name", COMMITTED_JWT)
def test_committed_jwt_event_is_allowed_by_the_real_handler(name: str) -> None:
    decision, response = outcome(handler_for("jwt"), event(name))
    assert decision == "allow"
    principal = response["principalId"] if response and "principalId" in response else None
    assert principal in ("dev-user", None)  # HTTP API simple responses carry no principal


@pytest.mark.parametrize("name", COMMITTED_JWT)
@pytest.mark.parametrize("segment", [0, 1, 2])
def test_committed_jwt_event_with_one_character_of_the_token_changed_is_refused(name: str, segment: int) -> None:
    document = event(name)
    token = authorization_of(document).removeprefix("Bearer ")
    parts = token.split(".")
    parts[segment] = one_character_changed(parts[segment], len(parts[segment]) // 2)
    forged = with_authorization(document, token, ".".join(parts))
    decision, response = outcome(handler_for("jwt"), forged)
    assert decision in ("unauthorized", "deny")
    if decision == "deny":  # HTTP API simple responses say no with isAuthorized false
        assert response == {"isAuthorized": False}


def test_jwt_events_need_env_json_keys() -> None:
    """The signature is what lets them in: the same event against another key is refused."""
    other = devtoken.DevKey.throwaway()
    jwks = json.dumps(devtoken.jwks([other]))
    assert outcome(handler_for("jwt", JWT_JWKS=jwks), event("jwt-token"))[0] == "unauthorized"


def test_jwt_events_carry_a_development_issuer_and_a_far_future_expiry() -> None:
    import jwt as pyjwt

    claims = pyjwt.decode(authorization_of(event("jwt-token")).split()[1], options={"verify_signature": False})
    assert claims["iss"].endswith(".invalid")
    assert claims["exp"] == generator.FAR_FUTURE


# Cognito: committed, verified against moto's published key ------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.mark.parametrize("name", COMMITTED_COGNITO)
def test_committed_cognito_event_is_allowed_against_moto(name: str, moto_url: str) -> None:
    """env.json says moto on port 5000; here moto runs on a free port, and only that changes."""
    assert env_for("cognito")["COGNITO_ENDPOINT"] == "http://127.0.0.1:5000"
    decision, _ = outcome(handler_for("cognito", COGNITO_ENDPOINT=moto_url), event(name))
    assert decision == "allow"


def test_committed_cognito_event_with_the_token_changed_is_refused(moto_url: str) -> None:
    document = event("cognito-token")
    token = authorization_of(document).removeprefix("Bearer ")
    header, payload, signature = token.split(".")
    forged = with_authorization(document, token, f"{header}.{payload}.{one_character_changed(signature, 100)}")
    assert outcome(handler_for("cognito", COGNITO_ENDPOINT=moto_url), forged)[0] == "unauthorized"


# SigV4 and SAML: fresh, time-bound -------------------------------------------------------------------------


@pytest.mark.parametrize("name", SIGV4_NAMES)
def test_fresh_sigv4_event_is_allowed_with_env_json(name: str, fresh: generator.Generated) -> None:
    """The committed env.json's key pair signs them: its SigV4 settings never change."""
    decision, response = outcome(handler_for("sigv4"), event(name, fresh.events[name].parent))
    assert decision == "allow"
    if response is not None and "principalId" in response:
        assert response["principalId"] == generator.SIGV4_PRINCIPAL
    assert env_for("sigv4", fresh.env_file) == env_for("sigv4")


@pytest.mark.parametrize("name", SIGV4_NAMES)
def test_fresh_sigv4_event_with_the_signature_changed_is_refused(name: str, fresh: generator.Generated) -> None:
    document = event(name, fresh.events[name].parent)
    text = json.dumps(document)
    # Authorization: ... Signature=<hex>, or the query's X-Amz-Signature (raw, or decoded in the parameters).
    match = re.search(r'Signature(?:=|": ")([0-9a-f]{64})', text)
    assert match is not None
    signature = match.group(1)
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    decision, _ = outcome(handler_for("sigv4"), json.loads(text.replace(signature, flipped)))
    assert decision in ("unauthorized", "deny")
    assert decision == "unauthorized" or "http" in name


@pytest.mark.parametrize(("name", "age"), [("sigv4-request", 301 + 30), ("sigv4-request-presigned", 901 + 300)])
def test_sigv4_events_expire(name: str, age: int, tmp_path: Path) -> None:
    """Signed longer ago than the skew window (presigned: the expiry plus skew): refused."""
    old = generator.generate(tmp_path / "events", now=time.time() - age)
    assert outcome(handler_for("sigv4"), event(name, old.events[name].parent))[0] == "unauthorized"


@pytest.mark.parametrize("kind", list(KINDS))
def test_fresh_saml_event_is_allowed_with_the_generated_env_json(kind: str, fresh: generator.Generated) -> None:
    decision, response = outcome(
        handler_for("saml", fresh.env_file), event(f"saml-{kind}", fresh.env_file.parent / "events")
    )
    assert decision == "allow"
    if response is not None and "principalId" in response:
        assert response["principalId"] == generator.SAML_NAME_ID
        assert response["context"]["email"] == generator.SAML_NAME_ID


def test_saml_events_need_the_run_s_certificate(fresh: generator.Generated, tmp_path: Path) -> None:
    """Each run signs with a new IdP key: another run's certificate refuses this run's events."""
    other = generator.generate(tmp_path / "events")
    assert env_for("saml", other.env_file)["SAML_IDP_CERT"] != env_for("saml", fresh.env_file)["SAML_IDP_CERT"]
    document = event("saml-request", fresh.env_file.parent / "events")
    assert outcome(handler_for("saml", other.env_file), document)[0] == "unauthorized"


def test_each_saml_event_is_its_own_assertion(fresh: generator.Generated) -> None:
    """One handler (as in a warm Lambda) takes every event once: the replay check sees no repeat."""
    handler = handler_for("saml", fresh.env_file)
    names = [f"saml-{kind}" for kind in KINDS]
    directory = fresh.env_file.parent / "events"
    assert [outcome(handler, event(name, directory))[0] for name in names] == ["allow"] * 4
    assert outcome(handler, event("saml-request", directory))[0] == "unauthorized"  # the same one again


def test_saml_events_expire(tmp_path: Path) -> None:
    old = generator.generate(tmp_path / "events", now=time.time() - generator.SAML_VALID_SECONDS - 120)
    assert outcome(handler_for("saml", old.env_file), event("saml-token", tmp_path / "events"))[0] == "unauthorized"


# Determinism ---------------------------------------------------------------------------------------------


TIME_BOUND = ("saml-", "multi-saml-")


def test_a_rerun_changes_only_what_is_signed_afresh(tmp_path: Path) -> None:
    """Same directory, same time: only the SAML events and certificate change (fresh key and IDs)."""
    now = time.time()
    first = generator.generate(tmp_path / "events", now=now)
    before = {name: path.read_bytes() for name, path in first.events.items()}
    env_before = read_json(first.env_file)
    generator.generate(tmp_path / "events", now=now)
    changed = {name for name, path in first.events.items() if path.read_bytes() != before[name]}
    assert changed == {name for name in EXPECTED_EVENTS if name.startswith(TIME_BOUND)}
    env_after = read_json(first.env_file)
    for function in FUNCTIONS.values():
        env_before[function].pop("SAML_IDP_CERT", None)
        env_after[function].pop("SAML_IDP_CERT", None)
    assert env_after == env_before


def test_sigv4_and_cognito_events_depend_only_on_the_time(tmp_path: Path) -> None:
    now = time.time()
    one = generator.generate(tmp_path / "one" / "events", now=now)
    two = generator.generate(tmp_path / "two" / "events", now=now)
    for name in EXPECTED_EVENTS:
        same = one.events[name].read_bytes() == two.events[name].read_bytes()
        assert same is name.startswith(("sigv4-", "multi-sigv4-", "cognito-", "multi-cognito-")), name
    later = generator.generate(tmp_path / "three" / "events", now=now + 1)
    assert later.events["sigv4-request"].read_bytes() != one.events["sigv4-request"].read_bytes()


def test_make_events_keeps_the_committed_jwt_and_cognito_events(tmp_path: Path) -> None:
    """Run on a copy of the committed files: the JWT key is kept (it still verifies), nothing churns."""
    shutil.copytree(EVENTS, tmp_path / "events", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copy(ENV_FILE, tmp_path / "env.json")
    generated = generator.generate(tmp_path / "events")
    for name in (*COMMITTED_JWT, *COMMITTED_COGNITO, "multi-jwt-token", "multi-jwt-http", "multi-cognito-request"):
        assert generated.events[name].read_bytes() == (EVENTS / f"{name}.json").read_bytes(), name
    assert env_for("jwt", generated.env_file) == env_for("jwt")


def test_a_jwt_event_that_no_longer_verifies_gets_a_new_key(tmp_path: Path) -> None:
    shutil.copytree(EVENTS, tmp_path / "events", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    env = read_json(ENV_FILE)
    env["JwtAuthorizerFunction"]["JWT_JWKS"] = json.dumps(devtoken.jwks([devtoken.DevKey.throwaway()]))
    (tmp_path / "env.json").write_text(json.dumps(env))
    generated = generator.generate(tmp_path / "events")
    assert generated.events["jwt-token"].read_bytes() != (EVENTS / "jwt-token.json").read_bytes()
    assert outcome(handler_for("jwt", generated.env_file), event("jwt-token", tmp_path / "events"))[0] == "allow"


# env.json --------------------------------------------------------------------------------------------------


KNOWN = {
    "JwtAuthorizerFunction": settings.KNOWN_VARIABLES,
    "CognitoAuthorizerFunction": settings.COGNITO_VARIABLES,
    "SamlAuthorizerFunction": settings.SAML_VARIABLES,
    "SigV4AuthorizerFunction": settings.SIGV4_VARIABLES,
    "MultiAuthorizerFunction": getattr(settings, "MULTI_VARIABLES", frozenset()),
}


def test_env_json_has_the_template_s_functions_and_only_variables_their_handler_reads() -> None:
    document = read_json(ENV_FILE)
    assert set(document) == set(KNOWN)
    for function, variables in document.items():
        assert set(variables) <= KNOWN[function], function
        assert all(isinstance(value, str) for value in variables.values()), function


@pytest.mark.parametrize(
    ("function", "load"),
    [
        ("JwtAuthorizerFunction", settings.load_jwt_settings),
        ("CognitoAuthorizerFunction", settings.load_cognito_settings),
        ("SamlAuthorizerFunction", settings.load_saml_settings),
        ("SigV4AuthorizerFunction", settings.load_sigv4_settings),
    ],
)
def test_env_json_settings_load(function: str, load: Callable[[Mapping[str, str]], object]) -> None:
    load(environment(read_json(ENV_FILE), function))


def test_env_json_variables_are_declared_by_the_template() -> None:
    """``sam local invoke --env-vars`` only overrides variables the function declares."""
    template = yaml.load((ROOT / "sam-template.yaml").read_text(), Loader=_CloudFormationLoader)  # noqa: S506
    for function, variables in read_json(ENV_FILE).items():
        declared = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert set(variables) <= set(declared), (function, sorted(set(variables) - set(declared)))


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, !If and the other short-form intrinsic functions as plain values."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
