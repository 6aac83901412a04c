"""The real JWT handler when its key source misbehaves: fail closed, fast, and never Allow.

The handler is built by create_handler() from an environment naming a key server on
loopback (a JWKS URI, or the issuer itself for OIDC discovery). Where the refetch
window matters, the remote key sources are given a fake clock through the module the
settings loader takes them from; everything else is the production path.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from authorizers.handlers.jwt import create_handler
from authorizers.handlers.runtime import AuthorizerHandler
from authorizers.jwt import remote
from authorizers.jwt.remote import MIN_REFETCH_INTERVAL
from tests.conftest import craft, outcome, token_event
from tests.keyserver import KeyServer, SigningKey, jwks

JWKS_PATH = "/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
ISSUER = "https://issuer.example.test"  # with a configured JWKS URI the issuer is only a name
AUDIENCE = "orders-api"
DID_NOT_HANG = 4.0  # seconds; the fetcher's own deadline is 2 s


@pytest.fixture
def server() -> Iterator[KeyServer]:
    with KeyServer() as running:
        yield running


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The remote key sources create_handler() builds from here on run on this clock."""
    fake = FakeClock()

    class ClockedRemoteJwks(remote.RemoteJwks):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("clock", fake)
            super().__init__(*args, **kwargs)

    class ClockedDiscoveredJwks(remote.DiscoveredJwks):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("clock", fake)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(remote, "RemoteJwks", ClockedRemoteJwks)
    monkeypatch.setattr(remote, "DiscoveredJwks", ClockedDiscoveredJwks)
    return fake


def jwks_uri_env(server: KeyServer, **extra: str) -> dict[str, str]:
    return {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "JWT_JWKS_URI": server.url(JWKS_PATH), **extra}


def discovery_env(server: KeyServer, **extra: str) -> dict[str, str]:
    return {"JWT_ISSUER": server.base_url, "JWT_AUDIENCE": AUDIENCE, **extra}


def serve_discovery(server: KeyServer) -> None:
    server.serve_json(DISCOVERY_PATH, {"issuer": server.base_url, "jwks_uri": server.url(JWKS_PATH)})


def forged_with_kid(kid: str, issuer: str = ISSUER) -> str:
    """A token naming ``kid``, with a junk signature: the key lookup comes before the signature check."""
    now = int(time.time())
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": "mallory", "iat": now, "exp": now + 300}
    return craft({"alg": "RS256", "typ": "JWT", "kid": kid}, claims, secrets.token_bytes(256))


@pytest.fixture
def decision_log(decision_log: Callable[[], tuple[list[dict[str, Any]], str]]) -> Callable[[], list[dict[str, Any]]]:
    """The shared conftest fixture, reduced to the decision lines since the last call."""
    return lambda: decision_log()[0]


def run(handler: AuthorizerHandler, token: str) -> tuple[str, float]:
    """The outcome as API Gateway sees it, and how long the handler took."""
    started = time.monotonic()
    decision, _ = outcome(handler, token_event(token))
    return decision, time.monotonic() - started


# --- cold start without keys -------------------------------------------------------------------------


def test_cold_start_with_the_key_server_down_fails_closed(
    server: KeyServer, key1: SigningKey, decision_log: Callable[[], list[dict[str, Any]]]
) -> None:
    env = jwks_uri_env(server)
    server.down()
    handler = create_handler(env)  # the start-up fetch fails; the handler still starts
    decision, elapsed = run(handler, key1.mint(ISSUER, AUDIENCE))
    assert decision == "error"
    assert elapsed < DID_NOT_HANG
    [logged] = decision_log()
    assert (logged["decision"], logged["error_type"]) == ("error", "KeySourceUnavailable")
    assert "no keys" in logged["error"]


