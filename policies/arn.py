"""Execute-api ARNs: strict parsing and formatting, partition preserved.

API Gateway sends ``arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{verb}/{path}``
(REST and HTTP APIs) or ``.../{apiId}/{stage}/{routeKey}`` (WebSocket ``$connect``, no verb).
Only the API id, stage and account from the ARN are ever copied into a policy; the
requested path never is, so nothing a caller sends can widen a Resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policies.errors import InvalidArn

# aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, ... must all round-trip unchanged.
_PARTITION = re.compile(r"aws(-[a-z]+)*")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_ACCOUNT = re.compile(r"\d{12}")
_API_ID = re.compile(r"[a-z0-9]{1,64}")
# A real stage name, or "*" as sent by the console's "test authorizer" button.
_STAGE = re.compile(r"\$?[A-Za-z0-9_-]{1,128}|\*")

MAX_METHOD_ARN_BYTES = 1600


@dataclass(frozen=True, slots=True)
class ApiStage:
    """Where a request landed: the part of a method ARN a policy may be built from."""

    partition: str
    region: str
    account_id: str
    api_id: str
    stage: str

    def arn(self, route: str) -> str:
        """The ARN of ``route`` (``"*/*"``, ``"GET/pets"``, ``"$connect"``) in this API and stage."""
        return f"arn:{self.partition}:execute-api:{self.region}:{self.account_id}:{self.api_id}/{self.stage}/{route}"


@dataclass(frozen=True, slots=True)
class MethodArn:
    """A parsed method ARN (REST, HTTP) or route ARN (HTTP 2.0, WebSocket)."""

    api: ApiStage
    verb: str | None  # None for WebSocket route ARNs
    resource: str  # the requested path or route key, as data: never a pattern

    @property
    def text(self) -> str:
        route = self.resource if self.verb is None else f"{self.verb}/{self.resource}"
        return self.api.arn(route)


def parse_method_arn(text: object, *, websocket: bool = False) -> MethodArn:
    """Parse an execute-api ARN sent by API Gateway, refusing anything unexpected."""
    if not isinstance(text, str) or not text:
        raise InvalidArn("method ARN is missing or not a string")
    if len(text.encode("utf-8")) > MAX_METHOD_ARN_BYTES:
        raise InvalidArn("method ARN is longer than API Gateway allows")
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "execute-api":
        raise InvalidArn("not an execute-api ARN")
    _, partition, _, region, account_id, rest = parts
    _require(_PARTITION, partition, "partition")
    _require(_REGION, region, "region")
    _require(_ACCOUNT, account_id, "account id")
    segments = rest.split("/", 3 if not websocket else 2)
    if websocket:
        if len(segments) != 3:
            raise InvalidArn("WebSocket route ARN must be {apiId}/{stage}/{routeKey}")
        api_id, stage, route_key = segments
        verb: str | None = None
        resource = route_key
        if not route_key:
            raise InvalidArn("WebSocket route ARN has an empty route key")
    else:
        if len(segments) < 3:
            raise InvalidArn("method ARN must be {apiId}/{stage}/{verb}/{path}")
        api_id, stage, verb = segments[0], segments[1], segments[2]
        resource = segments[3] if len(segments) == 4 else ""
        if not re.fullmatch(r"[A-Z]{1,16}|\*", verb):
            raise InvalidArn("method ARN has an invalid HTTP verb")
    _require(_API_ID, api_id, "API id")
    _require(_STAGE, stage, "stage")
    api = ApiStage(partition, region, account_id, api_id, stage)
    return MethodArn(api=api, verb=verb, resource=resource)


def _require(pattern: re.Pattern[str], value: str, what: str) -> None:
    if not pattern.fullmatch(value):
        raise InvalidArn(f"method ARN has an invalid {what}")
