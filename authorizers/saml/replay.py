"""Replay protection: an assertion ID is accepted once, until its NotOnOrAfter.

Two stores behind one small interface. :class:`InMemoryReplayCache` is per Lambda
instance (a replay to another instance is not seen: documented); :class:`DynamoDbReplayCache`
is shared by every instance, with a conditional put (the first writer wins) and a TTL
attribute so DynamoDB removes entries after they expire. A store that cannot answer fails
closed: the authorizer cannot tell a first use from a replay, so it does not allow.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from authorizers.errors import AuthorizerUnavailable, CredentialRejected, Reason

Clock = Callable[[], float]
MAX_REMEMBERED = 100_000
TTL_ATTRIBUTE = "expires_at"
KEY_ATTRIBUTE = "assertion"


class ReplayCache(Protocol):
    def first_use(self, issuer: str, assertion_id: str, not_on_or_after: float) -> None:
        """Record the assertion; raise ``replayed_assertion`` when it was seen before."""


def _key(issuer: str, assertion_id: str) -> str:
    # Bounded length whatever the IdP sends; the ID is unique per issuer only.
    return hashlib.sha256(f"{issuer}\n{assertion_id}".encode()).hexdigest()


class InMemoryReplayCache:
    def __init__(self, clock: Clock = time.time, capacity: int = MAX_REMEMBERED) -> None:
        self._clock = clock
        self._capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()  # key -> forget after
        self._lock = threading.Lock()

    def first_use(self, issuer: str, assertion_id: str, not_on_or_after: float) -> None:
        key, now = _key(issuer, assertion_id), self._clock()
        with self._lock:
            while self._seen and next(iter(self._seen.values())) <= now:
                self._seen.popitem(last=False)  # cheap: the oldest entries usually expire first
            remembered = self._seen.get(key)
            if remembered is not None and remembered > now:
                raise CredentialRejected(Reason.REPLAYED_ASSERTION, "this assertion was already used")
            if len(self._seen) >= self._capacity:
                # Lifetimes differ, so expired entries can sit behind a live one: sweep them all.
                for expired in [k for k, until in self._seen.items() if until <= now]:
                    del self._seen[expired]
            if len(self._seen) >= self._capacity:
                # Full of live assertions: refusing is safer than forgetting one that may come back.
                raise AuthorizerUnavailable("the replay cache is full")
            self._seen[key] = not_on_or_after


class DynamoDbReplayCache:
    """``table``: partition key ``assertion`` (string), TTL on ``expires_at`` (epoch seconds)."""

    def __init__(self, table: str, client: Any = None) -> None:
        self._table = table
        self._client = client if client is not None else _dynamodb_client()

    def first_use(self, issuer: str, assertion_id: str, not_on_or_after: float) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    KEY_ATTRIBUTE: {"S": _key(issuer, assertion_id)},
                    TTL_ATTRIBUTE: {"N": str(int(not_on_or_after) + 1)},
                },
                # "assertion" is a DynamoDB reserved word: it is named through a placeholder.
                ConditionExpression="attribute_not_exists(#key)",
                ExpressionAttributeNames={"#key": KEY_ATTRIBUTE},
            )
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                raise CredentialRejected(Reason.REPLAYED_ASSERTION, "this assertion was already used") from None
            raise AuthorizerUnavailable(f"replay table unavailable ({type(exc).__name__})") from None


def _dynamodb_client() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("dynamodb", config=config)
