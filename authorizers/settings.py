"""Configuration from the environment, read in one place into frozen objects.

Every variable name the toolkit reads is listed here. An unknown variable with one of
our prefixes is refused at cold start: a misspelt ``JWT_REQUIRED_SCOPE`` must not
silently drop a check.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from authorizers.errors import ConfigurationError
from authorizers.jwt.algorithms import HMAC_ALGORITHMS, SUPPORTED_ALGORITHMS
from authorizers.jwt.config import IssuerConfig
from authorizers.jwt.keysource import KeySource, StaticKeySource
from policies.authorization import Authorization, PolicyScope
from policies.context import check_context_key
from policies.errors import ContextError
from policies.response import ResponseFormat
from policies.rules import RuleError, RuleSet, load_rules

if TYPE_CHECKING:
    from authorizers.cognito.validator import CognitoPool
    from authorizers.saml.validator import SamlConfig
    from authorizers.sigv4.keys import KeyStore
    from authorizers.sigv4.sts import StsConfig
    from authorizers.sigv4.validator import SigV4Config
    from authorizers.usage_keys import UsageKeys

JWT_ISSUER = "JWT_ISSUER"
JWT_AUDIENCE = "JWT_AUDIENCE"
JWT_JWKS_URI = "JWT_JWKS_URI"
JWT_JWKS = "JWT_JWKS"
JWT_ALGORITHMS = "JWT_ALGORITHMS"
JWT_LEEWAY_SECONDS = "JWT_LEEWAY_SECONDS"
JWT_REQUIRED_SCOPES = "JWT_REQUIRED_SCOPES"
JWT_REQUIRED_CLAIMS = "JWT_REQUIRED_CLAIMS"
JWT_TOKEN_TYPE = "JWT_TOKEN_TYPE"
JWT_GROUPS_CLAIM = "JWT_GROUPS_CLAIM"
JWT_SHARED_SECRET = "JWT_SHARED_SECRET"
JWT_JWKS_MAX_AGE_SECONDS = "JWT_JWKS_MAX_AGE_SECONDS"
JWT_PREFETCH_KEYS = "JWT_PREFETCH_KEYS"
AUTHZ_RESPONSE_FORMAT = "AUTHZ_RESPONSE_FORMAT"
AUTHZ_CONTEXT_CLAIMS = "AUTHZ_CONTEXT_CLAIMS"
AUTHZ_RULES = "AUTHZ_RULES"
AUTHZ_OPENAPI = "AUTHZ_OPENAPI"
AUTHZ_OPENAPI_SCHEMES = "AUTHZ_OPENAPI_SCHEMES"
AUTHZ_POLICY_SCOPE = "AUTHZ_POLICY_SCOPE"
AUTHZ_USAGE_KEY_CLAIM = "AUTHZ_USAGE_KEY_CLAIM"
AUTHZ_USAGE_KEYS = "AUTHZ_USAGE_KEYS"

KNOWN_VARIABLES = frozenset(
    {
        JWT_ISSUER, JWT_AUDIENCE, JWT_JWKS_URI, JWT_JWKS, JWT_ALGORITHMS, JWT_LEEWAY_SECONDS,
        JWT_REQUIRED_SCOPES, JWT_REQUIRED_CLAIMS, JWT_TOKEN_TYPE, JWT_GROUPS_CLAIM,
        JWT_SHARED_SECRET, JWT_JWKS_MAX_AGE_SECONDS, JWT_PREFETCH_KEYS,
        AUTHZ_RESPONSE_FORMAT, AUTHZ_CONTEXT_CLAIMS, AUTHZ_RULES, AUTHZ_OPENAPI, AUTHZ_OPENAPI_SCHEMES,
        AUTHZ_POLICY_SCOPE, AUTHZ_USAGE_KEY_CLAIM, AUTHZ_USAGE_KEYS,
    }
)  # fmt: skip
AUTHZ_VARIABLES = frozenset(name for name in KNOWN_VARIABLES if name.startswith("AUTHZ_"))

COGNITO_USER_POOL_ID = "COGNITO_USER_POOL_ID"
COGNITO_CLIENT_ID = "COGNITO_CLIENT_ID"
COGNITO_TOKEN_USE = "COGNITO_TOKEN_USE"
COGNITO_GROUPS = "COGNITO_GROUPS"
COGNITO_REQUIRED_SCOPES = "COGNITO_REQUIRED_SCOPES"
COGNITO_ENDPOINT = "COGNITO_ENDPOINT"
COGNITO_ISSUER_ENDPOINT = "COGNITO_ISSUER_ENDPOINT"
COGNITO_CHECK_REVOCATION = "COGNITO_CHECK_REVOCATION"
COGNITO_REVOCATION_CACHE_SECONDS = "COGNITO_REVOCATION_CACHE_SECONDS"
COGNITO_VARIABLES = frozenset(
    {
        COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID, COGNITO_TOKEN_USE, COGNITO_GROUPS, COGNITO_REQUIRED_SCOPES,
        COGNITO_ENDPOINT, COGNITO_ISSUER_ENDPOINT, COGNITO_CHECK_REVOCATION, COGNITO_REVOCATION_CACHE_SECONDS,
    }
) | AUTHZ_VARIABLES  # fmt: skip
SAML_IDP_METADATA = "SAML_IDP_METADATA"
SAML_IDP_ENTITY_ID = "SAML_IDP_ENTITY_ID"
SAML_IDP_CERT = "SAML_IDP_CERT"
SAML_SP_ENTITY_ID = "SAML_SP_ENTITY_ID"
SAML_ACS_URL = "SAML_ACS_URL"
SAML_GROUPS_ATTRIBUTE = "SAML_GROUPS_ATTRIBUTE"
SAML_CONTEXT_ATTRIBUTES = "SAML_CONTEXT_ATTRIBUTES"
SAML_REPLAY = "SAML_REPLAY"
SAML_REPLAY_TABLE = "SAML_REPLAY_TABLE"
SAML_HEADER = "SAML_HEADER"
SAML_CLOCK_SKEW_SECONDS = "SAML_CLOCK_SKEW_SECONDS"
SAML_SP_KEY = "SAML_SP_KEY"  # recognised only to refuse it clearly: encrypted assertions are not supported
SAML_VARIABLES = frozenset(
    {
        SAML_IDP_METADATA, SAML_IDP_ENTITY_ID, SAML_IDP_CERT, SAML_SP_ENTITY_ID, SAML_ACS_URL,
        SAML_GROUPS_ATTRIBUTE, SAML_CONTEXT_ATTRIBUTES, SAML_REPLAY, SAML_REPLAY_TABLE, SAML_HEADER,
        SAML_CLOCK_SKEW_SECONDS, SAML_SP_KEY,
    }
) | AUTHZ_VARIABLES  # fmt: skip
SIGV4_MODE = "SIGV4_MODE"
SIGV4_CREDENTIALS = "SIGV4_CREDENTIALS"
SIGV4_REGION = "SIGV4_REGION"
SIGV4_SERVICE = "SIGV4_SERVICE"
SIGV4_MAX_SKEW_SECONDS = "SIGV4_MAX_SKEW_SECONDS"
SIGV4_MAX_EXPIRES_SECONDS = "SIGV4_MAX_EXPIRES_SECONDS"
SIGV4_STS_AUDIENCE = "SIGV4_STS_AUDIENCE"
SIGV4_STS_PARTITIONS = "SIGV4_STS_PARTITIONS"
SIGV4_STS_REGIONS = "SIGV4_STS_REGIONS"
SIGV4_ALLOWED_ACCOUNTS = "SIGV4_ALLOWED_ACCOUNTS"
SIGV4_ALLOWED_PRINCIPALS = "SIGV4_ALLOWED_PRINCIPALS"
SIGV4_STS_ENDPOINT = "SIGV4_STS_ENDPOINT"  # tests only: a loopback stand-in for STS
SIGV4_KEYS_VARIABLES = frozenset({SIGV4_CREDENTIALS, SIGV4_REGION, SIGV4_SERVICE, SIGV4_MAX_SKEW_SECONDS})
SIGV4_STS_VARIABLES = frozenset(
    {
        SIGV4_STS_AUDIENCE,
        SIGV4_STS_PARTITIONS,
        SIGV4_STS_REGIONS,
        SIGV4_ALLOWED_ACCOUNTS,
        SIGV4_ALLOWED_PRINCIPALS,
        SIGV4_STS_ENDPOINT,
    }
)
SIGV4_VARIABLES = (
    frozenset({SIGV4_MODE, SIGV4_MAX_EXPIRES_SECONDS}) | SIGV4_KEYS_VARIABLES | SIGV4_STS_VARIABLES | AUTHZ_VARIABLES
)  # fmt: skip
AUTHORIZER_SCHEMES = "AUTHORIZER_SCHEMES"  # the multi-scheme handler's schemes
# Each scheme's own variables; the multi-scheme handler reads those of the schemes it uses.
SCHEME_VARIABLES: Mapping[str, frozenset[str]] = {
    "jwt": KNOWN_VARIABLES - AUTHZ_VARIABLES,
    "cognito": COGNITO_VARIABLES - AUTHZ_VARIABLES,
    "saml": SAML_VARIABLES - AUTHZ_VARIABLES,
    "sigv4": SIGV4_VARIABLES - AUTHZ_VARIABLES,
}
MULTI_VARIABLES = frozenset({AUTHORIZER_SCHEMES}).union(AUTHZ_VARIABLES, *SCHEME_VARIABLES.values())
OUR_PREFIXES = ("JWT_", "AUTHZ_", "COGNITO_", "SAML_", "SIGV4_", "AUTHORIZER_")
AUDIENCE_CHECK_OFF = "*"


@dataclass(frozen=True, slots=True)
class ResponseSettings:
    response_format: ResponseFormat = ResponseFormat.AUTO
    context_claims: tuple[str, ...] = ()
    authorization: Authorization = field(default_factory=Authorization)  # no rules: the whole API
    usage_keys: UsageKeys | None = None


@dataclass(frozen=True, slots=True)
class JwtSettings:
    issuers: tuple[IssuerConfig, ...]
    prefetch_keys: bool
    response: ResponseSettings


def check_known_variables(environ: Mapping[str, str], known: frozenset[str] = KNOWN_VARIABLES) -> None:
    """Refuse any variable with our prefixes that this handler does not read."""
    every = MULTI_VARIABLES
    for name in environ:
        # Case-insensitive: "jwt_required_scopes" is a typo too, not someone else's variable.
        if name.upper().startswith(OUR_PREFIXES) and name not in known:
            if name in every:  # real, but for another handler: it would be silently ignored here
                raise ConfigurationError(f"setting {name} is not read by this handler")
            close = difflib.get_close_matches(name.upper(), known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigurationError(f"unknown setting {name}{hint}")


def load_response_settings(
    environ: Mapping[str, str], route_only_schemes: frozenset[str] = frozenset()
) -> ResponseSettings:
    raw_format = environ.get(AUTHZ_RESPONSE_FORMAT, "auto").strip().lower()
    try:
        response_format = ResponseFormat(raw_format)
    except ValueError:
        raise ConfigurationError(f"{AUTHZ_RESPONSE_FORMAT} must be auto, iam or simple, not {raw_format!r}") from None
    claims = split_list(environ.get(AUTHZ_CONTEXT_CLAIMS, ""))
    for name in claims:
        try:
            check_context_key(name)
        except ContextError as exc:
            raise ConfigurationError(f"{AUTHZ_CONTEXT_CLAIMS}: {exc}") from exc
    return ResponseSettings(
        response_format=response_format,
        context_claims=claims,
        authorization=load_authorization(environ, route_only_schemes),
        usage_keys=_usage_keys(environ),
    )


def load_authorization(environ: Mapping[str, str], route_only_schemes: frozenset[str] = frozenset()) -> Authorization:
    """Rules and/or an OpenAPI document, and the policy scope; every problem fails here."""
    raw_scope = environ.get(AUTHZ_POLICY_SCOPE, "api").strip().lower() or "api"
    try:
        scope = PolicyScope(raw_scope)
    except ValueError:
        raise ConfigurationError(f"{AUTHZ_POLICY_SCOPE} must be api or route, not {raw_scope!r}") from None
    rules: RuleSet | None = None
    routes = None
    rules_source = environ.get(AUTHZ_RULES, "").strip()
    if rules_source:
        try:
            rules = load_rules(rules_source, AUTHZ_RULES)
        except RuleError as exc:
            raise ConfigurationError(f"{AUTHZ_RULES}: {exc}") from None
    openapi_source = environ.get(AUTHZ_OPENAPI, "").strip()
    schemes = split_list(environ.get(AUTHZ_OPENAPI_SCHEMES, ""))
    if schemes and not openapi_source:
        raise ConfigurationError(f"{AUTHZ_OPENAPI_SCHEMES} is set but {AUTHZ_OPENAPI} is not")
    if openapi_source:
        from policies.openapi import load_openapi

        try:
            document = load_openapi(openapi_source, frozenset(schemes) if schemes else None)
        except RuleError as exc:
            raise ConfigurationError(f"{AUTHZ_OPENAPI}: {exc}") from None
        rules = document.rules if rules is None else rules + document.rules
        routes = document.routes
    return Authorization(rules, routes=routes, scope=scope, route_only_schemes=route_only_schemes)


def _usage_keys(environ: Mapping[str, str]) -> UsageKeys | None:
    from authorizers.usage_keys import usage_keys_from_settings

    claim = environ.get(AUTHZ_USAGE_KEY_CLAIM, "").strip() or None
    source = environ.get(AUTHZ_USAGE_KEYS, "").strip() or None
    return usage_keys_from_settings(claim, source, setting_claim=AUTHZ_USAGE_KEY_CLAIM, setting_source=AUTHZ_USAGE_KEYS)


def load_jwt_settings(environ: Mapping[str, str]) -> JwtSettings:
    check_known_variables(environ)
    issuers = _required(environ, JWT_ISSUER)
    audience = _audience(_required(environ, JWT_AUDIENCE))
    algorithms = _algorithms(environ)
    secret = _shared_secret(environ, algorithms)
    needs_keys = bool(algorithms - set(HMAC_ALGORITHMS))
    if not needs_keys and (environ.get(JWT_JWKS, "").strip() or environ.get(JWT_JWKS_URI, "").strip()):
        raise ConfigurationError(f"{JWT_JWKS}/{JWT_JWKS_URI} is set but only HS* algorithms are allowed")
    key_sources: list[KeySource | None] = list(_key_sources(environ, issuers)) if needs_keys else [None] * len(issuers)
    configs = []
    leeway_value = float(_number(environ, JWT_LEEWAY_SECONDS, 30, low=0, high=300))
    if not leeway_value.is_integer():
        raise ConfigurationError(f"{JWT_LEEWAY_SECONDS} must be a whole number of seconds")
    leeway = int(leeway_value)
    required_claims = _required_claims(environ.get(JWT_REQUIRED_CLAIMS))
    for issuer, key_source in zip(issuers, key_sources, strict=True):
        try:
            config = IssuerConfig(
                issuer=issuer,
                key_source=key_source,
                audience=audience,
                algorithms=algorithms,
                leeway_seconds=leeway,
                token_type=environ.get(JWT_TOKEN_TYPE, "").strip() or None,
                required_scopes=frozenset(split_list(environ.get(JWT_REQUIRED_SCOPES, ""))),
                required_claims=required_claims,
                groups_claim=environ.get(JWT_GROUPS_CLAIM, "").strip() or "groups",
                shared_secret=secret,
            )
        except ConfigurationError as exc:
            # What is left to refuse here is the secret's length or content.
            raise ConfigurationError(f"{JWT_SHARED_SECRET}/{JWT_ALGORITHMS}: {exc}") from exc
        configs.append(config)
    return JwtSettings(
        issuers=tuple(configs),
        prefetch_keys=_flag(environ, JWT_PREFETCH_KEYS, True),
        response=load_response_settings(environ),
    )


def split_list(value: str) -> tuple[str, ...]:
    """Comma- or space-separated items, in order, without blanks or repeats."""
    items = value.replace(",", " ").split()
    return tuple(dict.fromkeys(items))


def _required(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A required list: absent, blank or only separators is refused, naming the variable."""
    items = split_list(environ.get(name, ""))
    if not items:
        raise ConfigurationError(f"{name} is required")
    return items


