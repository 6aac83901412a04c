"""SECURITY.md, JWT part: every attack, through the real handler, with its exact outcome.

Each row builds a credential, runs it through ``create_handler`` (a REST TOKEN event, or
the real event shapes in ``tests/vectors/events``) and checks three things: the outcome
API Gateway would see ("unauthorized" is a 401, "deny" an explicit Deny), the reason code
in the structured decision log line, and that no log line carries the token or any of
its segments.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.request import urlopen

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import get_default_algorithms

from authorizers.errors import Reason
from authorizers.handlers.runtime import AuthorizerHandler
from authorizers.local_issuer import LocalIssuer, public_jwk
from tests.conftest import AUDIENCE, b64url, craft, load_event, outcome, sign_raw, token_event

# Keys are generated once per module: RSA key generation is the slow part.
ATTACKER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC_KID = "ec-1"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
CONFIGURED_SECRET = "a-different-configured-hmac-secret-0123456789abcdef"
DROP: Any = object()  # marks a header member or claim to leave out
LEAK_MIN_LENGTH = 16  # shorter segments could match log text by chance


# --- token building --------------------------------------------------------------------------------


def sign_bytes(header: Mapping[str, Any] | bytes, payload: bytes, alg: str, key: Any) -> str:
    """Sign arbitrary header and payload bytes (not necessarily JSON) with pyjwt's implementation."""
    algorithm = get_default_algorithms()[alg]
    header_bytes = header if isinstance(header, bytes) else json.dumps(header).encode()
    signing_input = f"{b64url(header_bytes)}.{b64url(payload)}"
    signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(key))
    return f"{signing_input}.{b64url(signature)}"


def hmac_token(header: Mapping[str, Any], claims: Mapping[str, Any], key: bytes, digest: str = "sha256") -> str:
    """HS* computed by hand: pyjwt itself refuses PEM keys as HMAC secrets, an attacker does not."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), getattr(hashlib, digest)).digest()
    return f"{signing_input}.{b64url(signature)}"


def es256_signature(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def self_signed_cert_der(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def segments_replaced(token: str, index: int, segment: str) -> str:
    parts = token.split(".")
    parts[index] = segment
    return ".".join(parts)


def with_trailing_bit(segment: str) -> str:
    """The same bytes, spelled with a non-zero padding bit: not canonical base64url."""
    assert len(segment) % 4 in (2, 3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) + 1]


def nested_lists(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- an attacker's key server on loopback ------------------------------------------------------------


class AttackerServer:
    """Serves the attacker's JWKS (and anything else) on 127.0.0.1, counting every request."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self.requests: list[str] = []
        body = json.dumps(jwks).encode()
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="attacker-jwks", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --- the attack context ------------------------------------------------------------------------------


class Ctx:
    """What a row needs to build its credential: the issuer, the time, an attacker server."""

    def __init__(self, issuer: LocalIssuer) -> None:
        import time

        self.issuer = issuer
        self.now = int(time.time())
        self.servers: list[AttackerServer] = []

    @property
    def iss(self) -> str:
        return self.issuer.issuer

    @property
    def kid(self) -> str:
        return self.issuer.kid

    @property
    def attacker_url(self) -> str:
        if not self.servers:
            jwks = {"keys": [public_jwk(ATTACKER_RSA, self.kid, "RS256")]}
            self.servers.append(AttackerServer(jwks))
        return self.servers[0].url

    def claims(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "iss": self.iss,
            "sub": "alice",
            "aud": AUDIENCE,
            "iat": self.now,
            "exp": self.now + 300,
        }
        values.update(overrides)
        return {name: value for name, value in values.items() if value is not DROP}

    def header(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        values.update(overrides)
        return {name: value for name, value in values.items() if value is not DROP}

    def signed(
        self, header: Mapping[str, Any] | None = None, claims: Mapping[str, Any] | None = None, key: Any = None
    ) -> str:
        """RS256 over exactly this header and these claims, by the issuer's key unless told."""
        return sign_raw(header or self.header(), claims or self.claims(), "RS256", key or self.issuer.private_key)

    def signed_payload(self, payload: bytes, **header: Any) -> str:
        return sign_bytes(self.header(**header), payload, "RS256", self.issuer.private_key)

    def valid(self) -> str:
        return self.signed()

    # Public key material of the issuer, as an attacker would find it.
    @property
    def rsa_public(self) -> rsa.RSAPublicKey:
        private: rsa.RSAPrivateKey = self.issuer.private_key
        return private.public_key()

    def rsa_pem(self) -> bytes:
        return self.rsa_public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def rsa_pkcs1_pem(self) -> bytes:
        return self.rsa_public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)

    def rsa_der(self) -> bytes:
        return self.rsa_public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def rsa_jwk_json(self, compact: bool = False) -> bytes:
        jwk = self.issuer.jwks()["keys"][0]
        return json.dumps(jwk, separators=(",", ":") if compact else None).encode()

    def hs256_with(self, key: bytes) -> str:
        return hmac_token(self.header(alg="HS256"), self.claims(), key)

    def es256(self, header: Mapping[str, Any] | None = None, claims: Mapping[str, Any] | None = None) -> str:
        return sign_raw(header or self.header(alg="ES256", kid=EC_KID), claims or self.claims(), "ES256", EC_KEY)

    def es256_forged(self, signature: bytes) -> str:
        return craft(self.header(alg="ES256", kid=EC_KID), self.claims(), signature)


