"""Compile the rules that apply to one principal into IAM resources that mean exactly the same.

The result must stay right when API Gateway caches it for the principal's next request,
so it has to allow every route the rules allow and nothing else: on every path of
the API, not only the one requested. IAM resource wildcards cannot say "one segment"
(``*`` also matches ``1/photos`` and the empty string), so candidates are built from
simple translations and each is proved against the rules by
:func:`policies.languages.find_disagreement`; the first exact one wins, then it is
compacted with every merge proved the same way. When none is exact the compiler says
so, with a path that shows why, and the caller answers for the requested route only.

Globs are resource suffixes after ``{apiId}/{stage}/`` (``GET/pets/*``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from policies.evaluate import resource_matches
from policies.languages import (
    Tokens,
    Undecided,
    every_request,
    find_disagreement,
    glob_tokens,
    route_tokens,
    survey,
)
from policies.routes import ANY_METHOD, HTTP_METHODS, RoutePattern, SegmentKind

WHOLE_STAGE = "*/*"


class NotExpressible(Exception):
    """No IAM policy found that allows exactly what the rules allow."""

    def __init__(self, problem: str, example: str | None = None) -> None:
        self.problem = problem
        self.example = example  # a resource path where the simple translation would be wrong
        super().__init__(problem if example is None else f"{problem} (for example {example})")


@dataclass(frozen=True, slots=True)
class RouteSet:
    """What one rule covers: its routes, except requests that ``unless`` matches."""

    routes: tuple[RoutePattern, ...]
    unless: tuple[RoutePattern, ...] = ()


Covered = RoutePattern | RouteSet


def _route_sets(items: Sequence[Covered]) -> list[RouteSet]:
    return [item if isinstance(item, RouteSet) else RouteSet((item,)) for item in items]


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """Resource globs to Allow and to Deny; no Allow at all means "deny everything"."""

    allow: tuple[str, ...]
    deny: tuple[str, ...] = ()


def route_glob(pattern: RoutePattern, verb: str) -> str:
    """The simple translation: one-segment wildcards become ``*``, a trailing {proxy+} ``?*``."""
    parts = []
    for segment in pattern.segments:
        if segment.kind is SegmentKind.LITERAL:
            parts.append(segment.text)
        elif segment.kind is SegmentKind.ONE:
            parts.append("*")
        else:
            parts.append("?*")
    return f"{verb}/" + "/".join(parts)


def _verbs(pattern: RoutePattern) -> list[str]:
    return sorted(HTTP_METHODS) if pattern.method == ANY_METHOD else [pattern.method]


def _globs(patterns: Iterable[RoutePattern]) -> list[str]:
    return list(dict.fromkeys(route_glob(p, verb) for p in patterns for verb in _verbs(p)))


def _overmatch_denials(pattern: RoutePattern) -> list[str]:
    """Deny globs for what ``*`` adds to a one-segment wildcard: an empty value or one with "/"."""
    globs = []
    for verb in _verbs(pattern):
        base = route_glob(pattern, verb).split("/")  # [verb, seg1, seg2, ...]
        for index, segment in enumerate(pattern.segments, start=1):
            if segment.kind is SegmentKind.ONE:
                globs.append("/".join([*base[:index], "*/*", *base[index + 1 :]]))
                globs.append("/".join([*base[:index], "", *base[index + 1 :]]))
    return globs


class _Problem:
    """The rules for one principal class, as languages, and the exactness test for candidates."""

    def __init__(
        self, allowed: Sequence[Covered], denied: Sequence[Covered], universe: Sequence[RoutePattern] | None
    ) -> None:
        allowed_sets, denied_sets = _route_sets(allowed), _route_sets(denied)
        self.allowed = [route for item in allowed_sets for route in item.routes]
        self.denied = [route for item in denied_sets for route in item.routes]
        self.languages: dict[str, list[Tokens]] = {
            "api": every_request() if universe is None else [t for p in universe for t in route_tokens(p)]
        }
        # Route sets without exceptions share one language per effect; the others get a pair each.
        self._pairs: dict[str, list[tuple[str, str]]] = {}
        for effect, items in (("allow", allowed_sets), ("deny", denied_sets)):
            self.languages[effect] = [
                t for item in items if not item.unless for p in item.routes for t in route_tokens(p)
            ]
            self._pairs[effect] = []
            for index, item in enumerate(i for i in items if i.unless):
                name = f"{effect}{index}"
                self.languages[name] = [t for p in item.routes for t in route_tokens(p)]
                self.languages[f"{name}-unless"] = [t for p in item.unless for t in route_tokens(p)]
                self._pairs[effect].append((name, f"{name}-unless"))

    def _covers(self, effect: str, member: Mapping[str, bool]) -> bool:
        return member[effect] or any(member[name] and not member[unless] for name, unless in self._pairs[effect])

    def rules_allow(self, member: Mapping[str, bool]) -> bool:
        return self._covers("allow", member) and not self._covers("deny", member)

    def search(
        self, extra: Mapping[str, Sequence[Tokens]], disagree: Callable[[Mapping[str, bool]], bool]
    ) -> str | None:
        return find_disagreement({**self.languages, **extra}, disagree)

    def counterexample(self, policy: CompiledPolicy) -> str | None:
        """A path of the API where ``policy`` and the rules disagree; None when it is exact."""
        extra = {"grant": [glob_tokens(g) for g in policy.allow], "block": [glob_tokens(g) for g in policy.deny]}

        def disagree(m: Mapping[str, bool]) -> bool:
            return m["api"] and (m["grant"] and not m["block"]) != self.rules_allow(m)

        return self.search(extra, disagree)

    def is_exact(self, policy: CompiledPolicy) -> bool:
        try:
            return self.counterexample(policy) is None
        except Undecided:
            return False

    def allows_nothing(self) -> bool:
        return self.search({}, lambda m: m["api"] and self.rules_allow(m)) is None

    def allows_everything(self) -> bool:
        return self.search({}, lambda m: m["api"] and not self.rules_allow(m)) is None

    def classify(self, universe: Sequence[RoutePattern]) -> tuple[list[str], list[str]]:
        """Globs of the API's routes the rules allow entirely, and of those they refuse entirely."""
        singles = [RoutePattern(verb, p.segments) for p in universe for verb in _verbs(p)]
        routes = {f"route{i}": route_tokens(single) for i, single in enumerate(singles)}
        questions = []
        for name in routes:
            questions.append(lambda m, name=name: m[name] and self.rules_allow(m))
            questions.append(lambda m, name=name: m[name] and not self.rules_allow(m))
        answers = survey({**self.languages, **routes}, questions)
        granted, refused = [], []
        for index, single in enumerate(singles):
            some_allowed, some_refused = answers[2 * index], answers[2 * index + 1]
            if some_allowed and not some_refused:
                granted.append(route_glob(single, single.method))
            elif some_refused and not some_allowed:
                refused.append(route_glob(single, single.method))
        return list(dict.fromkeys(granted)), list(dict.fromkeys(refused))


