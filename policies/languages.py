"""Sets of resource paths, compared exactly: IAM wildcards against route patterns.

An IAM ``*`` matches any run of characters, slashes and nothing included; a route's
``{param}`` is exactly one non-empty segment. The two only agree in simple cases, so
the policy compiler never trusts a translation: it builds each candidate policy and
asks :func:`find_disagreement` for a path where policy and rules answer differently.
No such path means the policy is exact.

Paths are resource suffixes after ``{apiId}/{stage}/``: ``GET/pets/42``. Every
language here is a union of token strings (a tiny NFA), explored jointly over a
finite alphabet: the characters the patterns name, ``/`` and one stand-in for every
other character (patterns cannot tell those apart, so one represents them all).
"""

from __future__ import annotations

import functools
import string
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from policies.routes import ANY_METHOD, HTTP_METHODS, RoutePattern, SegmentKind

# Tokens: a one-character string is that literal character; the rest are classes.
ANY_ONE = "<any>"  # IAM "?"
ANY_RUN = "<any*>"  # IAM "*": any run, possibly empty, slashes included
SEGMENT_CHAR = "<seg>"  # one character other than "/"
SEGMENT_RUN = "<seg*>"  # any run without "/"
_LOOPS = {ANY_RUN, SEGMENT_RUN}
_OTHER = ""  # the alphabet's stand-in for characters no pattern names

Tokens = tuple[str, ...]
MAX_STATES = 20_000


class Undecided(Exception):
    """The comparison grew past :data:`MAX_STATES`; callers treat it as "not exact"."""


def glob_tokens(glob: str) -> Tokens:
    return tuple(ANY_RUN if ch == "*" else ANY_ONE if ch == "?" else ch for ch in glob)


def route_tokens(pattern: RoutePattern) -> list[Tokens]:
    """One token string per verb the pattern covers (``ANY`` is the seven verbs)."""
    path: list[str] = []
    for index, segment in enumerate(pattern.segments):
        if index:
            path.append("/")
        if segment.kind is SegmentKind.LITERAL:
            path.extend(segment.text)
        elif segment.kind is SegmentKind.ONE:
            path.extend((SEGMENT_CHAR, SEGMENT_RUN))
        else:  # REST: one or more characters, like the "?*" it compiles to
            path.extend((ANY_ONE, ANY_RUN))
    verbs = sorted(HTTP_METHODS) if pattern.method == ANY_METHOD else [pattern.method]
    return [(*verb, "/", *path) for verb in verbs]


def every_request() -> list[Tokens]:
    """Every well-formed suffix: a verb, "/", then anything."""
    return [(*verb, "/", ANY_RUN) for verb in sorted(HTTP_METHODS)]


class _Union:
    """A union of token strings run as a lazily built DFA: states are numbered sets of
    live (string, position) pairs, and each transition is computed once."""

    def __init__(self, strings: tuple[Tokens, ...]) -> None:
        self.strings = strings
        self.symbols = {t for tokens in strings for t in tokens if len(t) == 1}
        self._ids: dict[frozenset[tuple[int, int]], int] = {}
        self._sets: list[frozenset[tuple[int, int]]] = []
        self.accepting: list[bool] = []
        self.expecting: list[frozenset[str]] = []  # literal characters some live string can read next
        self._next: dict[tuple[int, str], int] = {}
        self.start = self._number(self._closure((k, 0) for k in range(len(strings))))

    def step(self, state: int, symbol: str) -> int:
        key = (state, symbol)
        following = self._next.get(key)
        if following is None:
            following = self._next[key] = self._number(self._move(self._sets[state], symbol))
        return following

    def _number(self, pairs: frozenset[tuple[int, int]]) -> int:
        number = self._ids.get(pairs)
        if number is None:
            number = self._ids[pairs] = len(self._sets)
            self._sets.append(pairs)
            self.accepting.append(any(i == len(self.strings[k]) for k, i in pairs))
            self.expecting.append(
                frozenset(
                    self.strings[k][i] for k, i in pairs if i < len(self.strings[k]) and len(self.strings[k][i]) == 1
                )
            )
        return number

    def _move(self, pairs: frozenset[tuple[int, int]], symbol: str) -> frozenset[tuple[int, int]]:
        moved = []
        for k, i in pairs:
            tokens = self.strings[k]
            if i == len(tokens):
                continue
            token = tokens[i]
            if token == ANY_RUN:
                moved.append((k, i))
            elif token == SEGMENT_RUN:
                if symbol != "/":
                    moved.append((k, i))
            elif token in (ANY_ONE, symbol) or (token == SEGMENT_CHAR and symbol != "/"):
                moved.append((k, i + 1))
        return self._closure(moved)

    def _closure(self, pairs: Iterable[tuple[int, int]]) -> frozenset[tuple[int, int]]:
        closed = set()
        for k, start in pairs:
            tokens = self.strings[k]
            position = start
            closed.add((k, position))
            while position < len(tokens) and tokens[position] in _LOOPS:  # a run may be empty
                position += 1
                closed.add((k, position))
        return frozenset(closed)


