"""The multi-scheme handler: one authorizer for JWT, Cognito, SAML and SigV4 credentials.

Every credential is real: JWTs signed by a loopback issuer's key (JWKS inline), Cognito
access tokens whose pool keys a loopback key server serves (COGNITO_ENDPOINT), SAML
responses signed by the test IdP (signxml), SigV4 requests signed by botocore. The
handler is ``authorizers.handlers.multi.create_handler``; only the SigV4 validator's clock
is fixed (botocore signs at a fixed time). The attack table checks that the credential's
form only picks a validator: nothing is trusted before that validator verified it.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

import authorizers.handlers.sigv4 as sigv4_handler
from authorizers.errors import ConfigurationError, Reason
from authorizers.handlers.multi import create_handler
from authorizers.handlers.runtime import AuthorizerHandler
from authorizers.local_issuer import LocalIssuer
from authorizers.settings import (
    COGNITO_VARIABLES,
    KNOWN_VARIABLES,
    MULTI_VARIABLES,
    SAML_VARIABLES,
    SIGV4_VARIABLES,
    load_jwt_settings,
    load_multi_settings,
)
from authorizers.sigv4.validator import SigV4Validator
from policies.evaluate import policy_allows
from tests import samlkit
from tests.conftest import AUDIENCE, outcome, refusal_message, run_python
from tests.keyserver import KeyServer, SigningKey, jwks
from tests.test_attacks_sigv4 import ALICE, NOW_EPOCH, Ctx, presign, sign
from tests.test_attacks_sigv4 import ENV as SIGV4_ENV

POOL_ID = "eu-west-1_AbC123xyZ"
POOL_ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL_ID}"
CLIENT_ID = "1example23456789"
ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets/7"
ADMIN_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/admin"
REST = Ctx("rest")


@pytest.fixture(scope="module")
def cognito_key() -> SigningKey:
    return SigningKey.generate("pool-key-1")


@pytest.fixture(scope="module")
def pool_keys(cognito_key: SigningKey) -> Iterator[KeyServer]:
    """The user pool's JWKS on loopback, where COGNITO_ENDPOINT points."""
    with KeyServer() as server:
        server.serve_json(f"/{POOL_ID}/.well-known/jwks.json", jwks(cognito_key))
        yield server


@pytest.fixture(scope="module")
def idp_key() -> samlkit.IdpKey:
    return samlkit.shared_key("idp")


@pytest.fixture
def env(issuer: LocalIssuer, pool_keys: KeyServer, idp_key: samlkit.IdpKey) -> dict[str, str]:
    """Every scheme configured, as each one's own handler would be."""
    return {
        "AUTHORIZER_SCHEMES": "jwt,cognito,saml,sigv4",
        "JWT_ISSUER": issuer.issuer,
        "JWT_AUDIENCE": AUDIENCE,
        "JWT_JWKS": json.dumps(issuer.jwks()),
        "COGNITO_USER_POOL_ID": POOL_ID,
        "COGNITO_CLIENT_ID": CLIENT_ID,
        "COGNITO_ENDPOINT": pool_keys.base_url,
        "SAML_IDP_ENTITY_ID": samlkit.IDP_ENTITY_ID,
        "SAML_IDP_CERT": idp_key.cert_pem,
        "SAML_SP_ENTITY_ID": samlkit.SP_ENTITY_ID,
        "SAML_ACS_URL": samlkit.ACS_URL,
        "SAML_GROUPS_ATTRIBUTE": "groups",
        "SIGV4_REGION": SIGV4_ENV["SIGV4_REGION"],
        "SIGV4_CREDENTIALS": SIGV4_ENV["SIGV4_CREDENTIALS"],
        "POWERTOOLS_METRICS_NAMESPACE": "Tests",
    }


