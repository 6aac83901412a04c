"""``authorizers demo``: the whole JWT path, offline, in a few seconds.

Starts a local issuer on loopback, configures the real JWT handler to find its keys by
OIDC discovery, and runs it on real-shaped API Gateway events: a valid token on every
event kind, then a token lacking the required scope, an expired one and a forged one.
Then the same handler with authorization rules: a scope opens one route, not another.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, TextIO

from authorizers.local_issuer import DEFAULT_AUDIENCE, LocalIssuer, generate_key

REQUIRED_SCOPE = "pets:read"
DEMO_RULES = {
    "rules": [
        {"effect": "allow", "routes": ["GET /pets", "GET /pets/{proxy+}"]},
        {"effect": "allow", "routes": ["POST /v2/pets"], "when": {"scopes": ["pets:write"]}},
    ]
}
POST_V2_PETS = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/POST/v2/pets"
SAMPLES = {
    "REST TOKEN": "rest-token.json",
    "REST REQUEST": "rest-request.json",
    "HTTP API 2.0": "http-v2.json",
    "WebSocket $connect": "websocket-connect.json",
}


@dataclass(frozen=True)
class Outcome:
    scenario: str
    event_kind: str
    expected: str
    decision: str
    response: Mapping[str, Any] | None

    @property
    def as_expected(self) -> bool:
        return self.decision == self.expected


def sample_event(name: str, token: str) -> dict[str, Any]:
    text = resources.files("authorizers.samples").joinpath(SAMPLES[name]).read_text(encoding="utf-8")
    event: dict[str, Any] = json.loads(text.replace("{token}", token))
    return event


def run(out: TextIO, *, as_json: bool = False, verbose: bool = False) -> int:
    from authorizers.handlers.jwt import create_handler
    from authorizers.handlers.runtime import decide

    with LocalIssuer() as issuer, _quiet(not verbose):
        environ = {
            "JWT_ISSUER": issuer.issuer,
            "JWT_AUDIENCE": DEFAULT_AUDIENCE,
            "JWT_REQUIRED_SCOPES": REQUIRED_SCOPE,
            "AUTHZ_CONTEXT_CLAIMS": "email",
        }
        handler = create_handler(environ)
        with_rules = create_handler({**environ, "AUTHZ_RULES": json.dumps(DEMO_RULES)})
        good = issuer.mint(sub="alice", scope=f"{REQUIRED_SCOPE} pets:write", claims={"email": "alice@example.com"})
        reader = issuer.mint(sub="carol", scope=REQUIRED_SCOPE)
        scenarios: list[tuple[str, str, str, Callable[[], str]]] = [
            *[("valid token", kind, "allow", lambda: good) for kind in SAMPLES],
            ("valid token without scope " + REQUIRED_SCOPE, "REST TOKEN", "deny", lambda: issuer.mint(sub="bob")),
            (
                "expired token",
                "REST REQUEST",
                "unauthorized",
                lambda: issuer.mint(scope=REQUIRED_SCOPE, expires_in=-3600),
            ),
            (
                "forged token (same kid, another key)",
                "REST TOKEN",
                "unauthorized",
                lambda: issuer.mint(scope=REQUIRED_SCOPE, private_key=generate_key()),
            ),
        ]
        outcomes = []
        for scenario, kind, expected, token in scenarios:
            decision, response = decide(handler, sample_event(kind, token()))
            outcomes.append(Outcome(scenario, kind, expected, decision, response))
        for scenario, bearer, expected in (
            ("rules: pets:write may POST /v2/pets (policy lists every route it may call)", good, "allow"),
            ("rules: pets:read alone may not POST /v2/pets", reader, "deny"),
        ):
            event = {**sample_event("REST TOKEN", bearer), "methodArn": POST_V2_PETS}
            decision, response = decide(with_rules, event)
            outcomes.append(Outcome(scenario, "REST TOKEN", expected, decision, response))
        fetches = len(issuer.requests)
    _report(out, outcomes, issuer_url=issuer.issuer, fetches=fetches, as_json=as_json)
    return 0 if all(o.as_expected for o in outcomes) else 1


def _report(out: TextIO, outcomes: list[Outcome], *, issuer_url: str, fetches: int, as_json: bool) -> None:
    if as_json:
        json.dump([o.__dict__ for o in outcomes], out, indent=2)
        out.write("\n")
        return
    out.write(f"Local issuer {issuer_url}: discovery and JWKS fetched once at cold start ({fetches} requests)\n\n")
    for o in outcomes:
        mark = "ok " if o.as_expected else "!! "
        out.write(f"{mark}{o.decision.upper():<13} {o.event_kind:<19} {o.scenario}\n")
        if o.response is not None:
            out.write("    " + json.dumps(o.response, sort_keys=True) + "\n")
        else:
            out.write("    raise Exception('Unauthorized')  -> API Gateway answers 401\n")
    passed = sum(o.as_expected for o in outcomes)
    out.write(f"\n{passed} of {len(outcomes)} scenarios decided as expected\n")


@contextmanager
def _quiet(enabled: bool) -> Iterator[None]:
    """Silence the handler's JSON logs and EMF metrics unless --verbose is given."""
    if not enabled:
        yield
        return
    saved = {k: os.environ.get(k) for k in ("POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_DISABLED")}
    os.environ.update({"POWERTOOLS_LOG_LEVEL": "CRITICAL", "POWERTOOLS_METRICS_DISABLED": "true"})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
