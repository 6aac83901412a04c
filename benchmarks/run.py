"""Benchmarks: what a request costs, and what a cold principal class costs. Run: ``make bench``.

Numbers, not assertions: shared machines are noisy, so nothing here fails on time.
Each figure is the median of several rounds of many calls, after a warm-up.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod"
OPENAPI = ROOT / "tests" / "data" / "openapi"


def per_call_us(call: Callable[[], Any], calls: int = 2000, rounds: int = 5) -> float:
    for _ in range(200):
        call()
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        timings.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(timings)


def once_ms(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    # Decision lines at INFO would measure the log sink; Powertools reads this from the process.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from authorizers.handlers.jwt import create_handler
    from authorizers.handlers.multi import create_handler as create_multi
    from authorizers.local_issuer import DEFAULT_AUDIENCE, LocalIssuer
    from policies import languages
    from policies.authorization import Authorization
    from policies.openapi import load_openapi
    from policies.principal import Principal
    from policies.request import parse_event

    rows: list[tuple[str, str]] = []
    with LocalIssuer() as issuer, contextlib.redirect_stdout(io.StringIO()):  # the handlers' logs and metrics
        env = {"JWT_ISSUER": issuer.issuer, "JWT_AUDIENCE": DEFAULT_AUDIENCE, "JWT_JWKS": json.dumps(issuer.jwks())}
        token = issuer.mint(scope="read:pets write:pets")
        event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": f"{API}/GET/pet/7"}
        plain = create_handler(env)
        rows.append(("handler, no rules (REST TOKEN)", f"{per_call_us(lambda: plain(event)):.0f} µs"))
        multi = create_multi({**env, "AUTHORIZER_SCHEMES": "jwt"})
        rows.append(("multi-scheme handler, same token (routed by iss)", f"{per_call_us(lambda: multi(event)):.0f} µs"))
        with_openapi = {**env, "AUTHZ_OPENAPI": str(OPENAPI / "petstore-swagger2.yaml")}
        petstore = create_handler(with_openapi)
        rows.append(("handler, petstore OpenAPI, class compiled", f"{per_call_us(lambda: petstore(event)):.0f} µs"))
        routed = create_handler({**with_openapi, "AUTHZ_POLICY_SCOPE": "route"})
        rows.append(("handler, petstore OpenAPI, route scope", f"{per_call_us(lambda: routed(event)):.0f} µs"))

    rows.append(("SAML handler, signed assertion (SAML_REPLAY=reuse)", f"{_saml_handler_ms():.2f} ms"))
    rows.append(("SigV4 handler, keys mode, botocore-signed GET", f"{_sigv4_handler_us():.0f} µs"))
    request = parse_event({"type": "TOKEN", "authorizationToken": "x", "methodArn": f"{API}/GET/pet/7"})
    classes = {
        "petstore-swagger2.yaml": [(), ("read:pets",), ("read:pets", "write:pets")],
        "versioned-openapi31.yaml": [(), ("pets:read",), ("pets:admin",), ("pets:read", "pets:write", "pets:admin")],
    }
    for name, scope_sets in classes.items():
        document = load_openapi(str(OPENAPI / name))
        for scopes in scope_sets:
            principal = Principal("p", "jwt", scopes=frozenset(scopes))
            timings = []
            for _ in range(5):  # a fresh Authorization each time: the first request of a class
                languages._union.cache_clear()  # and nothing learnt from other classes: the worst case
                authorization = Authorization(document.rules, routes=document.routes)
                timings.append(once_ms(functools.partial(authorization.decide, principal, request)))
            label = f"first request of a principal class: {name}, scopes {' '.join(scopes) or '(none)'}"
            rows.append((label, f"{statistics.median(timings):.1f} ms"))

    width = max(len(label) for label, _ in rows)
    print(f"Python {sys.version.split()[0]}")
    for label, value in rows:
        print(f"{label:<{width}}  {value:>9}")
    return 0


def _saml_handler_ms() -> float:
    sys.path.insert(0, str(ROOT))
    from authorizers.handlers.saml import create_handler
    from tests.samlkit import ACS_URL, IDP_ENTITY_ID, SP_ENTITY_ID, SamlIdp, b64, shared_key

    env = {
        "SAML_IDP_ENTITY_ID": IDP_ENTITY_ID,
        "SAML_IDP_CERT": shared_key().cert_pem,
        "SAML_SP_ENTITY_ID": SP_ENTITY_ID,
        "SAML_ACS_URL": ACS_URL,
        "SAML_REPLAY": "reuse",  # the same assertion every time: once-only would refuse it
    }
    encoded = b64(SamlIdp(IDP_ENTITY_ID, shared_key()).response(not_on_or_after=3600))
    event = {"type": "TOKEN", "authorizationToken": f"SAML {encoded}", "methodArn": f"{API}/GET/pets"}
    with contextlib.redirect_stdout(io.StringIO()):
        handler = create_handler(env)
        return per_call_us(lambda: handler(event), calls=200, rounds=3) / 1000


def _sigv4_handler_us() -> float:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from authorizers.handlers.sigv4 import create_handler

    key_id, secret, host = (
        "AKIDEXAMPLE000000001",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "abcdef123.execute-api.us-east-1.amazonaws.com",
    )
    request = AWSRequest(method="GET", url=f"https://{host}/prod/pets/7?a=1", headers={"Host": host})
    SigV4Auth(Credentials(key_id, secret), "execute-api", "us-east-1").add_auth(request)
    event = {
        "type": "REQUEST",
        "methodArn": f"{API}/GET/pets/7",
        "httpMethod": "GET",
        "multiValueHeaders": {name: [value] for name, value in request.headers.items()},
        "multiValueQueryStringParameters": {"a": ["1"]},
        "requestContext": {"path": "/prod/pets/7"},
    }
    keys = json.dumps({key_id: {"secret": secret, "principal": "partner"}})
    with contextlib.redirect_stdout(io.StringIO()):
        handler = create_handler({"SIGV4_CREDENTIALS": keys, "SIGV4_REGION": "us-east-1"})
        return per_call_us(lambda: handler(event))


if __name__ == "__main__":
    sys.exit(main())