@pytest.fixture
def build(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The real handler; the SigV4 validator's clock is botocore's signing time."""

    def build_handler(environ: dict[str, str]) -> AuthorizerHandler:
        monkeypatch.setattr(sigv4_handler, "SigV4Validator", functools.partial(SigV4Validator, clock=lambda: NOW_EPOCH))
        return create_handler(environ)

    return build_handler


def cognito_token(key: SigningKey, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": POOL_ISSUER,
        "sub": "cognito-user-1",
        "token_use": "access",
        "client_id": CLIENT_ID,
        "username": "carol",
        "cognito:groups": ["admins"],
        "scope": "pets/read",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return key.sign(claims)


def request_event(
    authorization: str | None, *, arn: str = ARN, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A REST REQUEST event carrying ``authorization`` (None: no Authorization header)."""
    all_headers = dict(headers or {})
    if authorization is not None:
        all_headers["Authorization"] = authorization
    return {
        "type": "REQUEST",
        "methodArn": arn,
        "resource": "/pets/{id}",
        "path": "/pets/7",
        "httpMethod": "GET",
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {"path": "/prod/pets/7", "stage": "prod", "httpMethod": "GET"},
    }


def saml_value(idp_key: samlkit.IdpKey, **options: Any) -> str:
    idp = samlkit.SamlIdp(samlkit.IDP_ENTITY_ID, idp_key)
    return "SAML " + samlkit.b64(idp.response(**options))


# -- every scheme through one handler --------------------------------------------------------------


def test_each_scheme_is_verified_by_its_own_validator(
    build: Any, env: dict[str, str], issuer: LocalIssuer, cognito_key: SigningKey, idp_key: samlkit.IdpKey
) -> None:
    handler = build(env)
    credentials = {
        "jwt": "Bearer " + issuer.mint(sub="jwt-user"),
        "cognito": "Bearer " + cognito_token(cognito_key),
        "saml": saml_value(idp_key),
    }
    for scheme, value in credentials.items():
        decision, response = outcome(handler, request_event(value))
        assert decision == "allow", scheme
        assert response is not None
        assert response["context"]["scheme"] == scheme
    signed = sign("GET", REST.url())
    decision, response = outcome(handler, REST.event(signed))
    assert decision == "allow"
    assert response is not None and response["context"]["scheme"] == "sigv4"
    assert response["principalId"] == ALICE.principal
    presigned = presign("GET", REST.url())
    decision, response = outcome(handler, REST.event(presigned))
    assert decision == "allow"
    assert response is not None and response["principalId"] == ALICE.principal


def test_a_bare_token_in_a_token_event_is_a_bearer_token(build: Any, env: dict[str, str], issuer: LocalIssuer) -> None:
    handler = build(env)
    token = issuer.mint(sub="jwt-user")
    decision, _ = outcome(handler, {"type": "TOKEN", "authorizationToken": token, "methodArn": ARN})
    assert decision == "allow"


def test_sigv4_answers_cover_the_signed_route_while_tokens_cover_the_api(
    build: Any, env: dict[str, str], issuer: LocalIssuer
) -> None:
    """A signature proves one request: its answer must not open other routes from the cache."""
    handler = build({**env, "AUTHZ_POLICY_SCOPE": "api"})
    _, signed_response = outcome(handler, REST.event(sign("GET", REST.url())))
    _, token_response = outcome(handler, request_event("Bearer " + issuer.mint(sub="u")))
    assert signed_response is not None and token_response is not None
    other_route = ARN.replace("GET/pets/7", "DELETE/pets/8")
    assert policy_allows(signed_response["policyDocument"], REST.arn("GET"))
    assert not policy_allows(signed_response["policyDocument"], other_route)
    assert policy_allows(token_response["policyDocument"], other_route)


def test_one_set_of_rules_for_every_kind_of_principal(
    build: Any, env: dict[str, str], issuer: LocalIssuer, cognito_key: SigningKey, idp_key: samlkit.IdpKey
) -> None:
    """Groups from a JWT, Cognito and SAML feed the same rules; ``schemes`` narrows a rule."""
    rules = {
        "rules": [
            {"effect": "allow", "routes": ["GET /pets/*"], "when": {"groups": ["admins"]}},
            {"effect": "allow", "routes": ["GET /admin"], "when": {"groups": ["admins"], "schemes": ["saml"]}},
        ]
    }
    handler = build({**env, "AUTHZ_RULES": json.dumps(rules)})
    admins = {  # fresh for each request: a SAML assertion is accepted once
        "jwt": lambda: "Bearer " + issuer.mint({"groups": ["admins"]}, sub="jwt-admin"),
        "cognito": lambda: "Bearer " + cognito_token(cognito_key),
        "saml": lambda: saml_value(idp_key),  # groups: admins, vets
    }
    for scheme, credential in admins.items():
        assert outcome(handler, request_event(credential()))[0] == "allow", scheme
        admin = outcome(handler, request_event(credential(), arn=ADMIN_ARN))[0]
        assert admin == ("allow" if scheme == "saml" else "deny"), scheme
    outsider = "Bearer " + issuer.mint({"groups": ["readers"]}, sub="jwt-user")
    assert outcome(handler, request_event(outsider))[0] == "deny"


# -- the attack table: the credential's form picks a validator, and nothing more -------------------


def forged_as_cognito(issuer: LocalIssuer) -> str:
    """Signed by the JWT issuer's key, but claiming the user pool as issuer."""
    claims = {"iss": POOL_ISSUER, "token_use": "access", "client_id": CLIENT_ID}
    return "Bearer " + issuer.mint(claims, sub="mallory", headers={"kid": "pool-key-1"})


ATTACKS: list[tuple[str, Any, Reason]] = [
    ("no credential at all", lambda k: request_event(None), Reason.MISSING_CREDENTIAL),
    ("an unknown scheme", lambda k: request_event("Basic YWxpY2U6c2VjcmV0"), Reason.UNSUPPORTED_SCHEME),
    (
        "a bearer token from an unknown issuer",
        lambda k: request_event("Bearer " + k["stranger"]),
        Reason.UNKNOWN_ISSUER,
    ),
    ("a bearer token that is not a JWT", lambda k: request_event("Bearer not-a-jwt"), Reason.MALFORMED_TOKEN),
    (
        "a JWT issuer's token claiming the user pool's iss",
        lambda k: request_event(k["forged_as_cognito"]),
        Reason.INVALID_SIGNATURE,
    ),
    (
        "a user pool token claiming the JWT issuer's iss",
        lambda k: request_event("Bearer " + k["forged_as_jwt"]),
        Reason.INVALID_SIGNATURE,
    ),
    (
        "an AWS-STS credential when SigV4 runs in keys mode",
        lambda k: request_event("AWS-STS abc"),
        Reason.UNSUPPORTED_SCHEME,
    ),
    (
        "a bearer token and a presigned query together",
        lambda k: {**k["presigned_event"], "headers": {**k["presigned_event"]["headers"], "Authorization": k["jwt"]}},
        Reason.AMBIGUOUS_CREDENTIAL,
    ),
    (
        "a SigV4 header signed for another route",
        lambda k: REST.on_wire("/pets/8")(k["signed"]),
        Reason.INVALID_SIGNATURE,
    ),
    (
        "a SAML response signed by another key",
        lambda k: request_event(k["forged_saml"]),
        Reason.INVALID_SIGNATURE,
    ),
]


@pytest.fixture
def material(issuer: LocalIssuer, cognito_key: SigningKey, idp_key: samlkit.IdpKey) -> dict[str, Any]:
    stranger = SigningKey.generate("stranger")
    presigned = presign("GET", REST.url())
    return {
        "jwt": "Bearer " + issuer.mint(sub="u"),
        "stranger": stranger.mint("https://stranger.example.com", AUDIENCE),
        "forged_as_cognito": forged_as_cognito(issuer),
        "forged_as_jwt": cognito_key.sign(
            {"iss": issuer.issuer, "aud": AUDIENCE, "sub": "mallory", "exp": int(time.time()) + 600}, kid=issuer.kid
        ),
        "presigned_event": REST.event(presigned),
        "signed": sign("GET", REST.url()),
        "forged_saml": saml_value(idp_key, signing_key=samlkit.shared_key("attacker")),
    }


@pytest.mark.parametrize(("name", "make", "reason"), ATTACKS, ids=[row[0] for row in ATTACKS])
def test_attack_is_refused_with_its_reason(
    name: str,
    make: Any,
    reason: Reason,
    *,
    build: Any,
    env: dict[str, str],
    material: dict[str, Any],
    decision_log: Any,
) -> None:
    handler = build(env)
    made = make(material)
    event = REST.event(made) if not isinstance(made, dict) else made
    decision, _ = outcome(handler, event)
    assert decision == "unauthorized", name
    records, _ = decision_log()
    assert records[-1]["reason"] == reason.value, name


@pytest.mark.parametrize(
    ("schemes", "credential"),
    [
        ("jwt", "saml"),
        ("jwt", "sigv4"),
        ("saml", "jwt"),
        ("jwt,saml", "cognito"),
        ("cognito,saml,sigv4", "jwt"),
    ],
)
def test_a_scheme_not_configured_is_refused(
    schemes: str,
    credential: str,
    *,
    build: Any,
    env: dict[str, str],
    material: dict[str, Any],
    cognito_key: SigningKey,
    idp_key: samlkit.IdpKey,
    decision_log: Any,
) -> None:
    prefixes = {"jwt": "JWT_", "cognito": "COGNITO_", "saml": "SAML_", "sigv4": "SIGV4_"}
    unused = tuple(prefix for name, prefix in prefixes.items() if name not in schemes.split(","))
    environ = {k: v for k, v in env.items() if not k.startswith(unused)}
    handler = build({**environ, "AUTHORIZER_SCHEMES": schemes})
    events = {
        "saml": lambda: request_event(saml_value(idp_key)),
        "sigv4": lambda: REST.event(material["signed"]),
        "jwt": lambda: request_event(material["jwt"]),
        "cognito": lambda: request_event("Bearer " + cognito_token(cognito_key)),
    }
    decision, _ = outcome(handler, events[credential]())
    assert decision == "unauthorized"
    records, _ = decision_log()
    # A bearer token's issuer is what is not configured; other forms name their scheme.
    expected = Reason.UNKNOWN_ISSUER if credential in ("jwt", "cognito") else Reason.UNSUPPORTED_SCHEME
    assert records[-1]["reason"] == expected.value


def test_a_saml_header_and_an_authorization_header_together_are_ambiguous(
    build: Any, env: dict[str, str], material: dict[str, Any], idp_key: samlkit.IdpKey, decision_log: Any
) -> None:
    handler = build({**env, "SAML_HEADER": "X-Saml-Response"})
    encoded = saml_value(idp_key).removeprefix("SAML ")
    assert outcome(handler, request_event(None, headers={"X-Saml-Response": encoded}))[0] == "allow"
    event = request_event(material["jwt"], headers={"X-Saml-Response": encoded})
    assert outcome(handler, event)[0] == "unauthorized"
    assert decision_log()[0][-1]["reason"] == Reason.AMBIGUOUS_CREDENTIAL.value


def test_the_log_names_the_validator_that_refused(
    build: Any, env: dict[str, str], material: dict[str, Any], decision_log: Any
) -> None:
    handler = build(env)
    outcome(handler, request_event(material["forged_as_cognito"]))
    record = decision_log()[0][-1]
    assert record["detail"].startswith("cognito: ")
    assert material["forged_as_cognito"].split()[1] not in json.dumps(record)


# -- configuration -----------------------------------------------------------------------------------


def test_settings_are_each_schemes_own(env: dict[str, str]) -> None:
    settings = load_multi_settings(env)
    assert settings.schemes == ("jwt", "cognito", "saml", "sigv4")
    only_jwt = load_multi_settings(
        {k: v for k, v in env.items() if k.startswith(("JWT_", "POWERTOOLS"))} | {"AUTHORIZER_SCHEMES": "JWT"}
    )
    assert only_jwt.schemes == ("jwt",)
    # The multi handler reads every variable a single handler reads, and its own.
    assert {
        "AUTHORIZER_SCHEMES"
    } | KNOWN_VARIABLES | COGNITO_VARIABLES | SAML_VARIABLES | SIGV4_VARIABLES == MULTI_VARIABLES


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"AUTHORIZER_SCHEMES": ""}, "AUTHORIZER_SCHEMES is required"),
        ({"AUTHORIZER_SCHEMES": "jwt,cognitto"}, "unknown scheme 'cognitto'; did you mean cognito?"),
        ({"AUTHORIZER_SCHEMES": "jwt", "SAML_SP_ENTITY_ID": "x"}, "is set but saml is not in AUTHORIZER_SCHEMES"),
        ({"AUTHORIZER_SCHEME": "jwt"}, "unknown setting AUTHORIZER_SCHEME; did you mean AUTHORIZER_SCHEMES?"),
        ({"SAML_ACS_URL": "ftp://x"}, "saml: SAML_ACS_URL"),
        ({"JWT_AUDIENCE": ""}, "jwt: JWT_AUDIENCE"),
    ],
)
def test_bad_configuration_fails_the_cold_start(env: dict[str, str], changes: dict[str, str], expected: str) -> None:
    environ = {**env, **changes}
    if changes.get("AUTHORIZER_SCHEMES") == "jwt":
        environ = {k: v for k, v in environ.items() if not k.startswith(("COGNITO_", "SIGV4_"))}
        environ = {k: v for k, v in environ.items() if not k.startswith("SAML_") or k in changes}
    with pytest.raises(ConfigurationError) as raised:
        create_handler(environ)
    assert expected in str(raised.value)


