"""The Cognito handler against a real Cognito emulator: moto's server on loopback.

Pools, app clients, users and groups are created with boto3; moto issues the tokens
(RS256, kid "dummy") and serves each pool's JWKS at ``{endpoint}/{pool}/.well-known/jwks.json``
and GetUser for the revocation check. Every decision goes through ``create_handler``, and
every refusal is checked by its decision log reason.

What moto does differently from Cognito, and how these tests take it:

* every pool signs with the same key, so only the issuer keeps pools apart (as it must);
* an ID token carries ``custom:*`` attributes always, but standard ones such as ``email``
  only when the app client lists them in ReadAttributes (Cognito: all readable ones);
* RevokeToken is not implemented (the server answers 500), so its test is skipped.
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from authorizers.errors import ConfigurationError
from authorizers.handlers.cognito import create_handler
from authorizers.handlers.runtime import AuthorizerHandler
from tests import iam
from tests.conftest import load_event, outcome, token_event
from tests.keyserver import SigningKey
from tests.motoserver import aws_environment, moto_server

REGION = "us-east-1"
API = "arn:aws:execute-api:us-east-1:123456789012:abcdef123"
PASSWORD = "Corr3ct-Horse-Battery!"
ADMIN_SCOPE = "aws.cognito.signin.user.admin"  # the one scope moto puts in access tokens


def arn(verb: str, path: str, stage: str = "prod") -> str:
    return f"{API}/{stage}/{verb}/{path}"


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Tokens:
    access: str
    id: str
    refresh: str


@dataclass(frozen=True)
class World:
    """What the module's tests share; nothing in it is ever signed out (see ``fresh_user``)."""

    url: str
    idp: Any  # a boto3 cognito-idp client for moto (no stubs installed for this service)
    pool_a: str
    pool_b: str
    web: str  # app client of pool A, no ReadAttributes
    mobile: str  # app client of pool A, ReadAttributes email and custom:tenant
    other: str  # app client of pool B
    alice: Tokens  # pool A, web: in "admins", email and custom:tenant set
    alice_mobile: Tokens  # pool A, mobile
    bob: Tokens  # pool A, web: in no group
    dave: Tokens  # pool A, web: in "readers"
    carol: Tokens  # pool B, other

    def issuer(self, pool: str) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{pool}"

    def env(self, **settings: str) -> dict[str, str]:
        """A handler environment for pool A and its web client, plus ``settings``."""
        return {
            "COGNITO_USER_POOL_ID": self.pool_a,
            "COGNITO_CLIENT_ID": self.web,
            "COGNITO_ENDPOINT": self.url,
            "POWERTOOLS_METRICS_NAMESPACE": "Tests",
            **settings,
        }

    def login(self, client_id: str, username: str) -> Tokens:
        result = self.idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        return Tokens(access=result["AccessToken"], id=result["IdToken"], refresh=result["RefreshToken"])

    def add_user(self, pool: str, username: str, groups: tuple[str, ...] = (), **attributes: str) -> None:
        self.idp.admin_create_user(
            UserPoolId=pool,
            Username=username,
            UserAttributes=[{"Name": name, "Value": value} for name, value in attributes.items()],
            MessageAction="SUPPRESS",
        )
        self.idp.admin_set_user_password(UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True)
        for group in groups:
            self.idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)

    def fresh_user(self) -> tuple[str, Tokens]:
        """A user of pool A of its own, for tests that sign users out."""
        username = f"user-{uuid.uuid4().hex[:12]}"
        self.add_user(self.pool_a, username)
        return username, self.login(self.web, username)


@pytest.fixture(scope="module")
def cognito_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto on loopback, and an AWS SDK environment that reads nothing of the developer's."""
    with moto_server() as url, pytest.MonkeyPatch.context() as patch:
        aws_environment(patch, url, tmp_path_factory.mktemp("aws-home"))
        yield url


