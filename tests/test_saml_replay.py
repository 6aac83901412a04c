"""Replay protection: the in-memory cache with a fake clock, and the DynamoDB cache on moto's server.

An assertion ID is accepted once per issuer until its NotOnOrAfter; a store that cannot
answer fails closed (:class:`AuthorizerUnavailable`), and no error names the assertion ID.
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from authorizers.errors import AuthorizerUnavailable, CredentialRejected, Reason
from authorizers.saml.replay import DynamoDbReplayCache, InMemoryReplayCache, ReplayCache
from tests.motoserver import aws_environment, moto_server

IDP = "https://idp.example.com/metadata"
OTHER_IDP = "https://other-idp.example.org/saml"
# Stands for an assertion ID that must never show up in an error or in a stored key.
ASSERTION_ID = "_SENTINEL-assertion-id-do-not-print-7f3a"
NOW = 1_700_000_000.0
LIFETIME = 300.0  # NotOnOrAfter, relative to NOW
HEX64 = re.compile(r"[0-9a-f]{64}")


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def stored_key(issuer: str, assertion_id: str) -> str:
    # The derivation is pinned on purpose: the DynamoDB table outlives a deployment, and a
    # changed key would let an assertion used before the deployment through once more after it.
    return hashlib.sha256(f"{issuer}\n{assertion_id}".encode()).hexdigest()


def assert_replayed(cache: ReplayCache, issuer: str, assertion_id: str, not_on_or_after: float) -> None:
    with pytest.raises(CredentialRejected) as caught:
        cache.first_use(issuer, assertion_id, not_on_or_after)
    assert caught.value.reason is Reason.REPLAYED_ASSERTION
    assert assertion_id not in str(caught.value)


def race(attempts: int, use: Callable[[int], None]) -> tuple[int, list[BaseException]]:
    """``attempts`` threads call ``use(i)`` at once; returns (passed, refusals)."""
    barrier = threading.Barrier(attempts)
    passed, refusals, lock = [0], [], threading.Lock()

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            use(i)
        except BaseException as exc:
            with lock:
                refusals.append(exc)
        else:
            with lock:
                passed[0] += 1

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return passed[0], refusals


# -- in memory ---------------------------------------------------------------------------


def test_in_memory_first_use_passes_and_the_second_is_a_replay() -> None:
    cache: ReplayCache = InMemoryReplayCache(clock=FakeClock())
    cache.first_use(IDP, ASSERTION_ID, NOW + LIFETIME)
    assert_replayed(cache, IDP, ASSERTION_ID, NOW + LIFETIME)
    assert_replayed(cache, IDP, ASSERTION_ID, NOW + 10 * LIFETIME)  # a new NotOnOrAfter does not launder it


def test_in_memory_ids_are_unique_per_issuer_only() -> None:
    cache = InMemoryReplayCache(clock=FakeClock())
    cache.first_use(IDP, ASSERTION_ID, NOW + LIFETIME)
    cache.first_use(OTHER_IDP, ASSERTION_ID, NOW + LIFETIME)  # another IdP may well pick the same ID
    assert_replayed(cache, OTHER_IDP, ASSERTION_ID, NOW + LIFETIME)


def test_in_memory_forgets_at_not_on_or_after() -> None:
    clock = FakeClock()
    cache = InMemoryReplayCache(clock=clock)
    cache.first_use(IDP, ASSERTION_ID, NOW + LIFETIME)
    clock.now = NOW + LIFETIME - 0.001  # just before: still remembered
    assert_replayed(cache, IDP, ASSERTION_ID, NOW + LIFETIME)
    clock.now = NOW + LIFETIME  # from NotOnOrAfter on: forgotten
    # Forgetting is safe: the validator refuses an assertion at or after its NotOnOrAfter (plus
    # skew, which it adds to the time it passes here) before it ever asks the replay cache.
    cache.first_use(IDP, ASSERTION_ID, NOW + 2 * LIFETIME)
    assert_replayed(cache, IDP, ASSERTION_ID, NOW + 2 * LIFETIME)


def test_in_memory_full_of_live_entries_fails_closed() -> None:
    clock = FakeClock()
    cache = InMemoryReplayCache(clock=clock, capacity=3)
    for i in range(3):
        cache.first_use(IDP, f"live-{i}", NOW + LIFETIME)
    with pytest.raises(AuthorizerUnavailable) as caught:
        cache.first_use(IDP, ASSERTION_ID, NOW + LIFETIME)
    assert not isinstance(caught.value, CredentialRejected)  # 500, not a 401 blamed on the caller
    assert ASSERTION_ID not in str(caught.value)
    assert_replayed(cache, IDP, "live-0", NOW + LIFETIME)  # refusing a newcomer forgot nobody


def test_in_memory_default_capacity_is_bounded() -> None:
    from authorizers.saml.replay import MAX_REMEMBERED

    assert MAX_REMEMBERED == 100_000
    assert InMemoryReplayCache()._capacity == MAX_REMEMBERED


def test_in_memory_expired_entries_make_room() -> None:
    clock = FakeClock()
    cache = InMemoryReplayCache(clock=clock, capacity=3)
    for i in range(3):
        cache.first_use(IDP, f"short-{i}", NOW + 10)
    clock.now = NOW + 10
    for i in range(3):  # all three expired: room for three new ones
        cache.first_use(IDP, f"new-{i}", NOW + LIFETIME)
    with pytest.raises(AuthorizerUnavailable):
        cache.first_use(IDP, "one-too-many", NOW + LIFETIME)


def test_in_memory_expired_entries_partly_make_room() -> None:
    clock = FakeClock()
    cache = InMemoryReplayCache(clock=clock, capacity=3)
    cache.first_use(IDP, "short", NOW + 10)
    cache.first_use(IDP, "long-0", NOW + LIFETIME)
    cache.first_use(IDP, "long-1", NOW + LIFETIME)
    clock.now = NOW + 10
    cache.first_use(IDP, "new", NOW + LIFETIME)  # "short" expired: its place is free
    with pytest.raises(AuthorizerUnavailable):
        cache.first_use(IDP, "one-too-many", NOW + LIFETIME)
    for remembered in ("long-0", "long-1", "new"):
        assert_replayed(cache, IDP, remembered, NOW + LIFETIME)


def test_in_memory_expired_entries_behind_a_live_one_make_room() -> None:
    # Lifetimes differ in practice: the validator passes max(NotOnOrAfter) + skew, and each
    # assertion carries its own NotOnOrAfter. One long-lived entry at the front pins the rest.
    clock = FakeClock()
    cache = InMemoryReplayCache(clock=clock, capacity=3)
    cache.first_use(IDP, "long", NOW + 3600)
    cache.first_use(IDP, "short-0", NOW + 10)
    cache.first_use(IDP, "short-1", NOW + 10)
    clock.now = NOW + 10  # two of the three are expired
    cache.first_use(IDP, ASSERTION_ID, NOW + LIFETIME)


def test_in_memory_stores_sha256_keys_never_the_raw_id() -> None:
    cache = InMemoryReplayCache(clock=FakeClock())
    cache.first_use(IDP, ASSERTION_ID, NOW + LIFETIME)
    cache.first_use(OTHER_IDP, ASSERTION_ID, NOW + LIFETIME)
    cache.first_use(IDP, "x" * 100_000, NOW + LIFETIME)  # whatever the IdP sends, the key is bounded
    keys = list(cache._seen)
    assert keys == [stored_key(IDP, ASSERTION_ID), stored_key(OTHER_IDP, ASSERTION_ID), stored_key(IDP, "x" * 100_000)]
    for key in keys:
        assert HEX64.fullmatch(key)
        assert ASSERTION_ID not in key
    assert ASSERTION_ID not in repr(cache._seen)


def test_in_memory_racing_threads_exactly_one_passes() -> None:
    cache = InMemoryReplayCache(clock=FakeClock())
    passed, refusals = race(32, lambda _: cache.first_use(IDP, ASSERTION_ID, NOW + LIFETIME))
    assert passed == 1
    assert len(refusals) == 31
    assert all(isinstance(exc, CredentialRejected) and exc.reason is Reason.REPLAYED_ASSERTION for exc in refusals)


# -- DynamoDB on moto's server -----------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def dynamodb(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A DynamoDB client on moto, with the environment pointing the default client there too."""
    aws_environment(monkeypatch, moto_url, tmp_path)
    import boto3

    return boto3.client("dynamodb")