def test_cold_start_with_discovery_down_fails_closed(
    server: KeyServer, key1: SigningKey, decision_log: Callable[[], list[dict[str, Any]]]
) -> None:
    env = discovery_env(server)
    server.down()
    handler = create_handler(env)
    decision, elapsed = run(handler, key1.mint(env["JWT_ISSUER"], AUDIENCE))
    assert decision == "error"
    assert elapsed < DID_NOT_HANG
    [logged] = decision_log()
    assert (logged["decision"], logged["error_type"]) == ("error", "KeySourceUnavailable")


# How a key server can answer the very first fetch uselessly. Each sets the server up.
BAD_ANSWERS: dict[str, Callable[[KeyServer], None]] = {
    "not-json": lambda server: server.serve_body(JWKS_PATH, b"<html>502 Bad Gateway</html>"),
    "json-list": lambda server: server.serve_json(JWKS_PATH, [{"kid": "key-1"}]),
    "empty-keys": lambda server: server.serve_json(JWKS_PATH, {"keys": []}),
    "huge-with-length": lambda server: server.serve_huge(JWKS_PATH, 8 * 1024 * 1024, content_length=True),
    "huge-until-close": lambda server: server.serve_huge(JWKS_PATH, 8 * 1024 * 1024, content_length=False),
    "redirect": lambda server: server.redirect(JWKS_PATH, server.url("/moved.json")),
    "http-500": lambda server: server.serve_status(JWKS_PATH, 500),
    "slow-headers": lambda server: server.serve_json(JWKS_PATH, {"keys": []}, delay=10),
    "dripping-body": lambda server: server.drip_body(JWKS_PATH, b'{"keys": []}' + b" " * 400, interval=0.05),
}


@pytest.mark.parametrize("answer", list(BAD_ANSWERS))
def test_a_useless_first_answer_fails_closed_without_hanging(
    server: KeyServer, key1: SigningKey, answer: str, decision_log: Callable[[], list[dict[str, Any]]]
) -> None:
    server.serve_json("/moved.json", jwks(key1))  # what the redirect points at: valid keys
    BAD_ANSWERS[answer](server)
    # No start-up fetch: the first request itself must fetch, fail, and answer in time.
    handler = create_handler(jwks_uri_env(server, JWT_PREFETCH_KEYS="false"))
    assert server.requests(JWKS_PATH) == 0
    decision, elapsed = run(handler, key1.mint(ISSUER, AUDIENCE))
    assert decision == "error"
    assert elapsed < DID_NOT_HANG
    assert server.requests(JWKS_PATH) == 1
    assert server.requests("/moved.json") == 0
    [logged] = decision_log()
    assert (logged["decision"], logged["error_type"]) == ("error", "KeySourceUnavailable")
    # A second request in the same window does not fetch again, and still fails closed.
    assert run(handler, key1.mint(ISSUER, AUDIENCE))[0] == "error"
    assert server.requests(JWKS_PATH) == 1


@pytest.mark.parametrize("answer", ["not-json", "redirect", "dripping-body"])
def test_a_useless_start_up_answer_fails_the_first_request_closed(
    server: KeyServer, key1: SigningKey, answer: str
) -> None:
    server.serve_json("/moved.json", jwks(key1))
    BAD_ANSWERS[answer](server)
    started = time.monotonic()
    handler = create_handler(jwks_uri_env(server))  # the start-up fetch fails, and is bounded too
    assert server.requests(JWKS_PATH) == 1
    decision, _ = run(handler, key1.mint(ISSUER, AUDIENCE))
    assert decision == "error"
    assert time.monotonic() - started < DID_NOT_HANG
    assert server.requests(JWKS_PATH) == 1


# --- keys fetched once, then an outage -----------------------------------------------------------------

OUTAGES: dict[str, Callable[[KeyServer], None]] = {
    "down": lambda server: server.down(),
    "not-json": BAD_ANSWERS["not-json"],
    "http-500": BAD_ANSWERS["http-500"],
    "redirect": BAD_ANSWERS["redirect"],
    "huge": BAD_ANSWERS["huge-until-close"],
    "slow": BAD_ANSWERS["slow-headers"],
}


