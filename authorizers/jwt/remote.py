"""Remote key sources: a JWKS URI behind a cache, and OIDC discovery in front of one.

The cache keeps parsed keys across invocations and
* refreshes them after ``max_age`` seconds,
* refetches on an unknown ``kid``, but starts at most one fetch per URI per
  ``min_refetch_interval`` (10 s): a flood of random kids is not a flood of fetches,
* lets concurrent misses share one fetch (they wait on one lock, then reuse its result),
* keeps the last good keys when a fetch fails.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from authorizers.errors import ConfigurationError, KeySourceUnavailable
from authorizers.fetch import JsonFetcher, check_url
from authorizers.jwt.jwks import JwkSet, VerificationKey, parse_jwks

log = logging.getLogger(__name__)

Clock = Callable[[], float]
DEFAULT_MAX_AGE = 3600.0
MIN_REFETCH_INTERVAL = 10.0


class RemoteJwks:
    def __init__(
        self,
        uri: str,
        fetcher: JsonFetcher,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        min_refetch_interval: float = MIN_REFETCH_INTERVAL,
        clock: Clock = time.monotonic,
    ) -> None:
        self.uri = check_url(uri, "JWKS URI")
        self._fetcher = fetcher
        self._max_age = max_age
        self._min_interval = min_refetch_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: JwkSet | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._last_error = "keys not fetched yet"
        self.fetch_count = 0  # observable for tests and benchmarks

    def find_key(self, kid: str | None, alg: str) -> VerificationKey | None:
        keys = self._keys
        if keys is None or self._clock() - self._fetched_at >= self._max_age:
            keys = self._refresh()
        if keys is None:
            raise KeySourceUnavailable(f"{self.uri}: no keys ({self._last_error})")
        found = keys.find(kid, alg)
        if found is None and kid is not None:
            # Maybe the issuer rotated its keys: refetch, within the rate limit.
            keys = self._refresh(unknown_kid=kid) or keys
            found = keys.find(kid, alg)
        return found

    def prefetch(self) -> None:
        self._refresh()

    def _refresh(self, unknown_kid: str | None = None) -> JwkSet | None:
        with self._lock:
            if unknown_kid is not None and self._keys is not None and unknown_kid in self._keys:
                return self._keys  # another thread's fetch brought it while we waited
            now = self._clock()
            if self._attempted_at is not None and now - self._attempted_at < self._min_interval:
                return self._keys
            self._attempted_at = now
            self.fetch_count += 1
            try:
                self._keys = parse_jwks(self._fetcher.fetch_json(self.uri), self.uri)
                self._fetched_at = now
            except KeySourceUnavailable as exc:
                self._last_error = str(exc)
                log.warning(
                    "JWKS fetch failed; keeping the last good keys" if self._keys else "JWKS fetch failed",
                    extra={"jwks_uri": self.uri, "error": str(exc)},
                )
            return self._keys


class DiscoveredJwks:
    """OIDC discovery: ``{issuer}/.well-known/openid-configuration`` names the JWKS URI.

    The document's ``issuer`` must equal the configured issuer exactly (OIDC Discovery
    4.3), and its ``jwks_uri`` must pass the same URL policy as a configured one.
    """

    def __init__(
        self,
        issuer: str,
        fetcher: JsonFetcher,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        min_refetch_interval: float = MIN_REFETCH_INTERVAL,
        clock: Clock = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.discovery_uri = check_url(issuer.rstrip("/") + "/.well-known/openid-configuration", "issuer discovery URL")
        self._fetcher = fetcher
        self._max_age = max_age
        self._min_interval = min_refetch_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._jwks: RemoteJwks | None = None
        self._attempted_at: float | None = None
        self._last_error = "discovery not fetched yet"

    def find_key(self, kid: str | None, alg: str) -> VerificationKey | None:
        return self._resolve().find_key(kid, alg)

    def prefetch(self) -> None:
        try:
            self._resolve().prefetch()
        except KeySourceUnavailable as exc:
            log.warning("OIDC discovery failed at start-up", extra={"issuer": self.issuer, "error": str(exc)})

    def _resolve(self) -> RemoteJwks:
        jwks = self._jwks
        if jwks is not None:
            return jwks
        with self._lock:
            if self._jwks is not None:
                return self._jwks
            now = self._clock()
            if self._attempted_at is not None and now - self._attempted_at < self._min_interval:
                raise KeySourceUnavailable(f"{self.discovery_uri}: {self._last_error}")
            self._attempted_at = now
            try:
                self._jwks = self._discover()
            except KeySourceUnavailable as exc:
                self._last_error = str(exc)
                raise
            return self._jwks

    def _discover(self) -> RemoteJwks:
        document = self._fetcher.fetch_json(self.discovery_uri)
        if not isinstance(document, dict):
            raise KeySourceUnavailable(f"{self.discovery_uri}: discovery document is not an object")
        if document.get("issuer") != self.issuer:
            raise KeySourceUnavailable(f"{self.discovery_uri}: discovery names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise KeySourceUnavailable(f"{self.discovery_uri}: discovery has no jwks_uri")
        try:
            return RemoteJwks(
                jwks_uri,
                self._fetcher,
                max_age=self._max_age,
                min_refetch_interval=self._min_interval,
                clock=self._clock,
            )
        except ConfigurationError as exc:  # the URL policy refused it: the IdP's fault, not ours
            raise KeySourceUnavailable(f"{self.discovery_uri}: jwks_uri refused ({exc})") from exc