def _algorithms(environ: Mapping[str, str]) -> frozenset[str]:
    algorithms = frozenset(split_list(environ.get(JWT_ALGORITHMS, "RS256")))
    unknown = algorithms - SUPPORTED_ALGORITHMS
    if not algorithms or unknown:
        raise ConfigurationError(
            f"{JWT_ALGORITHMS} must list algorithms from {sorted(SUPPORTED_ALGORITHMS)}; unsupported: {sorted(unknown)}"
        )
    return algorithms


def _shared_secret(environ: Mapping[str, str], algorithms: frozenset[str]) -> bytes | None:
    text = environ.get(JWT_SHARED_SECRET)
    hmac_algorithms = sorted(algorithms & set(HMAC_ALGORITHMS))
    if hmac_algorithms and not text:
        raise ConfigurationError(f"{JWT_SHARED_SECRET} is required when {JWT_ALGORITHMS} allows {hmac_algorithms}")
    if text and not hmac_algorithms:
        raise ConfigurationError(f"{JWT_SHARED_SECRET} is set but {JWT_ALGORITHMS} allows no HS* algorithm")
    return text.encode("utf-8") if text else None


def _audience(audiences: tuple[str, ...]) -> frozenset[str] | None:
    if AUDIENCE_CHECK_OFF in audiences:
        if len(audiences) > 1:
            raise ConfigurationError(f"{JWT_AUDIENCE}: '*' switches the check off and cannot be combined")
        return None
    return frozenset(audiences)


