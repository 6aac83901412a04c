"""Errors raised by the policy builder.

They derive from ``ValueError`` only: ``policies`` knows nothing of the
authorizers that call it, and each caller decides what an error means.
"""

from __future__ import annotations


class PolicyError(ValueError):
    """Root of every error raised by :mod:`policies`."""


class InvalidEvent(PolicyError):
    """The event is not one API Gateway sends to a Lambda authorizer."""


class InvalidArn(InvalidEvent):
    """A method or route ARN is not a well-formed execute-api ARN."""


class ContextError(PolicyError):
    """A context value or key breaks API Gateway's context rules or our size bounds."""
