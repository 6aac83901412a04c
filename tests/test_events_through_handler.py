"""Every real event shape through the real JWT handler: exact responses, outcomes and logs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from authorizers.handlers.runtime import AuthorizerFailed, AuthorizerHandler
from authorizers.local_issuer import LocalIssuer
from tests.conftest import expected_policy_response as iam
from tests.conftest import load_event, outcome

# The five kinds: vector file and the whole-stage resource an Allow must name.
KINDS = {
    "REST TOKEN": (
        "apiGatewayAuthorizerTokenEvent.json",
        "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/*/*",
    ),
    "REST REQUEST": (
        "apiGatewayAuthorizerRestRequestEvent.json",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*",
    ),
    "HTTP 1.0": (
        "apiGatewayAuthorizerRequestEvent.json",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*",
    ),
    "HTTP 2.0": ("apiGatewayAuthorizerV2Event.json", "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*"),
    "WebSocket": (
        "apiGatewayAuthorizerWebSocketEvent.json",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/*",
    ),
}
EVENT_KIND_LOGGED = {
    "REST TOKEN": "token",
    "REST REQUEST": "request",
    "HTTP 1.0": "http-1.0",
    "HTTP 2.0": "http-2.0",
    "WebSocket": "websocket",
}
IAM_KINDS = ["REST TOKEN", "REST REQUEST", "HTTP 1.0", "WebSocket"]
HEADER_KINDS = ["REST REQUEST", "HTTP 1.0", "HTTP 2.0", "WebSocket"]


def event_for(kind: str, authorization: str | None) -> dict[str, Any]:
    """The kind's real event with ``authorization`` where API Gateway puts it (None: absent)."""
    event = load_event(KINDS[kind][0])
    if kind == "REST TOKEN":
        if authorization is None:
            del event["authorizationToken"]
        else:
            event["authorizationToken"] = authorization
        return event
    # The 2.0 vector carries "Authorization: value": replace it, never add a second spelling.
    event["headers"].pop("Authorization", None)
    if authorization is None:
        return event
    if kind == "HTTP 2.0":
        event["headers"]["authorization"] = authorization  # 2.0 headers are lower-cased
        event["identitySource"] = [authorization]
        return event
    event["headers"]["Authorization"] = authorization
    if "multiValueHeaders" in event:
        event["multiValueHeaders"]["Authorization"] = [authorization]
    if kind == "HTTP 1.0":
        event["identitySource"] = authorization
        event["authorizationToken"] = authorization
    return event


def two_authorizations(kind: str, value: str) -> dict[str, Any]:
    event = event_for(kind, value)
    if "multiValueHeaders" in event:
        event["multiValueHeaders"]["Authorization"] = [value, value]
    else:
        event["headers"]["AUTHORIZATION"] = value
    return event


@pytest.fixture
def exp() -> int:
    return int(time.time()) + 600


@pytest.fixture
def token(issuer: LocalIssuer, exp: int) -> str:
    return issuer.mint(sub="alice", scope="pets:write pets:read", claims={"exp": exp, "groups": ["vets", "admins"]})


@pytest.fixture
def build(jwt_env: dict[str, str], make_handler: Any) -> Callable[..., AuthorizerHandler]:
    """A real handler from the test issuer's environment plus ``extra`` variables."""

    def handler(**extra: str) -> AuthorizerHandler:
        built: AuthorizerHandler = make_handler({**jwt_env, **extra})
        return built

    return handler


@pytest.fixture
def expected_context(issuer: LocalIssuer, exp: int) -> dict[str, Any]:
    return {
        "scheme": "jwt",
        "sub": "alice",
        "issuer": issuer.issuer,
        "scopes": "pets:read pets:write",
        "groups": "admins,vets",
        "expires_at": exp,
    }


Decisions = tuple[list[dict[str, Any]], str]


@pytest.fixture
def decisions(
    decision_log: Callable[[], tuple[list[dict[str, Any]], str]],
) -> Callable[[], tuple[list[dict[str, Any]], str]]:
    """The handler's decision log lines (JSON on stdout), and everything captured."""
    return decision_log


# Allow on every kind -------------------------------------------------------------------


@pytest.mark.parametrize("kind", IAM_KINDS)
def test_valid_bearer_token_allows_the_whole_stage(
    kind: str, token: str, expected_context: dict[str, Any], build
) -> None:
    handler = build()
    assert outcome(handler, event_for(kind, f"Bearer {token}")) == (
        "allow",
        iam("Allow", KINDS[kind][1], "alice", expected_context),
    )


