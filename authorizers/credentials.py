"""Finding the credential in an authorizer request."""

from __future__ import annotations

from authorizers.errors import CredentialRejected, Reason
from policies.errors import InvalidEvent
from policies.request import AuthorizerRequest, EventKind


def authorization_value(request: AuthorizerRequest) -> str:
    """The TOKEN event's token, or the single ``Authorization`` header of any other kind."""
    if request.kind is EventKind.TOKEN:
        value = request.token
    else:
        try:
            value = request.header("Authorization")
        except InvalidEvent as exc:
            raise CredentialRejected(Reason.AMBIGUOUS_CREDENTIAL, "several Authorization headers") from exc
    if value is None or not value.strip():
        raise CredentialRejected(Reason.MISSING_CREDENTIAL, "no Authorization value")
    return value.strip()


def bearer_token(request: AuthorizerRequest) -> str:
    """The token of ``Authorization: Bearer <token>``; a bare token is accepted as well."""
    value = authorization_value(request)
    scheme, _, rest = value.partition(" ")
    if not rest:
        return value  # no scheme: the value is the token itself
    if scheme.lower() != "bearer":
        raise CredentialRejected(Reason.UNSUPPORTED_SCHEME, "only the Bearer scheme is accepted")
    token = rest.strip()
    if not token or " " in token:
        raise CredentialRejected(Reason.MALFORMED_TOKEN, "Bearer value is not one token")
    return token
