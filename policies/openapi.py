"""Authorization rules from an OpenAPI 3.0 / 3.1 or Swagger 2.0 document.

Each operation becomes a route (``GET /pets/{petId}``; ``x-amazon-apigateway-any-method``
becomes ``ANY``) and allow rules built from its effective security: the operation's
``security`` if present (even ``[]``), else the document's top-level ``security``.

- Each security requirement object is one alternative; the schemes inside one object must
  all hold, so its condition requires the union of their scope lists.
- ``security: []``, a ``{}`` requirement, or no security anywhere: any authenticated
  principal. This authorizer sits in front of the API, so every caller it lets through has
  already presented a valid credential; "no security" cannot mean "no caller at all".
- The strings listed for a scheme that is not oauth2/openIdConnect (OpenAPI 3.1 allows
  role names there) are required scopes all the same: a list never widens access.
- The principal does not say which scheme it satisfied, so a requirement counts only when
  all its schemes are among ``schemes`` (every scheme when ``None``); other requirements
  are skipped. An operation whose requirements are all skipped gets no allow rule: callers
  are denied, never granted something wider.

Routes are the paths as written: Swagger ``basePath`` and OpenAPI ``servers`` are ignored,
because API Gateway's method ARNs carry the resource paths of the document, not the URLs.

API Gateway sends a request to the narrowest route that matches it (``GET /pet/findByStatus``
over ``GET /pet/{petId}``, ``GET /v2/pets`` over ``ANY /v2/{proxy+}``), so a wider route's
rules must not allow, inside a narrower route, a caller the narrower route refuses. Where
they would, the wider route's rules carry those narrower routes in ``unless``: the rule
covers its route except what API Gateway sends elsewhere. Two routes that can match the
same request with neither narrower, and security that differs, are refused: which one API
Gateway picks differs between REST and HTTP APIs.

Everything is checked here, at cold start; each problem names the source and the path.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from policies.routes import ANY_METHOD, RouteError, RoutePattern, Segment, SegmentKind, parse_route
from policies.rules import Condition, Effect, Rule, RuleError, RuleSet, read_document

ANY_METHOD_KEY = "x-amazon-apigateway-any-method"
_METHODS = {
    "get": "GET",
    "put": "PUT",
    "post": "POST",
    "delete": "DELETE",
    "options": "OPTIONS",
    "head": "HEAD",
    "patch": "PATCH",
    ANY_METHOD_KEY: ANY_METHOD,
}
_NOT_OPERATIONS = frozenset({"parameters", "summary", "description", "servers"})
_OPENAPI_3 = re.compile(r"3\.[01]\.[0-9]+")
_ANYONE: tuple[frozenset[str], ...] = (frozenset(),)  # one alternative that needs no scope


class OpenApiError(RuleError):
    """An OpenAPI document that cannot become rules; raised while loading, never at request time."""


@dataclass(frozen=True, slots=True)
class OpenApiRules:
    rules: RuleSet  # allow rules, one per operation and distinct alternative
    routes: tuple[RoutePattern, ...]  # every operation as a route, in document order


@dataclass(frozen=True, slots=True)
class _Operation:
    route: RoutePattern
    name: str  # "GET /pets/{petId}", as written in the document
    alternatives: tuple[frozenset[str], ...]  # the scopes of each requirement that can be met


Requirement = Mapping[str, frozenset[str]]  # scheme name -> its scope list


def load_openapi(path: str, schemes: frozenset[str] | None = None) -> OpenApiRules:
    """Rules from an OpenAPI or Swagger file (YAML or JSON)."""
    return openapi_rules(read_document(Path(path)), path, schemes)


def openapi_rules(document: object, source: str, schemes: frozenset[str] | None = None) -> OpenApiRules:
    """Rules and routes from a parsed document; ``schemes``: the scheme names that count (None: all)."""
    if not isinstance(document, Mapping):
        raise OpenApiError(f"{source}: the document must be an object")
    version = _version(document, source)
    defined = _defined_schemes(document, version, source)
    counted = _counted_schemes(schemes, defined, source)
    default = _requirements(document["security"], defined, f"{source}: top level") if "security" in document else ()
    operations = list(_operations(document, source, defined, counted, default))
    if not operations:
        raise OpenApiError(f"{source}: the document has no operations")
    _refuse_duplicate_routes(operations, source)
    outranked = _outranked_by(operations, source)
    rules = tuple(rule for operation in operations for rule in _rules(operation, outranked[operation.route], source))
    return OpenApiRules(rules=RuleSet(rules), routes=tuple(operation.route for operation in operations))


def _version(document: Mapping[object, object], source: str) -> int:
    if "openapi" in document and "swagger" in document:
        raise OpenApiError(f"{source}: a document is either OpenAPI ('openapi') or Swagger ('swagger'), not both")
    openapi, swagger = document.get("openapi"), document.get("swagger")
    if isinstance(openapi, str) and _OPENAPI_3.fullmatch(openapi):
        return 3
    if isinstance(swagger, str) and swagger == "2.0":
        return 2
    if "openapi" in document:
        found = f"openapi: {openapi!r}"
    else:
        found = f"swagger: {swagger!r}" if "swagger" in document else "neither 'openapi' nor 'swagger'"
    # YAML reads an unquoted 2.0 or 3.0 as a number: the hint saves a puzzled operator.
    raise OpenApiError(
        f"{source}: not an OpenAPI 3.0/3.1 or Swagger 2.0 document ({found}; the version is a quoted string)"
    )


def _defined_schemes(document: Mapping[object, object], version: int, source: str) -> frozenset[str]:
    if version == 2:
        where, raw = "securityDefinitions", document.get("securityDefinitions", {})
    else:
        components = document.get("components", {})
        if not isinstance(components, Mapping):
            raise OpenApiError(f"{source}: 'components' must be an object")
        where, raw = "components.securitySchemes", components.get("securitySchemes", {})
    if not isinstance(raw, Mapping):
        raise OpenApiError(f"{source}: '{where}' must be an object of named security schemes")
    for name, scheme in raw.items():
        if not isinstance(name, str) or not name or not isinstance(scheme, Mapping):
            raise OpenApiError(f"{source}: {where}: scheme {name!r} must be a named object")
    return frozenset(raw)


def _counted_schemes(schemes: frozenset[str] | None, defined: frozenset[str], source: str) -> frozenset[str]:
    if schemes is None:
        return defined
    if not schemes:
        # Counting no scheme would deny every secured operation: surely a mistake, so say so.
        raise OpenApiError(f"{source}: no security schemes selected; select None to count every scheme")
    unknown = schemes - defined
    if unknown:
        raise OpenApiError(
            f"{source}: selected security scheme(s) {sorted(unknown)} are not defined in the document"
            f" (defined: {sorted(defined)})"
        )
    return schemes


def _requirements(raw: object, defined: frozenset[str], where: str) -> tuple[Requirement, ...]:
    """A validated ``security`` list; every scheme it names must be defined."""
    if not isinstance(raw, list):
        raise OpenApiError(f"{where}: 'security' must be a list of security requirement objects")
    requirements = []
    for index, requirement in enumerate(raw, start=1):
        if not isinstance(requirement, Mapping):
            raise OpenApiError(f"{where}: security requirement {index} must be an object of scheme: [scopes]")
        scopes_by_scheme: dict[str, frozenset[str]] = {}
        for scheme, scopes in requirement.items():
            if scheme not in defined:
                raise OpenApiError(
                    f"{where}: security requirement {index} names undefined security scheme {scheme!r}"
                    f" (defined: {sorted(defined)})"
                )
            if not isinstance(scopes, list) or not all(isinstance(scope, str) and scope for scope in scopes):
                raise OpenApiError(
                    f"{where}: security requirement {index}: scheme {scheme!r} needs a list of scope strings"
                )
            scopes_by_scheme[scheme] = frozenset(scopes)
        requirements.append(scopes_by_scheme)
    return tuple(requirements)


def _alternatives(requirements: tuple[Requirement, ...], counted: frozenset[str]) -> tuple[frozenset[str], ...]:
    """The distinct scope sets of the requirements this authorizer's principal can meet."""
    if not requirements:  # "security: []" or none at all
        return _ANYONE
    alternatives: list[frozenset[str]] = []
    for requirement in requirements:
        if not requirement.keys() <= counted:
            continue  # a scheme this authorizer does not check: it cannot be met here
        scopes = frozenset().union(*requirement.values())
        if scopes not in alternatives:
            alternatives.append(scopes)
    # An alternative that needs nothing makes the others redundant.
    return _ANYONE if frozenset() in alternatives else tuple(alternatives)


def _operations(
    document: Mapping[object, object],
    source: str,
    defined: frozenset[str],
    counted: frozenset[str],
    default: tuple[Requirement, ...],
) -> Iterator[_Operation]:
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        raise OpenApiError(f"{source}: 'paths' must be an object of path templates")
    for path, item in paths.items():
        if not isinstance(path, str):
            raise OpenApiError(f"{source}: path {path!r} must be a string")
        if path.startswith("x-"):
            continue  # an extension, not a path
        segments = _segments(path, source)
        if not isinstance(item, Mapping):
            raise OpenApiError(f"{source}: path {path}: the path item must be an object")
        if "$ref" in item:
            raise OpenApiError(f"{source}: path {path}: path item $ref is not supported")
        for key, operation in item.items():
            if key in _NOT_OPERATIONS or (isinstance(key, str) and key.startswith("x-") and key != ANY_METHOD_KEY):
                continue
            if key == "trace":
                raise OpenApiError(f"{source}: path {path}: API Gateway does not support TRACE")
            if key not in _METHODS:
                raise OpenApiError(f"{source}: path {path}: unknown path item key {key!r}")
            method = _METHODS[key]
            name = f"{'ANY' if method == ANY_METHOD else method} {path}"
            if not isinstance(operation, Mapping):
                raise OpenApiError(f"{source}: {name}: the operation must be an object")
            where = f"{source}: {name}"
            requirements = _requirements(operation["security"], defined, where) if "security" in operation else default
            yield _Operation(RoutePattern(method, segments), name, _alternatives(requirements, counted))


def _segments(path: str, source: str) -> tuple[Segment, ...]:
    """The route segments of a path template, refusing what a route pattern cannot say exactly."""
    if any(character.isspace() for character in path):
        raise OpenApiError(f"{source}: path {path!r}: a path template may not contain whitespace")
    if "*" in path.split("/"):
        # In a route pattern "*" is a wildcard; in a path template it would be a literal.
        raise OpenApiError(f"{source}: path {path}: a '*' segment is not a path template")
    try:
        return parse_route(f"ANY {path}").segments
    except RouteError as exc:
        raise OpenApiError(f"{source}: path {path}: {exc}") from None


def _refuse_duplicate_routes(operations: list[_Operation], source: str) -> None:
    seen: dict[RoutePattern, str] = {}
    for operation in operations:
        if operation.route in seen:
            raise OpenApiError(
                f"{source}: {seen[operation.route]} and {operation.name} are the same route ({operation.route});"
                " API Gateway refuses such a document too"
            )
        seen[operation.route] = operation.name


def _outranked_by(operations: list[_Operation], source: str) -> dict[RoutePattern, tuple[RoutePattern, ...]]:
    """For each route, the narrower routes whose requests its rules must leave alone."""
    outranked: dict[RoutePattern, list[RoutePattern]] = {operation.route: [] for operation in operations}
    for first, second in itertools.combinations(operations, 2):
        if not _overlap(first.route, second.route):
            continue
        if _covers(second.route, first.route):
            wide, narrow = second, first
        elif _covers(first.route, second.route):
            wide, narrow = first, second
        elif _grants_within(first, second) and _grants_within(second, first):
            continue  # whichever API Gateway picks, the same callers pass
        else:
            raise OpenApiError(
                f"{source}: {first.name} and {second.name} can match the same request and neither is narrower,"
                " so which one API Gateway picks depends on the API type; their security differs:"
                " give them the same security or make one path narrower"
            )
        # Only where the wide rules would let in someone the narrow route refuses must they yield.
        if not _grants_within(wide, narrow):
            outranked[wide.route].append(narrow.route)
    return {route: tuple(narrower) for route, narrower in outranked.items()}


def _grants_within(operation: _Operation, other: _Operation) -> bool:
    """Does every caller ``operation`` allows also meet one alternative of ``other``?"""
    return all(any(needed <= scopes for needed in other.alternatives) for scopes in operation.alternatives)


def _overlap(first: RoutePattern, second: RoutePattern) -> bool:
    """Can one concrete request match both routes?"""
    if ANY_METHOD not in (first.method, second.method) and first.method != second.method:
        return False
    for one, other in itertools.zip_longest(first.segments, second.segments):
        if one is None or other is None:
            return False  # different lengths, and no greedy segment before the end of the shorter
        if SegmentKind.REST in (one.kind, other.kind):
            return True  # one or more segments: the other route's remaining segments fit
        if one.kind is SegmentKind.LITERAL and other.kind is SegmentKind.LITERAL and one.text != other.text:
            return False
    return True


def _covers(wide: RoutePattern, narrow: RoutePattern) -> bool:
    """Does every request that ``narrow`` matches also match ``wide``?"""
    if wide.method not in (ANY_METHOD, narrow.method):
        return False
    for index, segment in enumerate(wide.segments):
        if segment.kind is SegmentKind.REST:
            return len(narrow.segments) > index
        if index >= len(narrow.segments) or narrow.segments[index].kind is SegmentKind.REST:
            return False
        if segment.kind is SegmentKind.LITERAL and narrow.segments[index] != segment:
            return False
    return len(narrow.segments) == len(wide.segments)


def _rules(operation: _Operation, outranked_by: tuple[RoutePattern, ...], source: str) -> Iterator[Rule]:
    label = f"{source}: {operation.name}"
    for scopes in operation.alternatives:
        yield Rule(
            effect=Effect.ALLOW,
            routes=(operation.route,),
            stages=None,
            when=Condition(scopes=scopes),
            label=label,
            unless=outranked_by,
        )
