"""A controllable key server on loopback, for tests of fetching and key caching.

Each path answers with a behaviour that tests switch at run time: a JSON document,
garbage, a huge body, a slow or dripping answer, an error status, a redirect. The
server counts requests per path, and can be taken down (connections refused) and
brought back up on the same port. With ``tls=True`` it speaks https with a generated
self-signed certificate for 127.0.0.1 (``ca_file`` is what a client must trust); with
``keep_alive=True`` connections stay open for further requests.

Usage::

    with KeyServer() as server:
        server.serve_json("/jwks.json", {"keys": [...]})
        fetcher.fetch_json(server.url("/jwks.json"))
        assert server.requests("/jwks.json") == 1
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import ipaddress
import json
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from authorizers.local_issuer import generate_key, public_jwk

# A behaviour writes the whole answer; ``stopping`` is set when the server goes down,
# so slow behaviours end promptly instead of outliving their test.
Behaviour = Callable[["_Handler", threading.Event], None]


class KeyServer:
    """A ThreadingHTTPServer on 127.0.0.1 whose answer per path is switchable."""

    def __init__(self, *, tls: bool = False, keep_alive: bool = False) -> None:
        self.tls = tls
        self.keep_alive = keep_alive
        self._tls_dir = tempfile.mkdtemp(prefix="keyserver-") if tls else None
        self._ssl_context = _server_tls_context(self._tls_dir) if self._tls_dir else None
        self._lock = threading.Lock()
        self._routes: dict[str, Behaviour] = {}
        self._counts: Counter[str] = Counter()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # -- life cycle ---------------------------------------------------------------

    def start(self) -> KeyServer:
        """Listen (again): on a free port the first time, then on the same port."""
        if self._server is not None:
            return self
        self._stopping = threading.Event()
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.key_server = self
        if self._ssl_context is not None:
            server.socket = self._ssl_context.wrap_socket(server.socket, server_side=True)
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="key-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut open connections: new connections are refused."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)  # the plain one, also under TLS
        if self._thread is not None:
            self._thread.join(timeout=5)

    def close(self) -> None:
        """Stop for good, and remove the generated certificate."""
        self.stop()
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)

    down = stop
    up = start

    def __enter__(self) -> KeyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._port}"

    @property
    def ca_file(self) -> str:
        """The self-signed certificate, for REQUESTS_CA_BUNDLE (only with ``tls=True``)."""
        assert self._tls_dir is not None, "not a TLS key server"
        return f"{self._tls_dir}/cert.pem"

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- behaviours ---------------------------------------------------------------

    def set_route(self, path: str, behaviour: Behaviour) -> None:
        with self._lock:
            self._routes[path] = behaviour

    def serve_json(self, path: str, document: Any, *, delay: float = 0.0) -> None:
        """200 with ``document`` as JSON (any JSON value); ``delay`` s before the headers."""
        self.serve_body(path, json.dumps(document).encode("utf-8"), delay=delay)

    def serve_body(
        self,
        path: str,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "application/json",
        content_length: bool = True,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Raw bytes; without ``content_length`` the body is delimited by closing the connection."""

        def behaviour(handler: _Handler, stopping: threading.Event) -> None:
            if delay and stopping.wait(delay):
                return
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            if content_length:
                handler.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)

        self.set_route(path, behaviour)

    def serve_gzip(self, path: str, body: bytes) -> None:
        """``body`` gzip-compressed on the wire (Content-Length is the compressed size)."""
        self.serve_body(path, gzip.compress(body, compresslevel=9), headers={"Content-Encoding": "gzip"})

    def serve_huge(self, path: str, size: int, *, content_length: bool) -> None:
        """A JSON-looking body of ``size`` bytes, written in 64 KiB pieces."""
        pad = size - len(b'{"keys": [], "pad": ""}')

        def behaviour(handler: _Handler, stopping: threading.Event) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            if content_length:
                handler.send_header("Content-Length", str(size))
            handler.end_headers()
            handler.wfile.write(b'{"keys": [], "pad": "')
            left = pad
            while left > 0 and not stopping.is_set():
                piece = min(left, 64 * 1024)
                handler.wfile.write(b"a" * piece)
                left -= piece
            handler.wfile.write(b'"}')

        self.set_route(path, behaviour)

    def serve_status(self, path: str, status: int, body: bytes = b'{"error": "nope"}') -> None:
        self.serve_body(path, body, status=status)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.serve_body(path, b"", status=status, headers={"Location": location})

    def drip_body(self, path: str, body: bytes, interval: float) -> None:
        """Headers at once (with the full Content-Length), then one byte every ``interval`` s."""

        def behaviour(handler: _Handler, stopping: threading.Event) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.flush()
            for index in range(len(body)):
                handler.wfile.write(body[index : index + 1])
                handler.wfile.flush()
                if stopping.wait(interval):
                    return

        self.set_route(path, behaviour)

    def drip_headers(self, path: str, interval: float, filler_headers: int = 90) -> None:
        """The status line and many harmless headers, one byte every ``interval`` s."""

        def behaviour(handler: _Handler, stopping: threading.Event) -> None:
            head = "HTTP/1.1 200 OK\r\n" + "".join(f"X-Filler-{n}: {n}\r\n" for n in range(filler_headers))
            for byte in head.encode("ascii"):
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                if stopping.wait(interval):
                    return
            handler.close_connection = True

        self.set_route(path, behaviour)

    # -- counting -----------------------------------------------------------------

    def requests(self, path: str) -> int:
        with self._lock:
            return self._counts[path]

    def total_requests(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    # -- for the request handler --------------------------------------------------

    def _route(self, path: str) -> tuple[Behaviour | None, threading.Event]:
        with self._lock:
            self._counts[path] += 1
            return self._routes.get(path), self._stopping

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    key_server: KeyServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client giving up mid-answer is what these tests do on purpose


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.key_server._track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.key_server._track(self.connection, False)

    def do_GET(self) -> None:
        key_server = self.server.key_server
        behaviour, stopping = key_server._route(self.path.split("?", 1)[0])
        # By default one request per connection, so that a stopped server really refuses the next.
        self.close_connection = not key_server.keep_alive
        if behaviour is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with contextlib.suppress(OSError):
            behaviour(self, stopping)

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        if not self.server.key_server.keep_alive:
            self.send_header("Connection", "close")

    def log_message(self, format: str, *args: Any) -> None:
        return None


def _server_tls_context(directory: str) -> ssl.SSLContext:
    """A self-signed certificate for 127.0.0.1, written to ``directory``, loaded for serving."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keyserver test CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = f"{directory}/cert.pem", f"{directory}/key.pem"
    with open(cert_path, "wb") as out:
        out.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


@dataclass(frozen=True)
class SigningKey:
    """A generated key pair: its public JWK to serve, and a way to sign tokens with it."""

    kid: str
    private_key: Any
    algorithm: str = "RS256"

    @classmethod
    def generate(cls, kid: str, algorithm: str = "RS256") -> SigningKey:
        return cls(kid=kid, private_key=generate_key(algorithm), algorithm=algorithm)

    @property
    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.private_key, self.kid, self.algorithm)

    def sign(self, claims: Mapping[str, Any], *, kid: str | None = None) -> str:
        """A token with ``claims``; ``kid`` overrides the header's kid (for unknown kids)."""
        import jwt

        header = {"kid": self.kid if kid is None else kid}
        return jwt.encode(dict(claims), self.private_key, algorithm=self.algorithm, headers=header)

    def mint(self, issuer: str, audience: str, *, sub: str = "alice", kid: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience, "sub": sub, "iat": now, "exp": now + 300}
        return self.sign(claims, kid=kid)


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [key.jwk for key in keys]}
