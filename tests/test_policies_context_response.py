"""Context flattening and bounds, and the responses built from a request: exact dicts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.context import (
    BUILT_IN_KEYS,
    MAX_CONTEXT_BYTES,
    MAX_KEY_LENGTH,
    MAX_KEYS,
    bounded,
    check_context_key,
    flatten,
    principal_context,
)
from policies.errors import ContextError, PolicyError
from policies.principal import Principal
from policies.request import AuthorizerRequest, EventKind, parse_event
from policies.response import (
    MAX_RESOURCE_ARN_LENGTH,
    ResponseFormat,
    Statement,
    allow,
    deny,
    policy_response,
    simple_response,
    whole_stage,
)
from tests.conftest import expected_policy_response as iam
from tests.conftest import load_event

# Context: flatten ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        ("", ""),
        (7, 7),
        (1.5, 1.5),
        (True, True),
        (False, False),
        (["a", "b", "c"], "a,b,c"),
        (("a", "b"), "a,b"),
        ([True, False], "true,false"),
        (["x", 1, 2.5, True], "x,1,2.5,true"),
        ([], ""),
        ({"b": 1, "a": "x"}, '{"a":"x","b":1}'),
        ({"z": {"y": [1, 2]}, "a": None}, '{"a":null,"z":{"y":[1,2]}}'),
        ([{"b": 2, "a": 1}], '[{"a":1,"b":2}]'),  # a list that is not all scalars: JSON
        (["a", None], '["a",null]'),
        ([["a"], "b"], '[["a"],"b"]'),
    ],
)
def test_flatten(value: object, expected: object) -> None:
    flat = flatten(value)
    assert flat == expected
    assert type(flat) is type(expected)  # True stays a bool, 7 stays an int


def test_flatten_drops_none() -> None:
    assert flatten(None) is None


@pytest.mark.parametrize("value", [{"a": {1, 2}}, object(), {"n": float("nan")}, [float("inf"), {"a": 1}]])
def test_flatten_refuses_what_json_cannot_carry(value: object) -> None:
    with pytest.raises(ContextError):
        flatten(value)


# Context: bounds -----------------------------------------------------------------------


def test_key_count_bound() -> None:
    at_limit = {f"k{i}": i for i in range(MAX_KEYS)}
    assert bounded(at_limit) == at_limit
    with pytest.raises(ContextError, match="keys"):
        bounded({**at_limit, "one_more": 1})


def test_key_length_bound() -> None:
    assert bounded({"k" * MAX_KEY_LENGTH: 1}) == {"k" * MAX_KEY_LENGTH: 1}
    with pytest.raises(ContextError):
        bounded({"k" * (MAX_KEY_LENGTH + 1): 1})
    with pytest.raises(ContextError):
        bounded({"": 1})
    with pytest.raises(ContextError):
        bounded({1: 1})  # type: ignore[dict-item]


def test_total_size_bound_refuses_and_never_truncates() -> None:
    overhead = len('{"k":""}')
    at_limit = {"k": "x" * (MAX_CONTEXT_BYTES - overhead)}
    assert bounded(at_limit) == at_limit  # kept whole
    with pytest.raises(ContextError, match=f"{MAX_CONTEXT_BYTES}-byte"):
        bounded({"k": "x" * (MAX_CONTEXT_BYTES - overhead + 1)})


def test_size_counts_escaped_bytes() -> None:
    # Non-ASCII text is counted as JSON-escaped: six bytes per character, never fewer.
    count = MAX_CONTEXT_BYTES // 6
    with pytest.raises(ContextError):
        bounded({"k": "é" * count})


@pytest.mark.parametrize("value", [None, ["a"], {"a": 1}, float("nan"), float("inf"), b"x", ("a",)])
def test_values_must_be_scalars(value: object) -> None:
    with pytest.raises(ContextError):
        bounded({"k": value})


def test_bounded_keeps_scalars_and_types() -> None:
    context = {"s": "x", "i": 3, "f": 0.5, "b": False}
    checked = bounded(context)
    assert checked == context
    assert [type(v) for v in checked.values()] == [str, int, float, bool]


# Context: keys -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["email", "custom:tenant", "a.b-c_d", "X", "k" * MAX_KEY_LENGTH])
def test_acceptable_context_keys(key: str) -> None:
    check_context_key(key)


@pytest.mark.parametrize("key", ["claims", "principalId", *sorted(BUILT_IN_KEYS)])
def test_reserved_context_keys(key: str) -> None:
    with pytest.raises(ContextError, match="reserved"):
        check_context_key(key)


def test_built_in_keys() -> None:
    assert frozenset({"scheme", "sub", "issuer", "scopes", "groups", "client_id", "expires_at"}) == BUILT_IN_KEYS


@pytest.mark.parametrize("key", ["", "a b", "a/b", "a*", "é", "k" * (MAX_KEY_LENGTH + 1), "a\n", "$x"])
def test_bad_context_keys(key: str) -> None:
    with pytest.raises(ContextError, match="must be"):
        check_context_key(key)


# Context: principal --------------------------------------------------------------------


def test_principal_context_minimal() -> None:
    assert principal_context(Principal(principal_id="bob", scheme="jwt")) == {"scheme": "jwt", "sub": "bob"}


def test_principal_context_full() -> None:
    principal = Principal(
        principal_id="alice",
        scheme="jwt",
        issuer="https://issuer.example.com",
        scopes=frozenset({"pets:write", "pets:read"}),
        groups=frozenset({"vets", "admins"}),
        client_id="client-1",
        expires_at=1_700_000_000,
        claims={
            "email": "alice@example.com",
            "roles": ["r1", "r2"],
            "address": {"zip": "12345", "city": "Paris"},
            "verified": True,
            "level": 3,
            "gone": None,
        },
    )
    names = ("email", "roles", "address", "verified", "level", "gone", "missing")
    assert principal_context(principal, names) == {
        "scheme": "jwt",
        "sub": "alice",
        "issuer": "https://issuer.example.com",
        "scopes": "pets:read pets:write",
        "groups": "admins,vets",
        "client_id": "client-1",
        "expires_at": 1_700_000_000,
        "email": "alice@example.com",
        "roles": "r1,r2",
        "address": '{"city":"Paris","zip":"12345"}',
        "verified": True,
        "level": 3,
    }


def test_principal_context_over_the_bound_is_refused() -> None:
    principal = Principal(principal_id="alice", scheme="jwt", claims={"blob": "x" * MAX_CONTEXT_BYTES})
    with pytest.raises(ContextError):
        principal_context(principal, ["blob"])


# Responses -----------------------------------------------------------------------------

TOKEN = "apiGatewayAuthorizerTokenEvent.json"
REST = "apiGatewayAuthorizerRestRequestEvent.json"
HTTP_V1 = "apiGatewayAuthorizerRequestEvent.json"
HTTP_V2 = "apiGatewayAuthorizerV2Event.json"
WEBSOCKET = "apiGatewayAuthorizerWebSocketEvent.json"

# Whole-stage resource for each vector.
WHOLE_STAGE = {
    TOKEN: "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/*/*",
    REST: "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*",
    HTTP_V1: "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*",
    HTTP_V2: "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*",
    WEBSOCKET: "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/*",
}
CONTEXT: dict[str, Any] = {"scheme": "jwt", "sub": "alice", "n": 1, "ok": True}


def request_for(name: str) -> AuthorizerRequest:
    return parse_event(load_event(name))


@pytest.mark.parametrize("name", sorted(WHOLE_STAGE))
def test_whole_stage(name: str) -> None:
    assert whole_stage(request_for(name)) == WHOLE_STAGE[name]


@pytest.mark.parametrize("name", [TOKEN, REST, HTTP_V1, WEBSOCKET])
@pytest.mark.parametrize("response_format", [ResponseFormat.AUTO, ResponseFormat.IAM])
def test_iam_responses(name: str, response_format: ResponseFormat) -> None:
    request = request_for(name)
    assert allow(request, "alice", CONTEXT, response_format) == iam("Allow", WHOLE_STAGE[name], context=CONTEXT)
    assert deny(request, "alice", response_format) == iam("Deny", WHOLE_STAGE[name])


@pytest.mark.parametrize("name", [TOKEN, REST, HTTP_V1, WEBSOCKET])
def test_simple_format_only_for_payload_2(name: str) -> None:
    request = request_for(name)
    with pytest.raises(PolicyError, match=r"payload 2\.0"):
        allow(request, "alice", CONTEXT, ResponseFormat.SIMPLE)
    with pytest.raises(PolicyError, match=r"payload 2\.0"):
        deny(request, "alice", ResponseFormat.SIMPLE)


@pytest.mark.parametrize("response_format", [ResponseFormat.AUTO, ResponseFormat.SIMPLE])
def test_http_v2_simple_response(response_format: ResponseFormat) -> None:
    request = request_for(HTTP_V2)
    assert allow(request, "alice", CONTEXT, response_format) == {"isAuthorized": True, "context": CONTEXT}
    assert deny(request, "alice", response_format) == {"isAuthorized": False}


def test_http_v2_iam_response() -> None:
    request = request_for(HTTP_V2)
    assert allow(request, "alice", CONTEXT, ResponseFormat.IAM) == iam("Allow", WHOLE_STAGE[HTTP_V2], context=CONTEXT)
    assert deny(request, "alice", ResponseFormat.IAM) == iam("Deny", WHOLE_STAGE[HTTP_V2])


def test_empty_context_is_left_out() -> None:
    assert allow(request_for(REST), "alice", {}) == iam("Allow", WHOLE_STAGE[REST])
    assert allow(request_for(HTTP_V2), "alice", {}) == {"isAuthorized": True}


def test_resolve() -> None:
    table: dict[tuple[ResponseFormat, EventKind], ResponseFormat] = {
        (fmt, kind): fmt.resolve(kind)
        for fmt in ResponseFormat
        for kind in EventKind
        if not (fmt is ResponseFormat.SIMPLE and kind is not EventKind.HTTP_V2)
    }
    expected: dict[tuple[ResponseFormat, EventKind], ResponseFormat] = {
        **{(ResponseFormat.AUTO, kind): ResponseFormat.IAM for kind in EventKind if kind is not EventKind.HTTP_V2},
        (ResponseFormat.AUTO, EventKind.HTTP_V2): ResponseFormat.SIMPLE,
        **{(ResponseFormat.IAM, kind): ResponseFormat.IAM for kind in EventKind},
        (ResponseFormat.SIMPLE, EventKind.HTTP_V2): ResponseFormat.SIMPLE,
    }
    assert table == expected


def test_response_context_is_a_copy() -> None:
    context: dict[str, Any] = {"sub": "alice"}
    response = allow(request_for(REST), "alice", context)
    response["context"]["sub"] = "mallory"
    assert context == {"sub": "alice"}


# Wildcards are data --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["GET/pets/*", "GET/pets/?", "GET/*/*", "*/*", "GET/pets/*/admin?x=*"])
def test_wildcards_in_the_path_never_reach_a_resource(path: str) -> None:
    event = {
        "type": "TOKEN",
        "authorizationToken": "t",
        "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/{path}",
    }
    request = parse_event(event)
    sub = "*?*"  # a claim full of wildcards is the principal id, never part of a resource
    response = allow(request, sub, {"sub": sub})
    assert response == iam(
        "Allow", "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/*/*", principal_id=sub, context={"sub": sub}
    )
    assert deny(request, sub) == iam("Deny", "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/*/*", sub)


def test_websocket_route_key_with_wildcards_is_data() -> None:
    event = load_event(WEBSOCKET)
    event["methodArn"] = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$conn*ect?"
    response = allow(parse_event(event), "alice", {})
    assert response["policyDocument"]["Statement"][0]["Resource"] == [WHOLE_STAGE[WEBSOCKET]]


# Statement and raw builders ------------------------------------------------------------


def test_statement_as_dict() -> None:
    statement = Statement("Deny", ("arn:a", "arn:b"))
    assert statement.as_dict() == {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": ["arn:a", "arn:b"]}


def test_statement_refuses_no_resources() -> None:
    with pytest.raises(PolicyError, match="at least one resource"):
        Statement("Allow", ())


def test_statement_resource_length_bound() -> None:
    prefix = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/"
    at_limit = prefix + "a" * (MAX_RESOURCE_ARN_LENGTH - len(prefix))
    assert Statement("Allow", (at_limit,)).resources == (at_limit,)
    with pytest.raises(PolicyError, match="512"):
        Statement("Allow", (at_limit + "a",))
    with pytest.raises(PolicyError):
        Statement("Allow", ("arn:short", at_limit + "a"))


def test_policy_response_with_usage_identifier_key() -> None:
    response = policy_response("alice", [Statement("Allow", ("arn:x",))], {"a": 1}, usage_identifier_key="key-1")
    assert response == {
        "principalId": "alice",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ["arn:x"]}],
        },
        "context": {"a": 1},
        "usageIdentifierKey": "key-1",
    }
    json.dumps(response)  # plain JSON, as Lambda returns it


def test_simple_response() -> None:
    assert simple_response(True) == {"isAuthorized": True}
    assert simple_response(False, {"a": "b"}) == {"isAuthorized": False, "context": {"a": "b"}}
