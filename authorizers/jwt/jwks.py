"""JSON Web Key Sets: parsed once into verification keys, looked up by ``kid``.

Keys that cannot safely verify signatures are left out when the set is parsed, each
with a logged reason: encryption keys (``use`` other than ``sig``), symmetric (``oct``)
keys, private keys, RSA keys under 2048 bits, and keys that do not parse.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authorizers.errors import CredentialRejected, KeySourceUnavailable, Reason
from authorizers.jwt.algorithms import MIN_RSA_BITS, SUPPORTED_ALGORITHMS, key_fits

log = logging.getLogger(__name__)

MAX_KID_LENGTH = 256
MAX_KEYS = 100
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str | None
    key: Any  # a cryptography public key object
    alg: str | None  # the JWK's own "alg", when it names one

    def fits(self, alg: str) -> bool:
        return (self.alg is None or self.alg == alg) and key_fits(alg, self.key)


@dataclass(frozen=True, slots=True)
class JwkSet:
    keys: tuple[VerificationKey, ...]

    def find(self, kid: str | None, alg: str) -> VerificationKey | None:
        """The key for ``kid``; without a kid, only a set's single key is eligible.

        Raises :class:`CredentialRejected` when the kid names a key of another type.
        """
        if kid is None:
            if len(self.keys) != 1:
                raise CredentialRejected(Reason.MISSING_KID, "token has no kid and the key set has several keys")
            candidates: tuple[VerificationKey, ...] = self.keys
        else:
            candidates = tuple(k for k in self.keys if k.kid == kid)
        if not candidates:
            return None
        for candidate in candidates:
            if candidate.fits(alg):
                return candidate
        raise CredentialRejected(Reason.KEY_ALGORITHM_MISMATCH, "the key named by kid does not fit the token's alg")

    def __contains__(self, kid: object) -> bool:
        return any(k.kid == kid for k in self.keys)


def parse_jwks(document: object, source: str) -> JwkSet:
    """Parse a JWKS document; raise :class:`KeySourceUnavailable` if no key is usable."""
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise KeySourceUnavailable(f"{source}: JWKS is not JSON") from exc
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise KeySourceUnavailable(f"{source}: JWKS is not an object with a 'keys' list")
    raw_keys = document["keys"]
    if len(raw_keys) > MAX_KEYS:
        raise KeySourceUnavailable(f"{source}: JWKS has more than {MAX_KEYS} keys")
    keys: list[VerificationKey] = []
    for index, jwk in enumerate(raw_keys):
        problem = _unusable(jwk)
        if problem is None:
            try:
                keys.append(_parse_key(jwk))
                continue
            except Exception as exc:  # pyjwt and cryptography raise several types here
                problem = f"does not parse ({type(exc).__name__})"
        log.warning("JWKS key skipped", extra={"source": source, "index": index, "why": problem})
    if not keys:
        raise KeySourceUnavailable(f"{source}: JWKS has no usable signing key")
    return JwkSet(tuple(keys))


def _unusable(jwk: object) -> str | None:
    if not isinstance(jwk, Mapping):
        return "is not an object"
    kid = jwk.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH):
        return "has an invalid kid"
    if jwk.get("kty") not in ("RSA", "EC", "OKP"):
        return "is not an RSA, EC or OKP key"
    if _PRIVATE_MEMBERS & set(jwk):
        return "contains private key material"
    if jwk.get("use", "sig") != "sig":
        return "is not a signing key"
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return "key_ops does not include verify"
    alg = jwk.get("alg")
    if alg is not None and (not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS):
        return "names an unsupported alg"
    return None


def _parse_key(jwk: Mapping[str, Any]) -> VerificationKey:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt import PyJWK

    parsed = PyJWK(dict(jwk))
    key = parsed.key
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ValueError("RSA key shorter than 2048 bits")
    if not any(key_fits(alg, key) for alg in SUPPORTED_ALGORITHMS):
        raise ValueError("not a public key of a supported type")
    return VerificationKey(kid=jwk.get("kid"), key=key, alg=jwk.get("alg"))
