"""The test IAM evaluator, and the issue-2 default policy judged by it."""

from __future__ import annotations

import pytest

from policies.request import parse_event
from policies.response import allow, deny
from tests.iam import allows, matches

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123"


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("a/*", "a/b/c", True),  # "*" crosses slashes in IAM
        ("a/?", "a/b", True),
        ("a/?", "a/bc", False),
        ("a/b", "a/b", True),
        ("a/b", "a/bb", False),
        ("a.b", "aXb", False),  # regex characters are literal
        ("a/*/c", "a//c", True),  # "*" may match nothing
    ],
)
def test_glob_matching(pattern: str, arn: str, expected: bool) -> None:
    assert matches(pattern, arn) is expected


def test_explicit_deny_wins_and_nothing_means_denied() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [f"{ARN}/prod/*/*"]},
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{ARN}/prod/DELETE/*"]},
        ],
    }
    assert allows(document, f"{ARN}/prod/GET/pets")
    assert not allows(document, f"{ARN}/prod/DELETE/pets")
    assert not allows(document, f"{ARN}/dev/GET/pets")
    assert not allows(document, f"{ARN}/prod/GET/pets", action="execute-api:ManageConnections")


def test_default_allow_covers_every_route_of_the_stage_and_nothing_else() -> None:
    request = parse_event({"type": "TOKEN", "authorizationToken": "x", "methodArn": f"{ARN}/prod/GET/pets"})
    document = allow(request, "alice", {})["policyDocument"]
    for route in ("GET/pets", "POST/v2/pets/1", "DELETE/", "GET/a/b/c/d"):
        assert allows(document, f"{ARN}/prod/{route}"), route
    assert not allows(document, f"{ARN}/dev/GET/pets")
    assert not allows(document, "arn:aws:execute-api:us-east-1:123456789012:otherapi/prod/GET/pets")
    assert not allows(document, "arn:aws:execute-api:us-west-2:123456789012:abcdef123/prod/GET/pets")


def test_default_deny_refuses_every_route_of_the_stage() -> None:
    request = parse_event({"type": "TOKEN", "authorizationToken": "x", "methodArn": f"{ARN}/prod/GET/pets"})
    document = deny(request, "alice")["policyDocument"]
    assert not allows(document, f"{ARN}/prod/GET/pets")
    assert not allows(document, f"{ARN}/prod/POST/other")
