"""The api-scope policy allows exactly what the rules allow: on the requested route and every other.

Checked two ways that share nothing with the compiler's own proof (policies/languages.py):
the IAM evaluator in tests/iam.py reads the returned policy, and RoutePattern.matches /
RuleSet.decide read the rules, over every concrete route of a small but nasty universe
(empty segments, deeper and sibling paths, "*" and "?" as data).
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.authorization import Authorization, PolicyScope
from policies.compiler import CompiledPolicy, NotExpressible, compile_policy
from policies.principal import Principal
from policies.request import parse_event
from policies.routes import HTTP_METHODS, RoutePattern, SegmentKind, parse_route, request_segments
from policies.rules import Condition, Effect, Rule, RuleSet
from tests import iam

API = "arn:aws:execute-api:us-east-1:123456789012:abcdef123"
VERBS = sorted(HTTP_METHODS)
SEGMENT_DATA = ["pets", "v1", "x", "*", "?", ""]
CONCRETE_PATHS = [
    "/".join(parts) for depth in range(4) for parts in itertools.product(SEGMENT_DATA, repeat=depth)
]  # "" is the root


def concrete_routes() -> list[tuple[str, str]]:
    return [(verb, path) for verb in VERBS for path in CONCRETE_PATHS]


def _arn(stage: str, verb: str, path: str) -> str:
    return f"{API}/{stage}/{verb}/{path}"


def _policy(compiled: CompiledPolicy, stage: str = "prod") -> dict[str, Any]:
    statements = []
    if compiled.allow:
        statements.append(
            {
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": [f"{API}/{stage}/{g}" for g in compiled.allow],
            }
        )
    if compiled.deny:
        statements.append(
            {
                "Action": "execute-api:Invoke",
                "Effect": "Deny",
                "Resource": [f"{API}/{stage}/{g}" for g in compiled.deny],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _rules_allow(allowed: list[RoutePattern], denied: list[RoutePattern], verb: str, path: str) -> bool:
    segments = request_segments(path)
    return any(p.matches(verb, segments) for p in allowed) and not any(p.matches(verb, segments) for p in denied)


def _in_universe(universe: list[RoutePattern] | None, verb: str, path: str) -> bool:
    return universe is None or any(p.matches(verb, request_segments(path)) for p in universe)


def assert_exact(allowed: list[RoutePattern], denied: list[RoutePattern], universe: list[RoutePattern] | None) -> None:
    compiled = compile_policy(allowed, denied, universe)
    policy = _policy(compiled)
    for verb, path in concrete_routes():
        if _in_universe(universe, verb, path):
            expected = _rules_allow(allowed, denied, verb, path)
            assert iam.allows(policy, _arn("prod", verb, path)) is expected, (compiled, verb, path)


def routes(*texts: str) -> list[RoutePattern]:
    return [parse_route(text) for text in texts]


PETSTORE = routes(
    "GET /pets", "POST /pets", "GET /pets/{id}", "DELETE /pets/{id}", "GET /pets/{id}/photos", "ANY /admin/{proxy+}"
)


@pytest.mark.parametrize(
    ("allowed", "denied", "universe", "expected"),
    [
        (["GET /pets"], [], None, CompiledPolicy(("GET/pets",))),
        (["GET /"], [], None, CompiledPolicy(("GET/",))),
        (["GET /pets", "GET /pets/{proxy+}"], [], None, CompiledPolicy(("GET/pets", "GET/pets/?*"))),
        (["ANY /", "ANY /{proxy+}"], [], None, CompiledPolicy(("*/*",))),
        # "*" in the verb's place would also match GET/x/pets: seven verbs, not one glob.
        (["ANY /pets"], [], None, CompiledPolicy(tuple(f"{v}/pets" for v in VERBS))),
        # One segment without a route list: "*" plus denials of what "*" adds.
        (["GET /pets/{id}"], [], None, CompiledPolicy(("GET/pets/*",), ("GET/pets/*/*", "GET/pets/"))),
        # With the API's routes, "*" is exact when no deeper route exists that is refused...
        (["GET /pets/{id}", "GET /pets/{id}/photos"], [], PETSTORE, CompiledPolicy(("GET/pets/*",))),
        # A policy exact on every path is preferred to one that relies on the route list.
        (
            ["GET /pets", "GET /pets/{id}"],
            [],
            PETSTORE,
            CompiledPolicy(("GET/pets", "GET/pets/*"), ("GET/pets/*/*", "GET/pets/")),
        ),
        # The route list bounds "*": the refused deeper route is denied by name.
        (
            ["GET /pets/{id}", "DELETE /pets/{id}"],
            [],
            [*PETSTORE, *routes("GET /pets/{id}/secret")],
            None,
        ),
        (["ANY /{proxy+}"], ["ANY /admin/{proxy+}"], PETSTORE, None),
        (["ANY /{proxy+}"], ["GET /pets/{id}"], PETSTORE, None),
        (["GET /pets/42"], [], PETSTORE, CompiledPolicy(("GET/pets/42",))),
        ([], [], None, CompiledPolicy(())),
        (["GET /pets"], ["ANY /pets"], None, CompiledPolicy(())),
    ],
)
def test_compiled_examples(
    allowed: list[str], denied: list[str], universe: list[RoutePattern] | None, expected: CompiledPolicy | None
) -> None:
    compiled = compile_policy(routes(*allowed), routes(*denied), universe)
    if expected is not None:
        assert compiled == expected
    assert_exact(routes(*allowed), routes(*denied), universe)


@pytest.mark.parametrize(
    ("allowed", "denied"),
    [
        (["GET /pets/{id}", "GET /pets/{id}/photos"], []),  # "pets/*/*" would refuse the photos
        (["ANY /{proxy+}"], ["GET /pets/{id}"]),  # "GET/pets/*" would refuse GET /pets/1/photos
    ],
)
def test_not_expressible_without_the_route_list(allowed: list[str], denied: list[str]) -> None:
    with pytest.raises(NotExpressible) as caught:
        compile_policy(routes(*allowed), routes(*denied))
    assert caught.value.example  # a path showing why


def test_the_route_list_makes_them_expressible() -> None:
    assert_exact(routes("GET /pets/{id}", "GET /pets/{id}/photos"), [], PETSTORE)
    assert_exact(routes("ANY /{proxy+}"), routes("GET /pets/{id}"), PETSTORE)


# Property: random rules over a small vocabulary, with and without a route list.
_segment = st.sampled_from(["pets", "v1", "x", "*", "{id}"])


@st.composite
def route_patterns(draw: st.DrawFn) -> RoutePattern:
    method = draw(st.sampled_from(["GET", "POST", "ANY"]))
    segments = draw(st.lists(_segment, max_size=3))
    if draw(st.booleans()) and len(segments) < 3:
        segments.append("{proxy+}")
    return parse_route(f"{method} /" + "/".join(segments))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    allowed=st.lists(route_patterns(), max_size=4),
    denied=st.lists(route_patterns(), max_size=2),
    universe=st.none() | st.lists(route_patterns(), min_size=1, max_size=6),
)
def test_compiled_policy_is_exact_or_refused(
    allowed: list[RoutePattern], denied: list[RoutePattern], universe: list[RoutePattern] | None
) -> None:
    if universe is not None:
        universe = universe + allowed + denied  # as Authorization builds it
    with contextlib.suppress(NotExpressible):  # the caller then answers for one route; tested below
        assert_exact(allowed, denied, universe)


def _concrete(pattern: RoutePattern) -> tuple[str, str]:
    texts = {SegmentKind.LITERAL: "", SegmentKind.ONE: "x", SegmentKind.REST: "x/pets"}
    path = "/".join(segment.text or texts[segment.kind] for segment in pattern.segments)
    return ("GET" if pattern.method == "*" else pattern.method), path


# Property through Authorization: principals, conditions, stages, and the requested route.
_rule = st.builds(
    lambda effect, patterns, stages, scopes, groups, unless: Rule(
        effect=effect,
        routes=tuple(patterns),
        stages=stages,
        when=Condition(scopes=frozenset(scopes), groups=frozenset(groups)),
        unless=tuple(unless),  # as OpenAPI rules yield to narrower routes
    ),
    st.sampled_from([Effect.ALLOW, Effect.ALLOW, Effect.DENY]),
    st.lists(route_patterns(), min_size=1, max_size=2),
    st.none() | st.just(frozenset({"prod"})),
    st.sets(st.sampled_from(["read", "write"])),
    st.sets(st.sampled_from(["vets", "admins"])),
    st.lists(route_patterns(), max_size=1),
)
_principal = st.builds(
    lambda scopes, groups: Principal("p", "jwt", scopes=frozenset(scopes), groups=frozenset(groups)),
    st.sets(st.sampled_from(["read", "write"])),
    st.sets(st.sampled_from(["vets", "admins"])),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.lists(_rule, min_size=1, max_size=4),
    principal=_principal,
    stage=st.sampled_from(["prod", "dev"]),
    requested=st.sampled_from(concrete_routes()) | st.none(),
    universe=st.none() | st.lists(route_patterns(), min_size=1, max_size=5),
)
def test_authorization_answers_exactly_for_every_route(
    rules: list[Rule],
    principal: Principal,
    stage: str,
    requested: tuple[str, str] | None,
    universe: list[RoutePattern] | None,
) -> None:
    if requested is None:  # a route the first rule names, so that allowed requests are common too
        requested = _concrete(rules[0].routes[0])
    rule_set = RuleSet(tuple(rules))
    authorization = Authorization(rule_set, routes=universe, scope=PolicyScope.API)
    verb, path = requested
    request = parse_event({"type": "TOKEN", "authorizationToken": "x", "methodArn": _arn(stage, verb, path)})
    verdict = authorization.decide(principal, request)
    policy = {"Version": "2012-10-17", "Statement": [s.as_dict() for s in verdict.statements]}

    def rules_say(v: str, p: str) -> bool:
        return rule_set.decide(principal, stage, v, request_segments(p)) is Effect.ALLOW

    if verdict.scope is PolicyScope.ROUTE and ("*" in path or "?" in path):
        assert not verdict.allowed  # a fallback never writes a wildcard it was sent
    else:
        assert verdict.allowed is rules_say(verb, path)
    assert iam.allows(policy, _arn(stage, verb, path)) is verdict.allowed
    known = None if authorization.universe is None else list(authorization.universe)
    for other_verb, other_path in concrete_routes():
        granted = iam.allows(policy, _arn(stage, other_verb, other_path))
        if verdict.scope is PolicyScope.API and _in_universe(known, other_verb, other_path):
            assert granted is rules_say(other_verb, other_path), (other_verb, other_path, verdict)
        elif verdict.scope is PolicyScope.ROUTE and granted:  # a fallback may refuse more, never allow more
            assert rules_say(other_verb, other_path), (other_verb, other_path, verdict)
        assert not iam.allows(policy, _arn("other", other_verb, other_path))  # never another stage