def _key_sources(environ: Mapping[str, str], issuers: tuple[str, ...]) -> list[KeySource]:
    """One key source per issuer: the shared static JWKS or JWKS URI, else OIDC discovery."""
    inline, uri = environ.get(JWT_JWKS, "").strip(), environ.get(JWT_JWKS_URI, "").strip()
    if inline and uri:
        raise ConfigurationError(f"set {JWT_JWKS} or {JWT_JWKS_URI}, not both")
    if inline:
        if inline.startswith("{"):
            static = StaticKeySource.from_text(inline, source=JWT_JWKS)
        else:
            try:
                static = StaticKeySource.from_file(Path(inline))
            except ConfigurationError as exc:
                raise ConfigurationError(f"{JWT_JWKS}: {exc}") from exc
        return [static] * len(issuers)
    from authorizers.fetch import HttpJsonFetcher, check_url
    from authorizers.jwt.remote import DiscoveredJwks, RemoteJwks

    fetcher = HttpJsonFetcher()
    max_age = _number(environ, JWT_JWKS_MAX_AGE_SECONDS, 3600, low=60, high=86400)
    if uri:
        check_url(uri, JWT_JWKS_URI)
        # Several issuers sharing one URI share one cache, and so one refetch limit.
        return [RemoteJwks(uri, fetcher, max_age=max_age)] * len(issuers)
    try:
        return [DiscoveredJwks(issuer, fetcher, max_age=max_age) for issuer in issuers]
    except ConfigurationError as exc:  # the URL policy refused an issuer's discovery URL
        raise ConfigurationError(f"{JWT_ISSUER}: {exc}") from exc