@pytest.fixture(scope="module")
def world(cognito_url: str) -> World:
    import boto3

    idp = boto3.client("cognito-idp", region_name=REGION, endpoint_url=cognito_url)
    schema = [{"Name": "tenant", "AttributeDataType": "String", "Mutable": True}]
    pool_a = idp.create_user_pool(PoolName="pets-a", Schema=schema)["UserPool"]["Id"]
    pool_b = idp.create_user_pool(PoolName="pets-b")["UserPool"]["Id"]

    def client(pool: str, name: str, **options: Any) -> str:
        created = idp.create_user_pool_client(
            UserPoolId=pool, ClientName=name, ExplicitAuthFlows=["USER_PASSWORD_AUTH"], **options
        )
        return str(created["UserPoolClient"]["ClientId"])

    web = client(pool_a, "web")
    mobile = client(pool_a, "mobile", ReadAttributes=["email", "custom:tenant"])
    other = client(pool_b, "other")
    for group in ("admins", "readers"):
        idp.create_group(UserPoolId=pool_a, GroupName=group)
    partial = World(cognito_url, idp, pool_a, pool_b, web, mobile, other, *([Tokens("", "", "")] * 5))
    partial.add_user(pool_a, "alice", ("admins",), email="alice@example.org", **{"custom:tenant": "acme"})
    partial.add_user(pool_a, "bob")
    partial.add_user(pool_a, "dave", ("readers",))
    partial.add_user(pool_b, "carol")
    return World(
        cognito_url,
        idp,
        pool_a,
        pool_b,
        web,
        mobile,
        other,
        alice=partial.login(web, "alice"),
        alice_mobile=partial.login(mobile, "alice"),
        bob=partial.login(web, "bob"),
        dave=partial.login(web, "dave"),
        carol=partial.login(other, "carol"),
    )


