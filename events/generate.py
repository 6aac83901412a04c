"""Writes ``events/*.json`` and ``env.json``: one event per handler and event kind, and their settings.

``make events`` (or ``python -m events.generate``) runs it; ``generate(out_dir, now=...)``
is the API. ``env.json`` is in SAM's format (function logical id -> variables), so both
``sam local invoke -e events/jwt-token.json JwtAuthorizerFunction --env-vars env.json``
and ``authorizers invoke --handler jwt --event events/jwt-token.json --env env.json
--function JwtAuthorizerFunction`` use it.

Every credential is made for development only:

* JWT (``jwt-*``): signed by a throw-away RS256 key that is never written anywhere; only
  its public JWKS goes into env.json (``JWT_JWKS``). The issuer is under ``.invalid``
  (RFC 2606). The expiry is far in the future (2100) so the committed events keep working
  offline: nobody holds the key, and nothing but this env.json trusts it. When the events
  and env.json on disk still verify, they are kept as they are (no churn in git).
* Cognito (``cognito-*``): signed with moto's published Cognito key (kid ``dummy``, shipped
  in moto, so anyone can sign with it). They verify only against a moto server:
  ``moto_server -p 5000`` and ``COGNITO_ENDPOINT=http://127.0.0.1:5000``; never against Cognito.
* SAML (``saml-*``): signed by a fresh development IdP key on every run (its certificate
  inline in ``SAML_IDP_CERT``); valid for an hour, each event its own assertion (the
  handler refuses a replayed one).
* SigV4 (``sigv4-*``, REQUEST kinds only): signed by botocore with a development key pair
  whose secret is in ``SIGV4_CREDENTIALS`` (like AWS's documented example keys). Header
  signatures hold for the handler's skew window (5 minutes), presigned URLs for 15: run
  ``make events`` again to re-sign.
* ``multi-*``: the same credentials for ``authorizers.handlers.multi.handler``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from unittest import mock

from authorizers import devtoken

EVENTS_DIR = Path(__file__).resolve().parent
ENV_FILE = EVENTS_DIR.parent / "env.json"

REGION = "us-east-1"
ACCOUNT = "123456789012"
API_ID = "abcdef123"
STAGE = "dev"
API_HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
KINDS = ("token", "request", "http", "websocket")  # REST TOKEN, REST REQUEST, HTTP API 2.0, WebSocket $connect
SAMPLES = {
    "token": "rest-token.json",
    "request": "rest-request.json",
    "http": "http-v2.json",
    "websocket": "websocket-connect.json",
}
PLACEHOLDER = "Bearer {token}"  # where the samples carry the credential

# Fixed claims: the same key signs the same token, so a re-run changes nothing.
ISSUED_AT = 1704067200  # 2024-01-01T00:00:00Z
FAR_FUTURE = 4102444800  # 2100-01-01T00:00:00Z: see the module docstring for why
JWT_ALGORITHM = "RS256"
JWT_CLAIMS = devtoken.claims_for(
    subject="dev-user",
    issued_at=ISSUED_AT,
    ttl_seconds=FAR_FUTURE - ISSUED_AT,
    scopes=("pets:read", "pets:write"),
    groups=("developers",),
    jti="dev-events-jwt",
)

COGNITO_POOL_ID = f"{REGION}_DevEvents1"
COGNITO_CLIENT_ID = "devclientapigwauthorizers1"
COGNITO_ENDPOINT = "http://127.0.0.1:5000"  # moto_server's default port
COGNITO_CLAIMS = {
    "sub": "d0000000-0000-4000-8000-00000000dev1",
    "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{COGNITO_POOL_ID}",
    "client_id": COGNITO_CLIENT_ID,
    "token_use": "access",
    "scope": "aws.cognito.signin.user.admin",
    "auth_time": ISSUED_AT,
    "iat": ISSUED_AT,
    "exp": FAR_FUTURE,
    "jti": "dev-events-cognito",
    "username": "dev-user",
    "cognito:groups": ["developers"],
}

SAML_IDP_ENTITY_ID = "https://idp.dev.apigw-authorizers.invalid/saml/metadata"
SAML_SP_ENTITY_ID = "https://api.dev.apigw-authorizers.invalid/saml/metadata"
SAML_ACS_URL = "https://api.dev.apigw-authorizers.invalid/saml/acs"
SAML_NAME_ID = "dev-user@example.com"
SAML_VALID_SECONDS = 3600

SIGV4_ACCESS_KEY_ID = "AKIADEVAPIGWAUTHZ001"
SIGV4_SECRET = "dev/apigw-authorizers+EXAMPLE/secret-0123456789"  # development only, like AWS's example keys
SIGV4_PRINCIPAL = "dev-client"
SIGV4_PRESIGN_EXPIRES = 900  # the handler's default SIGV4_MAX_EXPIRES_SECONDS
SIGV4_PATH = "/pets/7"
SIGV4_QUERY = "view=summary"


@dataclass(frozen=True)
class Generated:
    events: dict[str, Path]  # event name (file stem, e.g. "jwt-token") -> file
    env_file: Path


def generate(out_dir: Path = EVENTS_DIR, env_file: Path | None = None, *, now: float | None = None) -> Generated:
    """Write every event into ``out_dir`` and the settings into ``env_file`` (default: next to ``out_dir``).

    ``now`` (epoch seconds, default the clock) is when the SigV4 and SAML events are signed.
    """
    env_path = env_file if env_file is not None else out_dir.parent / "env.json"
    signed_at = time.time() if now is None else now
    jwt_token, jwt_env = _jwt_credentials(out_dir, env_path)
    cognito_token = _cognito_token()
    saml = _SamlSigner(signed_at)
    events: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        events[f"jwt-{kind}"] = _with_credential(kind, f"Bearer {jwt_token}")
        events[f"cognito-{kind}"] = _with_credential(kind, f"Bearer {cognito_token}")
        events[f"saml-{kind}"] = _with_credential(kind, saml.authorization())
    events.update(_sigv4_events("sigv4", signed_at))
    events["multi-jwt-token"] = _with_credential("token", f"Bearer {jwt_token}")
    events["multi-jwt-http"] = _with_credential("http", f"Bearer {jwt_token}")
    events["multi-cognito-request"] = _with_credential("request", f"Bearer {cognito_token}")
    events["multi-saml-request"] = _with_credential("request", saml.authorization())
    sigv4 = _sigv4_events("multi-sigv4", signed_at)
    events["multi-sigv4-request"] = sigv4["multi-sigv4-request"]
    events["multi-sigv4-http-presigned"] = sigv4["multi-sigv4-http-presigned"]

    out_dir.mkdir(parents=True, exist_ok=True)
    written = {name: _write_json(out_dir / f"{name}.json", event) for name, event in events.items()}
    _write_json(env_path, environment(jwt_env, saml.settings()))
    return Generated(events=written, env_file=env_path)


def environment(jwt_env: Mapping[str, str], saml_env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """env.json: each function's variables (only ones the template declares for it)."""
    cognito = {
        "COGNITO_USER_POOL_ID": COGNITO_POOL_ID,
        "COGNITO_CLIENT_ID": COGNITO_CLIENT_ID,
        "COGNITO_ENDPOINT": COGNITO_ENDPOINT,
        "COGNITO_CHECK_REVOCATION": "false",  # moto never issued these tokens' sessions
    }
    sigv4 = {
        "SIGV4_CREDENTIALS": json.dumps(
            {SIGV4_ACCESS_KEY_ID: {"secret": SIGV4_SECRET, "principal": SIGV4_PRINCIPAL, "groups": ["developers"]}},
            separators=(",", ":"),
        ),
        "SIGV4_REGION": REGION,
    }
    return {
        "JwtAuthorizerFunction": dict(jwt_env),
        "CognitoAuthorizerFunction": cognito,
        "SamlAuthorizerFunction": dict(saml_env),
        "SigV4AuthorizerFunction": sigv4,
        "MultiAuthorizerFunction": {
            "AUTHORIZER_SCHEMES": "jwt,cognito,saml,sigv4",
            **jwt_env,
            **cognito,
            **saml_env,
            **sigv4,
        },
    }


