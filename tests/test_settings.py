"""Configuration from the environment: every variable, every refusal names its variable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from authorizers.errors import ConfigurationError
from authorizers.jwt.keysource import StaticKeySource
from authorizers.jwt.remote import DiscoveredJwks, RemoteJwks
from authorizers.local_issuer import LocalIssuer
from authorizers.settings import (
    KNOWN_VARIABLES,
    JwtSettings,
    load_jwt_settings,
    load_response_settings,
    split_list,
)
from policies.response import ResponseFormat
from tests.conftest import refusal_message

ISSUER = "https://issuer.example.com"
SECRET = "s" * 32


@pytest.fixture
def env(issuer: LocalIssuer) -> dict[str, str]:
    return {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": "api", "JWT_JWKS": json.dumps(issuer.jwks())}


def refused(environ: dict[str, str], *names: str) -> str:
    return refusal_message(load_jwt_settings, environ, *names)


def without(environ: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k not in names}


# The minimal configuration -------------------------------------------------------------


def test_minimal(env: dict[str, str], issuer: LocalIssuer) -> None:
    settings = load_jwt_settings(env)
    assert isinstance(settings, JwtSettings)
    assert settings.prefetch_keys is True
    assert (settings.response.response_format, settings.response.context_claims) == (ResponseFormat.AUTO, ())
    assert settings.response.authorization.rules is None  # the whole API and stage
    assert settings.response.usage_keys is None
    (config,) = settings.issuers
    assert config.issuer == ISSUER
    assert config.audience == frozenset({"api"})
    assert config.algorithms == frozenset({"RS256"})
    assert config.leeway_seconds == 30
    assert config.token_type is None
    assert config.required_scopes == frozenset()
    assert dict(config.required_claims) == {}
    assert config.groups_claim == "groups"
    assert config.shared_secret is None
    assert isinstance(config.key_source, StaticKeySource)
    found = config.key_source.find_key(issuer.kid, "RS256")
    assert found is not None


def test_settings_are_frozen(env: dict[str, str]) -> None:
    settings = load_jwt_settings(env)
    with pytest.raises(AttributeError):
        settings.prefetch_keys = False  # type: ignore[misc]


@pytest.mark.parametrize("name", ["JWT_ISSUER", "JWT_AUDIENCE"])
@pytest.mark.parametrize("value", [None, "", "   ", " , "])
def test_required(env: dict[str, str], name: str, value: str | None) -> None:
    environ = without(env, name) if value is None else {**env, name: value}
    refused(environ, name)


# Lists ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "items"),
    [
        ("a", ("a",)),
        ("a,b", ("a", "b")),
        ("a b", ("a", "b")),
        (" a ,  b\tc ,", ("a", "b", "c")),
        ("b,a,b", ("b", "a")),
        ("", ()),
        (" , ", ()),
    ],
)
def test_split_list(raw: str, items: tuple[str, ...]) -> None:
    assert split_list(raw) == items


def test_audiences_comma_and_space_separated(env: dict[str, str]) -> None:
    (config,) = load_jwt_settings({**env, "JWT_AUDIENCE": "api, web mobile"}).issuers
    assert config.audience == frozenset({"api", "web", "mobile"})


def test_audience_star_switches_the_check_off(env: dict[str, str]) -> None:
    (config,) = load_jwt_settings({**env, "JWT_AUDIENCE": " * "}).issuers
    assert config.audience is None


@pytest.mark.parametrize("value", ["*, api", "api *", "* *x"])
def test_audience_star_cannot_be_combined(env: dict[str, str], value: str) -> None:
    assert "cannot be combined" in refused({**env, "JWT_AUDIENCE": value}, "JWT_AUDIENCE")


def test_several_issuers_share_the_static_keys(env: dict[str, str]) -> None:
    settings = load_jwt_settings({**env, "JWT_ISSUER": f"{ISSUER}, https://other.example.com {ISSUER}"})
    assert [c.issuer for c in settings.issuers] == [ISSUER, "https://other.example.com"]
    assert settings.issuers[0].key_source is settings.issuers[1].key_source


def test_scopes_and_algorithms_lists(env: dict[str, str]) -> None:
    (config,) = load_jwt_settings(
        {**env, "JWT_REQUIRED_SCOPES": "pets:read, pets:write admin", "JWT_ALGORITHMS": "RS256 ES256,PS256"}
    ).issuers
    assert config.required_scopes == frozenset({"pets:read", "pets:write", "admin"})
    assert config.algorithms == frozenset({"RS256", "ES256", "PS256"})


def test_plain_string_settings(env: dict[str, str]) -> None:
    (config,) = load_jwt_settings({**env, "JWT_TOKEN_TYPE": "at+jwt", "JWT_GROUPS_CLAIM": "cognito:groups"}).issuers
    assert (config.token_type, config.groups_claim) == ("at+jwt", "cognito:groups")


# Keys ----------------------------------------------------------------------------------


def test_jwks_from_a_file(env: dict[str, str], issuer: LocalIssuer, tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(env["JWT_JWKS"])
    (config,) = load_jwt_settings({**env, "JWT_JWKS": str(path)}).issuers
    assert isinstance(config.key_source, StaticKeySource)
    assert config.key_source.find_key(issuer.kid, "RS256") is not None


def test_jwks_file_missing(env: dict[str, str], tmp_path: Path) -> None:
    refused({**env, "JWT_JWKS": str(tmp_path / "nope.json")}, "JWT_JWKS")


def test_jwks_file_not_a_jwks(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text('{"not": "keys"}')
    refused({**env, "JWT_JWKS": str(path)}, "JWT_JWKS")


@pytest.mark.parametrize(
    "value", ["{not json", '{"keys": "x"}', '{"keys": []}', '{"keys": [{"kty": "oct", "k": "AA"}]}']
)
def test_inline_jwks_refused(env: dict[str, str], value: str) -> None:
    refused({**env, "JWT_JWKS": value}, "JWT_JWKS")


def test_jwks_and_jwks_uri_together(env: dict[str, str]) -> None:
    refused({**env, "JWT_JWKS_URI": "https://issuer.example.com/jwks.json"}, "JWT_JWKS", "JWT_JWKS_URI")


@pytest.mark.parametrize(
    "uri", ["https://issuer.example.com/jwks.json", "http://127.0.0.1:8080/jwks.json", "http://localhost/jwks.json"]
)
def test_jwks_uri_accepted(env: dict[str, str], uri: str) -> None:
    (config,) = load_jwt_settings({**without(env, "JWT_JWKS"), "JWT_JWKS_URI": uri}).issuers
    assert isinstance(config.key_source, RemoteJwks)
    assert config.key_source.uri == uri
    assert config.key_source.fetch_count == 0  # loading settings fetches nothing


@pytest.mark.parametrize(
    "uri",
    [
        "http://issuer.example.com/jwks.json",
        "http://10.0.0.1/jwks.json",
        "ftp://issuer.example.com/jwks.json",
        "https://user:pass@issuer.example.com/jwks.json",
        "/jwks.json",
        "https://issuer.example.com:99999/jwks.json",
    ],
)
def test_jwks_uri_refused(env: dict[str, str], uri: str) -> None:
    refused({**without(env, "JWT_JWKS"), "JWT_JWKS_URI": uri}, "JWT_JWKS_URI")


def test_discovery_when_no_keys_are_configured(env: dict[str, str]) -> None:
    environ = {**without(env, "JWT_JWKS"), "JWT_ISSUER": f"{ISSUER} https://other.example.com"}
    settings = load_jwt_settings(environ)
    sources = [c.key_source for c in settings.issuers]
    assert all(isinstance(s, DiscoveredJwks) for s in sources)
    assert [s.issuer for s in sources if isinstance(s, DiscoveredJwks)] == [ISSUER, "https://other.example.com"]


def test_discovery_over_plain_http_refused(env: dict[str, str]) -> None:
    refused({**without(env, "JWT_JWKS"), "JWT_ISSUER": "http://issuer.example.com"}, "JWT_ISSUER")


@pytest.mark.parametrize(("value", "seconds"), [("60", 60), ("86400", 86400), ("", 3600)])
def test_jwks_max_age(env: dict[str, str], value: str, seconds: int) -> None:
    environ = {**without(env, "JWT_JWKS"), "JWT_JWKS_URI": "https://i.example.com/k", "JWT_JWKS_MAX_AGE_SECONDS": value}
    (config,) = load_jwt_settings(environ).issuers
    assert isinstance(config.key_source, RemoteJwks)
    assert config.key_source._max_age == seconds


@pytest.mark.parametrize("value", ["59", "86401", "-1", "soon", "nan", "inf"])
def test_jwks_max_age_out_of_range(env: dict[str, str], value: str) -> None:
    environ = {**without(env, "JWT_JWKS"), "JWT_JWKS_URI": "https://i.example.com/k", "JWT_JWKS_MAX_AGE_SECONDS": value}
    refused(environ, "JWT_JWKS_MAX_AGE_SECONDS")


# HMAC ----------------------------------------------------------------------------------


def test_hs256_with_a_shared_secret(env: dict[str, str]) -> None:
    environ = {**without(env, "JWT_JWKS"), "JWT_ALGORITHMS": "HS256", "JWT_SHARED_SECRET": SECRET}
    (config,) = load_jwt_settings(environ).issuers
    assert config.key_source is None
    assert config.shared_secret == SECRET.encode()
    assert config.algorithms == frozenset({"HS256"})


def test_hs256_needs_a_shared_secret(env: dict[str, str]) -> None:
    refused({**without(env, "JWT_JWKS"), "JWT_ALGORITHMS": "HS256"}, "JWT_SHARED_SECRET")


def test_hs256_secret_too_short(env: dict[str, str]) -> None:
    environ = {**without(env, "JWT_JWKS"), "JWT_ALGORITHMS": "HS256", "JWT_SHARED_SECRET": "s" * 31}
    refused(environ, "JWT_SHARED_SECRET")


def test_hs512_needs_a_longer_secret(env: dict[str, str]) -> None:
    environ = {**without(env, "JWT_JWKS"), "JWT_ALGORITHMS": "HS256 HS512", "JWT_SHARED_SECRET": "s" * 63}
    refused(environ, "JWT_SHARED_SECRET")


def test_shared_secret_that_is_a_public_key(env: dict[str, str]) -> None:
    secret = "-----BEGIN PUBLIC KEY-----\n" + "A" * 64 + "\n-----END PUBLIC KEY-----"
    environ = {**without(env, "JWT_JWKS"), "JWT_ALGORITHMS": "HS256", "JWT_SHARED_SECRET": secret}
    refused(environ, "JWT_SHARED_SECRET")


def test_shared_secret_without_hs_algorithm(env: dict[str, str]) -> None:
    refused({**env, "JWT_SHARED_SECRET": SECRET}, "JWT_SHARED_SECRET")


def test_hs_only_with_keys_configured(env: dict[str, str]) -> None:
    refused({**env, "JWT_ALGORITHMS": "HS256", "JWT_SHARED_SECRET": SECRET}, "JWT_JWKS")


def test_mixed_hs_and_rs(env: dict[str, str]) -> None:
    (config,) = load_jwt_settings({**env, "JWT_ALGORITHMS": "RS256,HS256", "JWT_SHARED_SECRET": SECRET}).issuers
    assert isinstance(config.key_source, StaticKeySource)
    assert config.shared_secret == SECRET.encode()


@pytest.mark.parametrize("value", ["RS257", "none", "RS256 none", "rs256", ""])
def test_unsupported_algorithms(env: dict[str, str], value: str) -> None:
    refused({**env, "JWT_ALGORITHMS": value}, "JWT_ALGORITHMS")


# Required claims -----------------------------------------------------------------------


def test_required_claims(env: dict[str, str]) -> None:
    raw = json.dumps({"tenant": "acme", "roles": ["admin", "vet"], "level": 3, "active": True})
    (config,) = load_jwt_settings({**env, "JWT_REQUIRED_CLAIMS": raw}).issuers
    assert dict(config.required_claims) == {
        "tenant": ("acme",),
        "roles": ("admin", "vet"),
        "level": (3,),
        "active": (True,),
    }


@pytest.mark.parametrize(
    "raw",
    ["{not json", "[1, 2]", '"tenant"', '{"a": {}}', '{"a": []}', '{"a": null}', '{"a": [["x"]]}', '{"a": [null]}'],
)
def test_required_claims_refused(env: dict[str, str], raw: str) -> None:
    refused({**env, "JWT_REQUIRED_CLAIMS": raw}, "JWT_REQUIRED_CLAIMS")


# Numbers and flags ---------------------------------------------------------------------


@pytest.mark.parametrize(("value", "seconds"), [("0", 0), ("300", 300), (" 45 ", 45), ("", 30)])
def test_leeway(env: dict[str, str], value: str, seconds: int) -> None:
    (config,) = load_jwt_settings({**env, "JWT_LEEWAY_SECONDS": value}).issuers
    assert config.leeway_seconds == seconds


@pytest.mark.parametrize("value", ["301", "-1", "abc", "nan", "inf", "1e9"])
def test_leeway_out_of_range(env: dict[str, str], value: str) -> None:
    refused({**env, "JWT_LEEWAY_SECONDS": value}, "JWT_LEEWAY_SECONDS")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[("true", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True), ("", True)],
        *[("false", False), ("0", False), ("No", False), (" off ", False)],
    ],
)
def test_prefetch_flag(env: dict[str, str], value: str, expected: bool) -> None:
    assert load_jwt_settings({**env, "JWT_PREFETCH_KEYS": value}).prefetch_keys is expected


@pytest.mark.parametrize("value", ["maybe", "2", "t"])
def test_prefetch_flag_refused(env: dict[str, str], value: str) -> None:
    refused({**env, "JWT_PREFETCH_KEYS": value}, "JWT_PREFETCH_KEYS")


# Unknown variables ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("JWT_REQUIRED_SCOPE", "JWT_REQUIRED_SCOPES"),
        ("JWT_AUDIENCES", "JWT_AUDIENCE"),
        ("JWT_JWKS_URL", "JWT_JWKS_URI"),
        ("AUTHZ_CONTEXT_CLAIM", "AUTHZ_CONTEXT_CLAIMS"),
        ("AUTHZ_RESPONSE_FORMATS", "AUTHZ_RESPONSE_FORMAT"),
    ],
)
def test_unknown_variable_with_suggestion(env: dict[str, str], name: str, suggestion: str) -> None:
    message = refused({**env, name: "x"}, name)
    assert message == f"unknown setting {name}; did you mean {suggestion}?"


def test_unknown_variable_without_suggestion(env: dict[str, str]) -> None:
    message = refused({**env, "AUTHZ_QQQQQQQQQQQQ": "x"}, "AUTHZ_QQQQQQQQQQQQ")
    assert "did you mean" not in message


def test_other_prefixes_are_ignored(env: dict[str, str]) -> None:
    environ = {**env, "POWERTOOLS_SERVICE_NAME": "x", "PATH": "/bin", "AWS_REGION": "us-east-1", "JWTISSUER": "x"}
    assert load_jwt_settings(environ).issuers[0].issuer == ISSUER


def test_known_variables() -> None:
    assert {
        "JWT_ISSUER",
        "JWT_AUDIENCE",
        "JWT_JWKS_URI",
        "JWT_JWKS",
        "JWT_ALGORITHMS",
        "JWT_LEEWAY_SECONDS",
        "JWT_REQUIRED_SCOPES",
        "JWT_REQUIRED_CLAIMS",
        "JWT_TOKEN_TYPE",
        "JWT_GROUPS_CLAIM",
        "JWT_SHARED_SECRET",
        "JWT_JWKS_MAX_AGE_SECONDS",
        "JWT_PREFETCH_KEYS",
        "AUTHZ_RESPONSE_FORMAT",
        "AUTHZ_CONTEXT_CLAIMS",
        "AUTHZ_RULES",
        "AUTHZ_OPENAPI",
        "AUTHZ_OPENAPI_SCHEMES",
        "AUTHZ_POLICY_SCOPE",
        "AUTHZ_USAGE_KEY_CLAIM",
        "AUTHZ_USAGE_KEYS",
    } == KNOWN_VARIABLES


# Response settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ResponseFormat.AUTO),
        ("auto", ResponseFormat.AUTO),
        ("IAM", ResponseFormat.IAM),
        (" simple ", ResponseFormat.SIMPLE),
    ],
)
def test_response_format(value: str | None, expected: ResponseFormat) -> None:
    environ = {} if value is None else {"AUTHZ_RESPONSE_FORMAT": value}
    assert load_response_settings(environ).response_format is expected


@pytest.mark.parametrize("value", ["json", "policy", "", "simple,iam"])
def test_response_format_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="AUTHZ_RESPONSE_FORMAT"):
        load_response_settings({"AUTHZ_RESPONSE_FORMAT": value})


def test_context_claims() -> None:
    settings = load_response_settings({"AUTHZ_CONTEXT_CLAIMS": "email, custom:tenant email roles"})
    assert settings.context_claims == ("email", "custom:tenant", "roles")


@pytest.mark.parametrize("value", ["claims", "email claims", "principalId", "sub", "scopes", "expires_at", "a/b", "é"])
def test_context_claims_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="AUTHZ_CONTEXT_CLAIMS"):
        load_response_settings({"AUTHZ_CONTEXT_CLAIMS": value})


def test_response_settings_reach_the_jwt_settings(env: dict[str, str]) -> None:
    settings = load_jwt_settings({**env, "AUTHZ_RESPONSE_FORMAT": "iam", "AUTHZ_CONTEXT_CLAIMS": "email"})
    assert (settings.response.response_format, settings.response.context_claims) == (ResponseFormat.IAM, ("email",))


def test_every_refusal_is_a_configuration_error(env: dict[str, str]) -> None:
    # The cold start must fail with our error type, never a KeyError or ValueError.
    bad: list[dict[str, Any]] = [
        {**env, "JWT_LEEWAY_SECONDS": "x"},
        {**env, "JWT_REQUIRED_CLAIMS": "["},
        {**env, "JWT_JWKS": "{"},
        {**env, "AUTHZ_CONTEXT_CLAIMS": "claims"},
        {**env, "AUTHZ_RESPONSE_FORMAT": "x"},
    ]
    for environ in bad:
        with pytest.raises(ConfigurationError):
            load_jwt_settings(environ)


def test_lower_case_spelling_of_our_variable_is_refused_with_a_hint() -> None:
    from authorizers.errors import ConfigurationError
    from authorizers.settings import load_jwt_settings

    environ = {"JWT_ISSUER": "https://issuer.example", "JWT_AUDIENCE": "api", "jwt_required_scopes": "pets:read"}
    with pytest.raises(ConfigurationError, match="did you mean JWT_REQUIRED_SCOPES"):
        load_jwt_settings(environ)


def test_fractional_leeway_is_refused() -> None:
    from authorizers.errors import ConfigurationError
    from authorizers.settings import load_jwt_settings

    environ = {"JWT_ISSUER": "https://issuer.example", "JWT_AUDIENCE": "api", "JWT_LEEWAY_SECONDS": "1.5"}
    with pytest.raises(ConfigurationError, match="JWT_LEEWAY_SECONDS"):
        load_jwt_settings(environ)