def test_empty_settings_of_unused_schemes_are_ignored(env: dict[str, str], build: Any, issuer: LocalIssuer) -> None:
    """A template passes every parameter; an empty one is a setting left out."""
    environ = {k: v for k, v in env.items() if not k.startswith(("COGNITO_", "SAML_", "SIGV4_"))}
    environ.update(AUTHORIZER_SCHEMES="jwt", COGNITO_USER_POOL_ID="", SAML_IDP_CERT=" ", SIGV4_CREDENTIALS="")
    handler = build(environ)
    assert outcome(handler, request_event("Bearer " + issuer.mint(sub="u")))[0] == "allow"


def test_an_issuer_both_jwt_and_cognito_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="both a JWT_ISSUER and a Cognito user pool"):
        create_handler({**env, "JWT_ISSUER": f"{env['JWT_ISSUER']},{POOL_ISSUER}"})


def test_single_scheme_handlers_refuse_the_multi_setting(env: dict[str, str]) -> None:
    jwt_only = {k: v for k, v in env.items() if k.startswith(("JWT_", "POWERTOOLS"))}
    message = refusal_message(load_jwt_settings, {**jwt_only, "AUTHORIZER_SCHEMES": "jwt"}, "AUTHORIZER_SCHEMES")
    assert "AUTHORIZER_SCHEMES is not read by this handler" in message


def test_only_the_configured_validators_are_imported(issuer: LocalIssuer) -> None:
    """SAML's native libraries (and the other validators) load only when their scheme is used."""
    loaded = run_python(
        f"""
        import json, sys
        from authorizers.handlers.multi import create_handler
        handler = create_handler({{
            "AUTHORIZER_SCHEMES": "jwt",
            "JWT_ISSUER": {issuer.issuer!r},
            "JWT_AUDIENCE": "api",
            "JWT_JWKS": {json.dumps(issuer.jwks())!r},
            "SAML_IDP_CERT": "",
        }})
        try:
            handler({{"type": "TOKEN", "authorizationToken": "Bearer x.y.z", "methodArn": {ARN!r}}}, None)
        except Exception:
            pass
        names = ("onelogin", "lxml", "xmlsec", "authorizers.saml", "authorizers.sigv4", "authorizers.cognito")
        print(json.dumps(sorted(n for n in names if n in sys.modules)))
        """
    )
    assert loaded == []