# -- JWT ------------------------------------------------------------------------------------------


def _jwt_credentials(out_dir: Path, env_path: Path) -> tuple[str, dict[str, str]]:
    """The token and the JWT settings on disk when they still verify, else a new key's."""
    kept = _kept_jwt(out_dir, env_path)
    if kept is not None:
        return kept
    key = devtoken.DevKey.throwaway(JWT_ALGORITHM)  # never written: nobody can sign more
    settings = devtoken.jwt_environment([key], devtoken.DEV_ISSUER, devtoken.DEV_AUDIENCE)
    return devtoken.mint(key, JWT_CLAIMS), {**settings, "JWT_JWKS_URI": ""}


def _kept_jwt(out_dir: Path, env_path: Path) -> tuple[str, dict[str, str]] | None:
    import jwt

    try:
        settings = json.loads(env_path.read_text(encoding="utf-8"))["JwtAuthorizerFunction"]
        token = json.loads((out_dir / "jwt-token.json").read_text(encoding="utf-8"))["authorizationToken"]
        token = token.removeprefix("Bearer ")
        keys = jwt.PyJWKSet.from_dict(json.loads(settings["JWT_JWKS"]))
        key = keys[jwt.get_unverified_header(token)["kid"]]
        claims = jwt.decode(
            token, key.key, algorithms=[JWT_ALGORITHM], audience=devtoken.DEV_AUDIENCE, issuer=devtoken.DEV_ISSUER
        )
    except (OSError, ValueError, KeyError, TypeError, jwt.PyJWTError):
        return None
    if claims != JWT_CLAIMS or not all(isinstance(value, str) for value in settings.values()):
        return None
    return token, settings


