"""How API Gateway reads a policy: does it allow this method ARN?

``*`` matches any run of characters (slashes included), ``?`` exactly one; an explicit
Deny wins; nothing matching means denied. Used to check every answer against the
request it is for, and by the CLI to name an outcome.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any


@functools.lru_cache(maxsize=4096)
def _pattern(glob: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in glob), re.DOTALL)


def resource_matches(glob: str, arn: str) -> bool:
    return _pattern(glob).fullmatch(arn) is not None


def policy_allows(policy_document: Mapping[str, Any], arn: str) -> bool:
    allowed = False
    for statement in policy_document.get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(resource_matches(resource, arn) for resource in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = statement.get("Effect") == "Allow" or allowed
    return allowed
