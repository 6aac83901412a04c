"""The authorizer context: flat, bounded, and the same for every validator.

API Gateway accepts only string, number and boolean context values (an object or
array makes it answer 500), and backends receive them as strings. Lists are joined,
objects are JSON-encoded, and keys and total size are bounded so the whole response
stays well inside API Gateway's limits (8 KB for WebSocket authorizer results).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Union

from policies.errors import ContextError
from policies.principal import Principal

ContextValue = Union[str, int, float, bool]
Context = dict[str, ContextValue]

MAX_KEYS = 64
MAX_KEY_LENGTH = 128
MAX_CONTEXT_BYTES = 4096
LIST_SEPARATOR = ","
# "claims" is reserved by HTTP API payload 1.0; the rest are the built-in keys below.
RESERVED_KEYS = frozenset({"claims", "principalId"})
BUILT_IN_KEYS = frozenset({"scheme", "sub", "issuer", "scopes", "groups", "client_id", "expires_at"})
_KEY = re.compile(r"[A-Za-z0-9_.:-]+")


def check_context_key(key: str) -> None:
    """Refuse a key API Gateway or our built-in keys would clash with; used at cold start."""
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise ContextError(f"context key {key!r} must be 1-{MAX_KEY_LENGTH} of A-Z a-z 0-9 _ . : -")
    if key in RESERVED_KEYS or key in BUILT_IN_KEYS:
        raise ContextError(f"context key {key!r} is reserved")


def flatten(value: object) -> ContextValue | None:
    """One context value: scalars kept, lists of scalars joined, anything else JSON-encoded."""
    if value is None:
        return None
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, bool, int, float)) for v in value):
        return LIST_SEPARATOR.join(_scalar_text(v) for v in value)
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ContextError("context value cannot be encoded as JSON") from exc


def principal_context(principal: Principal, claim_names: Iterable[str] = ()) -> Context:
    """The built-in keys, then each named claim the principal carries."""
    context: Context = {"scheme": principal.scheme, "sub": principal.principal_id}
    if principal.issuer is not None:
        context["issuer"] = principal.issuer
    if principal.scopes:
        context["scopes"] = " ".join(sorted(principal.scopes))  # OAuth 2.0 scope syntax
    if principal.groups:
        context["groups"] = LIST_SEPARATOR.join(sorted(principal.groups))
    if principal.client_id is not None:
        context["client_id"] = principal.client_id
    if principal.expires_at is not None:
        context["expires_at"] = principal.expires_at
    for name in claim_names:
        flat = flatten(principal.claims.get(name))
        if flat is not None:
            context[name] = flat
    return bounded(context)


def bounded(context: Mapping[str, object]) -> Context:
    """Check types, key count and total size; never truncate (a cut value would mislead)."""
    if len(context) > MAX_KEYS:
        raise ContextError(f"context has more than {MAX_KEYS} keys")
    checked: Context = {}
    for key, value in context.items():
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            raise ContextError("context key is empty, not a string or too long")
        if isinstance(value, float) and not math.isfinite(value):  # NaN and inf are not JSON
            raise ContextError(f"context value of {key!r} is not a number")
        if not isinstance(value, (str, bool, int, float)):
            raise ContextError(f"context value of {key!r} is not a string, number or boolean")
        checked[key] = value
    size = len(json.dumps(checked, separators=(",", ":"), allow_nan=False).encode("utf-8"))
    if size > MAX_CONTEXT_BYTES:
        raise ContextError(f"context is {size} bytes, over the {MAX_CONTEXT_BYTES}-byte bound")
    return checked


def _scalar_text(value: str | bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
