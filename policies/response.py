"""Authorizer responses: IAM policies and HTTP API simple responses, as plain dicts.

Default scope: a valid principal may call every route of the API and stage the
request came to (``{apiId}/{stage}/*/*``, or ``{apiId}/{stage}/*`` for WebSocket,
whose ARNs carry no verb). That answer stays right when API Gateway caches it for
the next route called with the same identity source.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from policies.context import Context
from policies.errors import PolicyError
from policies.request import AuthorizerRequest, EventKind

POLICY_VERSION = "2012-10-17"
INVOKE_ACTION = "execute-api:Invoke"
MAX_RESOURCE_ARN_LENGTH = 512


class ResponseFormat(enum.Enum):
    AUTO = "auto"  # IAM policy, except a simple response for HTTP API payload 2.0
    IAM = "iam"
    SIMPLE = "simple"  # HTTP API payload 2.0 only

    def resolve(self, kind: EventKind) -> ResponseFormat:
        if self is ResponseFormat.AUTO:
            return ResponseFormat.SIMPLE if kind is EventKind.HTTP_V2 else ResponseFormat.IAM
        if self is ResponseFormat.SIMPLE and kind is not EventKind.HTTP_V2:
            raise PolicyError(f"simple responses exist only for HTTP API payload 2.0, not {kind.value}")
        return self


@dataclass(frozen=True, slots=True)
class Statement:
    effect: Literal["Allow", "Deny"]
    resources: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.resources:
            raise PolicyError("a statement needs at least one resource")
        for arn in self.resources:
            if len(arn) > MAX_RESOURCE_ARN_LENGTH:
                raise PolicyError(f"resource ARN longer than {MAX_RESOURCE_ARN_LENGTH} characters")

    def as_dict(self) -> dict[str, Any]:
        return {"Action": INVOKE_ACTION, "Effect": self.effect, "Resource": list(self.resources)}


def whole_stage(request: AuthorizerRequest) -> str:
    """The ARN covering every route of the request's API and stage."""
    route = "*" if request.kind is EventKind.WEBSOCKET else "*/*"
    return request.method_arn.api.arn(route)


def policy_response(
    principal_id: str,
    statements: Sequence[Statement],
    context: Context | None = None,
    usage_identifier_key: str | None = None,
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "principalId": principal_id,
        "policyDocument": {
            "Version": POLICY_VERSION,
            "Statement": [statement.as_dict() for statement in statements],
        },
    }
    if context:
        response["context"] = dict(context)
    if usage_identifier_key is not None:
        response["usageIdentifierKey"] = usage_identifier_key
    return response


def simple_response(is_authorized: bool, context: Context | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"isAuthorized": is_authorized}
    if context:
        response["context"] = dict(context)
    return response


def allow(
    request: AuthorizerRequest,
    principal_id: str,
    context: Context,
    response_format: ResponseFormat = ResponseFormat.AUTO,
) -> dict[str, Any]:
    """Allow the whole API and stage, in the format the event kind calls for."""
    if response_format.resolve(request.kind) is ResponseFormat.SIMPLE:
        return simple_response(True, context)
    return policy_response(principal_id, [Statement("Allow", (whole_stage(request),))], context)


def deny(
    request: AuthorizerRequest,
    principal_id: str,
    response_format: ResponseFormat = ResponseFormat.AUTO,
) -> dict[str, Any]:
    """An explicit Deny (403) of the whole API and stage, so a cached answer stays consistent."""
    if response_format.resolve(request.kind) is ResponseFormat.SIMPLE:
        return simple_response(False)
    return policy_response(principal_id, [Statement("Deny", (whole_stage(request),))])
