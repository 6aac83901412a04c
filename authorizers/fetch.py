"""Fetching small JSON documents (JWKS, discovery) safely.

https only (plain http only to loopback hosts, for local testing), no redirects,
connect and read timeouts that add up to at most 2 s with a matching overall deadline,
and a cap on the decoded body size. Every failure is a :class:`KeySourceUnavailable`.
"""

from __future__ import annotations

import ipaddress
import json
import time
from typing import Protocol
from urllib.parse import urlsplit

from authorizers.errors import ConfigurationError, KeySourceUnavailable

DEFAULT_CONNECT_TIMEOUT = 0.8
DEFAULT_READ_TIMEOUT = 1.2
DEFAULT_MAX_BYTES = 256 * 1024
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class JsonFetcher(Protocol):
    def fetch_json(self, url: str) -> object: ...


def check_url(url: str, what: str = "URL") -> str:
    """Refuse anything but https, or http to a loopback host; raise ConfigurationError."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigurationError(f"{what} {url!r} is not a valid URL") from exc
    if not host or parts.username is not None or parts.password is not None:
        raise ConfigurationError(f"{what} {url!r} must be an absolute URL without credentials")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and is_loopback(host):
        return url
    raise ConfigurationError(f"{what} {url!r} must use https (plain http only to loopback hosts)")


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HttpJsonFetcher:
    """A requests-based fetcher; one keep-alive session reused across invocations."""

    def __init__(
        self,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0 or connect_timeout + read_timeout > 2.0:
            raise ConfigurationError("fetch timeouts must be positive and add up to at most 2 s")
        import requests

        self._requests = requests
        self._session = requests.Session()
        self._timeouts = (connect_timeout, read_timeout)
        self._deadline = connect_timeout + read_timeout
        self._max_bytes = max_bytes

    def fetch_json(self, url: str) -> object:
        try:
            check_url(url)
        except ConfigurationError as exc:
            raise KeySourceUnavailable(str(exc)) from exc
        body = self._fetch(url)
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise KeySourceUnavailable(f"{url}: response is not JSON") from exc

    def _fetch(self, url: str) -> bytes:
        started = time.monotonic()
        try:
            with self._session.get(
                url,
                timeout=self._timeouts,
                allow_redirects=False,
                stream=True,
                headers={"Accept": "application/json"},
            ) as response:
                if response.is_redirect or response.status_code != 200:
                    raise KeySourceUnavailable(f"{url}: HTTP {response.status_code}")
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
                    raise KeySourceUnavailable(f"{url}: response over {self._max_bytes} bytes")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_content(chunk_size=16 * 1024):
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise KeySourceUnavailable(f"{url}: response over {self._max_bytes} bytes")
                    if time.monotonic() - started > self._deadline:
                        raise KeySourceUnavailable(f"{url}: response took over {self._deadline:.1f} s")
                    chunks.append(chunk)
                return b"".join(chunks)
        except self._requests.RequestException as exc:
            raise KeySourceUnavailable(f"{url}: {type(exc).__name__}") from exc
