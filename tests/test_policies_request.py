"""parse_event: the five authorizer event shapes, their ARNs, and their headers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policies.arn import ApiStage, MethodArn
from policies.errors import InvalidArn, InvalidEvent
from policies.request import EventKind, parse_event
from tests.conftest import EVENTS, load_event

NOT_AN_AUTHORIZER_EVENT = "apiGatewayProxyV2LambdaAuthorizerEvent.json"

# file -> (kind, parsed ARN)
VECTORS: dict[str, tuple[EventKind, MethodArn]] = {
    "apiGatewayAuthorizerTokenEvent.json": (
        EventKind.TOKEN,
        MethodArn(ApiStage("aws", "us-west-2", "123456789012", "ymy8tbxw7b", "*"), "GET", ""),
    ),
    "apiGatewayAuthorizerRestRequestEvent.json": (
        EventKind.REQUEST,
        MethodArn(ApiStage("aws", "us-east-1", "123456789012", "abcdef123", "test"), "GET", "request"),
    ),
    "apiGatewayAuthorizerRequestEvent.json": (
        EventKind.HTTP_V1,
        MethodArn(ApiStage("aws", "us-east-1", "123456789012", "abcdef123", "test"), "GET", "request"),
    ),
    "apiGatewayAuthorizerV2Event.json": (
        EventKind.HTTP_V2,
        MethodArn(ApiStage("aws", "us-east-1", "123456789012", "abcdef123", "test"), "GET", "request"),
    ),
    "apiGatewayAuthorizerWebSocketEvent.json": (
        EventKind.WEBSOCKET,
        MethodArn(ApiStage("aws", "us-east-1", "123456789012", "abcdef123", "default"), None, "$connect"),
    ),
}


def test_every_vector_is_covered() -> None:
    on_disk = {path.name for path in EVENTS.glob("*.json")}
    assert on_disk == set(VECTORS) | {NOT_AN_AUTHORIZER_EVENT}


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_vector_kind_and_arn(name: str) -> None:
    kind, method_arn = VECTORS[name]
    event = load_event(name)
    request = parse_event(event)
    assert request.kind is kind
    assert request.method_arn == method_arn
    assert request.method_arn.text == event["routeArn" if kind is EventKind.HTTP_V2 else "methodArn"]
    assert request.raw is event


def test_proxy_event_is_not_an_authorizer_event() -> None:
    # What a backend receives after the authorizer: no "type", no ARN.
    with pytest.raises(InvalidEvent, match="neither TOKEN nor REQUEST"):
        parse_event(load_event(NOT_AN_AUTHORIZER_EVENT))


def test_token_vector_carries_the_token_and_no_headers() -> None:
    request = parse_event(load_event("apiGatewayAuthorizerTokenEvent.json"))
    assert request.token == "allow"
    assert dict(request.headers) == {}
    assert request.header("Authorization") is None


def test_is_http_api() -> None:
    assert {kind for kind in EventKind if kind.is_http_api} == {EventKind.HTTP_V1, EventKind.HTTP_V2}


# Headers -------------------------------------------------------------------------------


def test_http_v1_headers_merged_and_case_insensitive() -> None:
    request = parse_event(load_event("apiGatewayAuthorizerRequestEvent.json"))
    for spelling in ("X-AMZ-Date", "x-amz-date", "X-Amz-Date"):
        assert request.header(spelling) == "20170718T062915Z"
    assert request.header("ACCEPT") == "*/*"
    # Only in multiValueHeaders: still found.
    assert request.header("origin") == "https://aws.amazon.com"
    assert request.header_values("header2") == ("value1", "value2")
    assert request.header("missing") is None
    assert request.header_values("missing") == ()
    # Names are stored lower-cased.
    assert all(name == name.lower() for name in request.headers)
    assert dict(request.query) == {"QueryString1": ("queryValue1",)}


def test_header_with_several_values_is_refused() -> None:
    request = parse_event(load_event("apiGatewayAuthorizerRequestEvent.json"))
    with pytest.raises(InvalidEvent, match="more than once"):
        request.header("Header2")


def test_websocket_single_and_multi_value_maps_are_not_doubled() -> None:
    request = parse_event(load_event("apiGatewayAuthorizerWebSocketEvent.json"))
    # The same header in headers and multiValueHeaders is one value, not two.
    assert request.header_values("Connection") == ("upgrade",)
    assert request.header("sec-websocket-version") == "13"
    assert request.query == {"QueryString1": ("queryValue1",)}
    # Query parameter names are case-sensitive.
    assert "querystring1" not in request.query


def test_http_v2_headers() -> None:
    request = parse_event(load_event("apiGatewayAuthorizerV2Event.json"))
    assert request.header("AUTHORIZATION") == "value"
    assert request.header("header1") == "value1"
    assert request.query == {"parameter1": ("value1,value2",), "parameter2": ("value",)}
    assert request.token is None


def rest_request(**fields: Any) -> dict[str, Any]:
    event = load_event("apiGatewayAuthorizerRestRequestEvent.json")
    event.pop("headers")
    event.update(fields)
    return event


def test_multi_value_map_wins_over_single_value_map() -> None:
    request = parse_event(
        rest_request(headers={"X-Thing": "single"}, multiValueHeaders={"x-thing": ["first", "second"]})
    )
    assert request.header_values("X-Thing") == ("first", "second")


def test_single_value_headers_absent_from_multi_value_map_are_kept() -> None:
    request = parse_event(rest_request(headers={"A": "1", "B": "2"}, multiValueHeaders={"a": ["1"]}))
    assert dict(request.headers) == {"a": ("1",), "b": ("2",)}


@pytest.mark.parametrize(
    "fields",
    [
        {"headers": {"Authorization": "Bearer one", "authorization": "Bearer two"}},
        {"multiValueHeaders": {"Authorization": ["Bearer one"], "AUTHORIZATION": ["Bearer two"]}},
        {"multiValueHeaders": {"Authorization": ["Bearer one", "Bearer two"]}},
    ],
)
def test_two_spellings_of_one_header_are_two_values(fields: dict[str, Any]) -> None:
    request = parse_event(rest_request(**fields))
    assert request.header_values("authorization") == ("Bearer one", "Bearer two")
    with pytest.raises(InvalidEvent, match="more than once"):
        request.header("Authorization")


def test_same_value_under_two_spellings_still_counts_twice() -> None:
    request = parse_event(rest_request(headers={"Authorization": "Bearer x", "authorization": "Bearer x"}))
    assert request.header_values("Authorization") == ("Bearer x", "Bearer x")
    with pytest.raises(InvalidEvent):
        request.header("authorization")


def test_null_header_maps_and_values_are_absent() -> None:
    request = parse_event(rest_request(headers=None, multiValueHeaders={"A": None}, queryStringParameters=None))
    assert request.header("a") is None
    assert dict(request.query) == {}


# Malformed events ----------------------------------------------------------------------


@pytest.mark.parametrize("event", [None, [], "TOKEN", 42, b"{}"])
def test_event_not_an_object(event: object) -> None:
    with pytest.raises(InvalidEvent, match="not a JSON object"):
        parse_event(event)


@pytest.mark.parametrize("event_type", [None, "token", "Request", "REQUESTS", "", 1])
def test_unknown_event_type(event_type: object) -> None:
    event = load_event("apiGatewayAuthorizerRestRequestEvent.json")
    event["type"] = event_type
    with pytest.raises(InvalidEvent, match="neither TOKEN nor REQUEST"):
        parse_event(event)


def test_event_without_type() -> None:
    event = load_event("apiGatewayAuthorizerRestRequestEvent.json")
    del event["type"]
    with pytest.raises(InvalidEvent):
        parse_event(event)


@pytest.mark.parametrize(
    ("name", "key", "value", "message"),
    [
        ("apiGatewayAuthorizerRestRequestEvent.json", "headers", ["Authorization", "x"], "headers is not an object"),
        ("apiGatewayAuthorizerRestRequestEvent.json", "headers", "Authorization: x", "headers is not an object"),
        ("apiGatewayAuthorizerWebSocketEvent.json", "multiValueHeaders", [], "multiValueHeaders is not an object"),
        ("apiGatewayAuthorizerV2Event.json", "headers", 7, "headers is not an object"),
        ("apiGatewayAuthorizerRequestEvent.json", "queryStringParameters", "a=b", "is not an object"),
        ("apiGatewayAuthorizerRestRequestEvent.json", "headers", {"A": 1}, "must be strings"),
        ("apiGatewayAuthorizerRestRequestEvent.json", "headers", {"A": ["x"]}, "must be strings"),
        ("apiGatewayAuthorizerRestRequestEvent.json", "headers", {"A": True}, "must be strings"),
        ("apiGatewayAuthorizerRestRequestEvent.json", "headers", {"A": {"b": "c"}}, "must be strings"),
        ("apiGatewayAuthorizerWebSocketEvent.json", "multiValueHeaders", {"A": "x"}, "lists of strings"),
        ("apiGatewayAuthorizerWebSocketEvent.json", "multiValueHeaders", {"A": ["x", 1]}, "lists of strings"),
        ("apiGatewayAuthorizerWebSocketEvent.json", "multiValueQueryStringParameters", {"q": [None]}, "lists"),
        ("apiGatewayAuthorizerRequestEvent.json", "queryStringParameters", {"q": 1}, "must be strings"),
    ],
)
def test_malformed_maps(name: str, key: str, value: object, message: str) -> None:
    event = load_event(name)
    event[key] = value
    with pytest.raises(InvalidEvent, match=message):
        parse_event(event)


@pytest.mark.parametrize("key", ["headers", "multiValueHeaders", "queryStringParameters"])
def test_non_string_names(key: str) -> None:
    # JSON cannot produce one, but a caller building events in code can: InvalidEvent, not a crash.
    value: object = ["x"] if key.startswith("multi") else "x"
    with pytest.raises(InvalidEvent, match="names must be strings"):
        parse_event(rest_request(**{key: {1: value}}))


def test_token_not_a_string() -> None:
    event = load_event("apiGatewayAuthorizerTokenEvent.json")
    event["authorizationToken"] = ["Bearer x"]
    with pytest.raises(InvalidEvent, match="authorizationToken"):
        parse_event(event)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("apiGatewayAuthorizerTokenEvent.json", "methodArn"),
        ("apiGatewayAuthorizerRestRequestEvent.json", "methodArn"),
        ("apiGatewayAuthorizerRequestEvent.json", "methodArn"),
        ("apiGatewayAuthorizerV2Event.json", "routeArn"),
        ("apiGatewayAuthorizerWebSocketEvent.json", "methodArn"),
    ],
)
def test_missing_or_bad_arn(name: str, key: str) -> None:
    event = load_event(name)
    missing = copy.deepcopy(event)
    del missing[key]
    with pytest.raises(InvalidArn):
        parse_event(missing)
    event[key] = event[key].replace("123456789012", "1234")
    with pytest.raises(InvalidArn, match="account"):
        parse_event(event)


def test_v2_event_reads_route_arn_not_method_arn() -> None:
    event = load_event("apiGatewayAuthorizerV2Event.json")
    event["methodArn"] = event.pop("routeArn")
    with pytest.raises(InvalidArn):
        parse_event(event)