def _required_claims(raw: str | None) -> dict[str, tuple[Any, ...]]:
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{JWT_REQUIRED_CLAIMS} is not JSON") from exc
    if not isinstance(parsed, dict):
        raise ConfigurationError(f"{JWT_REQUIRED_CLAIMS} must be a JSON object of claim: value(s)")
    required: dict[str, tuple[Any, ...]] = {}
    for name, value in parsed.items():
        values = tuple(value) if isinstance(value, list) else (value,)
        if not values or any(isinstance(v, (dict, list)) or v is None for v in values):
            raise ConfigurationError(f"{JWT_REQUIRED_CLAIMS}: {name!r} needs scalar values")
        required[name] = values
    return required


def _number(environ: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low:g} and {high:g}")
    return value


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


@dataclass(frozen=True, slots=True)
class CognitoSettings:
    pools: tuple[CognitoPool, ...]
    check_revocation: bool
    revocation_cache_seconds: int
    endpoint: str | None  # replaces the regional Cognito endpoint for keys and GetUser
    response: ResponseSettings


def load_cognito_settings(environ: Mapping[str, str]) -> CognitoSettings:
    from authorizers.cognito.pools import check_endpoint, parse_pool_id
    from authorizers.cognito.validator import CognitoPool, TokenUse
    from authorizers.fetch import HttpJsonFetcher, check_url
    from authorizers.jwt.remote import RemoteJwks

    check_known_variables(environ, COGNITO_VARIABLES)
    try:
        pools = [parse_pool_id(text) for text in _required(environ, COGNITO_USER_POOL_ID)]
    except ConfigurationError as exc:
        raise ConfigurationError(f"{COGNITO_USER_POOL_ID}: {exc}") from None
    clients = _required(environ, COGNITO_CLIENT_ID)
    if AUDIENCE_CHECK_OFF in clients and len(clients) > 1:
        raise ConfigurationError(f"{COGNITO_CLIENT_ID}: '*' accepts every app client and cannot be combined")
    client_ids = None if AUDIENCE_CHECK_OFF in clients else frozenset(clients)
    raw_use = environ.get(COGNITO_TOKEN_USE, "").strip().lower() or "access"
    try:
        token_use = TokenUse(raw_use)
    except ValueError:
        raise ConfigurationError(f"{COGNITO_TOKEN_USE} must be access, id or any, not {raw_use!r}") from None
    endpoint = _optional_endpoint(environ, COGNITO_ENDPOINT, check_endpoint)
    issuer_endpoint = _optional_endpoint(environ, COGNITO_ISSUER_ENDPOINT, check_endpoint)
    if issuer_endpoint is not None:
        check_url(issuer_endpoint, COGNITO_ISSUER_ENDPOINT)  # the same rule as for any endpoint we trust
    check_revocation = _flag(environ, COGNITO_CHECK_REVOCATION, False)
    required_scopes = frozenset(split_list(environ.get(COGNITO_REQUIRED_SCOPES, "")))
    if required_scopes and token_use is TokenUse.ID:
        raise ConfigurationError(f"{COGNITO_REQUIRED_SCOPES}: ID tokens carry no scopes ({COGNITO_TOKEN_USE}=id)")
    if check_revocation and token_use is not TokenUse.ACCESS:
        # GetUser takes an access token: an ID token's session cannot be checked this way.
        raise ConfigurationError(f"{COGNITO_CHECK_REVOCATION} needs {COGNITO_TOKEN_USE}=access")
    cache_seconds = _number(environ, COGNITO_REVOCATION_CACHE_SECONDS, 60, low=0, high=300)
    if not float(cache_seconds).is_integer():
        raise ConfigurationError(f"{COGNITO_REVOCATION_CACHE_SECONDS} must be a whole number of seconds")
    fetcher = HttpJsonFetcher()
    configs = []
    for pool in pools:
        jwks_uri = pool.jwks_uri(endpoint)
        check_url(jwks_uri, COGNITO_ENDPOINT if endpoint else COGNITO_USER_POOL_ID)
        configs.append(
            CognitoPool(
                pool=pool,
                key_source=RemoteJwks(jwks_uri, fetcher),
                client_ids=client_ids,
                token_use=token_use,
                groups=frozenset(split_list(environ.get(COGNITO_GROUPS, ""))),
                required_scopes=required_scopes,
                issuer_endpoint=issuer_endpoint,
            )
        )
    return CognitoSettings(
        pools=tuple(configs),
        check_revocation=check_revocation,
        revocation_cache_seconds=int(cache_seconds),
        endpoint=endpoint,
        response=load_response_settings(environ),
    )