@pytest.fixture(autouse=True)
def get_user_calls(cognito_url: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The GetUser calls made by clients created during the test (a fresh default boto3 session)."""
    import boto3

    calls: list[str] = []
    session = boto3.Session()

    def count(model: Any, **_: Any) -> None:
        if model.name == "GetUser":
            calls.append(model.name)

    session.events.register("before-call.cognito-identity-provider", count)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    return calls


@pytest.fixture
def run(decision_log: Any) -> Any:
    """Decide one event: (decision, response, the one decision log line), tokens kept out of the log."""

    def decide(handler: AuthorizerHandler, token: str, event: Mapping[str, Any] | None = None) -> Any:
        decision_log()  # drop whatever came before (cold start notes, moto's request log)
        decision, response = outcome(handler, token_event(token) if event is None else event)
        lines, output = decision_log()
        assert len(lines) == 1, lines
        _, payload, signature = token.split(".")
        for secret in (token, payload, signature):
            assert secret not in output
        return decision, response, lines[0]

    return decide


def expect_refusal(run: Any, handler: AuthorizerHandler, token: str, reason: str) -> dict[str, Any]:
    """A 401 for ``token`` on a REST API, logged with ``reason``; returns the log line."""
    decision, response, line = run(handler, token)
    assert (decision, response) == ("unauthorized", None)
    assert (line["decision"], line["reason"]) == ("unauthorized", reason)
    assert "principal" not in line  # nothing of an unverified token is logged as who it was
    return dict(line)


def expect_deny(run: Any, handler: AuthorizerHandler, token: str, reason: str) -> dict[str, Any]:
    """A 403: an explicit Deny of the whole stage, logged with ``reason`` and the principal."""
    decision, response, line = run(handler, token)
    assert decision == "deny" and response is not None
    assert response["principalId"] == claims_of(token)["sub"]
    assert response["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{API}/prod/*/*"]}
    ]
    assert "context" not in response
    assert (line["decision"], line["reason"], line["principal"]) == ("deny", reason, claims_of(token)["sub"])
    return dict(line)


def expect_allow(run: Any, handler: AuthorizerHandler, token: str) -> dict[str, Any]:
    decision, response, line = run(handler, token)
    assert decision == "allow" and response is not None
    assert response["principalId"] == claims_of(token)["sub"]
    assert iam.allows(response["policyDocument"], arn("GET", "pets"))
    assert line["decision"] == "allow" and "reason" not in line
    assert line["principal"] == claims_of(token)["sub"]
    context: dict[str, Any] = response["context"]
    return context


def moto_signed(claims: Mapping[str, Any]) -> str:
    """A token signed with moto's own key (public in moto's package, like every emulator's)."""
    import jwt
    from moto.utilities.utils import load_resource

    key = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json"))
    return jwt.encode(dict(claims), key.key, algorithm="RS256", headers={"kid": "dummy"})


# -- access and ID tokens -----------------------------------------------------------------


def test_an_access_token_is_allowed_with_the_cognito_context(world: World, run: Any) -> None:
    handler = create_handler(world.env())
    decision, response, line = run(handler, world.alice.access)
    assert decision == "allow" and response is not None
    sub = claims_of(world.alice.access)["sub"]
    assert response["principalId"] == sub
    assert response["context"] == {
        "scheme": "cognito",
        "sub": sub,
        "issuer": world.issuer(world.pool_a),
        "scopes": ADMIN_SCOPE,
        "groups": "admins",
        "client_id": world.web,
        "expires_at": claims_of(world.alice.access)["exp"],
        "username": "alice",
        "token_use": "access",
    }
    assert (line["scheme"], line["principal"], line["issuer"]) == ("cognito", sub, world.issuer(world.pool_a))


def test_an_id_token_is_refused_by_default(world: World, run: Any) -> None:
    expect_refusal(run, create_handler(world.env()), world.alice.id, "wrong_token_use")


@pytest.mark.parametrize("token_use", ["id", "any"])
def test_an_id_token_is_allowed_when_configured(world: World, run: Any, token_use: str) -> None:
    handler = create_handler(world.env(COGNITO_TOKEN_USE=token_use))
    context = expect_allow(run, handler, world.alice.id)
    assert context["client_id"] == world.web  # from aud: ID tokens carry no client_id
    assert context["cognito:username"] == "alice"
    assert context["token_use"] == "id"
    assert context["groups"] == "admins"
    assert "scopes" not in context  # ID tokens carry no scope


def test_an_access_token_is_refused_when_id_tokens_are_expected(world: World, run: Any) -> None:
    expect_refusal(run, create_handler(world.env(COGNITO_TOKEN_USE="id")), world.alice.access, "wrong_token_use")
    context = expect_allow(run, create_handler(world.env(COGNITO_TOKEN_USE="any")), world.alice.access)
    assert context["token_use"] == "access"


def test_attributes_reach_the_context_when_named(world: World, run: Any) -> None:
    env = world.env(
        COGNITO_TOKEN_USE="any",
        COGNITO_CLIENT_ID=f"{world.web},{world.mobile}",
        AUTHZ_CONTEXT_CLAIMS="email custom:tenant",
    )
    handler = create_handler(env)
    # moto puts custom attributes in every ID token, standard ones only for ReadAttributes.
    assert "email" not in claims_of(world.alice.id) and claims_of(world.alice.id)["custom:tenant"] == "acme"
    web = expect_allow(run, handler, world.alice.id)
    assert web["custom:tenant"] == "acme" and "email" not in web
    mobile = expect_allow(run, handler, world.alice_mobile.id)
    assert (mobile["email"], mobile["custom:tenant"]) == ("alice@example.org", "acme")
    assert mobile["client_id"] == world.mobile
    # Access tokens carry no attributes: nothing to add.
    access = expect_allow(run, handler, world.alice.access)
    assert "email" not in access and "custom:tenant" not in access
    # Not named: not in the context.
    plain = expect_allow(run, create_handler(world.env(COGNITO_TOKEN_USE="id")), world.alice.id)
    assert "custom:tenant" not in plain and "email" not in plain


# -- app clients and pools ----------------------------------------------------------------


def test_another_app_client_of_the_pool_is_refused(world: World, run: Any) -> None:
    expect_refusal(run, create_handler(world.env()), world.alice_mobile.access, "wrong_client")
    handler = create_handler(world.env(COGNITO_TOKEN_USE="id"))
    expect_refusal(run, handler, world.alice_mobile.id, "wrong_client")  # aud, for ID tokens


@pytest.mark.parametrize("clients", ["both", "*"])
def test_every_configured_app_client_is_accepted(world: World, run: Any, clients: str) -> None:
    configured = f"{world.web}, {world.mobile}" if clients == "both" else "*"
    handler = create_handler(world.env(COGNITO_CLIENT_ID=configured))
    assert expect_allow(run, handler, world.alice_mobile.access)["client_id"] == world.mobile
    assert expect_allow(run, handler, world.alice.access)["client_id"] == world.web
    id_handler = create_handler(world.env(COGNITO_CLIENT_ID=configured, COGNITO_TOKEN_USE="id"))
    assert expect_allow(run, id_handler, world.alice_mobile.id)["client_id"] == world.mobile


def test_a_pool_signing_with_the_same_key_is_refused_by_its_issuer(world: World, run: Any) -> None:
    # moto signs every pool's tokens with one key: only the issuer tells them apart.
    import requests

    jwks = [f"{world.url}/{pool}/.well-known/jwks.json" for pool in (world.pool_a, world.pool_b)]

    assert requests.get(jwks[0], timeout=5).json() == requests.get(jwks[1], timeout=5).json()
    clients = f"{world.web},{world.other}"
    expect_refusal(run, create_handler(world.env(COGNITO_CLIENT_ID=clients)), world.carol.access, "unknown_issuer")
    only_b = world.env(COGNITO_USER_POOL_ID=world.pool_b, COGNITO_CLIENT_ID=clients)
    expect_refusal(run, create_handler(only_b), world.alice.access, "unknown_issuer")


def test_tokens_of_every_listed_pool_are_allowed(world: World, run: Any) -> None:
    pools, clients = f"{world.pool_a} {world.pool_b}", f"{world.web},{world.other}"
    handler = create_handler(world.env(COGNITO_USER_POOL_ID=pools, COGNITO_CLIENT_ID=clients))
    carol = expect_allow(run, handler, world.carol.access)
    assert (carol["issuer"], carol["client_id"]) == (world.issuer(world.pool_b), world.other)
    assert carol["username"] == "carol"
    alice = expect_allow(run, handler, world.alice.access)
    assert alice["issuer"] == world.issuer(world.pool_a)
    # The app client list is still checked for each pool's tokens.
    only_web = world.env(COGNITO_USER_POOL_ID=f"{world.pool_a},{world.pool_b}")
    expect_refusal(run, create_handler(only_web), world.carol.access, "wrong_client")


# -- groups, rules and scopes ---------------------------------------------------------------


def test_groups_outside_is_a_403_inside_is_allowed(world: World, run: Any) -> None:
    handler = create_handler(world.env(COGNITO_GROUPS="admins"))
    expect_deny(run, handler, world.bob.access, "not_in_group")  # in no group at all
    expect_deny(run, handler, world.dave.access, "not_in_group")  # in another group
    assert expect_allow(run, handler, world.alice.access)["groups"] == "admins"
    either = create_handler(world.env(COGNITO_GROUPS="admins,readers"))
    assert expect_allow(run, either, world.dave.access)["groups"] == "readers"
    expect_deny(run, either, world.bob.access, "not_in_group")


PET_RULES = {
    "rules": [
        {"effect": "allow", "routes": ["GET /pets", "GET /pets/{id}"]},
        {"effect": "allow", "routes": ["DELETE /pets/{id}"], "when": {"groups": ["admins"]}},
    ]
}
PET_ROUTES = [
    ("GET", "pets"),
    ("GET", "pets/1"),
    ("DELETE", "pets/1"),
    ("DELETE", "pets"),
    ("POST", "pets"),
    ("GET", "pets/1/photos"),
    ("DELETE", "pets/1/photos"),
    ("GET", ""),
]
EVERYONE = {("GET", "pets"), ("GET", "pets/1")}


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("alice", EVERYONE | {("DELETE", "pets/1")}), ("bob", EVERYONE), ("dave", EVERYONE)],
)
def test_groups_select_the_routes_of_the_rules(world: World, run: Any, who: str, allowed: set[tuple[str, str]]) -> None:
    handler = create_handler(world.env(AUTHZ_RULES=json.dumps(PET_RULES)))
    token: str = getattr(world, who).access
    for route in PET_ROUTES:
        decision, response, line = run(handler, token, token_event(token, arn(*route)))
        assert decision == ("allow" if route in allowed else "deny"), route
        assert line["decision"] == decision and line["principal"] == claims_of(token)["sub"]
        if decision == "deny":
            assert line["reason"] == "route_not_allowed"
        assert response is not None
        policy = response["policyDocument"]
        # The policy (cached by API Gateway for other routes) allows exactly what the rules allow.
        assert {r for r in PET_ROUTES if iam.allows(policy, arn(*r))} == allowed, route
        assert not iam.allows(policy, arn("GET", "pets", stage="dev"))


