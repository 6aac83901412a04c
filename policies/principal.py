"""The principal: who a validated credential says the caller is.

Every validator (JWT, Cognito, SAML, SigV4) produces this one shape, and the policy
builder reads only it. Build one only from verified data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})
# Every value of Principal.scheme, so rules can name a scheme and a typo fails at load.
SCHEMES = ("jwt", "cognito", "saml", "sigv4", "sigv4-sts")


@dataclass(frozen=True, slots=True)
class Principal:
    principal_id: str  # becomes the response's principalId: the subject
    scheme: str  # one of SCHEMES
    issuer: str | None = None
    scopes: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    client_id: str | None = None
    expires_at: int | None = None  # epoch seconds
    claims: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)  # verified claims or attributes

    def __post_init__(self) -> None:
        if not isinstance(self.principal_id, str) or not self.principal_id:
            raise ValueError("principal_id must be a non-empty string")
        if not isinstance(self.claims, MappingProxyType):
            object.__setattr__(self, "claims", MappingProxyType(dict(self.claims)))