@functools.lru_cache(maxsize=256)
def _union(strings: tuple[Tokens, ...]) -> _Union:
    # Shared across searches: the compiler asks many questions about the same languages.
    return _Union(strings)


Joint = tuple[int, ...]
Parents = dict[Joint, tuple[Joint, str] | None]


def _explore(
    languages: Mapping[str, Sequence[Tokens]],
) -> Iterator[tuple[Mapping[str, bool], Joint, Parents, list[str]]]:
    """Every reachable combination of memberships, shortest paths first.

    Raises :class:`Undecided` when the joint search space grows past :data:`MAX_STATES`.
    """
    names = list(languages)
    unions = [_union(tuple(dict.fromkeys(languages[name]))) for name in names]
    alphabet = sorted(set().union(*(u.symbols for u in unions)) | {"/", _OTHER})
    always = ("/", _OTHER)
    start = tuple(u.start for u in unions)
    parents: Parents = {start: None}
    queue = deque([start])
    while queue:
        joint = queue.popleft()
        yield {name: u.accepting[s] for name, u, s in zip(names, unions, joint, strict=True)}, joint, parents, alphabet
        # A character no live string names next moves every union like _OTHER does: skip it.
        named = set().union(*(u.expecting[s] for u, s in zip(unions, joint, strict=True)))
        for symbol in (*always, *sorted(named - set(always))):
            following = tuple(u.step(s, symbol) for u, s in zip(unions, joint, strict=True))
            if following not in parents:
                if len(parents) >= MAX_STATES:
                    raise Undecided(f"more than {MAX_STATES} states")
                parents[following] = (joint, symbol)
                queue.append(following)


def find_disagreement(
    languages: Mapping[str, Sequence[Tokens]], disagree: Callable[[Mapping[str, bool]], bool]
) -> str | None:
    """The shortest path on which ``disagree`` (over membership in each language) holds, or None."""
    for member, joint, parents, alphabet in _explore(languages):
        if disagree(member):
            return _spell(joint, parents, alphabet)
    return None


def survey(
    languages: Mapping[str, Sequence[Tokens]], questions: Sequence[Callable[[Mapping[str, bool]], bool]]
) -> list[bool]:
    """For each question, whether some path makes it true: one search for all of them."""
    answers = [False] * len(questions)
    for member, _, _, _ in _explore(languages):
        for index, question in enumerate(questions):
            if not answers[index] and question(member):
                answers[index] = True
        if all(answers):
            break
    return answers


def _spell(
    joint: tuple[int, ...],
    parents: Mapping[tuple[int, ...], tuple[tuple[int, ...], str] | None],
    alphabet: Sequence[str],
) -> str:
    stand_in = next((ch for ch in string.ascii_letters + string.digits if ch not in alphabet), "~")
    symbols = []
    link = parents[joint]
    while link is not None:
        joint, symbol = link
        symbols.append(symbol or stand_in)
        link = parents[joint]
    return "".join(reversed(symbols))