def ec_jwk() -> dict[str, Any]:
    return public_jwk(EC_KEY, EC_KID, "ES256")


def ec_der() -> bytes:
    return EC_KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def ec_pem() -> bytes:
    return EC_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# Environment variants (merged over the ``jwt_env`` fixture).
def hs_allowed(c: Ctx) -> dict[str, str]:
    return {"JWT_ALGORITHMS": "RS256 HS256", "JWT_SHARED_SECRET": CONFIGURED_SECRET}


def es256_only(c: Ctx) -> dict[str, str]:
    return {"JWT_ALGORITHMS": "ES256", "JWT_JWKS": json.dumps({"keys": [ec_jwk()]})}


def es256_and_hs256(c: Ctx) -> dict[str, str]:
    return {**es256_only(c), "JWT_ALGORITHMS": "ES256 HS256", "JWT_SHARED_SECRET": CONFIGURED_SECRET}


def mixed_keys(c: Ctx) -> dict[str, str]:
    keys = [
        c.issuer.jwks()["keys"][0],
        ec_jwk(),
        {**public_jwk(OTHER_RSA, "enc-1", "RS256"), "use": "enc"},
        public_jwk(OTHER_RSA, "rs384-1", "RS384"),
    ]
    return {"JWT_ALGORITHMS": "RS256 RS384 ES256", "JWT_JWKS": json.dumps({"keys": keys})}


def access_tokens_only(c: Ctx) -> dict[str, str]:
    return {"JWT_TOKEN_TYPE": "at+jwt"}


def token_use_access(c: Ctx) -> dict[str, str]:
    return {"JWT_REQUIRED_CLAIMS": json.dumps({"token_use": "access"})}


def scope_required(c: Ctx) -> dict[str, str]:
    return {"JWT_REQUIRED_SCOPES": "pets:read"}


def no_changes(c: Ctx) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Row:
    id: str
    build: Callable[[Ctx], str]
    reason: Reason
    env: Callable[[Ctx], dict[str, str]] = no_changes
    decision: str = "unauthorized"


R = Reason
ROWS: list[Row] = []


def row(
    id: str, build: Callable[[Ctx], str], reason: Reason, env: Callable[[Ctx], dict[str, str]] = no_changes
) -> None:
    ROWS.append(Row(id, build, reason, env))


# alg "none" in every spelling, with an empty signature, junk, and a genuine RS256 signature.
def unsigned(alg: str, signature: bytes) -> Callable[[Ctx], str]:
    return lambda c: craft(c.header(alg=alg), c.claims(), signature)


def rs256_signed_as(alg: str) -> Callable[[Ctx], str]:
    return lambda c: sign_raw(c.header(alg=alg), c.claims(), "RS256", c.issuer.private_key)


for spelling in ("none", "None", "NONE", "nOnE"):
    row(f"alg-{spelling}-empty-signature", unsigned(spelling, b""), R.ALG_NONE)
    row(f"alg-{spelling}-junk-signature", unsigned(spelling, b"\x00" * 32), R.ALG_NONE)
    row(f"alg-{spelling}-real-rs256-signature", rs256_signed_as(spelling), R.ALG_NONE)
row(
    "alg-none-no-kid-unknown-issuer", lambda c: craft({"alg": "none"}, c.claims(iss="https://evil.example")), R.ALG_NONE
)

# Algorithm confusion: HS256 keyed with the issuer's public key.
CONFUSION_KEYS: dict[str, Callable[[Ctx], bytes]] = {
    "rsa-pem": Ctx.rsa_pem,
    "rsa-pkcs1-pem": Ctx.rsa_pkcs1_pem,
    "rsa-der": Ctx.rsa_der,
    "rsa-jwk-json": Ctx.rsa_jwk_json,
    "rsa-jwk-json-compact": lambda c: c.rsa_jwk_json(compact=True),
}


def hs256_keyed_with(material: Callable[[Ctx], bytes], kid: str | None = None) -> Callable[[Ctx], str]:
    return lambda c: hmac_token(c.header(alg="HS256", kid=kid or c.kid), c.claims(), material(c))


for name, material in CONFUSION_KEYS.items():
    row(f"hs256-{name}-hs-not-allowed", hs256_keyed_with(material), R.ALGORITHM_NOT_ALLOWED)
    row(f"hs256-{name}-hs-allowed", hs256_keyed_with(material), R.INVALID_SIGNATURE, hs_allowed)
EC_CONFUSION_KEYS: dict[str, Callable[[Ctx], bytes]] = {
    "ec-pem": lambda c: ec_pem(),
    "ec-der": lambda c: ec_der(),
    "ec-jwk-json": lambda c: json.dumps(ec_jwk()).encode(),
}
for name, material in EC_CONFUSION_KEYS.items():
    row(f"hs256-{name}-hs-not-allowed", hs256_keyed_with(material, EC_KID), R.ALGORITHM_NOT_ALLOWED, es256_only)
    row(f"hs256-{name}-hs-allowed", hs256_keyed_with(material, EC_KID), R.INVALID_SIGNATURE, es256_and_hs256)
row(
    "hs384-rsa-pem",
    lambda c: hmac_token(c.header(alg="HS384"), c.claims(), c.rsa_pem(), "sha384"),
    R.ALGORITHM_NOT_ALLOWED,
)

# Other algorithms the configuration does not allow, validly signed.
row(
    "rs512-not-allowed",
    lambda c: sign_raw(c.header(alg="RS512"), c.claims(), "RS512", c.issuer.private_key),
    R.ALGORITHM_NOT_ALLOWED,
)
row(
    "ps256-not-allowed",
    lambda c: sign_raw(c.header(alg="PS256"), c.claims(), "PS256", c.issuer.private_key),
    R.ALGORITHM_NOT_ALLOWED,
)
row("es256-not-allowed", lambda c: c.es256(), R.ALGORITHM_NOT_ALLOWED)
row("alg-empty-string", lambda c: c.signed(c.header(alg="")), R.ALGORITHM_NOT_ALLOWED)
row("alg-unknown", lambda c: c.signed(c.header(alg="RS256 ")), R.ALGORITHM_NOT_ALLOWED)
row("alg-missing", lambda c: c.signed(c.header(alg=DROP)), R.MALFORMED_HEADER)
row("alg-not-a-string", lambda c: c.signed(c.header(alg=["RS256"])), R.MALFORMED_HEADER)

# kid is only ever a lookup key in memory (tokens signed by the real issuer key).
WEIRD_KIDS: list[tuple[str, Any, Reason]] = [
    ("path-traversal", "../../dev/null", R.UNKNOWN_KID),
    ("absolute-path", "/etc/passwd", R.UNKNOWN_KID),
    ("sql", "' OR 1=1 --", R.UNKNOWN_KID),
    ("url-encoded", "%2e%2e%2f%2e%2e%2f", R.UNKNOWN_KID),
    ("jndi", "${jndi:ldap://127.0.0.1/a}", R.UNKNOWN_KID),
    ("nul-byte", "local-key-1\u0000", R.UNKNOWN_KID),
    ("string-null", "null", R.UNKNOWN_KID),
    ("wildcard", "*", R.UNKNOWN_KID),
    ("257-chars", "k" * 257, R.MALFORMED_KID),
    ("5000-chars", "k" * 5000, R.MALFORMED_KID),
    ("10000-chars", "k" * 10_000, R.TOKEN_TOO_LARGE),  # the size cap refuses it before the kid check
    ("integer", 1, R.MALFORMED_KID),
    ("zero", 0, R.MALFORMED_KID),
    ("false", False, R.MALFORMED_KID),
    ("empty-string", "", R.MALFORMED_KID),
    ("list", ["local-key-1"], R.MALFORMED_KID),
    ("object", {"kid": "local-key-1"}, R.MALFORMED_KID),
]


def with_kid(kid: Any) -> Callable[[Ctx], str]:
    return lambda c: c.signed(c.header(kid=kid))


for name, kid, reason in WEIRD_KIDS:
    row(f"kid-{name}", with_kid(kid), reason)
# A JSON null kid counts as absent: the one-key set's key must still verify the signature.
row("kid-json-null-attacker-key", lambda c: c.signed(c.header(kid=None), key=ATTACKER_RSA), R.INVALID_SIGNATURE)
row("kid-absent-attacker-key", lambda c: c.signed(c.header(kid=DROP), key=ATTACKER_RSA), R.INVALID_SIGNATURE)

# Headers that would let the token choose its own key: never fetched, never used.
row(
    "jku-attacker-server",
    lambda c: c.signed(c.header(jku=f"{c.attacker_url}/jwks.json"), key=ATTACKER_RSA),
    R.EMBEDDED_KEY_HEADER,
)
row(
    "jku-attacker-server-new-kid",
    lambda c: c.signed(c.header(jku=f"{c.attacker_url}/jwks.json", kid="attacker"), key=ATTACKER_RSA),
    R.EMBEDDED_KEY_HEADER,
)
row(
    "jku-issuers-own-jwks-uri",
    lambda c: c.signed(c.header(jku=c.issuer.jwks_uri), key=ATTACKER_RSA),
    R.EMBEDDED_KEY_HEADER,
)
row(
    "x5u-attacker-server",
    lambda c: c.signed(c.header(x5u=f"{c.attacker_url}/cert.pem"), key=ATTACKER_RSA),
    R.EMBEDDED_KEY_HEADER,
)
row(
    "jwk-embedded-attacker-key",
    lambda c: c.signed(c.header(jwk=public_jwk(ATTACKER_RSA, c.kid, "RS256")), key=ATTACKER_RSA),
    R.EMBEDDED_KEY_HEADER,
)
row(
    "x5c-attacker-cert",
    lambda c: c.signed(c.header(x5c=[base64.b64encode(self_signed_cert_der(ATTACKER_RSA)).decode()]), key=ATTACKER_RSA),
    R.EMBEDDED_KEY_HEADER,
)
row("jku-with-valid-signature", lambda c: c.signed(c.header(jku=f"{c.attacker_url}/jwks.json")), R.EMBEDDED_KEY_HEADER)
row("x5u-null", lambda c: c.signed(c.header(x5u=None)), R.EMBEDDED_KEY_HEADER)

# ES256 "psychic signatures" (CVE-2022-21449) against an ES256-configured issuer.
n = P256_ORDER
PSYCHIC: list[tuple[str, bytes]] = [
    ("all-zero-64-bytes", b"\x00" * 64),
    ("r-0-s-1", es256_signature(0, 1)),
    ("r-1-s-0", es256_signature(1, 0)),
    ("r-n-s-n", es256_signature(n, n)),
    ("r-n-s-1", es256_signature(n, 1)),
    ("r-1-s-n", es256_signature(1, n)),
    ("r-1-s-n-plus-1", es256_signature(1, n + 1)),
    ("r-n-minus-1-s-max", es256_signature(n - 1, 2**256 - 1)),
    ("r-max-s-max", b"\xff" * 64),
    ("empty", b""),
    ("one-zero-byte", b"\x00"),
    ("der-encoded-zeros", bytes.fromhex("3006020100020100")),
]


def es256_forged(signature: bytes) -> Callable[[Ctx], str]:
    return lambda c: c.es256_forged(signature)


for name, signature in PSYCHIC:
    row(f"es256-psychic-{name}", es256_forged(signature), R.INVALID_SIGNATURE, es256_only)
row("es256-junk-signature", lambda c: c.es256_forged(b"\x01" * 64), R.INVALID_SIGNATURE, es256_only)
row(
    "es256-signed-by-another-ec-key",
    lambda c: sign_raw(c.header(alg="ES256", kid=EC_KID), c.claims(), "ES256", ec.generate_private_key(ec.SECP256R1())),
    R.INVALID_SIGNATURE,
    es256_only,
)

# Key type and algorithm mismatch; keys the JWKS says are not for this use.
row("rs256-header-ec-kid", lambda c: c.signed(c.header(kid=EC_KID)), R.KEY_ALGORITHM_MISMATCH, mixed_keys)
row("es256-header-rsa-kid", lambda c: c.es256(c.header(alg="ES256", kid=c.kid)), R.KEY_ALGORITHM_MISMATCH, mixed_keys)
row("jwk-use-enc", lambda c: c.signed(c.header(kid="enc-1"), key=OTHER_RSA), R.UNKNOWN_KID, mixed_keys)
row(
    "jwk-alg-rs384-for-rs256",
    lambda c: c.signed(c.header(kid="rs384-1"), key=OTHER_RSA),
    R.KEY_ALGORITHM_MISMATCH,
    mixed_keys,
)

# Signatures.
row("attacker-key-with-issuer-kid", lambda c: c.signed(key=ATTACKER_RSA), R.INVALID_SIGNATURE)
row("signature-stripped", lambda c: segments_replaced(c.valid(), 2, ""), R.INVALID_SIGNATURE)
row(
    "signature-from-another-token",
    lambda c: segments_replaced(c.signed(claims=c.claims(sub="admin")), 2, c.valid().split(".")[2]),
    R.INVALID_SIGNATURE,
)
row(
    "payload-swapped",
    lambda c: segments_replaced(c.valid(), 1, b64url(json.dumps(c.claims(sub="admin")).encode())),
    R.INVALID_SIGNATURE,
)

# Time.
row("exp-missing", lambda c: c.signed(claims=c.claims(exp=DROP)), R.MISSING_CLAIM)
row("expired-an-hour-ago", lambda c: c.signed(claims=c.claims(iat=c.now - 7200, exp=c.now - 3600)), R.EXPIRED)
row("expired-just-outside-leeway", lambda c: c.signed(claims=c.claims(iat=c.now - 600, exp=c.now - 31)), R.EXPIRED)
row("nbf-in-an-hour", lambda c: c.signed(claims=c.claims(nbf=c.now + 3600)), R.NOT_YET_VALID)
row("nbf-just-outside-leeway", lambda c: c.signed(claims=c.claims(nbf=c.now + 60)), R.NOT_YET_VALID)
row("iat-in-an-hour", lambda c: c.signed(claims=c.claims(iat=c.now + 3600, exp=c.now + 7200)), R.ISSUED_IN_FUTURE)
row("iat-just-outside-leeway", lambda c: c.signed(claims=c.claims(iat=c.now + 60)), R.ISSUED_IN_FUTURE)
NOT_NUMBERS: list[tuple[str, Any]] = [
    ("string", "9999999999"),
    ("true", True),
    ("false", False),
    ("null", None),
    ("list", [9999999999]),
    ("object", {"$date": 9999999999}),
    ("huge-integer", 10**400),
]


def with_claim(name: str, value: Any) -> Callable[[Ctx], str]:
    return lambda c: c.signed(claims=c.claims(**{name: value}))


for claim in ("exp", "nbf", "iat"):
    for name, value in NOT_NUMBERS:
        row(f"{claim}-{name}", with_claim(claim, value), R.INVALID_TIME_CLAIM)
row(
    "exp-infinity-via-1e400",
    lambda c: c.signed_payload(json.dumps(c.claims(exp=DROP))[:-1].encode() + b', "exp": 1e400}'),
    R.INVALID_TIME_CLAIM,
)

# Issuer: exact match only.
row("iss-wrong", lambda c: c.signed(claims=c.claims(iss="https://evil.example")), R.UNKNOWN_ISSUER)
row("iss-configured-is-prefix", lambda c: c.signed(claims=c.claims(iss=c.iss + ".evil.example")), R.UNKNOWN_ISSUER)
row("iss-configured-plus-path", lambda c: c.signed(claims=c.claims(iss=c.iss + "/evil")), R.UNKNOWN_ISSUER)
row("iss-is-prefix-of-configured", lambda c: c.signed(claims=c.claims(iss=c.iss[:-1])), R.UNKNOWN_ISSUER)
row("iss-trailing-slash", lambda c: c.signed(claims=c.claims(iss=c.iss + "/")), R.UNKNOWN_ISSUER)
row("iss-upper-case", lambda c: c.signed(claims=c.claims(iss=c.iss.upper())), R.UNKNOWN_ISSUER)
row("iss-missing", lambda c: c.signed(claims=c.claims(iss=DROP)), R.UNKNOWN_ISSUER)
row("iss-list", lambda c: c.signed(claims=c.claims(iss=[c.iss])), R.UNKNOWN_ISSUER)

