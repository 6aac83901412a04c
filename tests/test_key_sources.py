"""Key sources against a real (loopback) key server: RemoteJwks, DiscoveredJwks, StaticKeySource.

The cache's clock is injected, so expiry and the refetch window are tested at their
exact boundaries; the server counts what was really fetched.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from authorizers.errors import ConfigurationError, KeySourceUnavailable
from authorizers.fetch import HttpJsonFetcher
from authorizers.jwt.jwks import VerificationKey
from authorizers.jwt.keysource import StaticKeySource
from authorizers.jwt.remote import MIN_REFETCH_INTERVAL, DiscoveredJwks, RemoteJwks
from tests.keyserver import KeyServer, SigningKey, jwks

JWKS_PATH = "/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
AUDIENCE = "orders-api"
ISSUER = "https://issuer.example.test"


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def server(key1: SigningKey) -> Iterator[KeyServer]:
    with KeyServer() as running:
        running.serve_json(JWKS_PATH, jwks(key1))
        yield running


@pytest.fixture(scope="module")
def fetcher() -> HttpJsonFetcher:
    return HttpJsonFetcher()


@pytest.fixture(scope="module")
def quick_fetcher() -> HttpJsonFetcher:
    """Shorter timeouts, for the slow-server cases: the same mechanism, less waiting."""
    return HttpJsonFetcher(connect_timeout=0.2, read_timeout=0.3)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def remote(server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, **options: Any) -> RemoteJwks:
    return RemoteJwks(server.url(JWKS_PATH), fetcher, clock=clock, **options)


def verifies(found: VerificationKey | None, signer: SigningKey) -> bool:
    """True when ``found`` verifies a token ``signer`` just signed."""
    assert found is not None
    token = signer.mint(ISSUER, AUDIENCE)
    claims = jwt.decode(token, found.key, algorithms=["RS256"], audience=AUDIENCE)
    return bool(claims["iss"] == ISSUER)


def random_kid() -> str:
    return "kid-" + secrets.token_hex(8)


# --- RemoteJwks: caching ------------------------------------------------------------------------------


def test_keys_are_fetched_once_and_reused(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    source = remote(server, fetcher, clock)
    first = source.find_key("key-1", "RS256")
    assert verifies(first, key1)
    for _ in range(200):
        clock.advance(1.0)  # 200 s pass, well under max_age
        assert source.find_key("key-1", "RS256") is first  # the parsed key object itself, not a re-parse
    assert source.fetch_count == 1
    assert server.requests(JWKS_PATH) == 1


def test_prefetch_loads_the_keys_so_the_first_lookup_makes_no_request(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    source = remote(server, fetcher, clock)
    assert server.requests(JWKS_PATH) == 0  # constructing fetches nothing
    source.prefetch()
    assert server.requests(JWKS_PATH) == 1
    assert verifies(source.find_key("key-1", "RS256"), key1)
    assert server.requests(JWKS_PATH) == 1
    assert source.fetch_count == 1


def test_max_age_expiry_triggers_exactly_one_refetch(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    source = remote(server, fetcher, clock, max_age=300)
    source.prefetch()
    clock.advance(299.999)
    assert verifies(source.find_key("key-1", "RS256"), key1)
    assert server.requests(JWKS_PATH) == 1  # just inside max_age: no refetch
    clock.advance(0.001)
    for _ in range(50):
        assert verifies(source.find_key("key-1", "RS256"), key1)
    assert server.requests(JWKS_PATH) == 2  # at max_age: one refetch, then the fresh keys serve
    assert source.fetch_count == 2
    clock.advance(299.0)
    source.find_key("key-1", "RS256")
    assert server.requests(JWKS_PATH) == 2
    clock.advance(1.0)
    source.find_key("key-1", "RS256")
    assert server.requests(JWKS_PATH) == 3


def test_max_age_expiry_picks_up_rotated_keys(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey, key2: SigningKey
) -> None:
    source = remote(server, fetcher, clock, max_age=300)
    source.prefetch()
    server.serve_json(JWKS_PATH, jwks(key2))
    clock.advance(300)
    assert source.find_key("key-1", "RS256") is None  # the refreshed set no longer has key-1
    assert verifies(source.find_key("key-2", "RS256"), key2)
    assert server.requests(JWKS_PATH) == 2


# --- RemoteJwks: rotation and the refetch window --------------------------------------------------------


def test_key_rotation_an_unknown_kid_refetches_and_the_old_kid_is_then_unknown(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey, key2: SigningKey
) -> None:
    source = remote(server, fetcher, clock)
    source.prefetch()
    assert verifies(source.find_key("key-1", "RS256"), key1)
    server.serve_json(JWKS_PATH, jwks(key2))  # the issuer rotates: key-1 is gone
    clock.advance(MIN_REFETCH_INTERVAL)
    assert verifies(source.find_key("key-2", "RS256"), key2)
    assert source.fetch_count == 2
    assert source.find_key("key-1", "RS256") is None  # within the new window: no further fetch
    assert source.fetch_count == 2
    assert server.requests(JWKS_PATH) == 2


def test_rotation_with_overlap_keeps_both_keys(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey, key2: SigningKey
) -> None:
    source = remote(server, fetcher, clock)
    source.prefetch()
    server.serve_json(JWKS_PATH, jwks(key1, key2))
    clock.advance(MIN_REFETCH_INTERVAL)
    assert verifies(source.find_key("key-2", "RS256"), key2)
    assert verifies(source.find_key("key-1", "RS256"), key1)
    assert server.requests(JWKS_PATH) == 2


def test_the_refetch_window_boundary(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key2: SigningKey
) -> None:
    source = remote(server, fetcher, clock)
    source.prefetch()
    server.serve_json(JWKS_PATH, jwks(key2))
    clock.advance(MIN_REFETCH_INTERVAL - 0.001)
    assert source.find_key("key-2", "RS256") is None  # just inside the window: no fetch, so unknown
    assert server.requests(JWKS_PATH) == 1
    clock.advance(0.001)
    assert verifies(source.find_key("key-2", "RS256"), key2)  # window over: one fetch finds it
    assert server.requests(JWKS_PATH) == 2


def test_a_thousand_random_kids_cause_at_most_one_fetch_per_window(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    source = remote(server, fetcher, clock)
    source.prefetch()
    clock.advance(3600 - 1)  # long after the start-up fetch, keys still fresh
    for _ in range(1000):
        assert source.find_key(random_kid(), "RS256") is None
        clock.advance(0.005)  # the thousand lookups span 5 s, inside one window
    assert server.requests(JWKS_PATH) == 2
    assert source.fetch_count == 2
    clock.advance(MIN_REFETCH_INTERVAL)  # the window has passed: one more fetch is allowed
    for _ in range(1000):
        assert source.find_key(random_kid(), "RS256") is None
    assert server.requests(JWKS_PATH) == 3
    assert source.fetch_count == 3
    assert verifies(source.find_key("key-1", "RS256"), key1)  # the flood did not disturb the real key
    assert server.requests(JWKS_PATH) == 3


def test_random_kids_right_after_start_up_cause_no_fetch(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock
) -> None:
    source = remote(server, fetcher, clock)
    source.prefetch()
    for _ in range(1000):
        assert source.find_key(random_kid(), "RS256") is None
    assert server.requests(JWKS_PATH) == 1  # the start-up fetch opened the window


def test_a_token_without_kid_never_refetches(server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock) -> None:
    source = remote(server, fetcher, clock)
    source.prefetch()
    clock.advance(MIN_REFETCH_INTERVAL)
    source.find_key(None, "RS256")
    assert server.requests(JWKS_PATH) == 1


# --- RemoteJwks: concurrency --------------------------------------------------------------------------


def lookup_in_threads(source: RemoteJwks, kid: str, threads: int = 20) -> list[object]:
    """Run ``threads`` lookups of ``kid`` released together; their results (or exceptions)."""
    barrier = threading.Barrier(threads)
    results: list[object] = [None] * threads

    def work(index: int) -> None:
        barrier.wait()
        try:
            results[index] = source.find_key(kid, "RS256")
        except Exception as exc:
            results[index] = exc

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)
    assert not any(worker.is_alive() for worker in workers)
    return results


def test_concurrent_misses_on_a_rotated_kid_share_one_fetch(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey, key2: SigningKey
) -> None:
    source = remote(server, fetcher, clock)
    source.prefetch()
    clock.advance(MIN_REFETCH_INTERVAL)
    server.serve_json(JWKS_PATH, jwks(key1, key2), delay=0.2)  # slow enough for all threads to pile up
    results = lookup_in_threads(source, "key-2")
    assert server.requests(JWKS_PATH) == 2
    assert source.fetch_count == 2
    assert all(isinstance(found, VerificationKey) and found.kid == "key-2" for found in results)


def test_concurrent_misses_on_a_random_kid_share_one_fetch(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    source = remote(server, fetcher, clock)
    source.prefetch()
    clock.advance(MIN_REFETCH_INTERVAL)
    server.serve_json(JWKS_PATH, jwks(key1), delay=0.2)
    results = lookup_in_threads(source, random_kid())
    assert results == [None] * 20
    assert server.requests(JWKS_PATH) == 2
    assert source.fetch_count == 2


def test_concurrent_cold_lookups_share_one_fetch(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    server.serve_json(JWKS_PATH, jwks(key1), delay=0.2)
    source = remote(server, fetcher, clock)  # no prefetch: twenty requests arrive at a cold start
    results = lookup_in_threads(source, "key-1")
    assert server.requests(JWKS_PATH) == 1
    assert all(isinstance(found, VerificationKey) and found.kid == "key-1" for found in results)


# --- RemoteJwks: outages --------------------------------------------------------------------------------

# Ways for a key server to fail after it once served good keys. Each sets the server up.
OUTAGES: dict[str, Any] = {
    "down": lambda server: server.down(),
    "http-500": lambda server: server.serve_status(JWKS_PATH, 500),
    "http-404": lambda server: server.serve_status(JWKS_PATH, 404),
    "not-json": lambda server: server.serve_body(JWKS_PATH, b"<html>maintenance</html>"),
    "json-list": lambda server: server.serve_json(JWKS_PATH, [{"kid": "key-1"}]),
    "json-string": lambda server: server.serve_json(JWKS_PATH, "keys"),
    "no-keys-member": lambda server: server.serve_json(JWKS_PATH, {"kes": []}),
    "empty-keys": lambda server: server.serve_json(JWKS_PATH, {"keys": []}),
    "keys-not-a-list": lambda server: server.serve_json(JWKS_PATH, {"keys": {"kid": "key-1"}}),
    "unusable-keys": lambda server: server.serve_json(
        JWKS_PATH,
        {
            "keys": [
                {"kid": "key-1", "kty": "oct", "k": "c2VjcmV0"},
                {"kid": "key-1", "kty": "RSA", "n": "AQAB", "e": "AQAB"},
                {"kid": ["key-1"], "kty": "RSA"},
                {"kid": "key-1", "kty": "RSA", "alg": ["RS256"]},
                {"kid": "key-1", "kty": "RSA", "use": {"sig": True}},
                "key-1",
                None,
            ]
        },
    ),
    "huge": lambda server: server.serve_huge(JWKS_PATH, 4 * 1024 * 1024, content_length=False),
    "redirect": lambda server: server.redirect(JWKS_PATH, server.url("/moved.json")),
    "slow": lambda server: server.serve_json(JWKS_PATH, {"keys": []}, delay=5),
    "dripping": lambda server: server.drip_body(JWKS_PATH, b'{"keys": []}' + b" " * 100, interval=0.05),
}


@pytest.mark.parametrize("outage", list(OUTAGES))
def test_an_outage_after_a_good_fetch_keeps_the_last_good_keys(
    server: KeyServer, quick_fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey, outage: str
) -> None:
    source = remote(server, quick_fetcher, clock, max_age=300)
    source.prefetch()
    server.serve_json("/moved.json", jwks(key1))
    OUTAGES[outage](server)

    clock.advance(300)  # the keys expire: the refresh fails, the old keys stay
    assert verifies(source.find_key("key-1", "RS256"), key1)
    assert source.fetch_count == 2
    clock.advance(MIN_REFETCH_INTERVAL)  # an unknown kid: the refetch fails too, and says "unknown"
    assert source.find_key(random_kid(), "RS256") is None
    assert verifies(source.find_key("key-1", "RS256"), key1)
    assert source.fetch_count == 3
    if outage != "down":
        assert server.requests(JWKS_PATH) == 3
    assert server.requests("/moved.json") == 0


def test_a_failed_refresh_is_retried_once_per_window_then_recovers(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey, key2: SigningKey
) -> None:
    source = remote(server, fetcher, clock, max_age=300)
    source.prefetch()
    server.serve_status(JWKS_PATH, 503)
    clock.advance(300)
    for _ in range(100):
        assert verifies(source.find_key("key-1", "RS256"), key1)
        clock.advance(0.05)
    assert server.requests(JWKS_PATH) == 2  # stale keys, one failed attempt in this window
    server.serve_json(JWKS_PATH, jwks(key1, key2))
    clock.advance(MIN_REFETCH_INTERVAL)
    assert verifies(source.find_key("key-2", "RS256"), key2)
    assert server.requests(JWKS_PATH) == 3


@pytest.mark.parametrize("outage", ["down", "http-500", "not-json", "json-list", "empty-keys", "unusable-keys"])
def test_no_keys_ever_is_key_source_unavailable(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, outage: str
) -> None:
    OUTAGES[outage](server)
    source = remote(server, fetcher, clock)
    source.prefetch()  # a failed start-up fetch is logged, not raised
    with pytest.raises(KeySourceUnavailable, match="no keys"):
        source.find_key("key-1", "RS256")
    with pytest.raises(KeySourceUnavailable, match="no keys"):
        source.find_key(None, "RS256")
    assert source.fetch_count == 1  # both lookups fell in the start-up fetch's window


def test_after_a_failed_start_up_the_keys_are_fetched_once_the_window_passes(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    server.serve_status(JWKS_PATH, 500)
    source = remote(server, fetcher, clock)
    source.prefetch()
    server.serve_json(JWKS_PATH, jwks(key1))
    clock.advance(MIN_REFETCH_INTERVAL - 0.001)
    with pytest.raises(KeySourceUnavailable):
        source.find_key("key-1", "RS256")
    assert server.requests(JWKS_PATH) == 1
    clock.advance(0.001)
    assert verifies(source.find_key("key-1", "RS256"), key1)
    assert server.requests(JWKS_PATH) == 2


def test_a_slow_server_at_cold_start_is_unavailable_not_a_hang(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock
) -> None:
    server.drip_body(JWKS_PATH, b'{"keys": []}' + b" " * 200, interval=0.05)
    source = remote(server, fetcher, clock)
    with pytest.raises(KeySourceUnavailable, match=r"took over 2\.0 s"):
        source.find_key("key-1", "RS256")
    assert source.fetch_count == 1


@pytest.mark.parametrize(
    "uri", ["http://example.com/jwks.json", "ftp://127.0.0.1/jwks.json", "https://u:p@example.com/jwks.json"]
)
def test_a_jwks_uri_outside_the_url_policy_is_a_configuration_error(uri: str, fetcher: HttpJsonFetcher) -> None:
    with pytest.raises(ConfigurationError, match="JWKS URI"):
        RemoteJwks(uri, fetcher)


# --- DiscoveredJwks ----------------------------------------------------------------------------------


def discovery_document(issuer: str, jwks_uri: object) -> dict[str, Any]:
    return {"issuer": issuer, "jwks_uri": jwks_uri, "id_token_signing_alg_values_supported": ["RS256"]}


def test_discovery_finds_the_jwks_and_is_fetched_once(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey, key2: SigningKey
) -> None:
    server.serve_json(DISCOVERY_PATH, discovery_document(server.base_url, server.url(JWKS_PATH)))
    source = DiscoveredJwks(server.base_url, fetcher, clock=clock)
    assert server.total_requests() == 0
    source.prefetch()
    assert (server.requests(DISCOVERY_PATH), server.requests(JWKS_PATH)) == (1, 1)
    for _ in range(50):
        assert verifies(source.find_key("key-1", "RS256"), key1)
    server.serve_json(JWKS_PATH, jwks(key2))  # rotation: the JWKS is refetched, discovery is not
    clock.advance(MIN_REFETCH_INTERVAL)
    assert verifies(source.find_key("key-2", "RS256"), key2)
    clock.advance(3600)
    assert verifies(source.find_key("key-2", "RS256"), key2)
    assert (server.requests(DISCOVERY_PATH), server.requests(JWKS_PATH)) == (1, 3)


def test_discovery_without_prefetch_happens_on_the_first_lookup(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    server.serve_json(DISCOVERY_PATH, discovery_document(server.base_url, server.url(JWKS_PATH)))
    source = DiscoveredJwks(server.base_url, fetcher, clock=clock)
    assert verifies(source.find_key("key-1", "RS256"), key1)
    assert (server.requests(DISCOVERY_PATH), server.requests(JWKS_PATH)) == (1, 1)


def test_discovery_can_point_at_another_loopback_jwks(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    with KeyServer() as key_host:
        key_host.serve_json("/keys", jwks(key1))
        server.serve_json(DISCOVERY_PATH, discovery_document(server.base_url, key_host.url("/keys")))
        source = DiscoveredJwks(server.base_url, fetcher, clock=clock)
        assert verifies(source.find_key("key-1", "RS256"), key1)
        assert key_host.requests("/keys") == 1
    assert server.requests(JWKS_PATH) == 0


@pytest.mark.parametrize(
    "named_issuer",
    [
        pytest.param("{base}/other", id="other-path"),
        pytest.param("{base}/", id="added-slash"),
        pytest.param("https://127.0.0.1:{port}", id="other-scheme"),
        pytest.param("https://evil.example.com", id="other-host"),
        pytest.param("HTTP://127.0.0.1:{port}", id="other-case"),
        pytest.param(None, id="missing"),
    ],
)
def test_discovery_naming_another_issuer_is_refused(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, named_issuer: str | None
) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    named = None if named_issuer is None else named_issuer.format(base=server.base_url, port=port)
    server.serve_json(DISCOVERY_PATH, discovery_document(named, server.url(JWKS_PATH)))  # type: ignore[arg-type]
    source = DiscoveredJwks(server.base_url, fetcher, clock=clock)
    with pytest.raises(KeySourceUnavailable, match="another issuer"):
        source.find_key("key-1", "RS256")
    assert server.requests(JWKS_PATH) == 0


@pytest.mark.parametrize(
    "jwks_uri",
    [
        pytest.param(None, id="missing"),
        pytest.param(["http://127.0.0.1/jwks.json"], id="list"),
        pytest.param(42, id="number"),
    ],
)
def test_discovery_without_a_jwks_uri_is_refused(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, jwks_uri: object
) -> None:
    document = discovery_document(server.base_url, jwks_uri)
    if jwks_uri is None:
        del document["jwks_uri"]
    server.serve_json(DISCOVERY_PATH, document)
    with pytest.raises(KeySourceUnavailable, match="no jwks_uri"):
        DiscoveredJwks(server.base_url, fetcher, clock=clock).find_key("key-1", "RS256")


@pytest.mark.parametrize(
    "jwks_uri",
    [
        "http://example.com/jwks.json",
        "http://10.0.0.1/jwks.json",
        "https://user:pw@example.com/jwks.json",
        "file:///etc/passwd",
        "ftp://127.0.0.1/jwks.json",
        "/jwks.json",
        "",
    ],
)
def test_discovery_with_a_jwks_uri_outside_the_url_policy_is_refused(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, jwks_uri: str
) -> None:
    server.serve_json(DISCOVERY_PATH, discovery_document(server.base_url, jwks_uri))
    with pytest.raises(KeySourceUnavailable, match="jwks_uri refused"):
        DiscoveredJwks(server.base_url, fetcher, clock=clock).find_key("key-1", "RS256")
    assert server.total_requests() == 1  # the discovery document only


@pytest.mark.parametrize("document", [[1, 2], "issuer", 42, None], ids=["list", "string", "number", "null"])
def test_discovery_document_that_is_not_an_object_is_refused(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, document: object
) -> None:
    server.serve_json(DISCOVERY_PATH, document)
    with pytest.raises(KeySourceUnavailable, match="not an object"):
        DiscoveredJwks(server.base_url, fetcher, clock=clock).find_key("key-1", "RS256")


def test_a_trailing_slash_on_the_issuer_is_not_doubled_and_the_match_stays_exact(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    issuer = server.base_url + "/"
    source = DiscoveredJwks(issuer, fetcher, clock=clock)
    assert source.discovery_uri == server.url(DISCOVERY_PATH)
    server.serve_json(DISCOVERY_PATH, discovery_document(server.base_url, server.url(JWKS_PATH)))
    with pytest.raises(KeySourceUnavailable, match="another issuer"):
        source.find_key("key-1", "RS256")  # the document's issuer lacks the configured slash
    server.serve_json(DISCOVERY_PATH, discovery_document(issuer, server.url(JWKS_PATH)))
    clock.advance(MIN_REFETCH_INTERVAL)
    assert verifies(DiscoveredJwks(issuer, fetcher, clock=clock).find_key("key-1", "RS256"), key1)
    assert verifies(source.find_key("key-1", "RS256"), key1)
    assert server.requests("//.well-known/openid-configuration") == 0


def test_an_issuer_with_a_path_is_discovered_under_that_path(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    issuer = server.base_url + "/tenants/acme"
    server.serve_json("/tenants/acme" + DISCOVERY_PATH, discovery_document(issuer, server.url(JWKS_PATH)))
    assert verifies(DiscoveredJwks(issuer, fetcher, clock=clock).find_key("key-1", "RS256"), key1)
    assert server.requests("/tenants/acme" + DISCOVERY_PATH) == 1


def test_failed_discovery_is_retried_once_per_window(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    server.serve_status(DISCOVERY_PATH, 503)
    source = DiscoveredJwks(server.base_url, fetcher, clock=clock)
    source.prefetch()  # logged, not raised
    for _ in range(100):
        with pytest.raises(KeySourceUnavailable, match="HTTP 503"):
            source.find_key("key-1", "RS256")
    assert server.requests(DISCOVERY_PATH) == 1
    server.serve_json(DISCOVERY_PATH, discovery_document(server.base_url, server.url(JWKS_PATH)))
    clock.advance(MIN_REFETCH_INTERVAL)
    assert verifies(source.find_key("key-1", "RS256"), key1)
    assert (server.requests(DISCOVERY_PATH), server.requests(JWKS_PATH)) == (2, 1)


def test_discovery_with_the_server_down_is_unavailable(fetcher: HttpJsonFetcher, clock: FakeClock) -> None:
    with KeyServer() as server:
        issuer = server.base_url
    source = DiscoveredJwks(issuer, fetcher, clock=clock)
    source.prefetch()
    with pytest.raises(KeySourceUnavailable, match="ConnectionError"):
        source.find_key("key-1", "RS256")


def test_an_outage_after_discovery_keeps_the_last_good_keys(
    server: KeyServer, fetcher: HttpJsonFetcher, clock: FakeClock, key1: SigningKey
) -> None:
    server.serve_json(DISCOVERY_PATH, discovery_document(server.base_url, server.url(JWKS_PATH)))
    source = DiscoveredJwks(server.base_url, fetcher, clock=clock, max_age=300)
    source.prefetch()
    server.down()
    clock.advance(300)
    assert verifies(source.find_key("key-1", "RS256"), key1)
    clock.advance(MIN_REFETCH_INTERVAL)
    assert source.find_key(random_kid(), "RS256") is None


@pytest.mark.parametrize(
    "issuer", ["http://issuer.example.com", "ftp://127.0.0.1", "https://u:p@issuer.example.com", "issuer"]
)
def test_an_issuer_outside_the_url_policy_is_a_configuration_error(issuer: str, fetcher: HttpJsonFetcher) -> None:
    with pytest.raises(ConfigurationError, match="issuer discovery URL"):
        DiscoveredJwks(issuer, fetcher)


# --- StaticKeySource -----------------------------------------------------------------------------------


def test_static_keys_from_a_file(tmp_path: Path, key1: SigningKey, key2: SigningKey) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(key1, key2)), encoding="utf-8")
    source = StaticKeySource.from_file(path)
    source.prefetch()
    assert verifies(source.find_key("key-1", "RS256"), key1)
    assert verifies(source.find_key("key-2", "RS256"), key2)
    assert source.find_key("key-3", "RS256") is None


def test_static_keys_from_text(key1: SigningKey) -> None:
    source = StaticKeySource.from_text(json.dumps(jwks(key1)))
    assert verifies(source.find_key("key-1", "RS256"), key1)


BAD_JWKS_TEXTS = {
    "empty": "",
    "not-json": "keys: [key-1]",
    "json-list": "[]",
    "json-string": '"keys"',
    "no-keys-member": '{"kes": []}',
    "empty-keys": '{"keys": []}',
    "keys-not-a-list": '{"keys": {}}',
    "only-a-symmetric-key": '{"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}',
    "only-a-broken-rsa-key": '{"keys": [{"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB"}]}',
    "only-an-encryption-key": None,  # filled in below from a real key
    "too-many-keys": None,
}


@pytest.fixture(scope="module")
def bad_jwks_texts(key1: SigningKey) -> dict[str, str]:
    texts = {name: text for name, text in BAD_JWKS_TEXTS.items() if text is not None}
    texts["only-an-encryption-key"] = json.dumps({"keys": [{**key1.jwk, "use": "enc"}]})
    texts["too-many-keys"] = json.dumps({"keys": [{**key1.jwk, "kid": f"k{n}"} for n in range(101)]})
    return texts


@pytest.mark.parametrize("name", list(BAD_JWKS_TEXTS))
def test_bad_static_jwks_text_is_a_configuration_error(bad_jwks_texts: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigurationError, match="JWKS"):
        StaticKeySource.from_text(bad_jwks_texts[name])


@pytest.mark.parametrize("name", list(BAD_JWKS_TEXTS))
def test_bad_static_jwks_file_is_a_configuration_error(
    tmp_path: Path, bad_jwks_texts: dict[str, str], name: str
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(bad_jwks_texts[name], encoding="utf-8")
    with pytest.raises(ConfigurationError, match=str(path)):
        StaticKeySource.from_file(path)


def test_a_missing_jwks_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read JWKS file"):
        StaticKeySource.from_file(tmp_path / "absent.json")


def test_a_directory_as_jwks_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read JWKS file"):
        StaticKeySource.from_file(tmp_path)


def test_a_jwks_file_that_is_not_utf8_is_a_configuration_error(tmp_path: Path, key1: SigningKey) -> None:
    path = tmp_path / "jwks.json"
    path.write_bytes(json.dumps(jwks(key1)).encode("utf-16"))
    with pytest.raises(ConfigurationError, match="not UTF-8"):
        StaticKeySource.from_file(path)


def test_a_jwks_with_a_good_key_beside_bad_ones_keeps_the_good_one(key1: SigningKey) -> None:
    text = json.dumps({"keys": [{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}, key1.jwk, {"kid": "x"}]})
    source = StaticKeySource.from_text(text)
    assert verifies(source.find_key("key-1", "RS256"), key1)
    assert source.find_key("sym", "RS256") is None


def test_prefetch_of_several_issuers_runs_in_parallel() -> None:
    import threading

    from authorizers.jwt.config import IssuerConfig
    from authorizers.jwt.validator import JwtValidator

    barrier = threading.Barrier(3, timeout=5)

    class WaitsForTheOthers:
        prefetched = False

        def find_key(self, kid: str | None, alg: str) -> None:
            return None

        def prefetch(self) -> None:
            barrier.wait()  # only passes when all three prefetch at the same time
            self.prefetched = True

    sources = [WaitsForTheOthers() for _ in range(3)]
    validator = JwtValidator(
        IssuerConfig(issuer=f"https://issuer-{n}.example", key_source=source, audience=frozenset({"api"}))
        for n, source in enumerate(sources)
    )
    validator.prefetch()
    assert all(source.prefetched for source in sources)