@pytest.mark.parametrize(
    ("scopes", "reason"),
    [(ADMIN_SCOPE, None), ("pets:read", "insufficient_scope"), (f"{ADMIN_SCOPE} pets:read", "insufficient_scope")],
)
def test_required_scopes(world: World, run: Any, scopes: str, reason: str | None) -> None:
    handler = create_handler(world.env(COGNITO_REQUIRED_SCOPES=scopes))
    if reason is None:
        expect_allow(run, handler, world.alice.access)
    else:
        expect_deny(run, handler, world.alice.access, reason)


# -- revocation: GetUser --------------------------------------------------------------------


def revocation_env(world: World, **settings: str) -> dict[str, str]:
    return world.env(COGNITO_CHECK_REVOCATION="true", **settings)


@pytest.mark.parametrize("sign_out", ["GlobalSignOut", "AdminUserGlobalSignOut"])
def test_a_signed_out_session_is_refused(world: World, run: Any, get_user_calls: list[str], sign_out: str) -> None:
    username, tokens = world.fresh_user()
    handler = create_handler(revocation_env(world))
    expect_allow(run, handler, tokens.access)
    assert len(get_user_calls) == 1
    if sign_out == "GlobalSignOut":
        world.idp.global_sign_out(AccessToken=tokens.access)
    else:
        world.idp.admin_user_global_sign_out(UserPoolId=world.pool_a, Username=username)
    expect_refusal(run, create_handler(revocation_env(world)), tokens.access, "token_revoked")
    assert len(get_user_calls) == 2
    # Without the check the token still passes: its signature and times are as good as ever.
    expect_allow(run, create_handler(world.env()), tokens.access)
    assert len(get_user_calls) == 2