def _saml_context_attributes(raw: str) -> dict[str, str]:
    """``key=attribute`` or ``attribute`` items: IdPs name attributes by URI, context keys cannot hold "/"."""
    aliases: dict[str, str] = {}
    for item in split_list(raw):
        key, equals, attribute = item.partition("=")
        attribute = attribute if equals else key
        try:
            check_context_key(key)
        except ContextError as exc:
            raise ConfigurationError(f"{SAML_CONTEXT_ATTRIBUTES}: {exc} (name it: key=attribute)") from exc
        if not attribute or key in aliases:
            raise ConfigurationError(f"{SAML_CONTEXT_ATTRIBUTES}: {item!r} is empty or repeats a key")
        aliases[key] = attribute
    return aliases


def _saml_acs_url(raw: str) -> str:
    """One absolute https URL (http on loopback), no user info, query or fragment, a valid port."""
    import urllib.parse

    from authorizers.fetch import check_url

    url = raw.strip()
    if not url or any(character.isspace() or character == "," for character in url):
        raise ConfigurationError(f"{SAML_ACS_URL} is required: one URL")
    parts = urllib.parse.urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment or not port_ok:
        raise ConfigurationError(
            f"{SAML_ACS_URL} must be an absolute URL with a host and no query, fragment or user info"
        )
    check_url(url, SAML_ACS_URL)  # https, or http on loopback for local testing
    return url