def new_client() -> Any:
    import boto3

    return boto3.client("dynamodb")  # from the environment set by the `dynamodb` fixture


@pytest.fixture
def table(dynamodb: Any) -> str:
    # Every test its own table: the server lives for the whole module.
    name = f"saml-replay-{uuid.uuid4().hex}"
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "assertion", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "assertion", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
    assert ttl["AttributeName"] == "expires_at"
    return name


def items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    return list(dynamodb.scan(TableName=table, ConsistentRead=True)["Items"])


@pytest.mark.parametrize("client", ["explicit", "default"])
def test_dynamodb_first_use_writes_the_item_and_the_second_is_a_replay(dynamodb: Any, table: str, client: str) -> None:
    # "default": no client given, botocore finds moto through AWS_ENDPOINT_URL.
    cache: ReplayCache = (
        DynamoDbReplayCache(table, client=dynamodb) if client == "explicit" else DynamoDbReplayCache(table)
    )
    not_on_or_after = NOW + LIFETIME + 0.75
    cache.first_use(IDP, ASSERTION_ID, not_on_or_after)
    [item] = items(dynamodb, table)
    assert item == {
        "assertion": {"S": stored_key(IDP, ASSERTION_ID)},
        "expires_at": {"N": str(int(not_on_or_after) + 1)},  # rounded up: never forgotten early
    }
    assert HEX64.fullmatch(item["assertion"]["S"])
    assert ASSERTION_ID not in repr(item)
    assert_replayed(cache, IDP, ASSERTION_ID, not_on_or_after)
    assert_replayed(cache, IDP, ASSERTION_ID, not_on_or_after + 3600)
    assert len(items(dynamodb, table)) == 1  # the refused put changed nothing


