"""Per-issuer JWT configuration: frozen, checked when built, explicit about opt-outs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from authorizers.errors import ConfigurationError
from authorizers.jwt.algorithms import DEFAULT_ALGORITHMS, HMAC_ALGORITHMS, SUPPORTED_ALGORITHMS
from authorizers.jwt.keysource import KeySource

if TYPE_CHECKING:
    from authorizers.jwt.validator import VerifiedJwt

MAX_LEEWAY_SECONDS = 300
CustomCheck = Callable[["VerifiedJwt"], None]
_PUBLIC_KEY_MARKERS = (b"-----BEGIN", b"ssh-rsa", b"ssh-ed25519", b"ecdsa-sha2-", b'"kty"')


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    """How tokens from one issuer are checked.

    ``audience`` has no default: pass the accepted audiences, or ``None`` to switch the
    check off explicitly. ``shared_secret`` is the only way to allow HS256/384/512.
    """

    issuer: str
    key_source: KeySource | None
    audience: frozenset[str] | None
    algorithms: frozenset[str] = DEFAULT_ALGORITHMS
    leeway_seconds: int = 30
    token_type: str | None = None  # e.g. "at+jwt" (RFC 9068); compared as a media type
    required_scopes: frozenset[str] = frozenset()
    required_claims: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    groups_claim: str = "groups"
    shared_secret: bytes | None = field(default=None, repr=False)
    custom_check: CustomCheck | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.issuer, str) or not self.issuer.strip():
            raise ConfigurationError("issuer must be a non-empty string")
        # Accept a single string or any collection, and freeze it: checks use set operations.
        for name in ("audience", "algorithms", "required_scopes"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, frozenset({value} if isinstance(value, str) else value))
        if self.audience is not None and (
            not self.audience or not all(isinstance(a, str) and a for a in self.audience)
        ):
            raise ConfigurationError(f"{self.issuer}: audience must be non-empty strings, or None to disable")
        if not self.algorithms:
            raise ConfigurationError(f"{self.issuer}: the algorithm allow-list is empty")
        unknown = set(self.algorithms) - SUPPORTED_ALGORITHMS
        if unknown:
            raise ConfigurationError(
                f"{self.issuer}: unsupported algorithm(s) {sorted(unknown)}; choose from {sorted(SUPPORTED_ALGORITHMS)}"
            )
        self._check_secret()
        if self.key_source is None and set(self.algorithms) - set(HMAC_ALGORITHMS):
            raise ConfigurationError(f"{self.issuer}: asymmetric algorithms need a key source")
        if isinstance(self.leeway_seconds, bool) or not 0 <= self.leeway_seconds <= MAX_LEEWAY_SECONDS:
            raise ConfigurationError(f"{self.issuer}: leeway must be 0 to {MAX_LEEWAY_SECONDS} seconds")
        object.__setattr__(self, "required_claims", MappingProxyType(dict(self.required_claims)))
        for name, values in self.required_claims.items():
            if not isinstance(values, tuple) or not values:
                raise ConfigurationError(f"{self.issuer}: required claim {name!r} needs at least one value")

    def _check_secret(self) -> None:
        hmac_algs = set(self.algorithms) & set(HMAC_ALGORITHMS)
        if not hmac_algs:
            if self.shared_secret is not None:
                raise ConfigurationError(f"{self.issuer}: a shared secret is set but no HS* algorithm is allowed")
            return
        secret = self.shared_secret
        if secret is None:
            raise ConfigurationError(f"{self.issuer}: HS* algorithms need an explicitly configured shared secret")
        if _looks_like_public_key(secret):
            raise ConfigurationError(f"{self.issuer}: the shared secret looks like public key material")
        needed = max(HMAC_ALGORITHMS[alg] for alg in hmac_algs)
        if len(secret) < needed:
            raise ConfigurationError(f"{self.issuer}: the shared secret must be at least {needed} bytes")


def _looks_like_public_key(secret: bytes) -> bool:
    """PEM, SSH or JWK text, or a DER key (raw or base64): never an HMAC secret."""
    import base64
    import binascii
    import contextlib

    from cryptography.hazmat.primitives.serialization import load_der_public_key

    if any(marker in secret for marker in _PUBLIC_KEY_MARKERS):
        return True
    candidates = [secret]
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.b64decode(secret, validate=True))
    for candidate in candidates:
        try:
            load_der_public_key(candidate)
            return True
        except (ValueError, TypeError):
            continue
    return False


def index_by_issuer(configs: Iterable[IssuerConfig]) -> Mapping[str, IssuerConfig]:
    by_issuer: dict[str, IssuerConfig] = {}
    for config in configs:
        if config.issuer in by_issuer:
            raise ConfigurationError(f"issuer {config.issuer!r} is configured twice")
        by_issuer[config.issuer] = config
    if not by_issuer:
        raise ConfigurationError("at least one issuer must be configured")
    return MappingProxyType(by_issuer)