def _optional_endpoint(environ: Mapping[str, str], name: str, check: Any) -> str | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    endpoint: str = check(raw, name)
    return endpoint


@dataclass(frozen=True, slots=True)
class SamlSettings:
    config: SamlConfig
    replay: str  # "once" or "reuse"
    replay_table: str | None
    header: str | None
    response: ResponseSettings


def load_saml_settings(environ: Mapping[str, str]) -> SamlSettings:
    from authorizers.saml.metadata import certificates_from, from_metadata
    from authorizers.saml.validator import DEFAULT_CLOCK_SKEW_SECONDS, SamlConfig

    check_known_variables(environ, SAML_VARIABLES)
    if environ.get(SAML_SP_KEY, "").strip():
        raise ConfigurationError(
            f"{SAML_SP_KEY}: encrypted assertions are not supported; send them signed, unencrypted"
        )
    metadata = environ.get(SAML_IDP_METADATA, "").strip()
    entity_id = environ.get(SAML_IDP_ENTITY_ID, "").strip()
    cert = environ.get(SAML_IDP_CERT, "").strip()
    if metadata and (entity_id or cert):
        raise ConfigurationError(f"set {SAML_IDP_METADATA}, or {SAML_IDP_ENTITY_ID} with {SAML_IDP_CERT}, not both")
    if metadata:
        idp = from_metadata(metadata, SAML_IDP_METADATA)
        entity_id, certificates = idp.entity_id, idp.certificates
    elif entity_id and cert:
        certificates = certificates_from(cert, SAML_IDP_CERT)
    else:
        raise ConfigurationError(f"{SAML_IDP_METADATA}, or {SAML_IDP_ENTITY_ID} with {SAML_IDP_CERT}, is required")
    acs_url = _saml_acs_url(environ.get(SAML_ACS_URL, ""))
    sp_entity_id = environ.get(SAML_SP_ENTITY_ID, "").strip()
    if not sp_entity_id or any(character.isspace() or character == "," for character in sp_entity_id):
        # Never a list cut short: another SP's entity ID could be the first item.
        raise ConfigurationError(f"{SAML_SP_ENTITY_ID} is required: one entity ID, without spaces or commas")
    replay = environ.get(SAML_REPLAY, "").strip().lower() or "once"
    if replay not in ("once", "reuse"):
        raise ConfigurationError(f"{SAML_REPLAY} must be once or reuse, not {replay!r}")
    table = environ.get(SAML_REPLAY_TABLE, "").strip() or None
    if table is not None and replay != "once":
        raise ConfigurationError(f"{SAML_REPLAY_TABLE} is set but {SAML_REPLAY} is {replay}")
    skew = _number(environ, SAML_CLOCK_SKEW_SECONDS, DEFAULT_CLOCK_SKEW_SECONDS, low=0, high=300)
    if not float(skew).is_integer():
        raise ConfigurationError(f"{SAML_CLOCK_SKEW_SECONDS} must be a whole number of seconds")
    groups = environ.get(SAML_GROUPS_ATTRIBUTE, "").strip() or None
    context_attributes = _saml_context_attributes(environ.get(SAML_CONTEXT_ATTRIBUTES, ""))
    try:
        config = SamlConfig(
            idp_entity_id=entity_id,
            idp_certificates=certificates,
            sp_entity_id=sp_entity_id,
            acs_url=acs_url,
            groups_attribute=groups,
            context_attributes=context_attributes,
            clock_skew_seconds=int(skew),
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"SAML: {exc}") from None
    response = load_response_settings(environ)
    claims = tuple(dict.fromkeys((*config.context_attributes, *response.context_claims)))
    header = environ.get(SAML_HEADER, "").strip() or None
    return SamlSettings(
        config=config,
        replay=replay,
        replay_table=table,
        header=header,
        response=dataclasses.replace(response, context_claims=claims),
    )


