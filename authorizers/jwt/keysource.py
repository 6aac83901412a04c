"""Key sources: where verification keys come from.

One small interface, three implementations: :class:`StaticKeySource` (inline or file
JWKS, no I/O), :class:`~authorizers.jwt.remote.RemoteJwks` (a JWKS URI with a cache)
and :class:`~authorizers.jwt.remote.DiscoveredJwks` (OIDC discovery, then a JWKS URI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from authorizers.errors import ConfigurationError, KeySourceUnavailable
from authorizers.jwt.jwks import JwkSet, VerificationKey, parse_jwks


class KeySource(Protocol):
    def find_key(self, kid: str | None, alg: str) -> VerificationKey | None:
        """The key for ``kid`` fitting ``alg``, or None when the source knows no such kid.

        Raises :class:`KeySourceUnavailable` when no key set could be had at all.
        """
        ...

    def prefetch(self) -> None:
        """Load keys now (cold start), so the first request does not wait for them."""
        ...


class StaticKeySource:
    """Pinned keys: a JWKS given inline or as a file; never fetches anything."""

    def __init__(self, jwks: JwkSet) -> None:
        self._jwks = jwks

    @classmethod
    def from_text(cls, text: str, source: str = "inline JWKS") -> StaticKeySource:
        try:
            return cls(parse_jwks(text, source))
        except KeySourceUnavailable as exc:
            raise ConfigurationError(str(exc)) from exc

    @classmethod
    def from_file(cls, path: str | Path) -> StaticKeySource:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read JWKS file {str(path)!r}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigurationError(f"JWKS file {str(path)!r} is not UTF-8 text") from exc
        return cls.from_text(text, source=str(path))

    def find_key(self, kid: str | None, alg: str) -> VerificationKey | None:
        return self._jwks.find(kid, alg)

    def prefetch(self) -> None:
        return None