def test_dynamodb_ids_are_unique_per_issuer_only(dynamodb: Any, table: str) -> None:
    cache = DynamoDbReplayCache(table, client=dynamodb)
    cache.first_use(IDP, ASSERTION_ID, NOW + LIFETIME)
    cache.first_use(OTHER_IDP, ASSERTION_ID, NOW + LIFETIME)
    assert_replayed(cache, OTHER_IDP, ASSERTION_ID, NOW + LIFETIME)
    assert {item["assertion"]["S"] for item in items(dynamodb, table)} == {
        stored_key(IDP, ASSERTION_ID),
        stored_key(OTHER_IDP, ASSERTION_ID),
    }


def test_dynamodb_is_shared_between_lambda_instances(table: str) -> None:
    first, second = DynamoDbReplayCache(table, client=new_client()), DynamoDbReplayCache(table, client=new_client())
    first.first_use(IDP, ASSERTION_ID, NOW + LIFETIME)
    assert_replayed(second, IDP, ASSERTION_ID, NOW + LIFETIME)
    second.first_use(IDP, "used-on-the-second", NOW + LIFETIME)
    assert_replayed(first, IDP, "used-on-the-second", NOW + LIFETIME)


def test_dynamodb_racing_threads_across_instances_exactly_one_passes(table: str) -> None:
    instances = [DynamoDbReplayCache(table, client=new_client()) for _ in range(2)]
    passed, refusals = race(20, lambda i: instances[i % 2].first_use(IDP, ASSERTION_ID, NOW + LIFETIME))
    for exc in refusals:
        if not (isinstance(exc, CredentialRejected) and exc.reason is Reason.REPLAYED_ASSERTION):
            raise exc  # not a replay: the store failed, and that is the finding
    assert passed == 1
    assert len(refusals) == 19


@pytest.mark.parametrize("client", ["explicit", "default"])
def test_dynamodb_missing_table_fails_closed(dynamodb: Any, client: str) -> None:
    name = f"saml-replay-missing-{uuid.uuid4().hex}"
    cache = DynamoDbReplayCache(name, client=dynamodb) if client == "explicit" else DynamoDbReplayCache(name)
    with pytest.raises(AuthorizerUnavailable) as caught:
        cache.first_use(IDP, ASSERTION_ID, NOW + LIFETIME)
    assert not isinstance(caught.value, CredentialRejected)
    assert str(caught.value).startswith("replay table unavailable (")
    assert ASSERTION_ID not in str(caught.value)
    assert stored_key(IDP, ASSERTION_ID) not in str(caught.value)


@pytest.mark.parametrize("client", ["short-timeouts", "default"])
def test_dynamodb_unreachable_endpoint_fails_closed_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, client: str
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    aws_environment(monkeypatch, f"http://127.0.0.1:{port}", tmp_path)
    if client == "default":  # the product's own timeouts and retries
        cache = DynamoDbReplayCache("saml-replay")
    else:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=0.5, read_timeout=0.5, retries={"max_attempts": 1, "mode": "standard"})
        cache = DynamoDbReplayCache("saml-replay", client=boto3.client("dynamodb", config=config))
    started = time.monotonic()
    with pytest.raises(AuthorizerUnavailable) as caught:
        cache.first_use(IDP, ASSERTION_ID, NOW + LIFETIME)
    elapsed = time.monotonic() - started
    print(f"unreachable replay table ({client} client): refused after {elapsed:.2f} s")
    assert elapsed < 15  # bounded; not a tight bound on a shared machine
    assert not isinstance(caught.value, CredentialRejected)
    assert ASSERTION_ID not in str(caught.value)
    assert str(port) not in str(caught.value)  # the exception type only, not botocore's message


def test_dynamodb_unexpected_error_fails_closed() -> None:
    class Broken:
        def put_item(self, **_: Any) -> None:
            raise RuntimeError(f"boom with {ASSERTION_ID}")

    with pytest.raises(AuthorizerUnavailable) as caught:
        DynamoDbReplayCache("saml-replay", client=Broken()).first_use(IDP, ASSERTION_ID, NOW + LIFETIME)
    assert str(caught.value) == "replay table unavailable (RuntimeError)"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__  # `from None`: the original message is not chained into logs