@pytest.mark.parametrize("outage", list(OUTAGES))
def test_after_one_good_fetch_an_outage_keeps_valid_tokens_working(
    server: KeyServer,
    key1: SigningKey,
    *,
    key2: SigningKey,
    clock: FakeClock,
    outage: str,
    decision_log: Callable[[], list[dict[str, Any]]],
) -> None:
    server.serve_json(JWKS_PATH, jwks(key1))
    handler = create_handler(jwks_uri_env(server))
    assert server.requests(JWKS_PATH) == 1  # fetched at start-up
    assert run(handler, key1.mint(ISSUER, AUDIENCE))[0] == "allow"
    assert server.requests(JWKS_PATH) == 1  # and not again for the first request
    OUTAGES[outage](server)
    decision_log()

    clock.advance(MIN_REFETCH_INTERVAL)  # an unknown kid may now trigger a refetch, which fails
    decision, elapsed = run(handler, key2.mint(ISSUER, AUDIENCE))
    assert decision == "unauthorized"
    assert elapsed < DID_NOT_HANG
    assert run(handler, key1.mint(ISSUER, AUDIENCE))[0] == "allow"  # the last good keys still serve
    clock.advance(3600)  # past max_age: the refresh fails, the old keys stay
    decision, elapsed = run(handler, key1.mint(ISSUER, AUDIENCE))
    assert decision == "allow"
    assert elapsed < DID_NOT_HANG
    assert [(r["decision"], r.get("reason")) for r in decision_log()] == [
        ("unauthorized", "unknown_kid"),
        ("allow", None),
        ("allow", None),
    ]
    if outage != "down":
        assert server.requests(JWKS_PATH) == 3  # start-up, the unknown kid, the expiry: one each
    assert server.requests("/moved.json") == 0


def test_after_discovery_an_outage_keeps_valid_tokens_working(
    server: KeyServer,
    key1: SigningKey,
    key2: SigningKey,
    clock: FakeClock,
    decision_log: Callable[[], list[dict[str, Any]]],
) -> None:
    serve_discovery(server)
    server.serve_json(JWKS_PATH, jwks(key1))
    env = discovery_env(server)
    handler = create_handler(env)
    assert (server.requests(DISCOVERY_PATH), server.requests(JWKS_PATH)) == (1, 1)
    assert run(handler, key1.mint(env["JWT_ISSUER"], AUDIENCE))[0] == "allow"
    server.down()
    decision_log()
    clock.advance(MIN_REFETCH_INTERVAL)
    assert run(handler, key2.mint(env["JWT_ISSUER"], AUDIENCE))[0] == "unauthorized"
    assert run(handler, key1.mint(env["JWT_ISSUER"], AUDIENCE))[0] == "allow"
    assert [(r["decision"], r.get("reason")) for r in decision_log()] == [
        ("unauthorized", "unknown_kid"),
        ("allow", None),
    ]


def test_rotation_through_the_handler(server: KeyServer, key1: SigningKey, key2: SigningKey, clock: FakeClock) -> None:
    server.serve_json(JWKS_PATH, jwks(key1))
    handler = create_handler(jwks_uri_env(server))
    server.serve_json(JWKS_PATH, jwks(key2))
    assert run(handler, key2.mint(ISSUER, AUDIENCE))[0] == "unauthorized"  # inside the start-up window
    clock.advance(MIN_REFETCH_INTERVAL)
    assert run(handler, key2.mint(ISSUER, AUDIENCE))[0] == "allow"
    assert run(handler, key1.mint(ISSUER, AUDIENCE))[0] == "unauthorized"  # rotated out
    assert server.requests(JWKS_PATH) == 2


# --- prefetch ------------------------------------------------------------------------------------------


