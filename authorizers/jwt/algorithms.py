"""Which algorithms exist, which key types each may use, and the pyjwt verifiers.

The allow-list always comes from configuration, never from the token. Each key is
bound to one family: an RSA key never verifies an HMAC, an EC key only its own curve.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

if TYPE_CHECKING:
    from jwt.algorithms import Algorithm

RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
EDDSA_ALGORITHMS = frozenset({"EdDSA"})
HMAC_ALGORITHMS = {"HS256": 32, "HS384": 48, "HS512": 64}  # minimum secret bytes (RFC 7518 3.2)
ASYMMETRIC_ALGORITHMS = RSA_ALGORITHMS | frozenset(EC_CURVES) | EDDSA_ALGORITHMS
SUPPORTED_ALGORITHMS = ASYMMETRIC_ALGORITHMS | frozenset(HMAC_ALGORITHMS)
DEFAULT_ALGORITHMS = frozenset({"RS256"})
MIN_RSA_BITS = 2048


def is_hmac(alg: str) -> bool:
    return alg in HMAC_ALGORITHMS


def key_fits(alg: str, key: Any) -> bool:
    """True when ``key`` (a cryptography public key) may verify ``alg``."""
    if alg in RSA_ALGORITHMS:
        return isinstance(key, rsa.RSAPublicKey)
    if alg in EC_CURVES:
        return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == EC_CURVES[alg]
    if alg in EDDSA_ALGORITHMS:
        return isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey))
    return False


@cache
def verifier(alg: str) -> Algorithm:
    """pyjwt's implementation of ``alg`` (signature check only; we parse and validate)."""
    from jwt.algorithms import get_default_algorithms

    return get_default_algorithms()[alg]