@dataclass(frozen=True, slots=True)
class SigV4Settings:
    mode: str  # "keys" or "sts"
    config: SigV4Config | None  # keys mode
    keys: KeyStore | None  # keys mode
    sts: StsConfig | None  # sts mode
    response: ResponseSettings


def load_sigv4_settings(environ: Mapping[str, str]) -> SigV4Settings:
    from authorizers.sigv4.keys import key_store_from
    from authorizers.sigv4.validator import SigV4Config

    check_known_variables(environ, SIGV4_VARIABLES)
    mode = environ.get(SIGV4_MODE, "").strip().lower() or "keys"
    if mode not in ("keys", "sts"):
        raise ConfigurationError(f"{SIGV4_MODE} must be keys or sts, not {mode!r}")
    other_mode = SIGV4_STS_VARIABLES if mode == "keys" else SIGV4_KEYS_VARIABLES
    for name in sorted(other_mode & set(environ)):
        if environ[name].strip():  # a setting of the other mode would be silently ignored
            raise ConfigurationError(f"{name} is not read in {SIGV4_MODE}={mode}")
    if mode == "sts":
        return _load_sts_settings(environ)
    region = environ.get(SIGV4_REGION, "").strip() or environ.get("AWS_REGION", "").strip()
    if not region:
        raise ConfigurationError(f"{SIGV4_REGION} is required (or the function's AWS_REGION)")
    skew = _number(environ, SIGV4_MAX_SKEW_SECONDS, 300, low=1, high=900)
    expires = _number(environ, SIGV4_MAX_EXPIRES_SECONDS, 900, low=1, high=604800)
    if not float(skew).is_integer() or not float(expires).is_integer():
        raise ConfigurationError(f"{SIGV4_MAX_SKEW_SECONDS} and {SIGV4_MAX_EXPIRES_SECONDS} take whole seconds")
    try:
        config = SigV4Config(
            region=region,
            service=environ.get(SIGV4_SERVICE, "").strip() or "execute-api",
            max_skew_seconds=int(skew),
            max_expires_seconds=int(expires),
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"{SIGV4_REGION}/{SIGV4_SERVICE}: {exc}") from None
    credentials = environ.get(SIGV4_CREDENTIALS, "").strip()
    if not credentials:
        raise ConfigurationError(f"{SIGV4_CREDENTIALS} is required in keys mode")
    keys = key_store_from(credentials, SIGV4_CREDENTIALS)
    # A signature is good for one request: an answer cached by identity source must not
    # serve another route, so the policy is the signed route only.
    if environ.get(AUTHZ_POLICY_SCOPE, "").strip().lower() not in ("", "route"):
        raise ConfigurationError(f"{AUTHZ_POLICY_SCOPE}: SigV4 answers cover the signed route only (route)")
    response = load_response_settings({**environ, AUTHZ_POLICY_SCOPE: "route"})
    return SigV4Settings(mode=mode, config=config, keys=keys, sts=None, response=response)


