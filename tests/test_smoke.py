"""The first complete path: a valid JWT in, an Allow out; a forged one refused."""

from __future__ import annotations

from authorizers.local_issuer import LocalIssuer, generate_key
from tests.conftest import outcome, token_event


def test_valid_token_is_allowed_for_the_whole_stage(issuer: LocalIssuer, jwt_env, make_handler) -> None:
    handler = make_handler(jwt_env)
    decision, response = outcome(handler, token_event(issuer.mint(sub="alice")))
    assert decision == "allow"
    assert response is not None
    assert response["principalId"] == "alice"
    assert response["policyDocument"]["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": ["arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/*/*"],
        }
    ]


def test_token_signed_by_another_key_is_unauthorized(issuer: LocalIssuer, jwt_env, make_handler) -> None:
    handler = make_handler(jwt_env)
    forged = issuer.mint(sub="alice", private_key=generate_key())
    assert outcome(handler, token_event(forged)) == ("unauthorized", None)
