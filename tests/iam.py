"""A small IAM policy evaluator for execute-api ARNs, as API Gateway applies an authorizer's policy.

``*`` matches any run of characters (slashes included), ``?`` exactly one; an explicit
Deny wins over any Allow; no matching Allow means denied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.DOTALL)


def matches(pattern: str, arn: str) -> bool:
    return _glob(pattern).fullmatch(arn) is not None


def allows(policy_document: Mapping[str, Any], arn: str, action: str = "execute-api:Invoke") -> bool:
    allowed = False
    for statement in policy_document["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        if not any(matches(a, action) for a in actions):
            continue
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        if any(matches(resource, arn) for resource in resources):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed
