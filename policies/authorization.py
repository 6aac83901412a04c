"""Which routes a verified principal may call, answered so that a cached answer stays right.

Without rules, a valid principal may call the whole API and stage (the default). With
rules, the requested route is decided by :meth:`RuleSet.decide`, and the policy lists:

* scope ``api`` (default): every route the principal may call in this API and stage,
  compiled once per principal class (the set of rules that apply to it) and proved
  exact, so API Gateway can reuse it for the principal's next route;
* scope ``route``: only the requested method ARN (the authorizer cache TTL must be 0).

When the api-scope policy cannot be made exact or does not fit the size budget, the
answer falls back to the requested route, with a note for the log: narrower, never wider.
A request path is data: one holding ``*`` or ``?`` is never copied into a Resource.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from policies.compiler import CompiledPolicy, NotExpressible, RouteSet, compile_policy
from policies.errors import PolicyError
from policies.evaluate import resource_matches
from policies.principal import Principal
from policies.request import AuthorizerRequest, EventKind
from policies.response import MAX_RESOURCE_ARN_LENGTH, Statement, whole_stage
from policies.routes import HTTP_METHODS, RoutePattern, SegmentKind, request_segments
from policies.rules import Effect, RuleSet

MAX_POLICY_BYTES = 8192  # our budget for the policy document; WebSocket results are capped at 8 KB
CONSOLE_STAGE = "*"  # what the API Gateway console's "Test authorizer" sends as the stage
WEBSOCKET_METHOD = "GET"  # a WebSocket $connect is matched as the route "GET /$connect"
_MAX_COMPILED_CLASSES = 1024
_STATEMENT_OVERHEAD = len('{"Action":"execute-api:Invoke","Effect":"Allow","Resource":[]},')


class PolicyScope(enum.Enum):
    API = "api"
    ROUTE = "route"


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool  # the requested route
    statements: tuple[Statement, ...]
    scope: PolicyScope  # what the statements were built for
    principal_class: str = ""  # the rules that applied, for the log
    note: str | None = None  # why the statements are narrower than the configured scope


class Authorization:
    """Rules (optional), the API's known routes (optional) and the policy scope, checked once."""

    def __init__(
        self,
        rules: RuleSet | None = None,
        routes: Sequence[RoutePattern] | None = None,
        scope: PolicyScope = PolicyScope.API,
        max_policy_bytes: int = MAX_POLICY_BYTES,
        route_only_schemes: frozenset[str] = frozenset(),
    ) -> None:
        self.rules = rules
        self.scope = scope
        # Principals of these schemes get answers for the requested route only, whatever the
        # scope: a SigV4 signature proves one request, not an identity for the whole API.
        self.route_only_schemes = route_only_schemes
        self.max_policy_bytes = max_policy_bytes
        # Paths outside the API's routes never reach the authorizer; the rules' own routes
        # are added so the proof covers them even when the document forgot one.
        self.universe: tuple[RoutePattern, ...] | None = None
        if routes is not None and rules is not None:
            own = (route for rule in rules.rules for route in rule.routes)
            self.universe = tuple(dict.fromkeys((*routes, *own)))
        self._compiled: dict[tuple[int, ...], CompiledPolicy | NotExpressible] = {}
        self._per_stage = rules is not None and any(rule.stages is not None for rule in rules.rules)

    def cold_start_notes(self) -> list[str]:
        """Things an operator should know, logged once when the handler starts."""
        if self.rules is None or self.scope is PolicyScope.ROUTE or self.universe is not None:
            return []
        one_segment = any(
            segment.kind is SegmentKind.ONE
            for rule in self.rules.rules
            for route in rule.routes
            for segment in route.segments
        )
        if not one_segment:
            return []
        return [
            "rules use one-segment wildcards ('*' or {param}) and no route list (AUTHZ_OPENAPI) is configured: "
            "IAM wildcards cannot always express them exactly, so some principals get answers for the requested "
            "route only (logged); give the API's OpenAPI document, or set the authorizer cache TTL to 0"
        ]

    def decide(self, principal: Principal, request: AuthorizerRequest) -> Verdict:
        route_only = self.scope is PolicyScope.ROUTE or principal.scheme in self.route_only_schemes
        if self.rules is None:
            if route_only:  # any principal, but an answer for this route only
                return _route_verdict(request, True, "any principal", None)
            return Verdict(True, (Statement("Allow", (whole_stage(request),)),), PolicyScope.API, "any principal")
        stage = request.method_arn.api.stage
        if stage == CONSOLE_STAGE and self._per_stage:
            # The console's test sends stage "*": its policy would cover every stage, which
            # stage-specific rules cannot answer for. Refuse rather than guess.
            note = "stage '*' (console test) cannot be matched against rules limited to stages"
            return Verdict(False, (Statement("Deny", (whole_stage(request),)),), PolicyScope.ROUTE, "", note)
        method, segments = _route_of(request)
        applicable = self.rules.applicable(principal, stage)
        principal_class = _describe(applicable)
        allowed = method in HTTP_METHODS and self.rules.decide_among(applicable, method, segments) is Effect.ALLOW
        if route_only or request.kind is EventKind.WEBSOCKET:
            return _route_verdict(request, allowed, principal_class, None)
        compiled = self._compile(applicable)
        if isinstance(compiled, NotExpressible):
            return _route_verdict(request, allowed, principal_class, f"api scope not exact: {compiled}")
        try:
            statements = _statements(request, compiled, allowed)
        except PolicyError as exc:  # a Resource longer than IAM accepts
            return _route_verdict(request, allowed, principal_class, f"api scope not possible: {exc}")
        problem = self._check(request, statements, allowed)
        if problem:
            return _route_verdict(request, allowed, principal_class, problem)
        return Verdict(allowed, statements, PolicyScope.API, principal_class)

    def _compile(self, applicable: tuple[int, ...]) -> CompiledPolicy | NotExpressible:
        cached = self._compiled.get(applicable)
        if cached is None:
            assert self.rules is not None
            rules = [self.rules.rules[index] for index in applicable]
            allowed = [RouteSet(rule.routes, rule.unless) for rule in rules if rule.effect is Effect.ALLOW]
            denied = [RouteSet(rule.routes, rule.unless) for rule in rules if rule.effect is Effect.DENY]
            try:
                cached = compile_policy(allowed, denied, self.universe)
            except NotExpressible as exc:
                cached = exc
            if len(self._compiled) >= _MAX_COMPILED_CLASSES:
                self._compiled.clear()
            self._compiled[applicable] = cached
        return cached

    def _check(self, request: AuthorizerRequest, statements: tuple[Statement, ...], allowed: bool) -> str | None:
        # The serialised size, counted rather than serialised: ARNs need no JSON escaping.
        size = sum(_STATEMENT_OVERHEAD + sum(len(r) + 3 for r in s.resources) for s in statements)
        if size > self.max_policy_bytes:
            return f"api-scope policy is {size} bytes, over the {self.max_policy_bytes}-byte budget"
        # The proof covers every path; this re-checks the one at hand against the real ARN.
        arn = request.method_arn.text
        granted = any(resource_matches(r, arn) for s in statements if s.effect == "Allow" for r in s.resources)
        blocked = any(resource_matches(r, arn) for s in statements if s.effect == "Deny" for r in s.resources)
        if (granted and not blocked) != allowed:
            return "api-scope policy disagrees with the rules on the requested route"
        return None