def test_http_v2_gets_a_simple_response_by_default(token: str, expected_context: dict[str, Any], build) -> None:
    handler = build()
    assert handler(event_for("HTTP 2.0", f"Bearer {token}"), None) == {
        "isAuthorized": True,
        "context": expected_context,
    }


@pytest.mark.parametrize("value", ["iam", "IAM"])
def test_http_v2_iam_when_configured(value: str, token: str, expected_context: dict[str, Any], build) -> None:
    handler = build(AUTHZ_RESPONSE_FORMAT=value)
    assert outcome(handler, event_for("HTTP 2.0", f"Bearer {token}")) == (
        "allow",
        iam("Allow", KINDS["HTTP 2.0"][1], "alice", expected_context),
    )


def test_iam_format_changes_nothing_for_rest(token: str, expected_context: dict[str, Any], build) -> None:
    handler = build(AUTHZ_RESPONSE_FORMAT="iam")
    assert outcome(handler, event_for("REST REQUEST", f"Bearer {token}")) == (
        "allow",
        iam("Allow", KINDS["REST REQUEST"][1], "alice", expected_context),
    )


@pytest.mark.parametrize("kind", ["REST TOKEN", "REST REQUEST"])
def test_bare_token_without_scheme_is_accepted(kind: str, token: str, expected_context: dict[str, Any], build) -> None:
    handler = build()
    assert outcome(handler, event_for(kind, token)) == (
        "allow",
        iam("Allow", KINDS[kind][1], "alice", expected_context),
    )


def test_scheme_is_case_insensitive(token: str, build) -> None:
    handler = build()
    assert outcome(handler, event_for("WebSocket", f"bearer {token}"))[0] == "allow"


def test_wildcard_in_method_arn_path_stays_out_of_the_resource(token: str, build) -> None:
    handler = build()
    event = event_for("REST TOKEN", f"Bearer {token}")
    event["methodArn"] = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/pets/*"
    decision, response = outcome(handler, event)
    assert decision == "allow"
    assert response is not None
    assert response["policyDocument"]["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": ["arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/*/*"],
        }
    ]


# Refusals ------------------------------------------------------------------------------


def test_simple_format_on_a_token_event_fails_closed(token: str, build) -> None:
    handler = build(AUTHZ_RESPONSE_FORMAT="simple")
    assert outcome(handler, event_for("REST TOKEN", f"Bearer {token}")) == ("error", None)
    with pytest.raises(AuthorizerFailed):
        handler(event_for("REST TOKEN", f"Bearer {token}"), None)


def test_simple_format_on_http_v2_allows(token: str, expected_context: dict[str, Any], build) -> None:
    handler = build(AUTHZ_RESPONSE_FORMAT="simple")
    assert handler(event_for("HTTP 2.0", f"Bearer {token}"), None) == {
        "isAuthorized": True,
        "context": expected_context,
    }


@pytest.mark.parametrize("kind", IAM_KINDS)
@pytest.mark.parametrize("authorization", [None, "", "   ", "Basic eHl6", "Basic xyz", "Bearer ", "Bearer a b"])
def test_unauthorized_is_exactly_the_401_message(kind: str, authorization: str | None, build) -> None:
    handler = build()
    with pytest.raises(Exception) as info:
        handler(event_for(kind, authorization), None)
    assert type(info.value) is Exception
    assert info.value.args == ("Unauthorized",)


@pytest.mark.parametrize("authorization", [None, "", "Basic xyz"])
def test_http_v2_simple_refusal_is_is_authorized_false(authorization: str | None, build) -> None:
    handler = build()
    assert handler(event_for("HTTP 2.0", authorization), None) == {"isAuthorized": False}


def test_http_v2_iam_refusal_is_a_401(build) -> None:
    handler = build(AUTHZ_RESPONSE_FORMAT="iam")
    assert outcome(handler, event_for("HTTP 2.0", None)) == ("unauthorized", None)


@pytest.mark.parametrize("kind", HEADER_KINDS)
def test_two_authorization_values_are_refused(kind: str, token: str, build, decisions) -> None:
    handler = build()
    expected = ("deny", {"isAuthorized": False}) if kind == "HTTP 2.0" else ("unauthorized", None)
    assert outcome(handler, two_authorizations(kind, f"Bearer {token}")) == expected
    (line,) = decisions()[0]
    assert (line["decision"], line["reason"]) == ("unauthorized", "ambiguous_credential")