def test_keys_are_fetched_at_cold_start_not_on_the_first_request(server: KeyServer, key1: SigningKey) -> None:
    server.serve_json(JWKS_PATH, jwks(key1))
    handler = create_handler(jwks_uri_env(server))
    assert server.requests(JWKS_PATH) == 1
    for _ in range(5):
        assert run(handler, key1.mint(ISSUER, AUDIENCE))[0] == "allow"
    assert server.requests(JWKS_PATH) == 1


def test_discovery_and_keys_are_fetched_at_cold_start(server: KeyServer, key1: SigningKey) -> None:
    serve_discovery(server)
    server.serve_json(JWKS_PATH, jwks(key1))
    env = discovery_env(server)
    handler = create_handler(env)
    assert (server.requests(DISCOVERY_PATH), server.requests(JWKS_PATH)) == (1, 1)
    assert run(handler, key1.mint(env["JWT_ISSUER"], AUDIENCE))[0] == "allow"
    assert (server.requests(DISCOVERY_PATH), server.requests(JWKS_PATH)) == (1, 1)


def test_without_prefetch_the_first_request_fetches(server: KeyServer, key1: SigningKey) -> None:
    server.serve_json(JWKS_PATH, jwks(key1))
    handler = create_handler(jwks_uri_env(server, JWT_PREFETCH_KEYS="false"))
    assert server.requests(JWKS_PATH) == 0
    assert run(handler, key1.mint(ISSUER, AUDIENCE))[0] == "allow"
    assert run(handler, key1.mint(ISSUER, AUDIENCE))[0] == "allow"
    assert server.requests(JWKS_PATH) == 1


# --- refetch flooding -----------------------------------------------------------------------------------


def test_a_flood_of_random_kids_causes_at_most_one_extra_fetch(
    server: KeyServer, key1: SigningKey, clock: FakeClock, decision_log: Callable[[], list[dict[str, Any]]]
) -> None:
    server.serve_json(JWKS_PATH, jwks(key1))
    handler = create_handler(jwks_uri_env(server))
    assert server.requests(JWKS_PATH) == 1
    clock.advance(MIN_REFETCH_INTERVAL)  # past the start-up window: one refetch is allowed
    decision_log()
    for _ in range(1000):
        assert run(handler, forged_with_kid("kid-" + secrets.token_hex(8)))[0] == "unauthorized"
        clock.advance(0.005)  # the flood spans 5 s, inside one window
    assert server.requests(JWKS_PATH) == 2
    records = decision_log()
    assert len(records) == 1000
    assert {(r["decision"], r.get("reason")) for r in records} == {("unauthorized", "unknown_kid")}
    assert run(handler, key1.mint(ISSUER, AUDIENCE))[0] == "allow"  # the real key is unaffected
    assert server.requests(JWKS_PATH) == 2


def test_a_flood_right_after_cold_start_causes_no_extra_fetch(server: KeyServer, key1: SigningKey) -> None:
    server.serve_json(JWKS_PATH, jwks(key1))
    handler = create_handler(jwks_uri_env(server))  # real clock: the flood falls in the start-up window
    for _ in range(200):
        assert run(handler, forged_with_kid("kid-" + secrets.token_hex(8)))[0] == "unauthorized"
    assert server.requests(JWKS_PATH) == 1


def test_a_flood_during_an_outage_makes_at_most_one_attempt_per_window(
    server: KeyServer, key1: SigningKey, clock: FakeClock
) -> None:
    server.serve_json(JWKS_PATH, jwks(key1))
    handler = create_handler(jwks_uri_env(server))
    server.serve_json(JWKS_PATH, {"keys": []}, delay=10)  # every attempt costs a read timeout
    clock.advance(MIN_REFETCH_INTERVAL)
    started = time.monotonic()
    for _ in range(300):
        assert run(handler, forged_with_kid("kid-" + secrets.token_hex(8)))[0] == "unauthorized"
    assert time.monotonic() - started < DID_NOT_HANG  # one slow attempt, not three hundred
    assert server.requests(JWKS_PATH) == 2
    assert run(handler, key1.mint(ISSUER, AUDIENCE))[0] == "allow"
