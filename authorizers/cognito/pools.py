"""User pool ids, and what follows from one: region, issuer, JWKS URI.

A pool id is ``{region}_{suffix}`` (``eu-west-1_AbC123xyZ``). The issuer is
``https://cognito-idp.{region}.{domain}/{pool id}``, where the domain is
``amazonaws.com`` everywhere but the China regions (``amazonaws.com.cn``); GovCloud
pools (``us-gov-west-1_...``) use the standard domain. The keys are published at
``{issuer}/.well-known/jwks.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from authorizers.errors import ConfigurationError

_POOL_ID = re.compile(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d{1,2})_(?P<suffix>[A-Za-z0-9]{1,64})")
_ENDPOINT = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?")


@dataclass(frozen=True, slots=True)
class UserPool:
    pool_id: str
    region: str

    @property
    def domain(self) -> str:
        return "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"

    @property
    def endpoint(self) -> str:
        """The regional Cognito endpoint, which also begins the issuer."""
        return f"https://cognito-idp.{self.region}.{self.domain}"

    def issuer(self, endpoint: str | None = None) -> str:
        return f"{(endpoint or self.endpoint).rstrip('/')}/{self.pool_id}"

    def jwks_uri(self, endpoint: str | None = None) -> str:
        return f"{self.issuer(endpoint)}/.well-known/jwks.json"


def parse_pool_id(text: str) -> UserPool:
    match = _POOL_ID.fullmatch(text.strip())
    if match is None:
        raise ConfigurationError(
            f"{text!r} is not a user pool id (expected {{region}}_{{id}}, e.g. eu-west-1_AbC123xyZ)"
        )
    return UserPool(pool_id=match.group(0), region=match.group("region"))


def check_endpoint(value: str, setting: str) -> str:
    """An endpoint override: a base URL without query or fragment (the URL policy applies later)."""
    endpoint = value.strip().rstrip("/")
    if not _ENDPOINT.fullmatch(endpoint) or "/../" in f"{endpoint}/" or "/./" in f"{endpoint}/":
        raise ConfigurationError(f"{setting} must be a base URL like https://host[:port], not {value!r}")
    return endpoint
