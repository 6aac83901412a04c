"""SigV4 sts mode through the handler: settings, the AWS-STS scheme, refusals before STS is asked."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from authorizers.errors import ConfigurationError
from authorizers.handlers.sigv4 import create_handler
from authorizers.settings import load_sigv4_settings
from tests.conftest import outcome, token_event

ENV = {"SIGV4_MODE": "sts", "SIGV4_STS_AUDIENCE": "orders-api", "SIGV4_ALLOWED_ACCOUNTS": "123456789012"}


def sts_event(authorization: str) -> dict[str, Any]:
    return {**token_event("x"), "authorizationToken": authorization}


def test_sts_settings() -> None:
    settings = load_sigv4_settings({**ENV, "SIGV4_STS_REGIONS": "us-east-1,eu-west-1"})
    assert settings.mode == "sts" and settings.sts is not None and settings.keys is None
    assert settings.sts.audience == "orders-api"
    assert settings.sts.allowed_accounts == frozenset({"123456789012"})
    assert settings.sts.regions == frozenset({"us-east-1", "eu-west-1"})


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"SIGV4_STS_AUDIENCE": " "}, "SIGV4_STS_AUDIENCE is required"),
        ({"SIGV4_CREDENTIALS": '{"A": "b"}'}, "SIGV4_CREDENTIALS is not read in SIGV4_MODE=sts"),
        ({"SIGV4_STS_ENDPOINT": "http://sts.example.com"}, "loopback"),
        ({"SIGV4_ALLOWED_ACCOUNTS": "12345"}, "sts mode"),
        ({"SIGV4_MAX_EXPIRES_SECONDS": "3600"}, "SIGV4_MAX_EXPIRES_SECONDS"),
    ],
)
def test_bad_sts_settings_fail_the_cold_start(extra: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_handler({**ENV, **extra})
    assert fragment in str(caught.value)


def test_keys_settings_are_refused_in_sts_mode_and_back() -> None:
    with pytest.raises(ConfigurationError, match="not read in SIGV4_MODE=keys"):
        load_sigv4_settings(
            {"SIGV4_CREDENTIALS": '{"A": "b"}', "SIGV4_REGION": "us-east-1", **ENV, "SIGV4_MODE": "keys"}
        )


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("Bearer abc", "unsupported_scheme"),
        ("AWS-STS", "unsupported_scheme"),
        ("AWS-STS !!!", "malformed_token"),
        (
            "AWS-STS "
            + base64.urlsafe_b64encode(b"https://evil.example.com/?Action=GetCallerIdentity").decode().rstrip("="),
            "sts_endpoint_not_allowed",
        ),
    ],
)
def test_refused_before_sts_is_asked(authorization: str, reason: str, decision_log: Any) -> None:
    handler = create_handler(ENV)
    decision_log()
    assert outcome(handler, sts_event(authorization)) == ("unauthorized", None)
    lines, output = decision_log()
    (line,) = lines
    assert line["reason"] == reason
    credential = authorization.partition(" ")[2]
    assert not credential or credential not in output
