"""The JWT validator: parse, then verify, then validate.

1. Parse the token strictly, nothing trusted (:mod:`authorizers.jwt.token`).
2. Refuse dangerous headers, select the issuer's configuration by the exact
   unverified ``iss``, check ``alg`` against that configuration's allow-list.
3. Find the key (by ``kid``) and verify the signature.
4. Only then validate claims, and build the :class:`~policies.principal.Principal`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from authorizers.errors import CredentialRejected, InsufficientPermission, Reason
from authorizers.jwt import claims as claim_checks
from authorizers.jwt.algorithms import is_hmac, verifier
from authorizers.jwt.config import IssuerConfig, index_by_issuer
from authorizers.jwt.jwks import MAX_KID_LENGTH
from authorizers.jwt.token import UnverifiedJwt, parse_unverified
from policies.principal import Principal

Clock = Callable[[], float]
# Headers that would let the token choose its own key: never fetched, never trusted.
EMBEDDED_KEY_HEADERS = ("jku", "x5u", "jwk", "x5c")


@dataclass(frozen=True, slots=True)
class VerifiedJwt:
    """A token whose signature and claims have been checked."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    config: IssuerConfig


class JwtValidator:
    """Validates bearer JWTs from one or more issuers. Pure but for the key sources."""

    def __init__(self, issuers: Iterable[IssuerConfig], clock: Clock = time.time, scheme: str = "jwt") -> None:
        self._issuers = index_by_issuer(issuers)
        self._clock = clock
        self.scheme = scheme  # the principal's scheme: "cognito" when Cognito builds on this

    @property
    def issuers(self) -> Mapping[str, IssuerConfig]:
        return self._issuers

    def prefetch(self) -> None:
        """Load every issuer's keys now; several sources are fetched in parallel so a
        cold start waits for the slowest one, not for their sum."""
        sources = list({id(c.key_source): c.key_source for c in self._issuers.values() if c.key_source}.values())
        if len(sources) <= 1:
            for source in sources:
                source.prefetch()
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(len(sources), 8), thread_name_prefix="prefetch") as pool:
            list(pool.map(lambda source: source.prefetch(), sources))

    def validate(self, token: str) -> Principal:
        """Verify ``token`` and return its principal, or raise :class:`CredentialRejected`."""
        verified = self.verify(token)
        return self.principal(verified)

    def verify(self, token: str) -> VerifiedJwt:
        unverified = parse_unverified(token)
        alg = _check_header(unverified.unverified_header)
        config = self._config_for(unverified.unverified_claims)
        if alg not in config.algorithms:
            raise CredentialRejected(Reason.ALGORITHM_NOT_ALLOWED, f"alg {alg[:20]!r} is not allowed")
        _verify_signature(unverified, alg, config)
        # From here on the header and claims are authentic.
        header, claims = unverified.unverified_header, unverified.unverified_claims
        claim_checks.check_token_type(header, config.token_type)
        claim_checks.check_time(claims, self._clock(), config.leeway_seconds)
        claim_checks.check_audience(claims, config.audience)
        return VerifiedJwt(header=header, claims=claims, config=config)

    def principal(self, verified: VerifiedJwt) -> Principal:
        claims, config = verified.claims, verified.config
        sub = claim_checks.subject(claims)
        granted = claim_checks.scopes(claims)
        groups = claim_checks.string_set(claims, config.groups_claim)
        try:
            claim_checks.check_permissions(claims, granted, config)
            if config.custom_check is not None:
                config.custom_check(verified)
        except InsufficientPermission as exc:
            exc.principal_id = sub
            raise
        client_id = claims.get("client_id", claims.get("azp"))
        return Principal(
            principal_id=sub,
            scheme=self.scheme,
            issuer=config.issuer,
            scopes=granted,
            groups=groups,
            client_id=client_id if isinstance(client_id, str) else None,
            expires_at=int(claims["exp"]),
            claims=claims,
        )

    def _config_for(self, unverified_claims: Mapping[str, Any]) -> IssuerConfig:
        issuer = unverified_claims.get("iss")
        if not isinstance(issuer, str):
            raise CredentialRejected(Reason.UNKNOWN_ISSUER, "iss is missing or not a string")
        config = self._issuers.get(issuer)  # exact string match: no prefix, no normalisation
        if config is None:
            raise CredentialRejected(Reason.UNKNOWN_ISSUER, "iss is not a configured issuer")
        return config


def _check_header(header: Mapping[str, Any]) -> str:
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise CredentialRejected(Reason.MALFORMED_HEADER, "alg is missing or not a string")
    if alg.lower() == "none":
        raise CredentialRejected(Reason.ALG_NONE, "unsigned tokens are refused")
    for name in EMBEDDED_KEY_HEADERS:
        if name in header:
            raise CredentialRejected(Reason.EMBEDDED_KEY_HEADER, f"header {name!r} is refused")
    if "crit" in header:
        crit = header["crit"]
        if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
            raise CredentialRejected(Reason.MALFORMED_HEADER, "crit must be a non-empty list of names")
        # No JWS extension is understood here, so every critical one is unsupported.
        raise CredentialRejected(Reason.UNSUPPORTED_CRITICAL_HEADER, "crit names an unsupported extension")
    cty = header.get("cty")
    if cty is not None and (not isinstance(cty, str) or claim_checks.media_type(cty) == "jwt"):
        raise CredentialRejected(Reason.NESTED_TOKEN, "nested tokens are not supported")
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH):
        raise CredentialRejected(Reason.MALFORMED_KID, "kid must be a short non-empty string")
    return alg


def _verify_signature(unverified: UnverifiedJwt, alg: str, config: IssuerConfig) -> None:
    key: Any
    if is_hmac(alg):
        key = config.shared_secret  # HMAC only ever with the configured secret
    else:
        if config.key_source is None:
            raise CredentialRejected(Reason.ALGORITHM_NOT_ALLOWED, "no key source for asymmetric tokens")
        kid = unverified.unverified_header.get("kid")
        found = config.key_source.find_key(kid, alg)
        if found is None:
            raise CredentialRejected(Reason.UNKNOWN_KID, "no key with this kid")
        key = found.key
    try:
        valid = verifier(alg).verify(unverified.signing_input, key, unverified.signature)
    except Exception:  # malformed signatures make some backends raise instead of returning False
        valid = False
    if not valid:
        raise CredentialRejected(Reason.INVALID_SIGNATURE, "signature does not verify")