def test_a_revoked_token_is_refused(world: World, run: Any) -> None:
    from moto.cognitoidp.models import CognitoIdpBackend

    if not hasattr(CognitoIdpBackend, "revoke_token"):
        pytest.skip("moto does not implement RevokeToken")
    _, tokens = world.fresh_user()
    expect_allow(run, create_handler(revocation_env(world)), tokens.access)
    world.idp.revoke_token(Token=tokens.refresh, ClientId=world.web)
    expect_refusal(run, create_handler(revocation_env(world)), tokens.access, "token_revoked")


def test_without_a_cache_the_same_handler_sees_the_sign_out_at_once(
    world: World, run: Any, get_user_calls: list[str]
) -> None:
    _, tokens = world.fresh_user()
    handler = create_handler(revocation_env(world, COGNITO_REVOCATION_CACHE_SECONDS="0"))
    expect_allow(run, handler, tokens.access)
    expect_allow(run, handler, tokens.access)
    assert len(get_user_calls) == 2  # asked every time
    world.idp.global_sign_out(AccessToken=tokens.access)
    expect_refusal(run, handler, tokens.access, "token_revoked")
    expect_refusal(run, handler, tokens.access, "token_revoked")
    assert len(get_user_calls) == 3  # "revoked" is remembered until the token expires


