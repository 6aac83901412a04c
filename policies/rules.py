"""Authorization rules: which principals may call which routes, in which stages.

A rule set is loaded and checked once, at cold start; every problem names the source,
the rule and what is wrong. Evaluation is pure: an explicit deny always wins, then any
allow; with rules configured and none allowing, the answer is Deny.

    rules:
      - effect: allow                 # allow | deny
        routes: ["GET /pets", "GET /pets/*", "POST /v2/pets"]
        stages: ["prod"]              # optional: default every stage
        when:                         # optional: every condition must hold
          scopes: ["pets:write"]      # the principal has all of these
          groups: ["admins"]          # the principal is in at least one of these
          claims: {tenant: acme}      # claim equals the value (a list value: any of them)
          schemes: ["saml"]           # the principal was proven by one of these
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from yaml import SafeLoader

from policies.errors import PolicyError
from policies.principal import SCHEMES, Principal
from policies.routes import RouteError, RoutePattern, parse_route
from policies.strict_json import refuse_duplicate_keys

_RULE_KEYS = frozenset({"effect", "routes", "stages", "when", "description"})
_WHEN_KEYS = frozenset({"scopes", "groups", "claims", "schemes"})
ClaimValue = str | int | float | bool


class RuleError(PolicyError):
    """A rule set that cannot be used; raised while loading, never at request time."""


class Effect(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Condition:
    scopes: frozenset[str] = frozenset()  # all of these
    groups: frozenset[str] = frozenset()  # at least one of these, when given
    claims: Mapping[str, tuple[ClaimValue, ...]] = field(default_factory=dict)  # each: one of these
    schemes: frozenset[str] | None = None  # the principal's scheme is one of these, when given

    def holds_for(self, principal: Principal) -> bool:
        if self.schemes is not None and principal.scheme not in self.schemes:
            return False
        if not self.scopes <= principal.scopes:
            return False
        if self.groups and self.groups.isdisjoint(principal.groups):
            return False
        return all(claim_matches(principal.claims.get(name), values) for name, values in self.claims.items())


@dataclass(frozen=True, slots=True)
class Rule:
    effect: Effect
    routes: tuple[RoutePattern, ...]
    stages: frozenset[str] | None = None  # None: every stage
    when: Condition = field(default_factory=Condition)
    label: str = ""  # where it came from, for messages
    # Requests these match are not the rule's: narrower routes of an OpenAPI document that
    # API Gateway sends elsewhere (GET /pet/findByStatus is not GET /pet/{petId}).
    unless: tuple[RoutePattern, ...] = ()

    def applies(self, principal: Principal, stage: str, method: str, path: Sequence[str]) -> bool:
        return self.covers(method, path) and self.applies_to_principal(principal, stage)

    def covers(self, method: str, path: Sequence[str]) -> bool:
        """Is the request one of this rule's routes (and none of its exceptions)?"""
        if not any(route.matches(method, path) for route in self.routes):
            return False
        return not any(route.matches(method, path) for route in self.unless)

    def applies_to_principal(self, principal: Principal, stage: str) -> bool:
        """Stage and condition hold: the rule's routes count for this principal here."""
        if self.stages is not None and stage not in self.stages:
            return False
        return self.when.holds_for(principal)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]

    def decide(self, principal: Principal, stage: str, method: str, path: Sequence[str]) -> Effect:
        """Deny wins; then any allow; otherwise Deny."""
        return self.decide_among(self.applicable(principal, stage), method, path)

    def applicable(self, principal: Principal, stage: str) -> tuple[int, ...]:
        """The indices of the rules that count for this principal in this stage: its class."""
        return tuple(index for index, rule in enumerate(self.rules) if rule.applies_to_principal(principal, stage))

    def decide_among(self, applicable: Sequence[int], method: str, path: Sequence[str]) -> Effect:
        """:meth:`decide` for a request, given :meth:`applicable` for its principal and stage."""
        effects = {self.rules[index].effect for index in applicable if self.rules[index].covers(method, path)}
        if Effect.DENY in effects or Effect.ALLOW not in effects:
            return Effect.DENY
        return Effect.ALLOW

    def __add__(self, other: RuleSet) -> RuleSet:
        return RuleSet(self.rules + other.rules)


