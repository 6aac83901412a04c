"""The one place where validator outcomes become API Gateway outcomes.

* principal, permitted         -> Allow policy (or ``isAuthorized: true``)
* InsufficientPermission       -> explicit Deny policy, 403 (or ``isAuthorized: false``)
* CredentialRejected, missing  -> ``Exception("Unauthorized")``, 401 (or ``isAuthorized: false``)
* AuthorizerUnavailable, bugs  -> :class:`AuthorizerFailed`, 500: fail closed, never Allow

Every decision is logged (decision, reason code, principal only once verified) and
counted as a metric. Tokens, secrets and signatures are never logged.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from authorizers.errors import (
    AuthorizerError,
    AuthorizerUnavailable,
    CredentialRejected,
    InsufficientPermission,
    Reason,
)
from authorizers.settings import ResponseSettings
from policies.authorization import PolicyScope, Verdict
from policies.context import principal_context
from policies.errors import ContextError, InvalidEvent, PolicyError
from policies.evaluate import policy_allows
from policies.principal import Principal
from policies.request import AuthorizerRequest, EventKind, parse_event
from policies.response import ResponseFormat, deny, policy_response, simple_response

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

UNAUTHORIZED = "Unauthorized"  # the exact message API Gateway turns into a 401


def cold_start(
    factory: Callable[[Mapping[str, str]], AuthorizerHandler], environ: Mapping[str, str]
) -> AuthorizerHandler:
    """Build a handler; a configuration error is logged as one clear line, then re-raised."""
    try:
        return factory(environ)
    except AuthorizerError as exc:
        from authorizers.observability import make_logger

        make_logger().error("authorizer cannot start", extra={"error_type": type(exc).__name__, "error": str(exc)})
        raise


def handler_on_first_access(
    module_globals: dict[str, Any], factory: Callable[[Mapping[str, str]], AuthorizerHandler]
) -> Callable[[str], AuthorizerHandler]:
    """A module ``__getattr__`` that builds ``handler`` from the environment when first asked.

    The Lambda runtime resolves ``handler`` during its init phase, so this is the cold
    start; importing the module (for ``create_handler``, or in tests) reads no environment.
    """
    import os

    def __getattr__(name: str) -> AuthorizerHandler:
        if name != "handler":
            raise AttributeError(f"module {module_globals['__name__']!r} has no attribute {name!r}")
        built = cold_start(factory, os.environ)
        module_globals["handler"] = built
        return built

    return __getattr__


class Authenticator(Protocol):
    scheme: str

    def authenticate(self, request: AuthorizerRequest) -> Principal: ...


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    UNAUTHORIZED = "unauthorized"
    ERROR = "error"

    @property
    def metric_name(self) -> str:
        return self.value.capitalize()


class AuthorizerFailed(Exception):
    """Raised to Lambda when the authorizer cannot decide: API Gateway answers 500."""

    def __init__(self) -> None:
        super().__init__("Authorizer failed closed")


class AuthorizerHandler:
    def __init__(
        self,
        authenticator: Authenticator,
        settings: ResponseSettings,
        logger: Logger | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        from authorizers.observability import make_logger, make_metrics

        self._authenticator = authenticator
        self._settings = settings
        self._logger = logger or make_logger()
        self._metrics = metrics or make_metrics()
        for note in settings.authorization.cold_start_notes():
            self._logger.warning(note)
        if settings.usage_keys is not None:
            settings.usage_keys.prefetch()  # a missing parameter or secret fails the cold start

    def __call__(self, event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        try:
            return self._handle(event)
        finally:
            self._metrics.flush_metrics()

    def _handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            request = parse_event(event)
            response_format = self._settings.response_format.resolve(request.kind)
        except PolicyError as exc:
            # API Gateway always sends a well-formed event, so this is a wiring mistake.
            self._fail(exc, kind=None)
        simple = response_format is ResponseFormat.SIMPLE
        log: dict[str, Any] = {"scheme": self._authenticator.scheme, "event_kind": request.kind.value}
        try:
            principal = self._authenticator.authenticate(request)
            context = principal_context(principal, self._settings.context_claims)
            verdict = self._settings.authorization.decide(principal, request)
            usage_key = self._usage_key(principal, request, verdict)
        except InsufficientPermission as exc:
            # Only a verified principal reaches a permission check, so its id can be logged.
            self._record(Decision.DENY, reason=exc.reason, detail=exc.detail, principal=exc.principal_id, **log)
            return deny(request, exc.principal_id or "unknown", response_format)
        except CredentialRejected as exc:
            self._record(Decision.UNAUTHORIZED, reason=exc.reason, detail=exc.detail, **log)
            if simple:
                return simple_response(False)
            raise Exception(UNAUTHORIZED) from None
        except ContextError as exc:
            self._record(Decision.UNAUTHORIZED, reason=Reason.CONTEXT_LIMIT, detail=str(exc), **log)
            if simple:
                return simple_response(False)
            raise Exception(UNAUTHORIZED) from None
        except Exception as exc:  # AuthorizerUnavailable, or a bug: fail closed
            self._fail(exc, kind=request.kind.value)
        # The principal's own scheme: the multi-scheme handler's validator that proved it.
        log.update(scheme=principal.scheme, principal=principal.principal_id, issuer=principal.issuer)
        log.update(_verdict_fields(verdict))
        if simple:
            response = simple_response(verdict.allowed, context if verdict.allowed else None)
        else:
            # A policy that allows other routes carries the context: API Gateway may reuse it for them.
            grants = any(statement.effect == "Allow" for statement in verdict.statements)
            response = policy_response(
                principal.principal_id, verdict.statements, context if grants else None, usage_key if grants else None
            )
        if verdict.allowed:
            self._record(Decision.ALLOW, **log)
        else:
            self._record(Decision.DENY, reason=Reason.ROUTE_NOT_ALLOWED, **log)
        return response

    def _usage_key(self, principal: Principal, request: AuthorizerRequest, verdict: Verdict) -> str | None:
        """The API key for the principal's usage plan (REST APIs only: HTTP APIs have none)."""
        usage_keys = self._settings.usage_keys
        if usage_keys is None or request.kind not in (EventKind.TOKEN, EventKind.REQUEST):
            return None
        # Asked whenever the policy grants anything, not only the route at hand: a cached
        # answer for a refused route would otherwise open the principal's other routes.
        if not any(statement.effect == "Allow" for statement in verdict.statements):
            return None
        key = usage_keys.key_for(principal)
        if key is None:
            raise InsufficientPermission(
                Reason.USAGE_KEY_MISSING, "no usage plan key for this principal", principal.principal_id
            )
        return key

    def _record(self, decision: Decision, reason: Reason | None = None, **fields: Any) -> None:
        fields = {key: value for key, value in fields.items() if value not in (None, "")}
        if reason is not None:
            fields["reason"] = reason.value
        self._logger.info(f"decision: {decision.value}", extra={"decision": decision.value, **fields})
        self._metrics.add_metric(name=decision.metric_name, unit="Count", value=1)

    def _fail(self, exc: Exception, kind: str | None) -> NoReturn:
        known = isinstance(exc, (AuthorizerUnavailable, InvalidEvent, PolicyError))
        self._logger.error(
            "decision: error",
            extra={
                "decision": Decision.ERROR.value,
                "scheme": self._authenticator.scheme,
                "event_kind": kind,
                "error_type": type(exc).__name__,
                # Our own messages carry no credential data; an unexpected one might.
                "error": str(exc) if known else "unexpected error",
            },
        )
        if not known:
            self._logger.exception("unexpected error in authorizer")
        self._metrics.add_metric(name=Decision.ERROR.metric_name, unit="Count", value=1)
        raise AuthorizerFailed() from None


def _verdict_fields(verdict: Verdict) -> dict[str, Any]:
    fields: dict[str, Any] = {"principal_class": verdict.principal_class or None}
    if verdict.scope is PolicyScope.ROUTE or verdict.note:
        fields["policy_scope"] = verdict.scope.value
    if verdict.note:
        fields["policy_note"] = verdict.note
    return fields


def decide(handler: Any, event: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """Run a handler as API Gateway would and name the outcome (for the CLI and demo).

    Returns ("allow" | "deny", response), ("unauthorized", None) or ("error", None).
    """
    try:
        response: dict[str, Any] = handler(event, None)
    except AuthorizerFailed:
        return Decision.ERROR.value, None
    except Exception as exc:
        if str(exc) == UNAUTHORIZED:
            return Decision.UNAUTHORIZED.value, None
        raise
    return response_decision(event, response), response


def response_decision(event: Mapping[str, Any], response: Mapping[str, Any]) -> str:
    """ "allow" or "deny": what a handler's response means for the route ``event`` asks for."""
    if "isAuthorized" in response:
        allowed = response["isAuthorized"] is True
        return str((Decision.ALLOW if allowed else Decision.DENY).value)
    # The policy may allow other routes too: what counts is the route this event asks for.
    requested = parse_event(event).method_arn.text
    allowed = policy_allows(response.get("policyDocument") or {}, requested)
    return str((Decision.ALLOW if allowed else Decision.DENY).value)