def _route_of(request: AuthorizerRequest) -> tuple[str, tuple[str, ...]]:
    arn = request.method_arn
    if arn.verb is None:  # WebSocket: the route key, as one segment
        return WEBSOCKET_METHOD, (arn.resource,)
    return arn.verb, request_segments(arn.resource)


def _describe(applicable: tuple[int, ...]) -> str:
    if not applicable:
        return "no rule applies"
    return "rules " + ",".join(str(index + 1) for index in applicable)


def _literal_arn(request: AuthorizerRequest) -> str | None:
    """The requested ARN when it can stand in a Resource as itself (no wildcard characters)."""
    arn = request.method_arn.text
    resource = request.method_arn.resource
    if "*" in resource or "?" in resource or len(arn) > MAX_RESOURCE_ARN_LENGTH:
        return None
    return arn


def _route_verdict(request: AuthorizerRequest, allowed: bool, principal_class: str, note: str | None) -> Verdict:
    literal = _literal_arn(request)
    if allowed and literal is not None:
        return Verdict(True, (Statement("Allow", (literal,)),), PolicyScope.ROUTE, principal_class, note)
    if allowed:  # allowed, but the path cannot be written without widening it
        note = (note + "; " if note else "") + "requested path cannot be written as a Resource: denied"
    return Verdict(False, (Statement("Deny", (whole_stage(request),)),), PolicyScope.ROUTE, principal_class, note)


def _statements(request: AuthorizerRequest, compiled: CompiledPolicy, allowed: bool) -> tuple[Statement, ...]:
    api = request.method_arn.api
    if not compiled.allow:
        return (Statement("Deny", (whole_stage(request),)),)
    statements = [Statement("Allow", tuple(api.arn(glob) for glob in compiled.allow))]
    denied = [api.arn(glob) for glob in compiled.deny]
    literal = _literal_arn(request)
    if not allowed and literal is not None:
        denied.append(literal)  # an explicit Deny for the route asked, harmless to the rest
    if denied:
        statements.append(Statement("Deny", tuple(dict.fromkeys(denied))))
    return tuple(statements)
