"""Cognito user pool tokens: the JWT checks, then what only Cognito tokens carry.

After the signature, issuer (which selects the pool), times and ``sub``:

* ``token_use`` must be the accepted kind (``access`` by default, or ``id``, or either);
* the app client must be accepted: ``client_id`` in access tokens, ``aud`` in ID tokens
  (access tokens have no ``aud``, so the JWT audience check is replaced by this one);
* optionally, the session must not have been revoked (access tokens: GetUser);
* then, as a 403, the required scopes and membership of one of the required groups
  (``cognito:groups`` are the principal's groups for the authorization rules).

A token from another pool is refused by its issuer even when the same key signed it.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authorizers.cognito.pools import UserPool
from authorizers.errors import ConfigurationError, CredentialRejected, InsufficientPermission, Reason
from authorizers.jwt.config import IssuerConfig
from authorizers.jwt.keysource import KeySource
from authorizers.jwt.validator import Clock, JwtValidator, VerifiedJwt
from policies.principal import Principal

if TYPE_CHECKING:
    from authorizers.cognito.revocation import RevocationCheck

GROUPS_CLAIM = "cognito:groups"
ANY_CLIENT = None  # explicitly accept every app client of the pool


class TokenUse(enum.Enum):
    ACCESS = "access"
    ID = "id"
    ANY = "any"

    def accepts(self, token_use: object) -> bool:
        if token_use not in ("access", "id"):
            return False
        return self is TokenUse.ANY or self.value == token_use


@dataclass(frozen=True, slots=True)
class CognitoPool:
    """How tokens of one user pool are checked."""

    pool: UserPool
    key_source: KeySource
    client_ids: frozenset[str] | None  # None: every app client, explicitly
    token_use: TokenUse = TokenUse.ACCESS
    groups: frozenset[str] = frozenset()  # when given, the principal must be in one (403)
    required_scopes: frozenset[str] = frozenset()
    issuer_endpoint: str | None = None  # an emulator's issuer base; None: the AWS one
    leeway_seconds: int = 30

    def __post_init__(self) -> None:
        # A single string is one id, not a collection of characters: "app" must not pass "app-1".
        for name in ("client_ids", "groups", "required_scopes"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, frozenset({value} if isinstance(value, str) else value))
        if self.client_ids is not None and (not self.client_ids or not all(self.client_ids)):
            raise ConfigurationError(f"{self.pool.pool_id}: client ids must be non-empty, or None for any client")
        if self.token_use is TokenUse.ID and self.required_scopes:
            raise ConfigurationError(f"{self.pool.pool_id}: ID tokens carry no scopes, so required scopes refuse all")

    @property
    def issuer(self) -> str:
        return self.pool.issuer(self.issuer_endpoint)

    def issuer_config(self) -> IssuerConfig:
        return IssuerConfig(
            issuer=self.issuer,
            key_source=self.key_source,
            audience=None,  # checked below, per token_use
            algorithms=frozenset({"RS256"}),  # all Cognito signs with
            leeway_seconds=self.leeway_seconds,
            required_scopes=self.required_scopes,
            groups_claim=GROUPS_CLAIM,
        )


class CognitoValidator:
    """Validates Cognito access and ID tokens from one or more user pools."""

    scheme = "cognito"

    def __init__(
        self, pools: Iterable[CognitoPool], clock: Clock = time.time, revocation: RevocationCheck | None = None
    ) -> None:
        self._pools: dict[str, CognitoPool] = {}
        for pool in pools:
            if pool.issuer in self._pools:  # the second would silently replace the first's checks
                raise ConfigurationError(f"user pool {pool.pool.pool_id} is configured twice")
            self._pools[pool.issuer] = pool
        if not self._pools:
            raise ConfigurationError("at least one user pool is required")
        if revocation is not None and any(pool.token_use is not TokenUse.ACCESS for pool in self._pools.values()):
            # GetUser takes an access token: ID tokens would pass unchecked.
            raise ConfigurationError("the revocation check needs pools that accept access tokens only")
        self._jwt = JwtValidator([pool.issuer_config() for pool in self._pools.values()], clock, scheme=self.scheme)
        self._revocation = revocation

    @property
    def pools(self) -> Mapping[str, CognitoPool]:
        return self._pools

    def prefetch(self) -> None:
        """Load every pool's keys, and prepare the revocation check's clients, now."""
        self._jwt.prefetch()
        if self._revocation is not None:
            self._revocation.prepare({pool.pool.region for pool in self._pools.values()})

    def validate(self, token: str) -> Principal:
        """Verify ``token`` and return its principal, or raise :class:`CredentialRejected`."""
        verified = self.verify(token)
        if self._revocation is not None and verified.claims.get("token_use") == "access":
            self._revocation.check(token, verified)
        return self.principal(verified)

    def verify(self, token: str) -> VerifiedJwt:
        verified = self._jwt.verify(token)
        pool = self._pools[verified.config.issuer]
        token_use = verified.claims.get("token_use")
        if not pool.token_use.accepts(token_use):
            raise CredentialRejected(Reason.WRONG_TOKEN_USE, f"token_use must be {pool.token_use.value}")
        client_id = _client_id(verified.claims)
        if pool.client_ids is not None and client_id not in pool.client_ids:
            raise CredentialRejected(Reason.WRONG_CLIENT, "the token was issued to an app client that is not accepted")
        return verified

    def principal(self, verified: VerifiedJwt) -> Principal:
        principal = self._jwt.principal(verified)  # required scopes: 403
        pool = self._pools[verified.config.issuer]
        if pool.groups and pool.groups.isdisjoint(principal.groups):
            raise InsufficientPermission(
                Reason.NOT_IN_GROUP, f"not in any of the groups {sorted(pool.groups)}", principal.principal_id
            )
        return dataclasses.replace(principal, client_id=_client_id(verified.claims))


def _client_id(claims: Mapping[str, Any]) -> str:
    """The app client: ``client_id`` of an access token, ``aud`` of an ID token."""
    value = claims.get("client_id") if claims.get("token_use") == "access" else claims.get("aud")
    if not isinstance(value, str) or not value:
        raise CredentialRejected(Reason.WRONG_CLIENT, "the token names no app client")
    return value
