"""Authorizer events for local invocation, and their generator (``python -m events.generate``)."""
