"""Route patterns: ``METHOD /path`` as written in rules and OpenAPI documents.

METHOD is an HTTP verb, ``ANY`` or ``*``. A path segment is a literal, ``*`` or
``{param}`` (exactly one non-empty segment), or ``{proxy+}`` (everything below, not
empty; last only).
Versions are path prefixes (``/v1/pets``). Literal segments may not contain the IAM
wildcard characters ``*`` and ``?``: a pattern always means what it says.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from policies.errors import PolicyError

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
ANY_METHOD = "*"
_LITERAL = re.compile(r"[A-Za-z0-9._~!$&'()+,;=:@%-]+")
_PARAM = re.compile(r"\{([A-Za-z0-9_.-]+)\}")
_GREEDY = re.compile(r"\{([A-Za-z0-9_.-]+)\+\}")


class RouteError(PolicyError):
    """A route pattern that cannot be parsed."""


class SegmentKind(enum.Enum):
    LITERAL = "literal"
    ONE = "one"  # "*" or "{param}": exactly one segment
    REST = "rest"  # "{proxy+}": one or more segments


@dataclass(frozen=True, slots=True)
class Segment:
    kind: SegmentKind
    text: str = ""  # the literal; empty for wildcards

    def __str__(self) -> str:
        return {SegmentKind.LITERAL: self.text, SegmentKind.ONE: "*", SegmentKind.REST: "{proxy+}"}[self.kind]


@dataclass(frozen=True, slots=True)
class RoutePattern:
    method: str  # an HTTP verb, or "*" for any
    segments: tuple[Segment, ...]

    def __str__(self) -> str:
        method = "ANY" if self.method == ANY_METHOD else self.method
        return f"{method} /" + "/".join(str(s) for s in self.segments)

    def matches(self, method: str, path_segments: Sequence[str]) -> bool:
        """Does a concrete request (verb, path split on "/") fall under this pattern?"""
        if self.method not in (ANY_METHOD, method):
            return False
        return _match(self.segments, tuple(path_segments))


def parse_route(text: object) -> RoutePattern:
    if not isinstance(text, str):
        raise RouteError("a route must be a string like 'GET /pets/{id}'")
    parts = text.split()
    if len(parts) != 2:
        raise RouteError(f"route {text!r} must be 'METHOD /path'")
    method_text, path = parts
    method = method_text.upper()
    if method in ("ANY", "*"):
        method = ANY_METHOD
    elif method not in HTTP_METHODS:
        raise RouteError(f"route {text!r}: {method_text!r} is not an HTTP method, ANY or *")
    return RoutePattern(method=method, segments=parse_path(path, text))


def parse_path(path: str, context: str) -> tuple[Segment, ...]:
    if not path.startswith("/"):
        raise RouteError(f"route {context!r}: the path must start with '/'")
    if path == "/":
        return ()
    raw_segments = path[1:].split("/")
    segments = []
    for index, raw in enumerate(raw_segments):
        if raw == "":
            raise RouteError(f"route {context!r}: empty path segment (double or trailing '/')")
        if raw == "*" or _PARAM.fullmatch(raw):
            segments.append(Segment(SegmentKind.ONE))
        elif _GREEDY.fullmatch(raw):
            if index != len(raw_segments) - 1:
                raise RouteError(f"route {context!r}: a greedy {raw} segment must be the last")
            segments.append(Segment(SegmentKind.REST))
        elif _LITERAL.fullmatch(raw):
            segments.append(Segment(SegmentKind.LITERAL, raw))
        else:
            raise RouteError(f"route {context!r}: segment {raw!r} is not a literal, '*', '{{param}}' or '{{proxy+}}'")
    return tuple(segments)


def request_segments(resource: str) -> tuple[str, ...]:
    """The path segments of a method ARN's resource, kept as sent (``pets/`` -> ``("pets", "")``).

    Nothing is normalised away: an empty segment matches no literal or one-segment
    wildcard, exactly as the same ARN matches no IAM glob built from those.
    """
    return tuple(resource.split("/")) if resource else ()


def _match(pattern: tuple[Segment, ...], path: tuple[str, ...]) -> bool:
    for index, segment in enumerate(pattern):
        if segment.kind is SegmentKind.REST:
            # Whatever remains, as long as it is not empty: what the IAM glob "?*" means.
            return len(path) > index and "/".join(path[index:]) != ""
        if index >= len(path) or not path[index]:
            return False
        if segment.kind is SegmentKind.LITERAL and path[index] != segment.text:
            return False
    return len(path) == len(pattern)
