"""Development tokens: JWTs signed by a local development key, and the JWKS that verifies them.

For testing the whole chain offline (``authorizers token``, ``events/generate.py``). The key
lives in a local directory (``.authorizers-dev/`` by default: 0700, the private key 0600,
a ``.gitignore`` inside so it is never committed) and is reused on later runs, one key per
algorithm. Anyone holding the key can mint any token, so a deployed authorizer must never
trust its JWKS: it is for development only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import stat
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authorizers.jwt.algorithms import ASYMMETRIC_ALGORITHMS
from authorizers.local_issuer import generate_key, public_jwk

# ".invalid" is reserved (RFC 2606): no real issuer can ever have this name.
DEV_ISSUER = "https://dev.apigw-authorizers.invalid"
DEV_AUDIENCE = "dev-api"
DEV_SUBJECT = "dev-user"
DEFAULT_KEY_DIR = Path(".authorizers-dev")
DEFAULT_TTL_SECONDS = 3600
ALGORITHMS = tuple(sorted(ASYMMETRIC_ALGORITHMS))
# Set by options of their own (--iss, --sub, --aud, --ttl, --scope, --groups), never by --claim.
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "iat", "exp", "scope", "groups"})
_TTL = re.compile(r"(\d+)([smhd]?)")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_CLAIM_NAME = re.compile(r"[A-Za-z0-9_:.\-/]{1,128}")


class DevTokenError(Exception):
    """A problem with the key directory or the options: the message says what to do."""


@dataclass(frozen=True)
class DevKey:
    algorithm: str
    private_key: Any
    path: Path | None  # None: in memory only (a throw-away key)

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint: stable for the key, different for every other key."""
        jwk = public_jwk(self.private_key, "", self.algorithm)
        members = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
        canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
        digest = hashlib.sha256(canonical.encode("utf-8")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.private_key, self.kid, self.algorithm)

    @classmethod
    def throwaway(cls, algorithm: str = "RS256") -> DevKey:
        """A fresh key that is never written anywhere."""
        return cls(algorithm, generate_key(algorithm), None)


def jwks(keys: Iterable[DevKey]) -> dict[str, Any]:
    return {"keys": [key.jwk() for key in keys]}


# -- the key directory --------------------------------------------------------------------------


def key_path(key_dir: Path, algorithm: str) -> Path:
    return key_dir / f"{algorithm}.pem"


def load_or_create_key(key_dir: Path, algorithm: str) -> tuple[DevKey, bool]:
    """The directory's key for ``algorithm``, made on first use; True when it was just made."""
    if algorithm not in ASYMMETRIC_ALGORITHMS:
        raise DevTokenError(f"no development key for {algorithm}: choose one of {', '.join(ALGORITHMS)}")
    _ensure_key_dir(key_dir)
    path = key_path(key_dir, algorithm)
    if path.exists():
        return DevKey(algorithm, _read_private_key(path, algorithm), path), False
    private_key = generate_key(algorithm)
    _write_private_key(path, private_key)
    return DevKey(algorithm, private_key, path), True


def directory_keys(key_dir: Path) -> list[DevKey]:
    """Every development key in ``key_dir``, by algorithm name (so the JWKS verifies them all)."""
    keys = []
    for algorithm in ALGORITHMS:
        path = key_path(key_dir, algorithm)
        if path.exists():
            keys.append(DevKey(algorithm, _read_private_key(path, algorithm), path))
    return keys


def _ensure_key_dir(key_dir: Path) -> None:
    if key_dir.exists() and not key_dir.is_dir():
        raise DevTokenError(f"{key_dir} exists and is not a directory")
    if not key_dir.exists():
        try:
            key_dir.mkdir(mode=0o700, parents=True)
            key_dir.chmod(0o700)  # mkdir's mode is reduced by the umask, never widened
            # Private keys must never be committed, whatever the repository's own .gitignore says.
            (key_dir / ".gitignore").write_text("# development keys: never commit them\n*\n", encoding="utf-8")
        except OSError as exc:
            raise DevTokenError(f"cannot create the key directory {key_dir}: {exc.strerror}") from None


def _write_private_key(path: Path, private_key: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        # 0600 from the first byte: the file is never readable by others, not even briefly.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
    except OSError as exc:
        raise DevTokenError(f"cannot write the development key {path}: {exc.strerror}") from None


def _read_private_key(path: Path, algorithm: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    from authorizers.jwt.algorithms import key_fits

    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise DevTokenError(f"{path} is not a regular file")
        if mode & 0o077:
            raise DevTokenError(f"{path} is readable by other users (mode {stat.S_IMODE(mode):04o}); chmod 600 it")
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise DevTokenError(f"cannot read the development key {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise DevTokenError(f"{path} is not an unencrypted PEM private key") from None
    if not key_fits(algorithm, private_key.public_key()):
        raise DevTokenError(f"{path} holds no {algorithm} key; move it away to make a new one")
    return private_key


# -- tokens ------------------------------------------------------------------------------------


def claims_for(
    *,
    issuer: str = DEV_ISSUER,
    subject: str = DEV_SUBJECT,
    audience: str | list[str] = DEV_AUDIENCE,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    issued_at: int | None = None,
    scopes: Iterable[str] = (),
    groups: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
    jti: str | None = None,
) -> dict[str, Any]:
    """The claims of a development token; ``extra`` may not set what has its own argument."""
    clashes = sorted(RESERVED_CLAIMS & set(extra or {}))
    if clashes:
        raise DevTokenError(f"--claim cannot set {', '.join(clashes)}: use its own option")
    if not issuer.strip() or not subject.strip():
        raise DevTokenError("the issuer and subject must not be empty")
    now = int(time.time()) if issued_at is None else issued_at
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": jti or uuid.uuid4().hex,
    }
    scope_list = list(dict.fromkeys(scopes))
    if scope_list:
        claims["scope"] = " ".join(scope_list)  # RFC 9068: one space-separated string
    group_list = list(dict.fromkeys(groups))
    if group_list:
        claims["groups"] = group_list
    claims.update(extra or {})
    return claims


def mint(key: DevKey, claims: Mapping[str, Any], token_type: str | None = None) -> str:
    import jwt

    headers: dict[str, Any] = {"kid": key.kid}
    if token_type:
        headers["typ"] = token_type
    return jwt.encode(dict(claims), key.private_key, algorithm=key.algorithm, headers=headers)


def jwt_environment(keys: Iterable[DevKey], issuer: str, audience: str) -> dict[str, str]:
    """The JWT handler's settings that accept these keys' tokens: issuer, audience, inline JWKS."""
    key_list = list(keys)
    return {
        "JWT_ISSUER": issuer,
        "JWT_AUDIENCE": audience,
        "JWT_JWKS": json.dumps(jwks(key_list), separators=(",", ":")),
        "JWT_ALGORITHMS": ",".join(sorted({key.algorithm for key in key_list})),
    }


# -- option values ------------------------------------------------------------------------------


def parse_ttl(text: str) -> int:
    """Seconds, or a number with s, m, h or d (``90``, ``15m``, ``1h``, ``7d``)."""
    match = _TTL.fullmatch(text.strip().lower())
    if match is None:
        raise DevTokenError(f"--ttl {text!r}: expected seconds or a number with s, m, h or d (e.g. 15m, 1h)")
    seconds = int(match.group(1)) * _TTL_UNITS[match.group(2)]
    if not 0 < seconds <= 366 * 86400:
        raise DevTokenError(f"--ttl {text!r}: must be between 1 second and 366 days")
    return seconds


def parse_claim(text: str) -> tuple[str, Any]:
    """``NAME=VALUE``: the value as JSON when it parses (``true``, ``42``, ``["a"]``), else as text."""
    name, equals, raw = text.partition("=")
    name = name.strip()
    if not equals or not _CLAIM_NAME.fullmatch(name):
        raise DevTokenError(f"--claim {text!r}: expected NAME=VALUE (e.g. tenant=acme or roles='[\"admin\"]')")
    try:
        value: Any = json.loads(raw, parse_constant=_no_constant)
    except ValueError:
        value = raw
    if isinstance(value, float) and not math.isfinite(value):  # 1e999: JSON has no infinity
        value = raw
    return name, value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def split_items(values: Iterable[str]) -> list[str]:
    """Repeated and/or comma- or space-separated option values, in order, without repeats."""
    items: list[str] = []
    for value in values:
        items.extend(value.replace(",", " ").split())
    return list(dict.fromkeys(items))