# -- Cognito --------------------------------------------------------------------------------------


def _cognito_token() -> str:
    """An access token signed with moto's published key: accepted by moto's JWKS only."""
    import jwt
    from moto.utilities.utils import load_resource

    private_jwk = load_resource("cognitoidp/resources/jwks-private.json")
    key = jwt.PyJWK.from_dict(private_jwk)
    return jwt.encode(COGNITO_CLAIMS, key.key, algorithm="RS256", headers={"kid": private_jwk["kid"]})


# -- SAML -----------------------------------------------------------------------------------------


class _SamlSigner:
    """A development IdP with a fresh key: each ``authorization()`` is a new signed Response."""

    def __init__(self, now: float) -> None:
        from tests.samlkit import IdpKey, SamlIdp

        self._now = now
        self._key = IdpKey.generate("apigw-authorizers development IdP")
        self._idp = SamlIdp(SAML_IDP_ENTITY_ID, self._key)

    def authorization(self) -> str:
        from tests.samlkit import b64

        signed = self._idp.response(
            name_id=SAML_NAME_ID,
            attributes={"email": [SAML_NAME_ID], "groups": ["developers"]},
            audience=SAML_SP_ENTITY_ID,
            recipient=SAML_ACS_URL,
            destination=SAML_ACS_URL,
            now=self._now,
            not_on_or_after=SAML_VALID_SECONDS,
        )
        return f"SAML {b64(signed)}"

    def settings(self) -> dict[str, str]:
        return {
            "SAML_IDP_METADATA": "",  # the entity id and certificate below instead
            "SAML_IDP_ENTITY_ID": SAML_IDP_ENTITY_ID,
            "SAML_IDP_CERT": self._key.cert_pem,
            "SAML_SP_ENTITY_ID": SAML_SP_ENTITY_ID,
            "SAML_ACS_URL": SAML_ACS_URL,
            "SAML_GROUPS_ATTRIBUTE": "groups",
            "SAML_CONTEXT_ATTRIBUTES": "email",
        }


# -- SigV4 ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Wire:
    """A request as sent: path and query percent-encoded as on the request line."""

    method: str
    host: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]


def _sigv4_events(prefix: str, now: float) -> dict[str, dict[str, Any]]:
    rest_url = f"https://{API_HOST}/{STAGE}{SIGV4_PATH}?{SIGV4_QUERY}"
    http_url = f"https://{API_HOST}{SIGV4_PATH}?{SIGV4_QUERY}"  # HTTP API: the $default stage, no prefix
    return {
        f"{prefix}-request": _rest_event(_signed(rest_url, now, presign=False)),
        f"{prefix}-request-presigned": _rest_event(_signed(rest_url, now, presign=True)),
        f"{prefix}-http": _http_event(_signed(http_url, now, presign=False)),
        f"{prefix}-http-presigned": _http_event(_signed(http_url, now, presign=True)),
    }


def _signed(url: str, now: float, *, presign: bool) -> _Wire:
    """A GET signed by botocore at ``now``: the Authorization header, or a presigned URL."""
    from botocore.auth import SigV4Auth, SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=url, headers={"Accept": "application/json"})
    credentials = Credentials(SIGV4_ACCESS_KEY_ID, SIGV4_SECRET)
    signed_at = datetime.datetime.fromtimestamp(int(now), tz=datetime.UTC).replace(tzinfo=None)
    signer: SigV4Auth = (
        SigV4QueryAuth(credentials, "execute-api", REGION, expires=SIGV4_PRESIGN_EXPIRES)
        if presign
        else SigV4Auth(credentials, "execute-api", REGION)
    )
    # botocore reads the clock here; fixing it is how a signature at a given time is made.
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
        signer.add_auth(request)
    parts = urllib.parse.urlsplit(str(request.url))
    headers = [("Host", parts.netloc), *((str(name), str(value)) for name, value in request.headers.items())]
    # Added on the way by API Gateway: never signed, they must not matter.
    headers += [("X-Forwarded-For", "203.0.113.9"), ("X-Amzn-Trace-Id", "Root=1-66322bf0-0123456789abcdef01234567")]
    return _Wire("GET", parts.netloc, parts.path, parts.query, tuple(headers))


