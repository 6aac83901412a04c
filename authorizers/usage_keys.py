"""API keys for usage plans: the ``usageIdentifierKey`` a REST API authorizer returns.

With ``apiKeySource: AUTHORIZER`` API Gateway takes the API key from the authorizer's
answer and applies the usage plan it belongs to (throttling, quotas). The key comes from

* a claim of the verified principal (``AUTHZ_USAGE_KEY_CLAIM``), or
* a mapping from principal id, else OAuth client id, to key (``AUTHZ_USAGE_KEYS``):
  inline JSON (text starting with ``{``), a JSON file, ``ssm:/parameter/name`` (String
  or SecureString, decrypted) or ``secretsmanager:name`` (its SecretString).

When both are set, a principal carrying the claim gets the claim's value (or nothing,
if that value is unusable); any other principal is looked up in the mapping.

Values are API keys: they never appear in errors or logs, and neither does anything
read from a parameter or secret. Entries are named by their position instead.

A remote mapping is read through Powertools' parameters utility and its cache: the
value is refetched once ``max_age_seconds`` have passed. A failed or invalid refresh
keeps the last good mapping (with a warning) and is retried at most every
``RETRY_INTERVAL`` seconds; only when there never was a good mapping do lookups fail
(:class:`AuthorizerUnavailable`). Powertools and boto3 are imported on the first fetch,
so an authorizer without a remote mapping never loads them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, Protocol

from authorizers.errors import AuthorizerUnavailable, ConfigurationError
from policies.strict_json import refuse_duplicate_keys

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import BaseProvider

    from policies.principal import Principal

Clock = Callable[[], float]

# API Gateway API key values are 20 to 128 characters; anything else can never match a
# key in a usage plan. Printable ASCII without spaces: what keys are made of.
MIN_KEY_LENGTH = 20
MAX_KEY_LENGTH = 128
_KEY_VALUE = re.compile(rf"[\x21-\x7e]{{{MIN_KEY_LENGTH},{MAX_KEY_LENGTH}}}")
MAX_CLAIM_NAME_LENGTH = 256
_CLAIM_NAME = re.compile(rf"[^\s\x00-\x1f\x7f]{{1,{MAX_CLAIM_NAME_LENGTH}}}")
MAX_MAPPING_BYTES = 1024 * 1024  # inline, file or remote (a SecretString is at most 64 KiB)
MIN_MAX_AGE_SECONDS, MAX_MAX_AGE_SECONDS = 1, 86400
RETRY_INTERVAL = 10.0  # seconds between attempts after a failed refresh

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_SSM_NAME = re.compile(r"/[A-Za-z0-9_./-]{1,2047}")
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@:-]{1,2048}")
_NOTHING = object()  # "no value fetched yet": never what a fetch returns
_FORMS = "inline JSON, a file path, ssm:/parameter/name or secretsmanager:name"


def is_usage_key(value: object) -> bool:
    """Whether ``value`` can be an API Gateway API key value."""
    return isinstance(value, str) and _KEY_VALUE.fullmatch(value) is not None


def parse_mapping(text: str, *, setting: str, source: str) -> Mapping[str, str]:
    """A JSON object of principal or client id -> API key, refused with ConfigurationError.

    Messages name ``setting`` and ``source`` and say where the problem is, never what.
    """

    def refuse(problem: str) -> ConfigurationError:
        return ConfigurationError(f"{setting}: {source}: {problem}")

    if len(text.encode("utf-8", "surrogatepass")) > MAX_MAPPING_BYTES:
        raise refuse(f"larger than {MAX_MAPPING_BYTES} bytes")
    try:
        parsed = json.loads(text, object_pairs_hook=refuse_duplicate_keys)
    except json.JSONDecodeError as exc:
        # exc.msg and the position only: the exception's text would be safe, but its
        # .doc holds the whole document, so nothing of it travels further.
        raise refuse(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError:  # refuse_duplicate_keys; its message names the key
        raise refuse("a key appears twice") from None
    except RecursionError:
        raise refuse("nested too deeply") from None
    if not isinstance(parsed, dict):
        raise refuse("must be a JSON object of principal or client id: API key")
    if not parsed:
        raise refuse("has no entries")
    for position, (principal, key) in enumerate(parsed.items(), start=1):
        if not principal:
            raise refuse(f"entry {position} has an empty principal or client id")
        if not is_usage_key(key):
            raise refuse(
                f"entry {position}: the API key must be a string of {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} "
                "printable ASCII characters without spaces"
            )
    return MappingProxyType(parsed)


class MappingSource(Protocol):
    def current(self) -> Mapping[str, str]:
        """The mapping to use now; raises AuthorizerUnavailable when there is none."""
        ...

    def prefetch(self) -> None:
        """Load now (cold start); raises ConfigurationError when nothing usable loads."""
        ...


class StaticMapping:
    """Inline JSON or a file, read and checked once, at configuration."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._mapping = mapping

    @classmethod
    def from_file(cls, path: str, *, setting: str) -> StaticMapping:
        source = f"file {path[:200]!r}"
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_MAPPING_BYTES + 1)
        except OSError as exc:
            raise ConfigurationError(f"{setting}: cannot read {source}: {exc.strerror}") from None
        if len(data) > MAX_MAPPING_BYTES:
            raise ConfigurationError(f"{setting}: {source}: larger than {MAX_MAPPING_BYTES} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigurationError(f"{setting}: {source} is not UTF-8 text") from None
        return cls(parse_mapping(text, setting=setting, source=source))

    def current(self) -> Mapping[str, str]:
        return self._mapping

    def prefetch(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class RemoteLocation:
    scheme: Literal["ssm", "secretsmanager"]
    name: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.name}"


class RemoteMapping:
    """A mapping in SSM Parameter Store or Secrets Manager, behind Powertools' cache.

    ``provider`` is a Powertools ``SSMProvider``/``SecretsProvider``; by default one is
    made (with short botocore timeouts) on the first fetch. Each instance has its own
    provider, so its cache is not Powertools' shared module-level one.
    """

    def __init__(
        self,
        location: RemoteLocation,
        *,
        setting: str,
        max_age_seconds: int,
        provider: BaseProvider | None = None,
        retry_interval: float = RETRY_INTERVAL,
        clock: Clock = time.monotonic,
    ) -> None:
        self.location = location
        self._setting = setting
        self._max_age = max_age_seconds
        self._provider = provider
        self._retry_interval = retry_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._mapping: Mapping[str, str] | None = None
        self._loaded_from: object = _NOTHING  # the fetched value the mapping was parsed from
        self._rejected: object = _NOTHING  # the last fetched value found invalid
        self._retry_at: float | None = None
        self._last_error = "not fetched yet"

    def prefetch(self) -> None:
        with self._lock:
            self._retry_at = None  # a cold start always tries
            self._refresh()
            mapping, error = self._mapping, self._last_error
        if mapping is None:
            raise ConfigurationError(f"{self._setting}: cannot load {self.location}: {error}")

    def current(self) -> Mapping[str, str]:
        with self._lock:
            if self._retry_at is None or self._clock() >= self._retry_at:
                self._refresh()
            mapping, error = self._mapping, self._last_error
        if mapping is None:
            raise AuthorizerUnavailable(f"{self._setting}: no usage key mapping from {self.location}: {error}")
        return mapping

    def _refresh(self) -> None:
        """Fetch (a Powertools cache hit until max_age has passed), parse what is new."""
        try:
            raw = self._fetch()
        except Exception as exc:  # botocore, Powertools, missing region: all mean "no value"
            self._failed(f"fetch failed: {_describe(exc)}")
            return
        # Powertools hands back the same cached object until it refetches (were it to
        # copy, each lookup would parse again: slower, still correct).
        if raw is self._loaded_from:
            self._retry_at = None
            return
        if raw is self._rejected:
            return  # already refused and reported
        try:
            if not isinstance(raw, str):
                raise ConfigurationError(f"{self._setting}: {self.location}: holds no JSON text")
            mapping = parse_mapping(raw, setting=self._setting, source=str(self.location))
        except ConfigurationError as exc:
            self._rejected = raw
            self._failed(f"invalid value: {exc}")
            return
        self._mapping, self._loaded_from, self._rejected, self._retry_at = mapping, raw, _NOTHING, None
        self._last_error = ""

    def _fetch(self) -> object:
        if self._provider is None:
            self._provider = _default_provider(self.location.scheme)
        if self.location.scheme == "ssm":
            return self._provider.get(self.location.name, max_age=self._max_age, decrypt=True)
        return self._provider.get(self.location.name, max_age=self._max_age)

    def _failed(self, error: str) -> None:
        self._last_error = error
        self._retry_at = self._clock() + self._retry_interval
        if self._mapping is not None:
            from authorizers.observability import make_logger

            make_logger().warning(
                "usage key mapping refresh failed; serving the last good mapping",
                extra={"setting": self._setting, "source": str(self.location), "error": error},
            )


class UsageKeys:
    """The API key for a principal: from its claim, else from the mapping."""

    def __init__(self, *, claim: str | None = None, mapping: MappingSource | None = None) -> None:
        if claim is None and mapping is None:
            raise ValueError("a claim, a mapping or both")
        self.claim = claim
        self.mapping = mapping

    def key_for(self, principal: Principal) -> str | None:
        """The key, or None when the principal has none (or an unusable one).

        Raises AuthorizerUnavailable when the mapping is needed and never loaded.
        """
        if self.claim is not None and self.claim in principal.claims:
            value = principal.claims[self.claim]
            return value if is_usage_key(value) else None
        if self.mapping is None:
            return None
        mapping = self.mapping.current()
        key = mapping.get(principal.principal_id)
        if key is None and principal.client_id is not None:
            key = mapping.get(principal.client_id)
        return key

    def prefetch(self) -> None:
        if self.mapping is not None:
            self.mapping.prefetch()


def usage_keys_from_settings(
    claim: str | None,
    source: str | None,
    *,
    setting_claim: str = "AUTHZ_USAGE_KEY_CLAIM",
    setting_source: str = "AUTHZ_USAGE_KEYS",
    max_age_seconds: int = 300,
) -> UsageKeys | None:
    """Usage keys as configured, or None when neither setting is (blank counts as unset).

    Checks everything it can without network I/O (a file source is read here); a remote
    source is first fetched by ``prefetch()`` or the first lookup.
    """
    claim_name = _claim_name(claim, setting_claim)
    mapping = _mapping_source(source, setting_source, max_age_seconds)
    if claim_name is None and mapping is None:
        return None
    return UsageKeys(claim=claim_name, mapping=mapping)


def _claim_name(raw: str | None, setting: str) -> str | None:
    if raw is None or not raw.strip():
        return None
    name = raw.strip()
    if not _CLAIM_NAME.fullmatch(name):
        raise ConfigurationError(
            f"{setting} must be one claim name of at most {MAX_CLAIM_NAME_LENGTH} characters, "
            "without spaces or control characters"
        )
    return name


def _mapping_source(raw: str | None, setting: str, max_age_seconds: int) -> MappingSource | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if text.startswith("{"):
        return StaticMapping(parse_mapping(text, setting=setting, source="inline JSON"))
    if text.startswith(("[", '"')):  # JSON, but not an object; never echo it, it may hold keys
        raise ConfigurationError(f"{setting}: inline JSON must be an object of principal or client id: API key")
    scheme = _SCHEME.match(text)
    if scheme is None:
        return StaticMapping.from_file(text, setting=setting)
    name = text[scheme.end() :]
    location: RemoteLocation
    match scheme.group()[:-1]:
        case "ssm":
            if not _SSM_NAME.fullmatch(name):
                raise ConfigurationError(
                    f"{setting}: ssm: needs a parameter name starting with '/' (letters, digits, _ . - /), "
                    f"as in ssm:/authorizer/usage-keys"
                )
            location = RemoteLocation("ssm", name)
        case "secretsmanager":
            if not _SECRET_NAME.fullmatch(name):
                raise ConfigurationError(
                    f"{setting}: secretsmanager: needs a secret name or ARN (letters, digits, / _ + = . @ - :), "
                    "as in secretsmanager:authorizer/usage-keys"
                )
            location = RemoteLocation("secretsmanager", name)
        case other:
            raise ConfigurationError(
                f"{setting}: unknown source scheme {other[:32]!r}; use {_FORMS} (a file path with ':' as ./name)"
            )
    if isinstance(max_age_seconds, bool) or not isinstance(max_age_seconds, int):
        raise ConfigurationError(f"{setting}: the cache max age must be a whole number of seconds")
    if not MIN_MAX_AGE_SECONDS <= max_age_seconds <= MAX_MAX_AGE_SECONDS:
        raise ConfigurationError(
            f"{setting}: the cache max age must be between {MIN_MAX_AGE_SECONDS} and {MAX_MAX_AGE_SECONDS} seconds"
        )
    return RemoteMapping(location, setting=setting, max_age_seconds=max_age_seconds)


def _default_provider(scheme: str) -> BaseProvider:
    from botocore.config import Config

    # SSM and Secrets Manager answer within milliseconds; a hung call must not eat the
    # authorizer's time budget (botocore's defaults are 60 s and several retries).
    config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
    if scheme == "ssm":
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        return SSMProvider(boto_config=config)
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto_config=config)


def _describe(exc: BaseException) -> str:
    """An AWS error's own text (it names the parameter, not its value), kept short."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


__all__ = [
    "MAX_KEY_LENGTH",
    "MIN_KEY_LENGTH",
    "MappingSource",
    "RemoteLocation",
    "RemoteMapping",
    "StaticMapping",
    "UsageKeys",
    "is_usage_key",
    "parse_mapping",
    "usage_keys_from_settings",
]
