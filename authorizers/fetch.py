"""Fetching small JSON documents (JWKS, discovery) safely.

https only (plain http only to loopback hosts, for local testing), no redirects,
connect and read timeouts that add up to at most 2 s with a matching overall deadline,
and a cap on the decoded body size. Every failure is a :class:`KeySourceUnavailable`.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import socket
import threading
import time
from typing import Any, Protocol
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
        adapter = _deadline_adapter_class()()
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
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

    def fetch_bytes(self, url: str, accept: str) -> bytes:
        """The body as it is (an IdP's metadata XML), under the same limits as JSON."""
        return self._fetch(url, accept)

    def _fetch(self, url: str, accept: str = "application/json") -> bytes:
        with _Deadline(self._deadline) as deadline:
            try:
                body = self._get(url, accept)
            except self._requests.RequestException as exc:
                if deadline.expired:
                    raise KeySourceUnavailable(f"{url}: response took over {self._deadline:.1f} s") from exc
                raise KeySourceUnavailable(f"{url}: {type(exc).__name__}") from exc
            if deadline.expired:  # cut off at the deadline: what arrived may be a truncated body
                raise KeySourceUnavailable(f"{url}: response took over {self._deadline:.1f} s")
            return body

    def _get(self, url: str, accept: str) -> bytes:
        started = time.monotonic()
        with self._session.get(
            url,
            timeout=self._timeouts,
            allow_redirects=False,
            stream=True,
            headers={"Accept": accept},
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


# The deadline of the fetch running on this thread, for the connections it opens or reuses.
_current = threading.local()


class _Deadline:
    """Shuts a fetch's sockets down when its time is up.

    Socket timeouts bound each read, not the whole answer: a server that sends a byte
    every second, in the headers or in the body, would hold a fetch for as long as it
    likes. At the deadline a timer shuts the sockets down, which ends any blocked read.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._done = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        _current.deadline = None
        self._timer.cancel()
        with self._lock:
            self._done = True  # a reused keep-alive socket is no longer ours to shut

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for TLS: SSLSocket.shutdown would drop the TLS
    # state under the feet of the thread that is blocked reading from it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watch(sock: socket.socket | None) -> None:
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.watch(sock)


@functools.cache
def _deadline_adapter_class() -> Any:
    """A requests adapter whose connections report their sockets to the current deadline."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class WatchedHTTPConnection(HTTPConnection):
        def connect(self) -> None:
            super().connect()
            _watch(self.sock)

        def request(self, *args: Any, **kwargs: Any) -> None:
            _watch(self.sock)  # a reused keep-alive connection is connected already
            super().request(*args, **kwargs)

    class WatchedHTTPSConnection(HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            _watch(self.sock)

        def request(self, *args: Any, **kwargs: Any) -> None:
            _watch(self.sock)
            super().request(*args, **kwargs)

    class WatchedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    pools = {"http": WatchedHTTPConnectionPool, "https": WatchedHTTPSConnectionPool}

    class DeadlineAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            if not proxy.lower().startswith("socks"):  # SOCKS proxies bring their own pools
                manager.pool_classes_by_scheme = pools
            return manager

    return DeadlineAdapter