def _query(query: str) -> dict[str, list[str]]:
    pairs: dict[str, list[str]] = {}
    for item in query.split("&") if query else []:
        name, _, value = item.partition("=")
        pairs.setdefault(urllib.parse.unquote(name), []).append(urllib.parse.unquote(value))
    return pairs


def _rest_event(wire: _Wire) -> dict[str, Any]:
    """A REST REQUEST event as API Gateway sends it for ``wire`` (shape: the rest-request sample)."""
    event = _sample("request")
    full_path = urllib.parse.unquote(wire.path)  # API Gateway shows the path decoded
    stage, _, resource = full_path[1:].partition("/")
    query = _query(wire.query)
    event.update(
        methodArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{stage}/{wire.method}/{resource}",
        resource="/pets/{id}",
        path="/" + resource,
        httpMethod=wire.method,
        headers=dict(wire.headers),
        multiValueHeaders={name: [value] for name, value in wire.headers},
        queryStringParameters={name: values[-1] for name, values in query.items()} or None,
        multiValueQueryStringParameters=query or None,
        pathParameters={"id": resource.rpartition("/")[2]},
    )
    event["requestContext"].update(
        path=full_path,
        stage=stage,
        httpMethod=wire.method,
        resourcePath="/pets/{id}",
        accountId=ACCOUNT,
        apiId=API_ID,
        domainName=wire.host,
        domainPrefix=wire.host.split(".")[0],
    )
    return event


def _http_event(wire: _Wire) -> dict[str, Any]:
    """An HTTP API payload 2.0 event for ``wire`` (shape: the http-v2 sample; headers lower-cased)."""
    event = _sample("http")
    headers = {name.lower(): value for name, value in wire.headers}
    query = _query(wire.query)
    path = urllib.parse.unquote(wire.path)
    route = f"{wire.method} /pets/{{id}}"
    event.update(
        routeArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/$default/{wire.method}{path}",
        identitySource=[headers["authorization"]] if "authorization" in headers else [],
        routeKey=route,
        rawPath=wire.path,
        rawQueryString=wire.query,
        headers=headers,
        queryStringParameters={name: ",".join(values) for name, values in query.items()} or None,
        pathParameters={"id": path.rpartition("/")[2]},
    )
    event.pop("cookies", None)
    context = event["requestContext"]
    context.update(routeKey=route, stage="$default", apiId=API_ID, accountId=ACCOUNT, domainName=wire.host)
    context["http"].update(method=wire.method, path=path)
    return event


# -- events and files ----------------------------------------------------------------------------


def _sample(kind: str) -> dict[str, Any]:
    text = resources.files("authorizers.samples").joinpath(SAMPLES[kind]).read_text(encoding="utf-8")
    event: dict[str, Any] = json.loads(text)
    return event


def _with_credential(kind: str, authorization: str) -> dict[str, Any]:
    """The kind's sample with ``authorization`` wherever API Gateway puts the Authorization value."""

    def replace(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: replace(item) for key, item in value.items()}
        if isinstance(value, list):
            return [replace(item) for item in value]
        return authorization if value == PLACEHOLDER else value

    event: dict[str, Any] = replace(_sample(kind))
    return event


def _write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m events.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=EVENTS_DIR, help="where the events go (default events/)")
    parser.add_argument("--env", type=Path, help="the env.json to write (default: next to --out)")
    parser.add_argument("--now", type=float, help="sign the SigV4 and SAML events at this epoch time (default now)")
    args = parser.parse_args(argv)
    generated = generate(args.out, args.env, now=args.now)
    print(f"wrote {len(generated.events)} events to {args.out}/ and {generated.env_file}", file=sys.stderr)
    print(
        "sigv4-* hold 5 minutes (presigned: 15), saml-* an hour: run make events again to re-sign them; "
        "cognito-* need moto_server -p 5000",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
