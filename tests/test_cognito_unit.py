"""Cognito user pools offline: pool ids, settings, the validator and the revocation check.

No network: keys are generated here and pinned in a StaticKeySource, tokens are signed
with pyjwt, the clock is fixed, and GetUser is a fake client injected into the check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import jwt as pyjwt
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from authorizers.cognito import CognitoPool, CognitoValidator, TokenUse, UserPool, parse_pool_id
from authorizers.cognito import revocation as revocation_module
from authorizers.cognito.revocation import USER_SCOPE, GetUserRevocationCheck
from authorizers.errors import (
    AuthorizerUnavailable,
    ConfigurationError,
    CredentialRejected,
    InsufficientPermission,
    Reason,
)
from authorizers.fetch import HttpJsonFetcher
from authorizers.jwt.keysource import StaticKeySource
from authorizers.jwt.remote import RemoteJwks
from authorizers.jwt.validator import VerifiedJwt
from authorizers.local_issuer import generate_key, public_jwk
from authorizers.settings import (
    COGNITO_VARIABLES,
    KNOWN_VARIABLES,
    CognitoSettings,
    load_cognito_settings,
    load_jwt_settings,
)
from policies.principal import Principal
from policies.response import ResponseFormat
from tests.conftest import b64url, craft, refusal_message

T = 1_700_000_000
POOL_ID = "eu-west-1_AbC123xyZ"
POOL = parse_pool_id(POOL_ID)
OTHER_POOL = parse_pool_id("eu-west-1_Other9876")  # same region, same keys below
CLIENT = "1example23456789"
OTHER_CLIENT = "9other87654321"

# Key generation is the slow part: once per module.
RSA_KEY = generate_key("RS256")
RSA_KEY_B = generate_key("RS256")  # a second pool's key, or a forger's
EC_KEY = generate_key("ES256")
JWKS = {"keys": [public_jwk(RSA_KEY, "k1", "RS256"), public_jwk(EC_KEY, "e1", "ES256")]}
KEYS = StaticKeySource.from_text(json.dumps(JWKS))
KEYS_B = StaticKeySource.from_text(json.dumps({"keys": [public_jwk(RSA_KEY_B, "b1", "RS256")]}))


def access_claims(**overrides: Any) -> dict[str, Any]:
    """An access token's claims as Cognito issues them; ``None`` removes a claim."""
    values: dict[str, Any] = {
        "iss": POOL.issuer(),
        "sub": "user-1",
        "token_use": "access",
        "client_id": CLIENT,
        "scope": "aws.cognito.signin.user.admin pets/read",
        "username": "alice",
        "cognito:groups": ["admins", "vets"],
        "auth_time": T,
        "iat": T,
        "exp": T + 3600,
        "jti": "a1",
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def id_claims(**overrides: Any) -> dict[str, Any]:
    """An ID token's claims: the app client is ``aud``, and there is no ``scope``."""
    values: dict[str, Any] = {
        "iss": POOL.issuer(),
        "sub": "user-1",
        "token_use": "id",
        "aud": CLIENT,
        "cognito:username": "alice",
        "email": "alice@example.com",
        "cognito:groups": ["admins"],
        "auth_time": T,
        "iat": T,
        "exp": T + 3600,
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def sign(claims: dict[str, Any], key: Any = RSA_KEY, alg: str = "RS256", kid: str = "k1") -> str:
    return pyjwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def hs256_with_the_public_key(claims: dict[str, Any]) -> str:
    """The classic key confusion: HMAC keyed with the RSA public key's PEM."""
    pem = RSA_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def make_pool(**overrides: Any) -> CognitoPool:
    values: dict[str, Any] = {"pool": POOL, "key_source": KEYS, "client_ids": frozenset({CLIENT})}
    values.update(overrides)
    return CognitoPool(**values)


def validator(*pools: CognitoPool, now: float = T, revocation: Any = None) -> CognitoValidator:
    return CognitoValidator(pools or (make_pool(),), clock=lambda: now, revocation=revocation)


def rejected(v: CognitoValidator, token: str) -> Reason:
    with pytest.raises(CredentialRejected) as caught:
        v.validate(token)
    assert type(caught.value) is CredentialRejected, "expected a 401 refusal, not a 403"
    return caught.value.reason


# --- 1. pool ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pool_id", "region", "issuer"),
    [
        ("us-east-1_AbC123xyZ", "us-east-1", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123xyZ"),
        ("eu-west-1_a", "eu-west-1", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_a"),
        ("ap-southeast-2_Q9", "ap-southeast-2", "https://cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_Q9"),
        ("us-gov-west-1_Gov1", "us-gov-west-1", "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_Gov1"),
        ("cn-north-1_Cn1", "cn-north-1", "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_Cn1"),
        (
            "cn-northwest-1_Cn2",
            "cn-northwest-1",
            "https://cognito-idp.cn-northwest-1.amazonaws.com.cn/cn-northwest-1_Cn2",
        ),
        (" us-east-1_Padded ", "us-east-1", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Padded"),
    ],
)
def test_pool_id_gives_region_issuer_and_jwks_uri(pool_id: str, region: str, issuer: str) -> None:
    pool = parse_pool_id(pool_id)
    assert pool == UserPool(pool_id=pool_id.strip(), region=region)
    assert pool.issuer() == issuer
    assert pool.jwks_uri() == f"{issuer}/.well-known/jwks.json"


@pytest.mark.parametrize("endpoint", ["http://localhost:9229", "http://localhost:9229/"])
def test_endpoint_override_replaces_the_base(endpoint: str) -> None:
    pool = parse_pool_id("cn-north-1_Cn1")
    assert pool.issuer(endpoint) == "http://localhost:9229/cn-north-1_Cn1"
    assert pool.jwks_uri(endpoint) == "http://localhost:9229/cn-north-1_Cn1/.well-known/jwks.json"
    assert pool.issuer() == "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_Cn1"  # unchanged


@pytest.mark.parametrize(
    "pool_id",
    [
        pytest.param("", id="empty"),
        pytest.param("useast1AbC", id="no-underscore"),
        pytest.param("us-east-1", id="region-only"),
        pytest.param("us-east-1_", id="empty-suffix"),
        pytest.param("_AbC123", id="empty-region"),
        pytest.param("useast1_AbC", id="region-without-dashes"),
        pytest.param("us-east_AbC", id="region-without-number"),
        pytest.param("us-east-123_AbC", id="region-number-too-long"),
        pytest.param("US-EAST-1_AbC", id="upper-case-region"),
        pytest.param("us_AbC", id="region-too-short"),
        pytest.param("us-east-1__AbC", id="double-underscore"),
        pytest.param("us-east-1_Ab C", id="space-inside"),
        pytest.param("us-east-1 _AbC", id="space-before-underscore"),
        pytest.param("us-east-1_Ab-C", id="dash-in-suffix"),
        pytest.param("us-east-1_Ab.C", id="dot-in-suffix"),
        pytest.param("us-east-1_AbC;x", id="semicolon"),
        pytest.param("us-east-1_AbC?x=1", id="query"),
        pytest.param("us-east-1_AbC#x", id="fragment"),
        pytest.param("us-east-1_abc/../x", id="path-traversal"),
        pytest.param("../us-east-1_abc", id="leading-traversal"),
        pytest.param("us-east-1_abc%2F..", id="encoded-slash"),
        pytest.param("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC", id="issuer-url"),
        pytest.param("cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC", id="host-and-path"),
        pytest.param("us-east-1_Ab\u00e9", id="non-ascii"),
        pytest.param("us-east-1_" + "a" * 65, id="suffix-too-long"),
        pytest.param("us-east-1_AbC,eu-west-1_X", id="two-ids-in-one"),
    ],
)
def test_invalid_pool_ids_are_refused(pool_id: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a user pool id"):
        parse_pool_id(pool_id)


# --- 2. settings ----------------------------------------------------------------------------

ENV = {"COGNITO_USER_POOL_ID": POOL_ID, "COGNITO_CLIENT_ID": CLIENT}
JWT_ENV = {"JWT_ISSUER": "https://issuer.example.com", "JWT_AUDIENCE": "api", "JWT_JWKS": json.dumps(JWKS)}


@pytest.fixture
def no_fetch(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL any HttpJsonFetcher is asked for (the list must stay empty)."""
    asked: list[str] = []

    def fetch_json(self: HttpJsonFetcher, url: str) -> object:
        asked.append(url)
        raise AssertionError(f"settings fetched {url}")

    monkeypatch.setattr(HttpJsonFetcher, "fetch_json", fetch_json)
    return asked


def settings_refused(environ: dict[str, str], *names: str) -> str:
    return refusal_message(load_cognito_settings, environ, *names)


def test_minimal_settings(no_fetch: list[str]) -> None:
    settings = load_cognito_settings(ENV)
    assert isinstance(settings, CognitoSettings)
    assert (settings.check_revocation, settings.revocation_cache_seconds, settings.endpoint) == (False, 60, None)
    assert settings.response.response_format is ResponseFormat.AUTO
    (pool,) = settings.pools
    assert pool.pool == POOL
    assert pool.client_ids == frozenset({CLIENT})
    assert pool.token_use is TokenUse.ACCESS
    assert (pool.groups, pool.required_scopes, pool.issuer_endpoint) == (frozenset(), frozenset(), None)
    assert pool.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyZ"
    # The keys come from the pool's JWKS URI, lazily: building the settings fetched nothing.
    assert isinstance(pool.key_source, RemoteJwks)
    assert pool.key_source.uri == POOL.jwks_uri()
    assert pool.key_source.fetch_count == 0
    assert no_fetch == []


def test_the_no_fetch_fixture_can_fail(no_fetch: list[str]) -> None:
    # The counterpart: asking the key source for a key does reach the (patched) fetcher.
    (pool,) = load_cognito_settings(ENV).pools
    with pytest.raises(AssertionError, match="settings fetched"):
        pool.key_source.find_key("k1", "RS256")
    assert no_fetch == [POOL.jwks_uri()]


def test_several_pools_each_with_its_own_keys(no_fetch: list[str]) -> None:
    settings = load_cognito_settings({**ENV, "COGNITO_USER_POOL_ID": f"{POOL_ID}, cn-north-1_Cn1 {POOL_ID}"})
    assert [p.issuer for p in settings.pools] == [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyZ",
        "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_Cn1",
    ]
    uris = [p.key_source.uri for p in settings.pools if isinstance(p.key_source, RemoteJwks)]
    assert uris == [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyZ/.well-known/jwks.json",
        "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_Cn1/.well-known/jwks.json",
    ]
    assert no_fetch == []


def test_client_ids_groups_and_scopes_lists() -> None:
    environ = {
        **ENV,
        "COGNITO_CLIENT_ID": f"{CLIENT}, {OTHER_CLIENT}",
        "COGNITO_GROUPS": "admins vets,admins",
        "COGNITO_REQUIRED_SCOPES": "pets/read, pets/write",
    }
    (pool,) = load_cognito_settings(environ).pools
    assert pool.client_ids == frozenset({CLIENT, OTHER_CLIENT})
    assert pool.groups == frozenset({"admins", "vets"})
    assert pool.required_scopes == frozenset({"pets/read", "pets/write"})


def test_star_alone_accepts_every_client() -> None:
    (pool,) = load_cognito_settings({**ENV, "COGNITO_CLIENT_ID": " * "}).pools
    assert pool.client_ids is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", TokenUse.ACCESS), ("access", TokenUse.ACCESS), (" ID ", TokenUse.ID), ("Any", TokenUse.ANY)],
)
def test_token_use(value: str, expected: TokenUse) -> None:
    (pool,) = load_cognito_settings({**ENV, "COGNITO_TOKEN_USE": value}).pools
    assert pool.token_use is expected


@pytest.mark.parametrize(
    ("value", "endpoint", "jwks_uri"),
    [
        ("https://cognito.example.com", "https://cognito.example.com", "https://cognito.example.com"),
        ("http://localhost:9229", "http://localhost:9229", "http://localhost:9229"),
        ("http://127.0.0.1:9229/", "http://127.0.0.1:9229", "http://127.0.0.1:9229"),
        (
            " https://emu.example.com:8443/base/ ",
            "https://emu.example.com:8443/base",
            "https://emu.example.com:8443/base",
        ),
    ],
)
def test_endpoint_moves_keys_but_not_the_issuer(value: str, endpoint: str, jwks_uri: str) -> None:
    settings = load_cognito_settings({**ENV, "COGNITO_ENDPOINT": value})
    assert settings.endpoint == endpoint
    (pool,) = settings.pools
    assert isinstance(pool.key_source, RemoteJwks)
    assert pool.key_source.uri == f"{jwks_uri}/{POOL_ID}/.well-known/jwks.json"
    assert pool.issuer == POOL.issuer()  # the expected iss stays the AWS one


@pytest.mark.parametrize("value", ["http://localhost:9229", "https://cognito.example.com/", "http://127.0.0.1:1"])
def test_issuer_endpoint_moves_the_issuer_but_not_the_keys(value: str) -> None:
    settings = load_cognito_settings({**ENV, "COGNITO_ISSUER_ENDPOINT": value})
    assert settings.endpoint is None
    (pool,) = settings.pools
    assert pool.issuer == f"{value.rstrip('/')}/{POOL_ID}"
    assert isinstance(pool.key_source, RemoteJwks)
    assert pool.key_source.uri == POOL.jwks_uri()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[("true", True), ("TRUE", True), ("1", True), ("yes", True), (" on ", True)],
        *[("false", False), ("0", False), ("No", False), ("off", False), ("", False)],
    ],
)
def test_revocation_flag(value: str, expected: bool) -> None:
    assert load_cognito_settings({**ENV, "COGNITO_CHECK_REVOCATION": value}).check_revocation is expected


@pytest.mark.parametrize(
    ("value", "seconds"), [("0", 0), ("300", 300), (" 45 ", 45), ("", 60), ("1e2", 100), ("30.0", 30)]
)
def test_revocation_cache_seconds(value: str, seconds: int) -> None:
    settings = load_cognito_settings({**ENV, "COGNITO_REVOCATION_CACHE_SECONDS": value})
    assert settings.revocation_cache_seconds == seconds
    assert type(settings.revocation_cache_seconds) is int


def test_authz_variables_are_read_by_the_cognito_handler() -> None:
    settings = load_cognito_settings({**ENV, "AUTHZ_RESPONSE_FORMAT": "iam", "AUTHZ_CONTEXT_CLAIMS": "email"})
    assert (settings.response.response_format, settings.response.context_claims) == (ResponseFormat.IAM, ("email",))


def without(environ: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k != name}


# (environment, variables the message must name, a piece of the message)
SETTINGS_REFUSALS = [
    *[
        pytest.param(
            without(ENV, name) if value is None else {**ENV, name: value},
            (name,),
            "is required",
            id=f"{name}={value!r}",
        )
        for name in ("COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID")
        for value in (None, "", "   ", " , ")
    ],
    *[
        pytest.param(
            {**ENV, "COGNITO_USER_POOL_ID": value}, ("COGNITO_USER_POOL_ID",), "not a user pool id", id=f"pool={value}"
        )
        for value in (
            "us-east-1_abc/../x",
            "us-east-1",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_a",
            f"{POOL_ID} bad",
        )
    ],
    *[
        pytest.param(
            {**ENV, "COGNITO_CLIENT_ID": value}, ("COGNITO_CLIENT_ID",), "cannot be combined", id=f"clients={value}"
        )
        for value in (f"*, {CLIENT}", f"{CLIENT} *", "* *x")
    ],
    *[
        pytest.param(
            {**ENV, "COGNITO_TOKEN_USE": value}, ("COGNITO_TOKEN_USE",), "access, id or any", id=f"use={value}"
        )
        for value in ("refresh", "both", "access,id", "access id", "*")
    ],
    *[
        pytest.param({**ENV, name: value}, (name,), "", id=f"{name}={value}")
        for name in ("COGNITO_ENDPOINT", "COGNITO_ISSUER_ENDPOINT")
        for value in (
            "https://cognito.example.com?x=1",
            "https://cognito.example.com/#f",
            "ftp://cognito.example.com",
            "https://user:pass@cognito.example.com",
            "cognito.example.com",
            "//cognito.example.com",
            "https://cognito.example.com/a b",
            "https://cognito.example.com/%2e%2e",
            "https://",
        )
    ],
    *[
        pytest.param({**ENV, "COGNITO_ENDPOINT": value}, ("COGNITO_ENDPOINT",), "", id=f"endpoint-policy={value}")
        for value in (
            "http://cognito.example.com",
            "http://10.0.0.1:9229",
            "http://0.0.0.0:9229",
            "https://h.example.com:99999",
        )
    ],
    *[
        pytest.param(
            {**ENV, "COGNITO_CHECK_REVOCATION": value},
            ("COGNITO_CHECK_REVOCATION",),
            "true or false",
            id=f"flag={value}",
        )
        for value in ("maybe", "2", "t")
    ],
    *[
        pytest.param(
            {**ENV, "COGNITO_CHECK_REVOCATION": "true", "COGNITO_TOKEN_USE": use},
            ("COGNITO_CHECK_REVOCATION", "COGNITO_TOKEN_USE"),
            "needs",
            id=f"revocation-with-{use}",
        )
        for use in ("id", "any")
    ],
    *[
        pytest.param(
            {**ENV, "COGNITO_REVOCATION_CACHE_SECONDS": value},
            ("COGNITO_REVOCATION_CACHE_SECONDS",),
            "",
            id=f"cache={value}",
        )
        for value in ("-1", "301", "1.5", "0.1", "abc", "nan", "inf", "-inf", "1e9")
    ],
    *[
        pytest.param({**ENV, name: "x"}, (name,), "not read by this handler", id=f"jwt-variable-{name}")
        for name in sorted(n for n in KNOWN_VARIABLES if n.startswith("JWT_"))
    ],
    pytest.param({**ENV, "AUTHZ_RESPONSE_FORMAT": "json"}, ("AUTHZ_RESPONSE_FORMAT",), "", id="authz-response-format"),
    pytest.param({**ENV, "AUTHZ_CONTEXT_CLAIMS": "claims"}, ("AUTHZ_CONTEXT_CLAIMS",), "", id="authz-context-claims"),
]


@pytest.mark.parametrize(("environ", "names", "fragment"), SETTINGS_REFUSALS)
def test_settings_refused(environ: dict[str, str], names: tuple[str, ...], fragment: str) -> None:
    assert fragment in settings_refused(environ, *names)


def test_the_base_environment_is_accepted() -> None:
    # Every refusal above changes this environment only in the variables it names.
    assert load_cognito_settings(ENV).pools[0].pool == POOL
    assert load_jwt_settings(JWT_ENV).issuers[0].issuer == "https://issuer.example.com"


@pytest.mark.parametrize(
    "value",
    ["http://cognito.example.com", "http://10.0.0.1:9229", "http://0.0.0.0:9229", "https://h.example.com:99999"],
)
def test_issuer_endpoint_follows_the_url_policy(value: str) -> None:
    settings_refused({**ENV, "COGNITO_ISSUER_ENDPOINT": value}, "COGNITO_ISSUER_ENDPOINT")


@pytest.mark.parametrize("name", sorted(n for n in COGNITO_VARIABLES if n.startswith("COGNITO_")))
def test_cognito_variables_are_refused_by_the_jwt_handler(name: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_jwt_settings({**JWT_ENV, name: "x"})
    assert str(info.value) == f"setting {name} is not read by this handler"


def test_cognito_variables_are_all_listed() -> None:
    assert {n for n in COGNITO_VARIABLES if not n.startswith("AUTHZ_")} == {
        "COGNITO_USER_POOL_ID",
        "COGNITO_CLIENT_ID",
        "COGNITO_TOKEN_USE",
        "COGNITO_GROUPS",
        "COGNITO_REQUIRED_SCOPES",
        "COGNITO_ENDPOINT",
        "COGNITO_ISSUER_ENDPOINT",
        "COGNITO_CHECK_REVOCATION",
        "COGNITO_REVOCATION_CACHE_SECONDS",
    }


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("COGNITO_CLIENT_IDS", "COGNITO_CLIENT_ID"),
        ("COGNITO_POOL_ID", "COGNITO_USER_POOL_ID"),
        ("COGNITO_USERPOOL_ID", "COGNITO_USER_POOL_ID"),
        ("COGNITO_GROUP", "COGNITO_GROUPS"),
        ("COGNITO_REQUIRED_SCOPE", "COGNITO_REQUIRED_SCOPES"),
        ("COGNITO_TOKENUSE", "COGNITO_TOKEN_USE"),
        ("cognito_token_use", "COGNITO_TOKEN_USE"),
        ("COGNITO_CHECK_REVOKED", "COGNITO_CHECK_REVOCATION"),
        ("COGNITO_REVOCATION_CACHE", "COGNITO_REVOCATION_CACHE_SECONDS"),
        ("COGNITO_ISSUER_ENDPIONT", "COGNITO_ISSUER_ENDPOINT"),
        ("AUTHZ_CONTEXT_CLAIM", "AUTHZ_CONTEXT_CLAIMS"),
    ],
)
def test_misspelt_variable_gets_a_suggestion(name: str, suggestion: str) -> None:
    message = settings_refused({**ENV, name: "x"}, name)
    assert message == f"unknown setting {name}; did you mean {suggestion}?"


def test_unknown_cognito_variable_without_suggestion() -> None:
    assert settings_refused({**ENV, "COGNITO_QQQQQQQQQQ": "x"}) == "unknown setting COGNITO_QQQQQQQQQQ"


# --- 3. the validator: refusals -------------------------------------------------------------

ACCESS = frozenset({CLIENT})
VALIDATOR_REFUSALS = [
    # token_use
    pytest.param({}, sign(id_claims()), Reason.WRONG_TOKEN_USE, id="id-token-where-access-expected"),
    pytest.param(
        {"token_use": TokenUse.ID}, sign(access_claims()), Reason.WRONG_TOKEN_USE, id="access-where-id-expected"
    ),
    pytest.param({}, sign(access_claims(token_use=None)), Reason.WRONG_TOKEN_USE, id="token-use-missing"),
    pytest.param(
        {"token_use": TokenUse.ANY}, sign(access_claims(token_use=None)), Reason.WRONG_TOKEN_USE, id="missing-any"
    ),
    pytest.param({}, sign(access_claims(token_use="refresh")), Reason.WRONG_TOKEN_USE, id="token-use-refresh"),
    pytest.param(
        {"token_use": TokenUse.ANY}, sign(access_claims(token_use="any")), Reason.WRONG_TOKEN_USE, id="literal-any"
    ),
    pytest.param({}, sign(access_claims(token_use="ACCESS")), Reason.WRONG_TOKEN_USE, id="token-use-upper-case"),
    pytest.param({}, sign(access_claims(token_use=["access"])), Reason.WRONG_TOKEN_USE, id="token-use-list"),
    pytest.param({}, sign(access_claims(token_use=1)), Reason.WRONG_TOKEN_USE, id="token-use-number"),
    pytest.param({}, sign(access_claims(token_use={"access": True})), Reason.WRONG_TOKEN_USE, id="token-use-object"),
    # the app client
    pytest.param({}, sign(access_claims(client_id=OTHER_CLIENT)), Reason.WRONG_CLIENT, id="access-other-client"),
    pytest.param({}, sign(access_claims(client_id=None)), Reason.WRONG_CLIENT, id="access-client-missing"),
    pytest.param(
        {"client_ids": None}, sign(access_claims(client_id=None)), Reason.WRONG_CLIENT, id="any-client-but-none-named"
    ),
    pytest.param({}, sign(access_claims(client_id="")), Reason.WRONG_CLIENT, id="access-client-empty"),
    pytest.param({}, sign(access_claims(client_id=[CLIENT])), Reason.WRONG_CLIENT, id="access-client-list"),
    pytest.param(
        {}, sign(access_claims(client_id=OTHER_CLIENT, aud=CLIENT)), Reason.WRONG_CLIENT, id="access-aud-does-not-count"
    ),
    pytest.param({"token_use": TokenUse.ID}, sign(id_claims(aud=OTHER_CLIENT)), Reason.WRONG_CLIENT, id="id-other-aud"),
    pytest.param({"token_use": TokenUse.ID}, sign(id_claims(aud=None)), Reason.WRONG_CLIENT, id="id-aud-missing"),
    pytest.param({"token_use": TokenUse.ID}, sign(id_claims(aud=[CLIENT])), Reason.WRONG_CLIENT, id="id-aud-list"),
    pytest.param(
        {"token_use": TokenUse.ID},
        sign(id_claims(aud=OTHER_CLIENT, client_id=CLIENT)),
        Reason.WRONG_CLIENT,
        id="id-client-id-does-not-count",
    ),
    pytest.param(
        {"token_use": TokenUse.ANY}, sign(id_claims(aud=OTHER_CLIENT)), Reason.WRONG_CLIENT, id="any-id-other-aud"
    ),
    # the issuer picks the pool, exactly
    pytest.param({}, sign(access_claims(iss=OTHER_POOL.issuer())), Reason.UNKNOWN_ISSUER, id="other-pool-same-key"),
    pytest.param({}, sign(access_claims(iss=POOL.issuer() + "/")), Reason.UNKNOWN_ISSUER, id="issuer-trailing-slash"),
    pytest.param(
        {}, sign(access_claims(iss=POOL.issuer().replace("https", "http"))), Reason.UNKNOWN_ISSUER, id="issuer-http"
    ),
    pytest.param(
        {}, sign(access_claims(iss=POOL.issuer().lower())), Reason.UNKNOWN_ISSUER, id="issuer-lower-case-pool-id"
    ),
    pytest.param(
        {}, sign(access_claims(iss=POOL.issuer("http://localhost:9229"))), Reason.UNKNOWN_ISSUER, id="emulator-issuer"
    ),
    pytest.param({}, sign(access_claims(iss=None)), Reason.UNKNOWN_ISSUER, id="issuer-missing"),
    # times: expired when now - leeway (30 s) >= exp
    pytest.param({}, sign(access_claims(exp=T - 30)), Reason.EXPIRED, id="expired-at-the-leeway"),
    pytest.param({}, sign(access_claims(exp=T - 3600)), Reason.EXPIRED, id="expired-long-ago"),
    pytest.param({"leeway_seconds": 0}, sign(access_claims(exp=T)), Reason.EXPIRED, id="expired-now-without-leeway"),
    pytest.param({}, sign(access_claims(exp=None)), Reason.MISSING_CLAIM, id="exp-missing"),
    pytest.param({}, sign(access_claims(sub=None)), Reason.INVALID_SUBJECT, id="sub-missing"),
    # signature, key and algorithm
    pytest.param({}, sign(access_claims(), key=RSA_KEY_B), Reason.INVALID_SIGNATURE, id="signed-by-another-key"),
    pytest.param({}, sign(access_claims(), kid="nope"), Reason.UNKNOWN_KID, id="unknown-kid"),
    pytest.param({}, hs256_with_the_public_key(access_claims()), Reason.ALGORITHM_NOT_ALLOWED, id="hs256-public-key"),
    pytest.param(
        {}, sign(access_claims(), key=EC_KEY, alg="ES256", kid="e1"), Reason.ALGORITHM_NOT_ALLOWED, id="es256"
    ),
    pytest.param({}, sign(access_claims(), alg="RS512"), Reason.ALGORITHM_NOT_ALLOWED, id="rs512"),
    pytest.param({}, sign(access_claims(), alg="PS256"), Reason.ALGORITHM_NOT_ALLOWED, id="ps256"),
    pytest.param({}, craft({"alg": "none", "typ": "JWT"}, access_claims()), Reason.ALG_NONE, id="alg-none"),
]


@pytest.mark.parametrize(("overrides", "token", "reason"), VALIDATOR_REFUSALS)
def test_validator_refusals(overrides: dict[str, Any], token: str, reason: Reason) -> None:
    assert rejected(validator(make_pool(**overrides)), token) is reason


def test_tampered_claims_do_not_verify() -> None:
    header, _, signature = sign(access_claims()).split(".")
    forged = f"{header}.{b64url(json.dumps(access_claims(client_id=OTHER_CLIENT)).encode())}.{signature}"
    assert rejected(validator(make_pool(client_ids=None)), forged) is Reason.INVALID_SIGNATURE


def test_expiry_boundary_pair() -> None:
    v = validator()
    assert v.validate(sign(access_claims(exp=T - 29))).principal_id == "user-1"  # just inside the leeway
    assert rejected(v, sign(access_claims(exp=T - 30))) is Reason.EXPIRED


@pytest.mark.parametrize(
    ("overrides", "token", "reason"),
    [
        pytest.param({"groups": frozenset({"owners"})}, sign(access_claims()), Reason.NOT_IN_GROUP, id="other-groups"),
        pytest.param(
            {"groups": frozenset({"owners"})},
            sign(access_claims(**{"cognito:groups": None})),
            Reason.NOT_IN_GROUP,
            id="no-groups-claim",
        ),
        pytest.param(
            {"required_scopes": frozenset({"pets/write"})}, sign(access_claims()), Reason.INSUFFICIENT_SCOPE, id="scope"
        ),
        pytest.param(
            # Scopes first: a token lacking both is refused for its scopes.
            {"required_scopes": frozenset({"pets/write"}), "groups": frozenset({"owners"})},
            sign(access_claims()),
            Reason.INSUFFICIENT_SCOPE,
            id="scope-and-group",
        ),
    ],
)
def test_valid_tokens_lacking_permission_are_a_403(overrides: dict[str, Any], token: str, reason: Reason) -> None:
    with pytest.raises(InsufficientPermission) as caught:
        validator(make_pool(**overrides)).validate(token)
    assert caught.value.reason is reason
    assert caught.value.principal_id == "user-1"


def test_malformed_groups_claim_is_refused() -> None:
    token = sign(access_claims(**{"cognito:groups": [1, 2]}))
    assert rejected(validator(), token) is Reason.MALFORMED_CLAIMS


# --- 3. the validator: accepted tokens ------------------------------------------------------


def test_access_token_principal() -> None:
    claims = access_claims()
    principal = validator(make_pool(groups=frozenset({"vets", "owners"}))).validate(sign(claims))
    assert principal == Principal(
        principal_id="user-1",
        scheme="cognito",
        issuer=POOL.issuer(),
        scopes=frozenset({"aws.cognito.signin.user.admin", "pets/read"}),
        groups=frozenset({"admins", "vets"}),
        client_id=CLIENT,
        expires_at=T + 3600,
        claims=claims,
    )


def test_id_token_principal_takes_its_client_from_aud() -> None:
    claims = id_claims(azp="not-the-client")  # the JWT validator alone would have taken azp
    principal = validator(make_pool(token_use=TokenUse.ID)).validate(sign(claims))
    assert (principal.scheme, principal.principal_id, principal.client_id) == ("cognito", "user-1", CLIENT)
    assert principal.groups == frozenset({"admins"})
    assert principal.scopes == frozenset()
    assert principal.claims["email"] == "alice@example.com"


def test_any_accepts_both_kinds() -> None:
    v = validator(make_pool(token_use=TokenUse.ANY))
    assert v.validate(sign(access_claims())).claims["token_use"] == "access"
    assert v.validate(sign(id_claims())).claims["token_use"] == "id"


@pytest.mark.parametrize("token_use", [TokenUse.ACCESS, TokenUse.ID, TokenUse.ANY])
def test_token_use_accepts(token_use: TokenUse) -> None:
    accepted = {value for value in ("access", "id", "any", "refresh", None, "", 1) if token_use.accepts(value)}
    assert accepted == {TokenUse.ACCESS: {"access"}, TokenUse.ID: {"id"}, TokenUse.ANY: {"access", "id"}}[token_use]


def test_no_client_ids_accepts_any_client() -> None:
    v = validator(make_pool(client_ids=None, token_use=TokenUse.ANY))
    assert v.validate(sign(access_claims(client_id="whatever-client"))).client_id == "whatever-client"
    assert v.validate(sign(id_claims(aud="another-client"))).client_id == "another-client"


def test_one_of_several_clients_and_groups() -> None:
    v = validator(make_pool(client_ids=frozenset({CLIENT, OTHER_CLIENT}), groups=frozenset({"owners", "admins"})))
    assert v.validate(sign(access_claims(client_id=OTHER_CLIENT))).client_id == OTHER_CLIENT


def test_several_pools_route_by_issuer() -> None:
    gov = parse_pool_id("us-gov-west-1_Gov1")
    v = validator(
        make_pool(),
        make_pool(pool=gov, key_source=KEYS_B, client_ids=frozenset({OTHER_CLIENT}), token_use=TokenUse.ID),
    )
    assert set(v.pools) == {POOL.issuer(), gov.issuer()}
    assert v.validate(sign(access_claims())).issuer == POOL.issuer()
    gov_id = id_claims(iss=gov.issuer(), aud=OTHER_CLIENT)
    assert v.validate(sign(gov_id, key=RSA_KEY_B, kid="b1")).issuer == gov.issuer()
    # Each pool keeps its own rules and keys.
    assert rejected(v, sign(id_claims(aud=OTHER_CLIENT))) is Reason.WRONG_TOKEN_USE
    assert rejected(v, sign(access_claims(client_id=OTHER_CLIENT))) is Reason.WRONG_CLIENT
    assert rejected(v, sign(gov_id, key=RSA_KEY, kid="b1")) is Reason.INVALID_SIGNATURE
    assert rejected(v, sign(gov_id)) is Reason.UNKNOWN_KID  # pool A's kid is not in pool B's keys


def test_issuer_endpoint_for_emulators() -> None:
    v = validator(make_pool(issuer_endpoint="http://localhost:9229"))
    assert v.validate(sign(access_claims(iss="http://localhost:9229/" + POOL_ID))).principal_id == "user-1"
    assert rejected(v, sign(access_claims())) is Reason.UNKNOWN_ISSUER


def test_pool_construction_refusals() -> None:
    with pytest.raises(ConfigurationError, match="client ids must be non-empty"):
        make_pool(client_ids=frozenset())
    with pytest.raises(ConfigurationError, match="client ids must be non-empty"):
        make_pool(client_ids=frozenset({CLIENT, ""}))
    with pytest.raises(ConfigurationError, match="at least one user pool"):
        CognitoValidator([])


def test_the_same_pool_twice_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="twice"):
        CognitoValidator([make_pool(groups=frozenset({"owners"})), make_pool()])


def test_a_single_string_client_id_is_not_a_substring_match() -> None:
    try:
        v = validator(make_pool(client_ids="app-client-1"))
    except ConfigurationError:
        return  # refusing a bare string is as good as treating it as one id
    assert v.validate(sign(access_claims(client_id="app-client-1"))).client_id == "app-client-1"
    assert rejected(v, sign(access_claims(client_id="app"))) is Reason.WRONG_CLIENT


# --- 4. the revocation check ----------------------------------------------------------------


class FakeCognito:
    """GetUser: records every access token it is asked about; raises ``error`` when set."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[str] = []

    def get_user(self, *, AccessToken: str) -> Any:
        self.calls.append(AccessToken)
        if self.error is not None:
            raise self.error
        return {"Username": "alice", "UserAttributes": []}


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def client_error(code: str, message: str = "boom") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "GetUser")


REVOKED = client_error("NotAuthorizedException", "Access Token has been revoked")


def checker(
    fake: FakeCognito, clock: FakeClock, cache_seconds: int = 60, regions: list[str] | None = None
) -> GetUserRevocationCheck:
    def client_for_region(region: str) -> FakeCognito:
        if regions is not None:
            regions.append(region)
        return fake

    return GetUserRevocationCheck(cache_seconds, clock=clock, client_for_region=client_for_region)


def verified(token_exp: float | None = None, pool: CognitoPool | None = None) -> VerifiedJwt:
    """A verified access token's view, expiring ``token_exp`` (wall clock: what the check compares)."""
    exp = time.time() + 600 if token_exp is None else token_exp
    config = (pool or make_pool()).issuer_config()
    claims = {"exp": exp, "token_use": "access", "scope": USER_SCOPE}
    return VerifiedJwt(header={"alg": "RS256", "kid": "k1"}, claims=claims, config=config)


def revoked_reason(check: GetUserRevocationCheck, token: str, jwt: VerifiedJwt) -> Reason:
    with pytest.raises(CredentialRejected) as caught:
        check.check(token, jwt)
    assert type(caught.value) is CredentialRejected
    return caught.value.reason


def test_not_revoked_is_cached_for_cache_seconds() -> None:
    fake, clock = FakeCognito(), FakeClock()
    check = checker(fake, clock, cache_seconds=60)
    check.check("token-1", verified())
    clock.now += 59.9
    check.check("token-1", verified())
    assert fake.calls == ["token-1"]
    clock.now += 0.1  # exactly cache_seconds after the answer: asked again
    check.check("token-1", verified())
    assert fake.calls == ["token-1", "token-1"]


def test_each_token_is_asked_about_separately() -> None:
    fake, clock = FakeCognito(), FakeClock()
    check = checker(fake, clock)
    for token in ("token-1", "token-2", "token-1", "token-2"):
        check.check(token, verified())
    assert fake.calls == ["token-1", "token-2"]


def test_zero_cache_seconds_asks_every_time() -> None:
    fake, clock = FakeCognito(), FakeClock()
    check = checker(fake, clock, cache_seconds=0)
    for _ in range(3):
        check.check("token-1", verified())
    assert fake.calls == ["token-1"] * 3


def test_revoked_is_refused_and_cached_until_the_token_expires() -> None:
    fake, clock = FakeCognito(REVOKED), FakeClock()
    check = checker(fake, clock, cache_seconds=10)
    jwt = verified(token_exp=time.time() + 600)
    assert revoked_reason(check, "token-1", jwt) is Reason.TOKEN_REVOKED
    fake.error = None  # Cognito would now say "fine": the cached "revoked" still wins
    clock.now += 590  # long after cache_seconds, before exp
    assert revoked_reason(check, "token-1", jwt) is Reason.TOKEN_REVOKED
    assert fake.calls == ["token-1"]
    clock.now += 20  # past exp: the entry lapses (the validator would refuse it as expired anyway)
    check.check("token-1", jwt)
    assert fake.calls == ["token-1", "token-1"]


def test_revoked_answer_for_an_expired_token_is_not_kept() -> None:
    fake, clock = FakeCognito(REVOKED), FakeClock()
    check = checker(fake, clock)
    jwt = verified(token_exp=time.time() - 5)
    assert revoked_reason(check, "token-1", jwt) is Reason.TOKEN_REVOKED
    assert revoked_reason(check, "token-1", jwt) is Reason.TOKEN_REVOKED
    assert len(fake.calls) == 2


def test_every_not_authorized_answer_counts_as_revoked() -> None:
    # Design point: GetUser also answers NotAuthorizedException for an access token without
    # the aws.cognito.signin.user.admin scope (and for client-credentials tokens): such
    # tokens are refused as revoked, and cached as such until they expire.
    fake = FakeCognito(client_error("NotAuthorizedException", "Access Token does not have required scopes"))
    check = checker(fake, FakeClock())
    assert revoked_reason(check, "token-1", verified()) is Reason.TOKEN_REVOKED


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(client_error("TooManyRequestsException"), id="throttled"),
        pytest.param(client_error("InternalErrorException"), id="internal-error"),
        pytest.param(client_error("ResourceNotFoundException"), id="resource-not-found"),
        pytest.param(client_error("UserNotFoundException"), id="user-not-found"),
        pytest.param(client_error("ForbiddenException"), id="waf-forbidden"),
        pytest.param(ClientError({}, "GetUser"), id="client-error-without-code"),
        pytest.param(
            EndpointConnectionError(endpoint_url="https://cognito-idp.eu-west-1.amazonaws.com/"), id="no-route"
        ),
        pytest.param(ConnectTimeoutError(endpoint_url="https://cognito-idp.eu-west-1.amazonaws.com/"), id="timeout"),
        pytest.param(OSError("network down"), id="os-error"),
        pytest.param(ValueError("NotAuthorizedException"), id="not-a-client-error"),
    ],
)
def test_when_cognito_cannot_answer_nothing_passes(error: Exception) -> None:
    fake, clock = FakeCognito(error), FakeClock()
    check = checker(fake, clock)
    for _ in range(2):
        with pytest.raises(AuthorizerUnavailable) as caught:
            check.check("secret-token-value", verified())
        assert not isinstance(caught.value, CredentialRejected)
        assert "secret-token-value" not in str(caught.value)
        assert caught.value.__cause__ is None
    assert len(fake.calls) == 2  # a failure is not cached: the next request asks again
    assert len(check._answers) == 0


def test_the_client_is_made_for_the_pools_region_once() -> None:
    fake, clock, regions = FakeCognito(), FakeClock(), list[str]()
    check = checker(fake, clock, regions=regions)
    china = make_pool(pool=parse_pool_id("cn-north-1_Cn1"))
    emulated = make_pool(pool=parse_pool_id("ap-southeast-2_Q9"), issuer_endpoint="http://localhost:9229")
    check.check("token-1", verified())
    check.check("token-2", verified())
    check.check("token-3", verified(pool=china))
    check.check("token-4", verified(pool=emulated))
    assert regions == ["eu-west-1", "cn-north-1", "ap-southeast-2"]
    assert fake.calls == ["token-1", "token-2", "token-3", "token-4"]


def test_the_cache_never_holds_the_token() -> None:
    fake, clock = FakeCognito(), FakeClock()
    check = checker(fake, clock)
    token = sign(access_claims())
    check.check(token, verified())
    fake.error = REVOKED
    with pytest.raises(CredentialRejected):
        check.check(token + "x", verified())
    assert list(check._answers) == [
        hashlib.sha256(token.encode()).hexdigest(),
        hashlib.sha256((token + "x").encode()).hexdigest(),
    ]
    assert all(len(key) == 64 and set(key) <= set("0123456789abcdef") for key in check._answers)
    assert token not in repr(check.__dict__)
    assert [revoked for revoked, _ in check._answers.values()] == [False, True]


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(revocation_module, "MAX_CACHED_TOKENS", 3)
    fake, clock = FakeCognito(), FakeClock()
    check = checker(fake, clock)
    for n in range(5):
        check.check(f"token-{n}", verified())
    assert len(check._answers) == 3
    assert list(check._answers) == [hashlib.sha256(f"token-{n}".encode()).hexdigest() for n in (2, 3, 4)]
    check.check("token-4", verified())  # still cached
    check.check("token-0", verified())  # evicted: asked again
    assert fake.calls == [*(f"token-{n}" for n in range(5)), "token-0"]
    assert len(check._answers) == 3


def test_default_bounds() -> None:
    assert revocation_module.MAX_CACHED_TOKENS == 10_000
    assert (revocation_module.MIN_CACHE_SECONDS, revocation_module.MAX_CACHE_SECONDS) == (0, 300)


# --- 4. revocation through the validator ----------------------------------------------------


def live_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """``claims`` valid now by the wall clock (the revocation cache compares exp with it)."""
    now = int(time.time())
    return {**claims, "iat": now, "auth_time": now, "exp": now + 600}


def live_validator(check: GetUserRevocationCheck, **overrides: Any) -> CognitoValidator:
    return CognitoValidator([make_pool(**overrides)], clock=time.time, revocation=check)


def test_validator_asks_about_access_tokens() -> None:
    fake = FakeCognito()
    v = live_validator(checker(fake, FakeClock()))
    token = sign(live_claims(access_claims()))
    assert v.validate(token).principal_id == "user-1"
    assert fake.calls == [token]


def test_validator_refuses_a_revoked_access_token_with_a_401() -> None:
    fake = FakeCognito(REVOKED)
    # Revocation comes before the 403 checks: a revoked token is a 401 even when it lacks the group.
    v = live_validator(checker(fake, FakeClock()), groups=frozenset({"owners"}))
    assert rejected(v, sign(live_claims(access_claims()))) is Reason.TOKEN_REVOKED


def test_validator_never_sends_an_unverified_token_to_cognito() -> None:
    fake = FakeCognito()
    v = live_validator(checker(fake, FakeClock()))
    for token in (
        sign(live_claims(access_claims()), key=RSA_KEY_B),
        sign(live_claims(access_claims(client_id=OTHER_CLIENT))),
        sign(access_claims()),  # expired long ago by the wall clock
        sign(live_claims(id_claims())),
    ):
        with pytest.raises(CredentialRejected):
            v.validate(token)
    assert fake.calls == []


def test_the_revocation_check_refuses_pools_that_accept_id_tokens() -> None:
    # GetUser takes access tokens only: ID tokens would pass without any revocation check.
    for token_use in (TokenUse.ANY, TokenUse.ID):
        with pytest.raises(ConfigurationError, match="access tokens only"):
            live_validator(checker(FakeCognito(REVOKED), FakeClock()), token_use=token_use)


def test_id_tokens_with_required_scopes_are_refused_when_the_pool_is_built() -> None:
    # ID tokens carry no scope claim: required scopes would refuse every one of them.
    with pytest.raises(ConfigurationError, match="ID tokens carry no scopes"):
        make_pool(token_use=TokenUse.ID, required_scopes=frozenset({"openid"}))


def test_tokens_without_the_user_scope_cannot_be_checked() -> None:
    # Client credentials tokens: GetUser would refuse them whatever their state, so they are
    # refused with their own reason, without a call, rather than called revoked.
    fake = FakeCognito()
    v = live_validator(checker(fake, FakeClock()))
    assert rejected(v, sign(live_claims(access_claims(scope="pets/read")))) is Reason.REVOCATION_UNCHECKABLE
    assert fake.calls == []


def test_validator_surfaces_an_unreachable_cognito_as_unavailable() -> None:
    fake = FakeCognito(EndpointConnectionError(endpoint_url="https://cognito-idp.eu-west-1.amazonaws.com/"))
    v = live_validator(checker(fake, FakeClock()))
    with pytest.raises(AuthorizerUnavailable):
        v.validate(sign(live_claims(access_claims())))


# --- 5. in your own code, without Lambda ----------------------------------------------------


class HttpError(Exception):
    """What a web framework's HTTPException carries."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def current_user(authorization: str | None, validator: CognitoValidator) -> Principal:
    """A FastAPI-style dependency: ``Authorization`` header in, principal or HTTP error out.

    InsufficientPermission is a CredentialRejected, so it is caught first. An
    AuthorizerUnavailable (keys or Cognito unreachable) is left to become a 5xx.
    """
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpError(401, "missing_credential", {"WWW-Authenticate": "Bearer"})
    try:
        return validator.validate(token.strip())
    except InsufficientPermission as exc:
        raise HttpError(403, exc.reason.value) from None
    except CredentialRejected as exc:
        raise HttpError(401, exc.reason.value, {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None


def http_status(authorization: str | None, validator: CognitoValidator) -> tuple[int, str]:
    try:
        principal = current_user(authorization, validator)
    except HttpError as exc:
        return exc.status, exc.detail
    return 200, principal.principal_id


def test_a_web_framework_dependency() -> None:
    v = validator(make_pool(groups=frozenset({"admins"}), required_scopes=frozenset({"pets/read"})))
    cases = {
        f"Bearer {sign(access_claims())}": (200, "user-1"),
        f"bearer  {sign(access_claims())} ": (200, "user-1"),
        f"Bearer {sign(access_claims(exp=T - 60))}": (401, "expired"),
        f"Bearer {sign(id_claims())}": (401, "wrong_token_use"),
        f"Bearer {sign(access_claims(scope='openid'))}": (403, "insufficient_scope"),
        f"Bearer {sign(access_claims(**{'cognito:groups': ['vets']}))}": (403, "not_in_group"),
        f"Basic {sign(access_claims())}": (401, "missing_credential"),
        "Bearer ": (401, "missing_credential"),
        "": (401, "missing_credential"),
    }
    assert {header: http_status(header, v) for header in cases} == cases
    assert http_status(None, v) == (401, "missing_credential")


def test_a_web_framework_dependency_leaves_outages_to_the_framework() -> None:
    v = live_validator(checker(FakeCognito(client_error("TooManyRequestsException")), FakeClock()))
    with pytest.raises(AuthorizerUnavailable):
        current_user(f"Bearer {sign(live_claims(access_claims()))}", v)
