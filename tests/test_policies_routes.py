"""Route patterns: parsing, refusals, and matching concrete requests."""

from __future__ import annotations

import pytest

from policies.routes import RouteError, SegmentKind, parse_route, request_segments


@pytest.mark.parametrize(
    ("text", "method", "kinds"),
    [
        ("GET /", "GET", []),
        ("get /pets", "GET", [SegmentKind.LITERAL]),
        ("ANY /pets/*", "*", [SegmentKind.LITERAL, SegmentKind.ONE]),
        ("* /v2/pets/{id}", "*", [SegmentKind.LITERAL, SegmentKind.LITERAL, SegmentKind.ONE]),
        ("POST /files/{proxy+}", "POST", [SegmentKind.LITERAL, SegmentKind.REST]),
    ],
)
def test_routes_parse(text: str, method: str, kinds: list[SegmentKind]) -> None:
    route = parse_route(text)
    assert route.method == method
    assert [segment.kind for segment in route.segments] == kinds


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/pets", "METHOD /path"),
        ("GET  /pets  extra", "METHOD /path"),
        ("FETCH /pets", "not an HTTP method"),
        ("GET pets", "must start with '/'"),
        ("GET /pets/", "empty path segment"),
        ("GET //pets", "empty path segment"),
        ("GET /files/{proxy+}/meta", "must be the last"),
        ("GET /pets*", "is not a literal"),
        ("GET /pe?ts", "is not a literal"),
        ("GET /{}", "is not a literal"),
        ("GET /pets/{id", "is not a literal"),
    ],
)
def test_bad_routes_are_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(RouteError, match=problem.replace("(", r"\(").replace("*", r"\*").replace("?", r"\?")):
        parse_route(text)


def test_a_route_must_be_a_string() -> None:
    with pytest.raises(RouteError):
        parse_route(["GET", "/pets"])


@pytest.mark.parametrize(
    ("route", "method", "path", "expected"),
    [
        ("GET /", "GET", "", True),
        ("GET /", "GET", "pets", False),
        ("GET /pets", "GET", "pets", True),
        ("GET /pets", "POST", "pets", False),
        ("GET /pets", "GET", "pets/1", False),
        ("GET /pets", "GET", "Pets", False),  # paths are case-sensitive
        ("ANY /pets", "DELETE", "pets", True),
        ("GET /pets/*", "GET", "pets/1", True),
        ("GET /pets/*", "GET", "pets", False),
        ("GET /pets/*", "GET", "pets/1/photos", False),  # one segment, exactly
        ("GET /pets/{id}/photos", "GET", "pets/7/photos", True),
        ("GET /pets/{id}/photos", "GET", "pets/7/toys", False),
        ("GET /files/{proxy+}", "GET", "files/a", True),
        ("GET /files/{proxy+}", "GET", "files/a/b/c", True),
        ("GET /files/{proxy+}", "GET", "files", False),  # one or more
        ("GET /v1/pets", "GET", "v2/pets", False),  # versions are prefixes
        ("GET /pets/*", "GET", "pets/*", True),  # a literal "*" in a path is one segment of data
    ],
)
def test_matching(route: str, method: str, path: str, expected: bool) -> None:
    assert parse_route(route).matches(method, request_segments(path)) is expected


def test_request_segments() -> None:
    assert request_segments("") == ()
    assert request_segments("pets/1") == ("pets", "1")
    # Kept as sent: a trailing or doubled "/" is an empty segment, which no
    # literal or one-segment wildcard matches (the same as the IAM globs they become).
    assert request_segments("pets/1/") == ("pets", "1", "")
    assert request_segments("pets//1") == ("pets", "", "1")


@pytest.mark.parametrize(
    ("route", "path", "expected"),
    [
        ("GET /pets/{id}", "pets/1/", False),
        ("GET /pets", "pets/", False),
        ("GET /pets/{proxy+}", "pets/", False),  # nothing below
        ("GET /pets/{proxy+}", "pets//x", True),  # something below, as "pets/?*" allows
        ("GET /pets/{proxy+}", "pets/a/", True),
    ],
)
def test_empty_segments(route: str, path: str, expected: bool) -> None:
    assert parse_route(route).matches("GET", request_segments(path)) is expected


def test_patterns_print_back_in_their_own_syntax() -> None:
    assert str(parse_route("any /v1/pets/{id}/{rest+}")) == "ANY /v1/pets/*/{proxy+}"
