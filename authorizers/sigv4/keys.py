"""The key pairs the API owner issues: access key id -> secret, principal and groups.

``SIGV4_CREDENTIALS`` is inline JSON, a JSON file, ``ssm:/prefix/`` (one parameter per key
id, a SecureString holding ``{"secret": ..., "principal": ..., "groups": [...]}`` or the
bare secret) or ``secretsmanager:name`` (one secret holding the whole mapping). Remote
stores are read whole through Powertools' parameters utility and its cache, at cold start
and then every ``max_age_seconds``: an unknown key id never causes a fetch, so random ids
cannot flood SSM. A failed refresh keeps the last good keys (logged, retried at most every
10 s); secrets never appear in errors or logs.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from authorizers.errors import AuthorizerUnavailable, ConfigurationError
from policies.strict_json import refuse_duplicate_keys

ACCESS_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
RETRY_SECONDS = 10.0
MAX_DOCUMENT_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    access_key_id: str
    secret: str = field(repr=False)
    principal: str
    groups: frozenset[str] = frozenset()


class KeyStore(Protocol):
    def lookup(self, access_key_id: str) -> SigningIdentity | None: ...

    def prefetch(self) -> None: ...


def parse_credentials(document: object, where: str) -> dict[str, SigningIdentity]:
    """``{"AKID": {"secret": ..., "principal": ..., "groups": [...]}}``; entries named by position in errors."""
    if not isinstance(document, Mapping) or not document:
        raise ConfigurationError(f"{where}: expected a non-empty object of access key id -> key pair")
    keys = {}
    for index, (key_id, entry) in enumerate(document.items(), start=1):
        keys[key_id] = _identity(key_id, entry, f"{where}: entry {index}")
    return keys


def _identity(key_id: object, entry: object, where: str) -> SigningIdentity:
    if not isinstance(key_id, str) or not ACCESS_KEY_ID.fullmatch(key_id):
        raise ConfigurationError(f"{where}: the access key id must be 16-128 of A-Z and 0-9")
    if isinstance(entry, str):  # a bare secret: the key id is the principal
        entry = {"secret": entry}
    if not isinstance(entry, Mapping) or set(entry) - {"secret", "principal", "groups"}:
        raise ConfigurationError(f"{where}: expected an object with secret, principal and groups")
    secret, principal, groups = entry.get("secret"), entry.get("principal", key_id), entry.get("groups", [])
    if not isinstance(secret, str) or len(secret) < 16:
        raise ConfigurationError(f"{where}: the secret must be a string of at least 16 characters")
    if not isinstance(principal, str) or not principal:
        raise ConfigurationError(f"{where}: the principal must be a non-empty string")
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise ConfigurationError(f"{where}: groups must be a list of strings")
    return SigningIdentity(key_id, secret, principal, frozenset(groups))


def _load_json(text: str, where: str) -> object:
    try:
        return json.loads(text, object_pairs_hook=refuse_duplicate_keys)
    except (ValueError, RecursionError):
        raise ConfigurationError(f"{where}: not valid JSON (or a key id appears twice)") from None


def _shown(value: str) -> str:
    # A value pasted by mistake (JSON with a secret) must never be echoed as a "path".
    return value if re.fullmatch(r"[\w./~-]{1,256}", value) else "the value given"


class StaticKeys:
    def __init__(self, keys: Mapping[str, SigningIdentity]) -> None:
        self._keys = dict(keys)

    @classmethod
    def from_text(cls, text: str, where: str) -> StaticKeys:
        return cls(parse_credentials(_load_json(text, where), where))

    @classmethod
    def from_file(cls, path: str, where: str) -> StaticKeys:
        try:
            with Path(path).open("rb") as file:
                raw = file.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as exc:
            raise ConfigurationError(f"{where}: cannot read {_shown(path)} ({type(exc).__name__})") from None
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise ConfigurationError(f"{where}: over {MAX_DOCUMENT_BYTES} bytes")
        return cls.from_text(raw.decode("utf-8", errors="replace"), where)

    def lookup(self, access_key_id: str) -> SigningIdentity | None:
        return self._keys.get(access_key_id)

    def prefetch(self) -> None:
        return None


Fetch = Callable[[int], object]  # max_age -> the raw document(s)


class RemoteKeys:
    """Keys from SSM (a path of parameters) or Secrets Manager (one secret), cached and refreshed."""

    def __init__(
        self, scheme: str, name: str, where: str, max_age_seconds: int = 300, fetch: Fetch | None = None
    ) -> None:
        self._scheme, self._name, self._where = scheme, name, where
        self._max_age = max_age_seconds
        self._fetch = fetch or self._powertools_fetch
        self._keys: dict[str, SigningIdentity] | None = None
        self._loaded_at = 0.0
        self._retry_after = 0.0
        self._lock = threading.Lock()

    def prefetch(self) -> None:
        try:
            self._keys = self._load()
        except AuthorizerUnavailable as exc:
            raise ConfigurationError(f"{self._where}: {exc}") from None
        self._loaded_at = time.monotonic()

    def lookup(self, access_key_id: str) -> SigningIdentity | None:
        now = time.monotonic()
        due = self._keys is None or now - self._loaded_at >= self._max_age
        if due and now >= self._retry_after:  # failing: at most one attempt per RETRY_SECONDS
            with self._lock:
                self._refresh(now)
        if self._keys is None:
            raise AuthorizerUnavailable(f"{self._where}: no key pairs could be loaded")
        return self._keys.get(access_key_id)

    def _refresh(self, now: float) -> None:
        try:
            self._keys = self._load()
            self._loaded_at = now
        except Exception as exc:  # unreachable, refused, undecodable, invalid: keep the last good keys
            self._retry_after = now + RETRY_SECONDS
            from authorizers.observability import make_logger

            make_logger().warning(
                "SigV4 key pairs could not be refreshed; keeping the last good ones",
                extra={"source": self._where, "error": str(exc)},
            )

    def _load(self) -> dict[str, SigningIdentity]:
        try:
            raw = self._fetch(self._max_age)
        except Exception as exc:
            raise AuthorizerUnavailable(f"fetch failed ({type(exc).__name__})") from None
        if self._scheme == "secretsmanager":
            try:
                text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            except UnicodeDecodeError:
                raise ConfigurationError(f"{self._where}: the secret is not UTF-8 JSON") from None
            if not isinstance(text, str):
                raise ConfigurationError(f"{self._where}: the secret must be a JSON string")
            return parse_credentials(_load_json(text, self._where), self._where)
        if not isinstance(raw, Mapping):
            raise ConfigurationError(f"{self._where}: unexpected parameters answer")
        document: dict[str, Any] = {}
        for name, value in raw.items():
            key_id = str(name).rsplit("/", 1)[-1]
            text = value if isinstance(value, str) else ""
            document[key_id] = _load_json(text, self._where) if text.lstrip().startswith("{") else text
        return parse_credentials(document, self._where)

    def _powertools_fetch(self, max_age: int) -> object:
        from aws_lambda_powertools.utilities import parameters

        if self._scheme == "ssm":
            return parameters.get_parameters(self._name, decrypt=True, max_age=max_age, recursive=False)
        return parameters.get_secret(self._name, max_age=max_age)


def key_store_from(source: str, where: str) -> KeyStore:
    text = source.strip()
    if text.startswith("{"):
        return StaticKeys.from_text(text, f"{where} (inline JSON)")
    if text.startswith("ssm:"):
        path = text[len("ssm:") :]
        if not re.fullmatch(r"/[A-Za-z0-9_./-]{1,2046}/", path):
            raise ConfigurationError(f"{where}: ssm: needs a parameter path like ssm:/prefix/ (ending with /)")
        return RemoteKeys("ssm", path.rstrip("/"), where)
    if text.startswith("secretsmanager:"):
        name = text[len("secretsmanager:") :]
        if not re.fullmatch(r"[A-Za-z0-9/_+=.@:-]{1,2048}", name):
            raise ConfigurationError(f"{where}: secretsmanager: needs a secret name or ARN")
        return RemoteKeys("secretsmanager", name, where)
    return StaticKeys.from_file(text, where)