# Audience.
row("aud-missing", lambda c: c.signed(claims=c.claims(aud=DROP)), R.INVALID_AUDIENCE)
row("aud-null", lambda c: c.signed(claims=c.claims(aud=None)), R.INVALID_AUDIENCE)
row("aud-wrong", lambda c: c.signed(claims=c.claims(aud="another-api")), R.INVALID_AUDIENCE)
row("aud-prefix", lambda c: c.signed(claims=c.claims(aud=AUDIENCE + "-admin")), R.INVALID_AUDIENCE)
row("aud-number", lambda c: c.signed(claims=c.claims(aud=123)), R.INVALID_AUDIENCE)
row("aud-object", lambda c: c.signed(claims=c.claims(aud={AUDIENCE: True})), R.INVALID_AUDIENCE)
row("aud-list-with-number", lambda c: c.signed(claims=c.claims(aud=[AUDIENCE, 1])), R.INVALID_AUDIENCE)
row("aud-empty-list", lambda c: c.signed(claims=c.claims(aud=[])), R.INVALID_AUDIENCE)
row("aud-nested-list", lambda c: c.signed(claims=c.claims(aud=[[AUDIENCE]])), R.INVALID_AUDIENCE)

# crit.
row("crit-unknown", lambda c: c.signed(c.header(crit=["exp"], exp=1)), R.UNSUPPORTED_CRITICAL_HEADER)
row("crit-b64", lambda c: c.signed(c.header(crit=["b64"], b64=False)), R.UNSUPPORTED_CRITICAL_HEADER)
row("crit-empty", lambda c: c.signed(c.header(crit=[])), R.MALFORMED_HEADER)
row("crit-string", lambda c: c.signed(c.header(crit="exp")), R.MALFORMED_HEADER)
row("crit-list-of-numbers", lambda c: c.signed(c.header(crit=[1])), R.MALFORMED_HEADER)
row("crit-null", lambda c: c.signed(c.header(crit=None)), R.MALFORMED_HEADER)

# Structure.
row("too-big", lambda c: c.signed(claims=c.claims(pad="x" * 9000)), R.TOKEN_TOO_LARGE)
row("one-segment", lambda c: c.valid().split(".")[0], R.MALFORMED_TOKEN)
row("two-segments", lambda c: c.valid().rsplit(".", 1)[0], R.MALFORMED_TOKEN)
row("four-segments", lambda c: c.valid() + ".AAAA", R.MALFORMED_TOKEN)
row("six-segments", lambda c: c.valid() + ".AAAA.AAAA.AAAA", R.MALFORMED_TOKEN)
row("empty-header-segment", lambda c: segments_replaced(c.valid(), 0, ""), R.MALFORMED_TOKEN)
row(
    "base64-plus-and-slash",
    lambda c: segments_replaced(c.valid(), 2, c.valid().split(".")[2].replace("-", "+").replace("_", "/") + "+/"),
    R.MALFORMED_TOKEN,
)
row("base64-padding", lambda c: c.valid() + "==", R.MALFORMED_TOKEN)
row("base64-bang", lambda c: segments_replaced(c.valid(), 1, "!" + c.valid().split(".")[1][1:]), R.MALFORMED_TOKEN)
row("base64-length-1-mod-4", lambda c: c.valid() + "AAA", R.MALFORMED_TOKEN)
row(
    "base64-non-canonical",
    lambda c: segments_replaced(c.valid(), 2, with_trailing_bit(c.valid().split(".")[2])),
    R.MALFORMED_TOKEN,
)
row("payload-json-array", lambda c: c.signed_payload(json.dumps([c.claims()]).encode()), R.MALFORMED_CLAIMS)
row("payload-json-string", lambda c: c.signed_payload(b'"alice"'), R.MALFORMED_CLAIMS)
row("payload-json-number", lambda c: c.signed_payload(b"1"), R.MALFORMED_CLAIMS)
row("payload-not-json", lambda c: c.signed_payload(b"sub=alice"), R.MALFORMED_CLAIMS)
row(
    "header-json-array",
    lambda c: sign_bytes(b'["RS256"]', json.dumps(c.claims()).encode(), "RS256", c.issuer.private_key),
    R.MALFORMED_HEADER,
)
row(
    "header-non-utf8",
    lambda c: sign_bytes(
        b'{"alg": "RS256", "kid": "\xff"}', json.dumps(c.claims()).encode(), "RS256", c.issuer.private_key
    ),
    R.MALFORMED_HEADER,
)
row(
    "header-duplicate-alg",
    lambda c: sign_bytes(
        b'{"alg": "RS256", "alg": "none"}', json.dumps(c.claims()).encode(), "RS256", c.issuer.private_key
    ),
    R.MALFORMED_HEADER,
)
row(
    "header-nested-2000",
    lambda c: sign_bytes(
        b'{"alg": "RS256", "x": ' + nested_lists(2000).encode() + b"}",
        json.dumps(c.claims()).encode(),
        "RS256",
        c.issuer.private_key,
    ),
    R.MALFORMED_HEADER,
)
row(
    "payload-non-utf8",
    lambda c: c.signed_payload(json.dumps(c.claims(sub="x")).encode().replace(b'"x"', b'"\xff\xfe"')),
    R.MALFORMED_CLAIMS,
)
row(
    "payload-latin1",
    lambda c: c.signed_payload(json.dumps(c.claims(sub="é"), ensure_ascii=False).encode("latin-1")),
    R.MALFORMED_CLAIMS,
)
row(
    "payload-lone-surrogate",
    lambda c: c.signed_payload(json.dumps(c.claims(sub="x")).encode().replace(b'"x"', b'"al\\ud800ice"')),
    R.MALFORMED_CLAIMS,
)
row(
    "payload-duplicate-sub",
    lambda c: c.signed_payload(json.dumps(c.claims(sub="alice"))[:-1].encode() + b', "sub": "admin"}'),
    R.MALFORMED_CLAIMS,
)
row(
    "payload-nan",
    lambda c: c.signed_payload(json.dumps(c.claims(exp=DROP))[:-1].encode() + b', "exp": NaN}'),
    R.MALFORMED_CLAIMS,
)
row("payload-nested-17", lambda c: c.signed(claims=c.claims(deep=json.loads(nested_lists(16)))), R.MALFORMED_CLAIMS)
row(
    "payload-nested-2000",
    lambda c: c.signed_payload(
        json.dumps(c.claims())[:-1].encode() + b', "deep": ' + nested_lists(2000).encode() + b"}"
    ),
    R.MALFORMED_CLAIMS,
)