def rules_from_document(document: object, source: str) -> RuleSet:
    """Build a rule set from a parsed document (``{"rules": [...]}``), checking everything."""
    if not isinstance(document, Mapping) or set(document) != {"rules"}:
        raise RuleError(f"{source}: the document must be an object with one key, 'rules'")
    raw_rules = document["rules"]
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleError(f"{source}: 'rules' must be a non-empty list")
    return RuleSet(tuple(_rule(raw, f"{source}: rule {index + 1}") for index, raw in enumerate(raw_rules)))


def _rule(raw: object, label: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise RuleError(f"{label}: must be an object")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise RuleError(f"{label}: unknown key(s) {sorted(unknown)}; expected {sorted(_RULE_KEYS)}")
    effect_text = raw.get("effect")
    try:
        effect = Effect(effect_text)
    except ValueError:
        raise RuleError(f"{label}: effect must be 'allow' or 'deny', not {effect_text!r}") from None
    routes = _strings(raw.get("routes"), label, "routes")
    try:
        patterns = tuple(parse_route(route) for route in routes)
    except RouteError as exc:
        raise RuleError(f"{label}: {exc}") from None
    stages = frozenset(_strings(raw["stages"], label, "stages")) if "stages" in raw else None
    return Rule(effect=effect, routes=patterns, stages=stages, when=_condition(raw.get("when"), label), label=label)


def _condition(raw: object, label: str) -> Condition:
    if raw is None:
        return Condition()
    if not isinstance(raw, Mapping) or not raw:
        raise RuleError(f"{label}: 'when' must be an object with scopes, groups, claims and/or schemes")
    unknown = set(raw) - _WHEN_KEYS
    if unknown:
        raise RuleError(f"{label}: unknown condition(s) {sorted(unknown)}; expected {sorted(_WHEN_KEYS)}")
    claims: dict[str, tuple[ClaimValue, ...]] = {}
    raw_claims = raw.get("claims", {})
    if not isinstance(raw_claims, Mapping):
        raise RuleError(f"{label}: 'when.claims' must be an object of claim: value(s)")
    for name, value in raw_claims.items():
        values = tuple(value) if isinstance(value, list) else (value,)
        if not values or not all(isinstance(v, (str, int, float, bool)) for v in values):
            raise RuleError(f"{label}: claim {name!r} needs a string, number or boolean value (or a list of them)")
        claims[str(name)] = values
    schemes = None
    if "schemes" in raw:
        schemes = frozenset(_strings(raw["schemes"], label, "when.schemes"))
        unknown_schemes = schemes - set(SCHEMES)
        if unknown_schemes:  # a misspelt scheme would silently never match, and a deny never apply
            raise RuleError(f"{label}: unknown scheme(s) {sorted(unknown_schemes)}; expected some of {list(SCHEMES)}")
    return Condition(
        scopes=frozenset(_strings(raw["scopes"], label, "when.scopes")) if "scopes" in raw else frozenset(),
        groups=frozenset(_strings(raw["groups"], label, "when.groups")) if "groups" in raw else frozenset(),
        claims=claims,
        schemes=schemes,
    )


def _strings(value: object, label: str, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise RuleError(f"{label}: '{name}' must be a non-empty list of strings")
    return tuple(value)


def claim_matches(actual: Any, accepted: tuple[Any, ...]) -> bool:
    """A claim (or any element of a list claim) equals one of ``accepted``, type included."""
    candidates = actual if isinstance(actual, list) else [actual]
    # Type and value: a JSON true is not the number 1.
    return any(type(c) is type(a) and c == a for c in candidates for a in accepted)


def load_rules(source: str, label: str = "AUTHZ_RULES") -> RuleSet:
    """Rules from inline JSON (starting with ``{``) or a YAML/JSON file path."""
    text = source.strip()
    if text.startswith("{"):
        where = f"{label} (inline JSON)"
        try:
            document = json.loads(text, object_pairs_hook=refuse_duplicate_keys)
        except ValueError as exc:
            raise RuleError(f"{where}: not valid JSON ({exc})") from None
        return rules_from_document(document, where)
    return rules_from_document(read_document(Path(text)), text)


def read_document(path: Path) -> object:
    """A YAML or JSON file (JSON is YAML); duplicate keys are refused, not silently merged."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read the file ({exc.__class__.__name__})") from None
    import yaml

    try:
        return yaml.load(raw, Loader=_strict_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML or JSON ({exc})") from None


@functools.cache
def _strict_loader() -> type[SafeLoader]:
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, (str, int, float, bool)) or key in seen:
                    problem = f"duplicate or unusable key {key!r}"
                    raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader
