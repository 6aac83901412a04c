"""Claim validation for a token whose signature is already verified.

Time is injected (``now``), so expiry boundaries are tested exactly. Following RFC 7519
and pyjwt: expired when ``now - leeway >= exp``; not yet valid when ``nbf > now + leeway``;
issued in the future when ``iat > now + leeway``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from authorizers.errors import CredentialRejected, InsufficientPermission, Reason
from authorizers.jwt.config import IssuerConfig
from policies.rules import claim_matches

MAX_SUBJECT_LENGTH = 1024


def check_time(claims: Mapping[str, Any], now: float, leeway: int) -> None:
    if "exp" not in claims:
        raise CredentialRejected(Reason.MISSING_CLAIM, "exp is required")
    exp = _number(claims, "exp")
    if now - leeway >= exp:
        raise CredentialRejected(Reason.EXPIRED, "token has expired")
    if "nbf" in claims and _number(claims, "nbf") > now + leeway:
        raise CredentialRejected(Reason.NOT_YET_VALID, "token is not valid yet")
    if "iat" in claims and _number(claims, "iat") > now + leeway:
        raise CredentialRejected(Reason.ISSUED_IN_FUTURE, "token was issued in the future")


def check_audience(claims: Mapping[str, Any], expected: frozenset[str] | None) -> None:
    if expected is None:
        return  # switched off explicitly in the configuration
    aud = claims.get("aud")
    if aud is None:
        raise CredentialRejected(Reason.INVALID_AUDIENCE, "aud is required")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not audiences or not all(isinstance(a, str) for a in audiences):
        raise CredentialRejected(Reason.INVALID_AUDIENCE, "aud must be a string or a list of strings")
    if expected.isdisjoint(audiences):
        raise CredentialRejected(Reason.INVALID_AUDIENCE, "token is meant for another audience")


def check_token_type(header: Mapping[str, Any], expected: str | None) -> None:
    if expected is None:
        return
    typ = header.get("typ")
    if not isinstance(typ, str) or media_type(typ) != media_type(expected):
        raise CredentialRejected(Reason.WRONG_TOKEN_TYPE, f"typ must be {expected!r}")


def media_type(value: str) -> str:
    """RFC 7515 4.1.9: "application/" may be omitted and the comparison ignores case."""
    lowered = value.strip().lower()
    return lowered[len("application/") :] if lowered.startswith("application/") else lowered


def subject(claims: Mapping[str, Any]) -> str:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUBJECT_LENGTH:
        raise CredentialRejected(Reason.INVALID_SUBJECT, "sub must be a non-empty string")
    return sub


def scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    """Scopes from ``scope`` (RFC 8693/9068: space-separated) or ``scp`` (string or list)."""
    raw = claims["scope"] if "scope" in claims else claims.get("scp")
    if raw is None:
        return frozenset()
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        return frozenset(raw)
    raise CredentialRejected(Reason.MALFORMED_CLAIMS, "scope/scp must be a string or a list of strings")


def string_set(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    raw = claims.get(name)
    if raw is None:
        return frozenset()
    if isinstance(raw, str):
        return frozenset({raw})
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        return frozenset(raw)
    raise CredentialRejected(Reason.MALFORMED_CLAIMS, f"{name} must be a string or a list of strings")


def check_permissions(claims: Mapping[str, Any], granted_scopes: frozenset[str], config: IssuerConfig) -> None:
    """Checks a valid token can fail with a Deny (403) rather than a 401."""
    missing = config.required_scopes - granted_scopes
    if missing:
        raise InsufficientPermission(Reason.INSUFFICIENT_SCOPE, f"missing scope(s) {sorted(missing)}")
    for name, accepted in config.required_claims.items():
        if not claim_matches(claims.get(name), accepted):
            raise InsufficientPermission(Reason.CLAIM_MISMATCH, f"claim {name!r} does not have a required value")


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CredentialRejected(Reason.INVALID_TIME_CLAIM, f"{name} must be a number")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float: JSON allows it, time does not
        raise CredentialRejected(Reason.INVALID_TIME_CLAIM, f"{name} is out of range") from None
    if not math.isfinite(number):
        raise CredentialRejected(Reason.INVALID_TIME_CLAIM, f"{name} must be a finite number")
    return number