def test_expired_token_is_unauthorized(issuer: LocalIssuer, build, decisions) -> None:
    handler = build()
    expired = issuer.mint(sub="alice", expires_in=-3600)
    assert outcome(handler, event_for("HTTP 1.0", f"Bearer {expired}")) == ("unauthorized", None)
    (line,) = decisions()[0]
    assert (line["decision"], line["reason"]) == ("unauthorized", "expired")
    assert "principal" not in line  # not verified, so not named


# Context claims ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["REST TOKEN", "HTTP 2.0"])
def test_context_claims_are_copied_flat(
    kind: str, issuer: LocalIssuer, exp: int, expected_context: dict[str, Any], build
) -> None:
    handler = build(AUTHZ_CONTEXT_CLAIMS="email, roles address tenant_id")
    claims = {
        "exp": exp,
        "groups": ["vets", "admins"],
        "email": "alice@example.com",
        "roles": ["reader", "writer"],
        "address": {"zip": "75001", "city": "Paris"},
        "tenant_id": 42,
    }
    token = issuer.mint(sub="alice", scope="pets:read pets:write", claims=claims)
    context = {
        **expected_context,
        "email": "alice@example.com",
        "roles": "reader,writer",
        "address": '{"city":"Paris","zip":"75001"}',
        "tenant_id": 42,
    }
    expected = (
        ("allow", {"isAuthorized": True, "context": context})
        if kind == "HTTP 2.0"
        else ("allow", iam("Allow", KINDS[kind][1], "alice", context))
    )
    assert outcome(handler, event_for(kind, f"Bearer {token}")) == expected


@pytest.mark.parametrize("kind", ["REST TOKEN", "WebSocket", "HTTP 2.0"])
def test_context_over_the_bound_is_refused_not_truncated(kind: str, issuer: LocalIssuer, build, decisions) -> None:
    handler = build(AUTHZ_CONTEXT_CLAIMS="blob")
    token = issuer.mint(sub="alice", claims={"blob": "x" * 4200})
    expected = ("deny", {"isAuthorized": False}) if kind == "HTTP 2.0" else ("unauthorized", None)
    assert outcome(handler, event_for(kind, f"Bearer {token}")) == expected
    (line,) = decisions()[0]
    assert (line["decision"], line["reason"]) == ("unauthorized", "context_limit")


# Logs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_allow_log_names_decision_and_principal_never_the_token(
    kind: str, token: str, issuer: LocalIssuer, build, decisions
) -> None:
    handler = build()
    decision, _ = outcome(handler, event_for(kind, f"Bearer {token}"))
    assert decision == "allow"
    lines, everything = decisions()
    (line,) = lines
    assert line["decision"] == "allow"
    assert line["principal"] == "alice"
    assert line["issuer"] == issuer.issuer
    assert line["event_kind"] == EVENT_KIND_LOGGED[kind]
    assert line["scheme"] == "jwt"
    assert "reason" not in line
    assert token not in everything
    assert token.rsplit(".", 1)[1] not in everything  # not even the signature


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [(None, "missing_credential"), ("Basic xyz", "unsupported_scheme"), ("Bearer not.a.jwt", "malformed_token")],
)
@pytest.mark.parametrize("kind", ["REST TOKEN", "HTTP 2.0"])
def test_refusal_log_names_the_reason(kind: str, authorization: str | None, reason: str, build, decisions) -> None:
    handler = build()
    outcome(handler, event_for(kind, authorization))
    (line,) = decisions()[0]
    assert (line["decision"], line["reason"], line["event_kind"]) == ("unauthorized", reason, EVENT_KIND_LOGGED[kind])
    assert "principal" not in line


def test_refused_token_never_logged(issuer: LocalIssuer, build, decisions) -> None:
    handler = build()
    forged = issuer.mint(sub="alice", audience="another-api")
    assert outcome(handler, event_for("REST REQUEST", f"Bearer {forged}")) == ("unauthorized", None)
    lines, everything = decisions()
    assert [(line["decision"], line["reason"]) for line in lines] == [("unauthorized", "invalid_audience")]
    assert forged not in everything
    assert forged.rsplit(".", 1)[1] not in everything


def test_error_log(token: str, build, decisions) -> None:
    handler = build(AUTHZ_RESPONSE_FORMAT="simple")
    assert outcome(handler, event_for("REST TOKEN", f"Bearer {token}")) == ("error", None)
    lines, everything = decisions()
    assert [(line["decision"], line["error_type"]) for line in lines] == [("error", "PolicyError")]
    assert token not in everything
