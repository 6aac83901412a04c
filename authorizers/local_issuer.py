"""A development OIDC issuer on loopback: a generated key, discovery and JWKS over HTTP.

For the demo, local testing and the test suite. It serves
``/.well-known/openid-configuration`` and ``/jwks.json`` on 127.0.0.1 and mints tokens
with its private key. Never use it as a real identity provider.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

DEFAULT_AUDIENCE = "demo-api"


def generate_key(algorithm: str = "RS256") -> Any:
    if algorithm.startswith(("RS", "PS")):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    curves = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}
    if algorithm in curves:
        return ec.generate_private_key(curves[algorithm])
    if algorithm == "EdDSA":
        from cryptography.hazmat.primitives.asymmetric import ed25519

        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"no key generator for {algorithm}")


def public_jwk(private_key: Any, kid: str, algorithm: str) -> dict[str, Any]:
    from jwt.algorithms import get_default_algorithms

    jwk: dict[str, Any] = json.loads(get_default_algorithms()[algorithm].to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": algorithm})
    return jwk


class LocalIssuer:
    """Usage: ``with LocalIssuer() as issuer: token = issuer.mint(sub="alice")``."""

    def __init__(self, algorithm: str = "RS256", kid: str = "local-key-1") -> None:
        self.algorithm = algorithm
        self.kid = kid
        self.private_key = generate_key(algorithm)
        self.requests: list[str] = []  # paths served, for tests that count fetches
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks.json"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.private_key, self.kid, self.algorithm)]}

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "id_token_signing_alg_values_supported": [self.algorithm],
        }

    def mint(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        sub: str = "alice",
        audience: str = DEFAULT_AUDIENCE,
        scope: str | None = None,
        expires_in: int = 300,
        headers: Mapping[str, Any] | None = None,
        private_key: Any = None,
    ) -> str:
        import jwt

        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "aud": audience,
            "iat": now,
            "exp": now + expires_in,
            "jti": uuid.uuid4().hex,
        }
        if scope is not None:
            payload["scope"] = scope
        payload.update(claims or {})
        header = {"kid": self.kid, **(headers or {})}
        return jwt.encode(payload, private_key or self.private_key, algorithm=self.algorithm, headers=header)

    def start(self) -> LocalIssuer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-issuer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalIssuer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(issuer: LocalIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.requests.append(self.path)
            routes = {"/.well-known/openid-configuration": issuer.discovery, "/jwks.json": issuer.jwks}
            route = routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            body = json.dumps(route()).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None  # keep demo and test output clean

    return Handler