def test_with_the_default_cache_a_sign_out_is_seen_only_after_the_cached_answer(
    world: World, run: Any, get_user_calls: list[str]
) -> None:
    # The documented, bounded staleness: "still valid" is believed for up to 60 s.
    _, tokens = world.fresh_user()
    handler = create_handler(revocation_env(world))
    expect_allow(run, handler, tokens.access)
    world.idp.global_sign_out(AccessToken=tokens.access)
    expect_allow(run, handler, tokens.access)
    assert len(get_user_calls) == 1  # the second answer came from the cache
    # A new handler (another Lambda instance, or after the cache window) asks again.
    expect_refusal(run, create_handler(revocation_env(world)), tokens.access, "token_revoked")
    assert len(get_user_calls) == 2


def test_id_tokens_are_not_sent_to_get_user(world: World, run: Any, get_user_calls: list[str]) -> None:
    handler = create_handler(revocation_env(world))
    expect_refusal(run, handler, world.alice.id, "wrong_token_use")
    expect_refusal(run, handler, world.carol.access, "unknown_issuer")
    assert get_user_calls == []  # refused before: unverified tokens never leave the authorizer


def test_a_token_get_user_cannot_take_is_refused_without_asking(
    world: World, run: Any, get_user_calls: list[str]
) -> None:
    # GetUser takes only access tokens with the user scope (machine tokens have none):
    # moto issues no such token, so one is signed with moto's own key.
    handler = create_handler(revocation_env(world))
    claims = {**claims_of(world.alice.access), "scope": "pets/read"}
    expect_allow(run, create_handler(world.env()), moto_signed(claims))  # a good token otherwise
    expect_refusal(run, handler, moto_signed(claims), "revocation_uncheckable")
    without_scope = {k: v for k, v in claims.items() if k != "scope"}
    expect_refusal(run, handler, moto_signed(without_scope), "revocation_uncheckable")
    assert get_user_calls == []


@pytest.mark.parametrize("token_use", ["id", "any"])
def test_the_library_refuses_revocation_with_id_tokens(world: World, token_use: str) -> None:
    # GetUser takes access tokens only: ID tokens would pass unchecked.
    from authorizers.cognito import CognitoValidator
    from authorizers.cognito.revocation import GetUserRevocationCheck
    from authorizers.settings import load_cognito_settings

    pools = load_cognito_settings(world.env(COGNITO_TOKEN_USE=token_use)).pools
    with pytest.raises(ConfigurationError, match="access tokens only"):
        CognitoValidator(pools, revocation=GetUserRevocationCheck(endpoint=world.url))


@pytest.mark.parametrize("token_use", ["id", "any"])
def test_revocation_needs_access_tokens(world: World, token_use: str) -> None:
    with pytest.raises(ConfigurationError, match="COGNITO_CHECK_REVOCATION"):
        create_handler(revocation_env(world, COGNITO_TOKEN_USE=token_use))


