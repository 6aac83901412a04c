"""Opt-in revocation check for access tokens: ask Cognito whether the session still stands.

A signed, unexpired access token stays valid to anyone who only checks signatures after
GlobalSignOut, AdminUserGlobalSignOut or RevokeToken. Cognito itself refuses it: GetUser
with the token answers NotAuthorizedException. GetUser only takes user access tokens with
the ``aws.cognito.signin.user.admin`` scope; others (client credentials tokens) cannot be
checked, and are refused with their own reason rather than called revoked. The answer is cached for a bounded time,
keyed by a hash of the token (never the token itself): "still valid" for
``cache_seconds``, "revoked" until the token expires. When Cognito cannot be asked, the
authorizer fails closed (500): the operator asked for the check, so it is never skipped.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from authorizers.errors import AuthorizerUnavailable, CredentialRejected, Reason
from authorizers.jwt.validator import Clock, VerifiedJwt

MAX_CACHED_TOKENS = 10_000
MIN_CACHE_SECONDS, MAX_CACHE_SECONDS = 0, 300


USER_SCOPE = "aws.cognito.signin.user.admin"  # GetUser accepts only access tokens with it


class RevocationCheck(Protocol):
    def check(self, access_token: str, verified: VerifiedJwt) -> None:
        """Raise :class:`CredentialRejected` (``token_revoked``) when the session was revoked."""

    def prepare(self, regions: set[str]) -> None:
        """Cold start: get ready to ask these regions, so no request pays for it."""


class CognitoGetUserClient(Protocol):
    def get_user(self, *, AccessToken: str) -> Any: ...


class GetUserRevocationCheck:
    """Asks Cognito's GetUser (in the token's pool region, or ``endpoint``), caching answers."""

    def __init__(
        self,
        cache_seconds: int = 60,
        endpoint: str | None = None,
        clock: Clock = time.monotonic,
        client_for_region: Callable[[str], CognitoGetUserClient] | None = None,
    ) -> None:
        self._cache_seconds = cache_seconds
        self._endpoint = endpoint
        self._clock = clock
        self._client_for_region = client_for_region or self._boto3_client
        self._clients: dict[str, CognitoGetUserClient] = {}
        self._answers: OrderedDict[str, tuple[bool, float]] = OrderedDict()  # hash -> (revoked, until)
        self._lock = threading.Lock()

    def prepare(self, regions: set[str]) -> None:
        for region in regions:
            if region not in self._clients:
                self._clients[region] = self._client_for_region(region)

    def check(self, access_token: str, verified: VerifiedJwt) -> None:
        scopes = verified.claims.get("scope")
        if not isinstance(scopes, str) or USER_SCOPE not in scopes.split():
            # Machine (client credentials) tokens and tokens without the user scope: GetUser
            # would refuse them whatever their state, so their revocation cannot be known.
            raise CredentialRejected(
                Reason.REVOCATION_UNCHECKABLE, f"revocation can only be checked for tokens with scope {USER_SCOPE}"
            )
        key = hashlib.sha256(access_token.encode("utf-8")).hexdigest()
        now = self._clock()
        with self._lock:
            cached = self._answers.get(key)
        if cached is not None and cached[1] > now:
            revoked = cached[0]
        else:
            revoked = self._ask(access_token, verified)
            # A revoked token stays revoked: remember it until it would have expired anyway.
            lifetime = max(0.0, float(verified.claims["exp"]) - time.time()) if revoked else self._cache_seconds
            with self._lock:
                self._answers[key] = (revoked, now + lifetime)
                self._answers.move_to_end(key)
                while len(self._answers) > MAX_CACHED_TOKENS:
                    self._answers.popitem(last=False)
        if revoked:
            raise CredentialRejected(Reason.TOKEN_REVOKED, "the session of this access token was revoked")

    def _ask(self, access_token: str, verified: VerifiedJwt) -> bool:
        region = _region_of(verified.config.issuer)
        client = self._clients.get(region)
        if client is None:
            client = self._clients[region] = self._client_for_region(region)
        try:
            client.get_user(AccessToken=access_token)
        except Exception as exc:
            if _error_code(exc) == "NotAuthorizedException":
                return True
            # Throttled, unreachable, misconfigured: the check cannot be done, so nothing passes.
            raise AuthorizerUnavailable(f"revocation check failed ({type(exc).__name__})") from None
        return False

    def _boto3_client(self, region: str) -> CognitoGetUserClient:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        # GetUser is authorised by the access token alone: no AWS credentials, no signature.
        config = Config(
            signature_version=UNSIGNED,
            connect_timeout=1,
            read_timeout=2,
            retries={"max_attempts": 2, "mode": "standard"},
        )
        client: CognitoGetUserClient = boto3.client(
            "cognito-idp", region_name=region, endpoint_url=self._endpoint, config=config
        )
        return client


def _region_of(issuer: str) -> str:
    # The issuer ends in the pool id, "{region}_{suffix}".
    return issuer.rstrip("/").rsplit("/", 1)[-1].split("_", 1)[0]


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return code if isinstance(code, str) else None
    return None
