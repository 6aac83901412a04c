"""Policy builder for API Gateway Lambda authorizers.

Pure values in, plain dicts out: no I/O, and nothing imported from ``authorizers``.
"""

from policies.arn import ApiStage, MethodArn, parse_method_arn
from policies.context import Context, bounded, check_context_key, flatten, principal_context
from policies.errors import ContextError, InvalidArn, InvalidEvent, PolicyError
from policies.principal import Principal
from policies.request import AuthorizerRequest, EventKind, parse_event
from policies.response import (
    ResponseFormat,
    Statement,
    allow,
    deny,
    policy_response,
    simple_response,
    whole_stage,
)

__all__ = [
    "ApiStage",
    "AuthorizerRequest",
    "Context",
    "ContextError",
    "EventKind",
    "InvalidArn",
    "InvalidEvent",
    "MethodArn",
    "PolicyError",
    "Principal",
    "ResponseFormat",
    "Statement",
    "allow",
    "bounded",
    "check_context_key",
    "deny",
    "flatten",
    "parse_event",
    "parse_method_arn",
    "policy_response",
    "principal_context",
    "simple_response",
    "whole_stage",
]