# Nested JWTs and JWE.
row("cty-jwt", lambda c: c.signed(c.header(cty="JWT")), R.NESTED_TOKEN)
row("cty-jwt-lower-case", lambda c: c.signed(c.header(cty="jwt")), R.NESTED_TOKEN)
row("cty-application-jwt", lambda c: c.signed(c.header(cty="application/JWT")), R.NESTED_TOKEN)
row("cty-not-a-string", lambda c: c.signed(c.header(cty=["JWT"])), R.NESTED_TOKEN)
row("cty-jwt-real-nesting", lambda c: c.signed_payload(c.valid().encode(), cty="JWT"), R.MALFORMED_CLAIMS)
row(
    "jwe-five-segments",
    lambda c: ".".join(
        [
            b64url(json.dumps({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": c.kid}).encode()),
            "AAAA",
            "AAAAAAAAAAAAAAAA",
            "AAAA",
            "AAAAAAAAAAAAAAAAAAAAAA",
        ]
    ),
    R.ENCRYPTED_TOKEN,
)

# Token type confusion.
row("id-token-typ-jwt", lambda c: c.signed(c.header(typ="JWT")), R.WRONG_TOKEN_TYPE, access_tokens_only)
row("typ-missing", lambda c: c.signed(c.header(typ=DROP)), R.WRONG_TOKEN_TYPE, access_tokens_only)
row("typ-id-token", lambda c: c.signed(c.header(typ="id_token+jwt")), R.WRONG_TOKEN_TYPE, access_tokens_only)
row("typ-not-a-string", lambda c: c.signed(c.header(typ=["at+jwt"])), R.WRONG_TOKEN_TYPE, access_tokens_only)

# Subject.
row("sub-missing", lambda c: c.signed(claims=c.claims(sub=DROP)), R.INVALID_SUBJECT)
row("sub-not-a-string", lambda c: c.signed(claims=c.claims(sub=42)), R.INVALID_SUBJECT)

# Valid tokens that lack what the API requires: an explicit Deny (403), not a 401.
DENY_ROWS: list[Row] = [
    Row("scope-missing", lambda c: c.signed(claims=c.claims()), R.INSUFFICIENT_SCOPE, scope_required, "deny"),
    Row(
        "scope-other",
        lambda c: c.signed(claims=c.claims(scope="pets:write")),
        R.INSUFFICIENT_SCOPE,
        scope_required,
        "deny",
    ),
    Row(
        "scope-prefix",
        lambda c: c.signed(claims=c.claims(scope="pets:read:own")),
        R.INSUFFICIENT_SCOPE,
        scope_required,
        "deny",
    ),
    Row(
        "scope-in-scp-list-other",
        lambda c: c.signed(claims=c.claims(scp=["pets:write"])),
        R.INSUFFICIENT_SCOPE,
        scope_required,
        "deny",
    ),
    Row(
        "token-use-id", lambda c: c.signed(claims=c.claims(token_use="id")), R.CLAIM_MISMATCH, token_use_access, "deny"
    ),
    Row("token-use-missing", lambda c: c.signed(claims=c.claims()), R.CLAIM_MISMATCH, token_use_access, "deny"),
]
ALL_ROWS = ROWS + DENY_ROWS


def test_row_ids_are_unique() -> None:
    ids = [r.id for r in ALL_ROWS]
    assert len(ids) == len(set(ids))


# --- running the real handler and reading its decision log ---------------------------------------------


@dataclass
class Run:
    decision: str  # as API Gateway sees it: allow, deny, unauthorized, error
    response: dict[str, Any] | None
    logged: dict[str, Any]  # the one structured line with a "decision" key
    output: str = field(repr=False)  # everything written to stdout and stderr


class DecisionLog:
    """Runs a handler and reads its one JSON decision line from the captured stdout."""

    def __init__(self, read: Callable[[], tuple[list[dict[str, Any]], str]]) -> None:
        self._read = read

    def run(self, handler: AuthorizerHandler, event: Mapping[str, Any]) -> Run:
        self._read()
        decision, response = outcome(handler, event)
        lines, output = self._read()
        assert len(lines) == 1, f"expected one decision line, got {lines!r}"
        return Run(decision, response, lines[0], output)


class Harness:
    """Builds the real handler from ``jwt_env`` plus a row's changes, and runs one event."""

    def __init__(self, ctx: Ctx, jwt_env: Mapping[str, str], make_handler: Any, log: DecisionLog) -> None:
        self.ctx = ctx
        self.env = dict(jwt_env)
        self._make_handler = make_handler
        self._log = log

    def handler(self, changes: Mapping[str, str] | None = None, drop: tuple[str, ...] = ()) -> AuthorizerHandler:
        env = {name: value for name, value in self.env.items() if name not in drop}
        handler: AuthorizerHandler = self._make_handler({**env, **(changes or {})})
        return handler

    def run(self, handler: AuthorizerHandler, event: Mapping[str, Any]) -> Run:
        return self._log.run(handler, event)


@pytest.fixture
def ctx(issuer: LocalIssuer) -> Iterator[Ctx]:
    context = Ctx(issuer)
    yield context
    for server in context.servers:
        server.stop()


@pytest.fixture
def harness(ctx: Ctx, jwt_env, make_handler, decision_log) -> Harness:
    return Harness(ctx, jwt_env, make_handler, DecisionLog(decision_log))


def assert_nothing_leaked(token: str, output: str) -> None:
    assert token not in output, "the token was logged"
    for index, segment in enumerate(token.split(".")):
        if len(segment) >= LEAK_MIN_LENGTH:
            assert segment not in output, f"segment {index} of the token was logged"


# --- the table ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("attack", ALL_ROWS, ids=[r.id for r in ALL_ROWS])
def test_attack_is_refused(attack: Row, harness: Harness) -> None:
    ctx = harness.ctx
    issuer_requests = len(ctx.issuer.requests)
    token = attack.build(ctx)
    handler = harness.handler(attack.env(ctx))

    run = harness.run(handler, token_event(token))

    assert (run.decision, run.logged["decision"], run.logged.get("reason")) == (
        attack.decision,
        attack.decision,
        attack.reason.value,
    )
    if attack.decision == "deny":
        assert run.response is not None
        assert run.response["principalId"] == "alice"
        assert [s["Effect"] for s in run.response["policyDocument"]["Statement"]] == ["Deny"]
        assert run.logged["principal"] == "alice"
    else:
        assert run.response is None
        assert "principal" not in run.logged, "an unverified subject must not be logged"
    assert_nothing_leaked(token, run.output)
    # Pinned keys: nothing is fetched, from the attacker or from the issuer.
    for server in ctx.servers:
        assert server.requests == []
    assert len(ctx.issuer.requests) == issuer_requests


# --- the same environments accept what they should (so the refusals above mean something) -------------


CONTROLS: list[tuple[str, Callable[[Ctx], str], Callable[[Ctx], dict[str, str]]]] = [
    ("rs256", Ctx.valid, no_changes),
    ("rs256-when-hs-allowed", Ctx.valid, hs_allowed),
    ("hs256-configured-secret", lambda c: c.hs256_with(CONFIGURED_SECRET.encode()), hs_allowed),
    ("es256", lambda c: c.es256(), es256_only),
    ("es256-mixed-keys", lambda c: c.es256(), mixed_keys),
    ("rs256-mixed-keys", Ctx.valid, mixed_keys),
    (
        "rs384-key-with-alg-rs384",
        lambda c: sign_raw(c.header(alg="RS384", kid="rs384-1"), c.claims(), "RS384", OTHER_RSA),
        mixed_keys,
    ),
    ("kid-absent-one-key", lambda c: c.signed(c.header(kid=DROP)), no_changes),
    ("kid-json-null-one-key", lambda c: c.signed(c.header(kid=None)), no_changes),
    ("typ-at-jwt", lambda c: c.signed(c.header(typ="at+jwt")), access_tokens_only),
    ("typ-application-at-jwt", lambda c: c.signed(c.header(typ="application/at+jwt")), access_tokens_only),
    ("scope-present", lambda c: c.signed(claims=c.claims(scope="pets:write pets:read")), scope_required),
    ("token-use-access", lambda c: c.signed(claims=c.claims(token_use="access")), token_use_access),
    ("aud-list", lambda c: c.signed(claims=c.claims(aud=["other", AUDIENCE])), no_changes),
    ("cty-other", lambda c: c.signed(c.header(cty="json")), no_changes),
    # Boundary pairs with the default 30 s leeway (the exact-second pairs are in test_jwt_claims).
    ("expired-inside-leeway", lambda c: c.signed(claims=c.claims(iat=c.now - 600, exp=c.now - 15)), no_changes),
    ("nbf-inside-leeway", lambda c: c.signed(claims=c.claims(nbf=c.now + 15)), no_changes),
    ("iat-inside-leeway", lambda c: c.signed(claims=c.claims(iat=c.now + 15)), no_changes),
    ("token-just-under-the-cap", lambda c: c.signed(claims=c.claims(pad="x" * 5500)), no_changes),
]


@pytest.mark.parametrize(("build", "env"), [(b, e) for _, b, e in CONTROLS], ids=[i for i, _, _ in CONTROLS])
def test_control_is_allowed(build, env, harness: Harness) -> None:
    token = build(harness.ctx)
    run = harness.run(harness.handler(env(harness.ctx)), token_event(token))
    assert (run.decision, run.logged["decision"]) == ("allow", "allow")
    assert run.response is not None
    assert run.response["principalId"] == "alice"
    assert "reason" not in run.logged
    assert_nothing_leaked(token, run.output)


# --- key URLs in the header are never fetched ----------------------------------------------------------------


@pytest.mark.parametrize("header_name", ["jku", "x5u"])
def test_key_url_header_is_never_fetched(header_name: str, harness: Harness) -> None:
    ctx = harness.ctx
    url = f"{ctx.attacker_url}/{'jwks.json' if header_name == 'jku' else 'cert.pem'}"
    token = ctx.signed(ctx.header(**{header_name: url}), key=ATTACKER_RSA)
    run = harness.run(harness.handler(), token_event(token))
    assert (run.decision, run.logged["reason"]) == ("unauthorized", "embedded_key_header")
    server = ctx.servers[0]
    assert server.requests == []
    # The server does answer: a fetch made here is counted, so the zero above is real.
    with urlopen(url, timeout=5) as response:  # noqa: S310 - loopback server started by this test
        assert json.load(response)["keys"][0]["kid"] == ctx.kid
    assert server.requests == [f"/{url.rsplit('/', 1)[1]}"]


def test_jku_is_not_fetched_with_a_remote_key_source_either(harness: Harness) -> None:
    # With a JWKS URI instead of pinned keys the handler does use the network: only the configured URL.
    ctx = harness.ctx
    fetched_before = len(ctx.issuer.requests)
    handler = harness.handler({"JWT_JWKS_URI": ctx.issuer.jwks_uri}, drop=("JWT_JWKS",))
    token = ctx.signed(ctx.header(jku=f"{ctx.attacker_url}/jwks.json", kid="attacker"), key=ATTACKER_RSA)
    run = harness.run(handler, token_event(token))
    assert (run.decision, run.logged["reason"]) == ("unauthorized", "embedded_key_header")
    assert ctx.servers[0].requests == []
    assert ctx.issuer.requests[fetched_before:] == ["/jwks.json"]  # the cold-start prefetch, nothing more


# --- the real event shapes -------------------------------------------------------------------------------------


def request_event(name: str, token: str) -> dict[str, Any]:
    """A vector event with its Authorization header (single- and multi-value) set to the token."""
    event = load_event(name)
    for key in ("headers", "multiValueHeaders"):
        headers = event.get(key)
        if isinstance(headers, dict):
            for header in [h for h in headers if h.lower() == "authorization"]:
                del headers[header]
            headers["Authorization"] = [f"Bearer {token}"] if key == "multiValueHeaders" else f"Bearer {token}"
    event.pop("identitySource", None)
    event.pop("authorizationToken", None)
    return event


EVENT_FILES = [
    "apiGatewayAuthorizerRestRequestEvent.json",
    "apiGatewayAuthorizerRequestEvent.json",
    "apiGatewayAuthorizerV2Event.json",
    "apiGatewayAuthorizerWebSocketEvent.json",
]
SAMPLE_ROWS = [
    r
    for r in ALL_ROWS
    if r.id
    in {
        "alg-none-empty-signature",
        "hs256-rsa-pem-hs-allowed",
        "jku-attacker-server",
        "expired-an-hour-ago",
        "es256-psychic-all-zero-64-bytes",
        "scope-missing",
    }
]


def test_sample_rows_exist() -> None:
    assert len(SAMPLE_ROWS) == 6


@pytest.mark.parametrize("event_file", EVENT_FILES)
@pytest.mark.parametrize("attack", SAMPLE_ROWS, ids=[r.id for r in SAMPLE_ROWS])
def test_attack_is_refused_in_every_event_shape(attack: Row, event_file: str, harness: Harness) -> None:
    token = attack.build(harness.ctx)
    run = harness.run(harness.handler(attack.env(harness.ctx)), request_event(event_file, token))
    assert (run.logged["decision"], run.logged["reason"]) == (attack.decision, attack.reason.value)
    if "V2" in event_file:
        # HTTP API simple responses have no 401/403 distinction: both are isAuthorized false.
        assert run.response == {"isAuthorized": False}
    elif attack.decision == "deny":
        assert run.decision == "deny"
        assert run.response is not None
        assert [s["Effect"] for s in run.response["policyDocument"]["Statement"]] == ["Deny"]
    else:
        assert (run.decision, run.response) == ("unauthorized", None)
    assert_nothing_leaked(token, run.output)


@pytest.mark.parametrize("event_file", EVENT_FILES)
def test_valid_token_is_allowed_in_every_event_shape(event_file: str, harness: Harness) -> None:
    token = harness.ctx.valid()
    run = harness.run(harness.handler(), request_event(event_file, token))
    assert (run.decision, run.logged["decision"]) == ("allow", "allow")
    assert_nothing_leaked(token, run.output)