def _load_sts_settings(environ: Mapping[str, str]) -> SigV4Settings:
    from authorizers.sigv4.sts import StsConfig

    audience = environ.get(SIGV4_STS_AUDIENCE, "").strip()
    if not audience:
        raise ConfigurationError(
            f"{SIGV4_STS_AUDIENCE} is required in sts mode: this API's name for the binding header"
        )
    expires = _number(environ, SIGV4_MAX_EXPIRES_SECONDS, 900, low=1, high=900)
    if not float(expires).is_integer():
        raise ConfigurationError(f"{SIGV4_MAX_EXPIRES_SECONDS} takes whole seconds")
    accounts = split_list(environ.get(SIGV4_ALLOWED_ACCOUNTS, ""))
    regions = split_list(environ.get(SIGV4_STS_REGIONS, ""))
    try:
        config = StsConfig(
            audience=audience,
            partitions=frozenset(split_list(environ.get(SIGV4_STS_PARTITIONS, "")) or ("aws",)),
            regions=frozenset(regions) if regions else None,
            allowed_accounts=frozenset(accounts) if accounts else None,
            allowed_principals=split_list(environ.get(SIGV4_ALLOWED_PRINCIPALS, "")),
            max_expires_seconds=int(expires),
            endpoint_override=environ.get(SIGV4_STS_ENDPOINT, "").strip() or None,
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"SIGV4 sts mode: {exc}") from None
    # The credential proves an identity, not one request: answers may cover the API (cache-safe).
    return SigV4Settings(mode="sts", config=None, keys=None, sts=config, response=load_response_settings(environ))


@dataclass(frozen=True, slots=True)
class MultiSettings:
    """Each scheme's own settings (``None``: not used), and one set of rules for all of them."""

    jwt: JwtSettings | None
    cognito: CognitoSettings | None
    saml: SamlSettings | None
    sigv4: SigV4Settings | None
    response: ResponseSettings

    @property
    def schemes(self) -> tuple[str, ...]:
        return tuple(name for name in SCHEME_VARIABLES if getattr(self, name) is not None)


def load_multi_settings(environ: Mapping[str, str]) -> MultiSettings:
    """``AUTHORIZER_SCHEMES`` and the variables of those schemes, plus the shared ``AUTHZ_*``."""
    check_known_variables(environ, MULTI_VARIABLES)
    schemes = split_list(environ.get(AUTHORIZER_SCHEMES, "").lower())
    if not schemes:
        raise ConfigurationError(f"{AUTHORIZER_SCHEMES} is required: some of {', '.join(SCHEME_VARIABLES)}")
    for name in schemes:
        if name not in SCHEME_VARIABLES:
            close = difflib.get_close_matches(name, SCHEME_VARIABLES, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigurationError(f"{AUTHORIZER_SCHEMES}: unknown scheme {name!r}{hint}")
    for scheme, names in SCHEME_VARIABLES.items():
        if scheme in schemes:
            continue
        for name in sorted(names & set(environ)):
            # Empty is how a template leaves a setting out; a value would be silently ignored.
            if environ[name].strip():
                raise ConfigurationError(f"{name} is set but {scheme} is not in {AUTHORIZER_SCHEMES}")
    loaded: dict[str, Any] = {}
    for scheme, loader in _SCHEME_LOADERS.items():
        if scheme in schemes:
            own = {k: v for k, v in environ.items() if not _belongs_elsewhere(k, scheme)}
            try:
                loaded[scheme] = loader(own)
            except ConfigurationError as exc:
                raise ConfigurationError(f"{scheme}: {exc}") from None
    sigv4: SigV4Settings | None = loaded.get("sigv4")
    # SigV4 keys-mode answers cover the signed route only, whatever AUTHZ_POLICY_SCOPE says
    # for the other schemes' principals.
    route_only = frozenset({"sigv4"}) if sigv4 is not None and sigv4.mode == "keys" else frozenset()
    response = load_response_settings(environ, route_only)
    extra_claims = [name for settings in loaded.values() for name in settings.response.context_claims]
    claims = tuple(dict.fromkeys((*extra_claims, *response.context_claims)))
    return MultiSettings(
        jwt=loaded.get("jwt"),
        cognito=loaded.get("cognito"),
        saml=loaded.get("saml"),
        sigv4=sigv4,
        response=dataclasses.replace(response, context_claims=claims),
    )


def _belongs_elsewhere(name: str, scheme: str) -> bool:
    """A shared setting (read once, for all schemes) or another scheme's."""
    if name in AUTHZ_VARIABLES or name == AUTHORIZER_SCHEMES:
        return True
    return any(name in names for other, names in SCHEME_VARIABLES.items() if other != scheme)


_SCHEME_LOADERS: Mapping[str, Any] = {
    "jwt": load_jwt_settings,
    "cognito": load_cognito_settings,
    "saml": load_saml_settings,
    "sigv4": load_sigv4_settings,
}
