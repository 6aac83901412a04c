"""The HTTP client of SigV4 ``sts`` mode: one GET to STS, no redirects, one deadline.

Standard library only (http.client and ssl), imported when STS is first asked, not at cold start.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import urlsplit

from authorizers.errors import AuthorizerUnavailable
from authorizers.fetch import is_loopback
from authorizers.sigv4.sts import MAX_ANSWER_BYTES, StsAnswer

# -- the HTTP client ------------------------------------------------------------------


class StsHttpClient:
    """GET over the standard library's http.client: keep-alive, no redirects, a deadline.

    ``timeout`` is one deadline for the whole exchange: when it passes, a timer shuts the
    socket down, which ends any read however slowly the bytes arrive (socket timeouts
    bound each read, not the answer). The TLS handshake is bounded per read only.
    Plain http only to loopback hosts (the test endpoint override).
    """

    MAX_IDLE = 4  # kept-alive connections per host

    def __init__(self, max_bytes: int = MAX_ANSWER_BYTES) -> None:
        self._max_bytes = max_bytes
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._ssl_context: ssl.SSLContext | None = None

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> StsAnswer:
        import http.client

        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not is_loopback(host)):
            raise AuthorizerUnavailable("STS must be asked over https")
        key = (parts.scheme, host, parts.port or (443 if parts.scheme == "https" else 80))
        target = url[len(f"{parts.scheme}://{parts.netloc}") :] or "/"
        deadline = time.monotonic() + timeout
        connection, reused = self._connection(key, timeout)
        try:
            try:
                answer, reusable = self._exchange(connection, target, headers, deadline)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                # A kept-alive connection the server had closed: once more on a new one.
                connection.close()
                connection, _ = self._connection(key, timeout, reuse=False)
                answer, reusable = self._exchange(connection, target, headers, deadline)
        except BaseException:
            connection.close()
            raise
        if reusable:
            with self._lock:
                idle = self._idle.setdefault(key, [])
                if len(idle) < self.MAX_IDLE:
                    idle.append(connection)
                    return answer
        connection.close()
        return answer

    def _connection(
        self, key: tuple[str, str, int], timeout: float, reuse: bool = True
    ) -> tuple[http.client.HTTPConnection, bool]:
        import http.client

        if reuse:
            with self._lock:
                idle = self._idle.get(key)
                if idle:
                    return idle.pop(), True
        scheme, host, port = key
        if scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=timeout), False
        if self._ssl_context is None:
            import ssl

            self._ssl_context = ssl.create_default_context()
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=self._ssl_context), False

    def _exchange(
        self, connection: http.client.HTTPConnection, target: str, headers: Mapping[str, str], deadline: float
    ) -> tuple[StsAnswer, bool]:
        import http.client

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AuthorizerUnavailable("STS did not answer in time")
        guard = _Deadline(connection, remaining)
        try:
            if connection.sock is None:
                connection.timeout = remaining
                connection.connect()
            else:
                connection.sock.settimeout(remaining)
            connection.request("GET", target, headers=dict(headers))
            response = connection.getresponse()
            chunks: list[bytes] = []
            size = 0
            while chunk := response.read(16 * 1024):
                size += len(chunk)
                if size > self._max_bytes:
                    raise AuthorizerUnavailable(f"STS answer is over {self._max_bytes} bytes")
                chunks.append(chunk)
        except (OSError, http.client.HTTPException) as exc:
            if guard.expired or isinstance(exc, TimeoutError):  # the timer or a socket timeout
                raise AuthorizerUnavailable("STS did not answer in time") from None
            raise
        finally:
            guard.cancel()
        if guard.expired:  # cut off at the deadline: what arrived may be truncated
            raise AuthorizerUnavailable("STS did not answer in time")
        answer = StsAnswer(
            status=response.status,
            body=b"".join(chunks),
            headers=MappingProxyType({name.lower(): value for name, value in response.getheaders()}),
        )
        return answer, not response.will_close


class _Deadline:
    """Shuts a connection's socket down when its time is up."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.expired = False
        self._connection = connection
        self._lock = threading.Lock()
        self._done = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True

    def _expire(self) -> None:

        with self._lock:
            if self._done:
                return
            self.expired = True
            sock = self._connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):  # the plain socket's shutdown, also under TLS
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


_shared: StsHttpClient | None = None
_shared_lock = threading.Lock()


def shared_http() -> StsHttpClient:
    global _shared  # noqa: PLW0603 - one keep-alive client for call_sts without a client of its own
    with _shared_lock:
        if _shared is None:
            _shared = StsHttpClient()
        return _shared