@contextlib.contextmanager
def second_endpoint() -> Iterator[tuple[str, Any]]:
    """Another moto server (same in-process backend, same pools) that the test can stop."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}", server
    finally:
        server.stop()


def test_cognito_unreachable_for_get_user_fails_closed(world: World, run: Any, get_user_calls: list[str]) -> None:
    with second_endpoint() as (url, server):
        handler = create_handler(revocation_env(world, COGNITO_ENDPOINT=url))  # keys fetched from it
        server.stop()
        decision, response, line = run(handler, world.alice.access)
    assert (decision, response) == ("error", None)
    assert (line["decision"], line["error_type"]) == ("error", "AuthorizerUnavailable")
    assert "revocation check failed" in line["error"]
    assert len(get_user_calls) == 1


def test_a_failing_get_user_client_fails_closed(world: World, run: Any) -> None:
    # The same through the library: keys from moto, GetUser at a closed loopback port.
    import socket

    from authorizers.cognito import CognitoValidator
    from authorizers.cognito.revocation import GetUserRevocationCheck
    from authorizers.handlers.cognito import CognitoAuthenticator
    from authorizers.settings import load_cognito_settings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = load_cognito_settings(world.env())
    validator = CognitoValidator(settings.pools, revocation=GetUserRevocationCheck(endpoint=dead))
    handler = AuthorizerHandler(CognitoAuthenticator(validator), settings.response)
    decision, _, line = run(handler, world.alice.access)
    assert (decision, line["decision"], line["error_type"]) == ("error", "error", "AuthorizerUnavailable")


# -- forged tokens -------------------------------------------------------------------------


def flip_one_character(payload: str) -> str:
    """``payload`` with one base64url character changed so that it still decodes to other JSON claims."""
    original = claims_of(f"x.{payload}.x")
    for index in range(len(payload) // 2, len(payload) - 2):
        for replacement in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789":
            candidate = payload[:index] + replacement + payload[index + 1 :]
            if replacement == payload[index]:
                continue
            try:
                changed = claims_of(f"x.{candidate}.x")
            except ValueError:
                continue
            if changed != original:
                return candidate
    raise AssertionError("no readable one-character change found")


def test_a_tampered_token_is_refused(world: World, run: Any) -> None:
    header, payload, signature = world.bob.access.split(".")
    claims = claims_of(world.bob.access)
    claims["cognito:groups"] = ["admins"]
    forged = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    expect_refusal(run, create_handler(world.env(COGNITO_GROUPS="admins")), forged, "invalid_signature")
    # One character of the payload flipped, where the claims stay readable JSON.
    flipped = flip_one_character(payload)
    line = expect_refusal(run, create_handler(world.env()), f"{header}.{flipped}.{signature}", "invalid_signature")
    assert line["scheme"] == "cognito"


@pytest.mark.parametrize(
    ("issuer", "reason"),
    [("pool_a", "invalid_signature"), ("pool_b", "unknown_issuer"), ("attacker", "unknown_issuer")],
)
def test_a_token_re_signed_with_another_key_is_refused(
    world: World, run: Any, key1: SigningKey, issuer: str, reason: str
) -> None:
    claims = claims_of(world.alice.access)
    claims["iss"] = {
        "pool_a": world.issuer(world.pool_a),
        "pool_b": world.issuer(world.pool_b),
        "attacker": f"https://cognito-idp.{REGION}.amazonaws.com.evil.example/{world.pool_a}",
    }[issuer]
    forged = key1.sign(claims, kid="dummy")  # moto's kid, someone else's key
    expect_refusal(run, create_handler(world.env()), forged, reason)


def test_the_app_client_is_read_from_the_claim_of_the_token_kind(world: World, run: Any) -> None:
    handler = create_handler(world.env(COGNITO_TOKEN_USE="any"))
    assert expect_allow(run, handler, moto_signed(claims_of(world.alice.access)))["client_id"] == world.web
    # An access token names its client in client_id: an aud is not read in its place.
    access = claims_of(world.alice_mobile.access)
    no_client = {**{k: v for k, v in access.items() if k != "client_id"}, "aud": world.web}
    expect_refusal(run, handler, moto_signed(no_client), "wrong_client")
    # An ID token names its client in aud: a client_id is not read in its place.
    id_claims = {**claims_of(world.alice_mobile.id), "client_id": world.web}
    expect_refusal(run, handler, moto_signed(id_claims), "wrong_client")


# -- HTTP API simple responses --------------------------------------------------------------


def v2_event(token: str) -> dict[str, Any]:
    event = load_event("apiGatewayAuthorizerV2Event.json")
    event["headers"]["Authorization"] = f"Bearer {token}"
    return event


def test_http_api_simple_responses(world: World, run: Any) -> None:
    handler = create_handler(world.env(COGNITO_GROUPS="admins,readers"))
    _, response, line = run(handler, world.alice.access, v2_event(world.alice.access))
    assert response is not None and response["isAuthorized"] is True
    assert response["context"]["username"] == "alice" and response["context"]["scheme"] == "cognito"
    assert (line["decision"], line["event_kind"]) == ("allow", "http-2.0")
    _, response, line = run(handler, world.alice.id, v2_event(world.alice.id))
    assert response == {"isAuthorized": False}
    assert (line["decision"], line["reason"]) == ("unauthorized", "wrong_token_use")
    _, response, line = run(handler, world.bob.access, v2_event(world.bob.access))
    assert response == {"isAuthorized": False}
    assert (line["decision"], line["reason"]) == ("deny", "not_in_group")
