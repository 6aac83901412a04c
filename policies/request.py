"""The authorizer event, classified: which kind API Gateway sent and where it is going.

Five shapes reach a Lambda authorizer (see AUTHORIZER-CONTRACT in the README):
REST TOKEN, REST REQUEST, HTTP API payload 1.0, HTTP API payload 2.0 and WebSocket
``$connect``. :func:`parse_event` tells them apart, parses the method or route ARN
strictly and gives case-insensitive access to headers and query parameters.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.arn import MethodArn, parse_method_arn
from policies.errors import InvalidEvent


class EventKind(enum.Enum):
    TOKEN = "token"  # REST API, TOKEN authorizer
    REQUEST = "request"  # REST API, REQUEST authorizer
    HTTP_V1 = "http-1.0"  # HTTP API, payload format 1.0
    HTTP_V2 = "http-2.0"  # HTTP API, payload format 2.0
    WEBSOCKET = "websocket"  # WebSocket API, $connect

    @property
    def is_http_api(self) -> bool:
        return self in (EventKind.HTTP_V1, EventKind.HTTP_V2)


@dataclass(frozen=True, slots=True)
class AuthorizerRequest:
    """One authorizer invocation: kind, target ARN and the identity sources it carries."""

    kind: EventKind
    method_arn: MethodArn
    token: str | None = None  # TOKEN events only
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lower-cased names
    query: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def header_values(self, name: str) -> tuple[str, ...]:
        return self.headers.get(name.lower(), ())

    def header(self, name: str) -> str | None:
        """The single value of a header; ``None`` when absent. Several values are refused."""
        values = self.header_values(name)
        if not values:
            return None
        if len(values) > 1:
            raise InvalidEvent(f"header {name!r} was sent more than once")
        return values[0]


def parse_event(event: object) -> AuthorizerRequest:
    """Classify and parse an authorizer event, raising :class:`InvalidEvent` on anything else."""
    if not isinstance(event, Mapping):
        raise InvalidEvent("event is not a JSON object")
    event_type = event.get("type")
    if event_type == "TOKEN":
        token = event.get("authorizationToken")
        if token is not None and not isinstance(token, str):
            raise InvalidEvent("authorizationToken is not a string")
        return AuthorizerRequest(
            kind=EventKind.TOKEN,
            method_arn=parse_method_arn(event.get("methodArn")),
            token=token,
            raw=event,
        )
    if event_type != "REQUEST":
        raise InvalidEvent("event type is neither TOKEN nor REQUEST")

    version = event.get("version")
    context = event.get("requestContext")
    context = context if isinstance(context, Mapping) else {}
    if version == "2.0":
        kind = EventKind.HTTP_V2
        arn = parse_method_arn(event.get("routeArn"))
    elif context.get("eventType") == "CONNECT" or context.get("routeKey") == "$connect":
        kind = EventKind.WEBSOCKET
        arn = parse_method_arn(event.get("methodArn"), websocket=True)
    else:
        kind = EventKind.HTTP_V1 if version == "1.0" else EventKind.REQUEST
        arn = parse_method_arn(event.get("methodArn"))
    return AuthorizerRequest(
        kind=kind,
        method_arn=arn,
        headers=_multi_map(event, "headers", "multiValueHeaders", lower=True),
        query=_multi_map(event, "queryStringParameters", "multiValueQueryStringParameters"),
        raw=event,
    )


def _multi_map(
    event: Mapping[str, Any], single_key: str, multi_key: str, *, lower: bool = False
) -> dict[str, tuple[str, ...]]:
    """Merge the single- and multi-value maps; the multi-value map wins when both exist."""
    merged: dict[str, tuple[str, ...]] = {}
    for key, multi in ((single_key, False), (multi_key, True)):
        source = event.get(key)
        if source is None:
            continue
        if not isinstance(source, Mapping):
            raise InvalidEvent(f"{key} is not an object")
        seen: dict[str, tuple[str, ...]] = {}
        for name, value in source.items():
            if not isinstance(name, str):
                raise InvalidEvent(f"{key} names must be strings")
            values = _values(value, multi, key)
            folded = name.lower() if lower else name
            # Two spellings of one header name are two values, not one.
            seen[folded] = seen.get(folded, ()) + values
        merged.update(seen)
    return merged


def _values(value: object, multi: bool, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if multi:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidEvent(f"{key} values must be lists of strings")
        return tuple(value)
    if not isinstance(value, str):
        raise InvalidEvent(f"{key} values must be strings")
    return (value,)
