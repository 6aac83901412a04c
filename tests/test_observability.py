"""One structured decision line and one EMF metric per invocation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from authorizers.local_issuer import LocalIssuer, generate_key
from tests.conftest import outcome, token_event


def _emf_metric_names(text: str) -> list[str]:
    names: list[str] = []
    for line in text.splitlines():
        try:
            record: Any = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "_aws" in record:
            for directive in record["_aws"]["CloudWatchMetrics"]:
                names.extend(metric["Name"] for metric in directive["Metrics"])
    return names


CASES = {"valid": "Allow", "forged": "Unauthorized", "no-scope": "Deny"}


def _token(case: str, issuer: LocalIssuer) -> str:
    if case == "valid":
        return issuer.mint(scope="pets:read")
    if case == "forged":
        return issuer.mint(scope="pets:read", private_key=generate_key())
    return issuer.mint()


@pytest.mark.parametrize("case", list(CASES))
def test_each_decision_emits_one_emf_metric(
    case: str, issuer: LocalIssuer, jwt_env, make_handler, decision_log
) -> None:
    expected_metric = CASES[case]
    handler = make_handler({**jwt_env, "JWT_REQUIRED_SCOPES": "pets:read"})
    token = _token(case, issuer)
    decision_log()
    outcome(handler, token_event(token))
    lines, output = decision_log()
    assert _emf_metric_names(output) == [expected_metric]
    assert [line["decision"] for line in lines] == [expected_metric.lower()]


def test_failure_emits_the_error_metric(jwt_env, make_handler, decision_log) -> None:
    handler = make_handler(jwt_env)
    decision_log()
    assert outcome(handler, {"type": "TOKEN", "methodArn": "not an arn"}) == ("error", None)
    lines, output = decision_log()
    assert _emf_metric_names(output) == ["Error"]
    assert lines[0]["decision"] == "error"
    assert lines[0]["error_type"] == "InvalidArn"


def test_a_failure_while_building_the_allow_fails_closed_and_is_logged(
    issuer: LocalIssuer, jwt_env, make_handler, decision_log, monkeypatch: pytest.MonkeyPatch
) -> None:
    from policies.authorization import Authorization

    def broken_decide(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("policy builder bug")

    monkeypatch.setattr(Authorization, "decide", broken_decide)
    handler = make_handler(jwt_env)
    decision_log()
    assert outcome(handler, token_event(issuer.mint())) == ("error", None)
    lines, output = decision_log()
    assert [line["decision"] for line in lines] == ["error"]
    assert lines[0]["error"] == "unexpected error"  # an unexpected message is never logged
    assert _emf_metric_names(output) == ["Error"]