def compile_policy(
    allowed: Sequence[Covered],
    denied: Sequence[Covered] = (),
    universe: Sequence[RoutePattern] | None = None,
) -> CompiledPolicy:
    """The policy for one principal class: Allow what ``allowed`` minus ``denied`` cover.

    A policy exact on every path is preferred. Only when there is none does ``universe``
    count: the API's complete route list (its OpenAPI document), since paths outside it
    never reach the authorizer. Raises :class:`NotExpressible` when no candidate is exact.
    """
    try:
        everywhere = _Problem(allowed, denied, None)
        found = _everywhere(everywhere)
        if found is not None:
            return _compact(everywhere, found)
        if universe is not None:
            within = _Problem(allowed, denied, universe)
            found = _within(within, universe)
            if found is not None:
                return _compact(within, found)
        raise NotExpressible(
            "IAM wildcards cannot express these routes exactly"
            + ("" if universe is not None else " without the API's route list"),
            everywhere.counterexample(_direct(everywhere)),
        )
    except Undecided:
        raise NotExpressible("the rules are too intricate to prove a policy for") from None


def _direct(problem: _Problem) -> CompiledPolicy:
    return CompiledPolicy(tuple(_globs(problem.allowed)), tuple(_globs(problem.denied)))


def _everywhere(problem: _Problem) -> CompiledPolicy | None:
    """A policy exact on every path, built from the rules alone."""
    if not problem.allowed or problem.allows_nothing():
        return CompiledPolicy(allow=())
    if problem.allows_everything():
        return CompiledPolicy(allow=(WHOLE_STAGE,))
    direct = _direct(problem)
    overmatch = [g for p in problem.allowed for g in _overmatch_denials(p)]
    for candidate in (direct, CompiledPolicy(direct.allow, tuple(dict.fromkeys(direct.deny + tuple(overmatch))))):
        if problem.is_exact(candidate):
            return candidate
    return None


def _within(problem: _Problem, universe: Sequence[RoutePattern]) -> CompiledPolicy | None:
    """A policy exact on the API's routes, using them to bound what ``*`` may reach."""
    if problem.allows_nothing():
        return CompiledPolicy(allow=())
    direct = _direct(problem)
    granted, refused = problem.classify(universe)
    candidates = [CompiledPolicy(direct.allow, tuple(dict.fromkeys(direct.deny + tuple(refused))))]
    if granted:
        candidates += [CompiledPolicy(tuple(granted)), CompiledPolicy(tuple(granted), tuple(refused))]
    for candidate in candidates:
        if problem.is_exact(candidate):
            return candidate
    return None


def _compact(problem: _Problem, policy: CompiledPolicy) -> CompiledPolicy:
    """Fewer, wider globs, each change kept only when the policy stays exact."""
    # One glob per path for all seven verbs, where "*" in the verb's place adds nothing.
    by_path: dict[str, set[str]] = {}
    for glob in policy.allow:
        verb, _, path = glob.partition("/")
        by_path.setdefault(path, set()).add(verb)
    for path, verbs in by_path.items():
        if verbs == HTTP_METHODS:
            merged = CompiledPolicy(
                (*(g for g in policy.allow if g.partition("/")[2] != path), f"*/{path}"), policy.deny
            )
            if problem.is_exact(merged):
                policy = merged
    # Drop what is not needed: an Allow inside others, a Deny that changes nothing.
    for glob in list(policy.allow):
        others = [g for g in policy.allow if g != glob]
        if others and _overlaps(glob, others):  # alone, it cannot be redundant
            smaller = CompiledPolicy(tuple(others), policy.deny)
            if problem.is_exact(smaller):
                policy = smaller
    for glob in list(policy.deny):
        smaller = CompiledPolicy(policy.allow, tuple(g for g in policy.deny if g != glob))
        # A Deny that meets no Allow changes nothing: no proof needed to drop it.
        if not _overlaps(glob, policy.allow) or problem.is_exact(smaller):
            policy = smaller
    return policy


def _overlaps(glob: str, others: Sequence[str]) -> bool:
    """Does some path match ``glob`` and one of ``others``?"""
    if not any(ch in glob for ch in "*?"):
        return any(resource_matches(other, glob) for other in others)
    languages = {"one": [glob_tokens(glob)], "others": [glob_tokens(g) for g in others]}
    try:
        return find_disagreement(languages, lambda m: m["one"] and m["others"]) is not None
    except Undecided:
        return True
