"""Usage plan API keys: claim, inline/file mapping, and SSM / Secrets Manager through moto on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import pytest

from authorizers.errors import AuthorizerUnavailable, ConfigurationError
from authorizers.usage_keys import (
    MAX_KEY_LENGTH,
    MIN_KEY_LENGTH,
    RETRY_INTERVAL,
    RemoteLocation,
    RemoteMapping,
    UsageKeys,
    usage_keys_from_settings,
)
from policies.principal import Principal
from tests.motoserver import aws_environment, moto_server

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient

ROOT = Path(__file__).resolve().parent.parent
Scheme = Literal["ssm", "secretsmanager"]
KEY_ALICE = "alice-usage-key-0123456789"
KEY_CLIENT = "client-usage-key-0123456789"
KEY_NEW = "alice-rotated-key-0123456789"
KEY_CLAIMED = "claimed-usage-key-0123456789"
# Stands for an API key that must never show up in an error or a log line.
SECRET = "SENTINEL-api-key-value-do-not-print-42"
MAPPING = {"alice": KEY_ALICE, "client-123": KEY_CLIENT}


def principal(principal_id: str = "alice", client_id: str | None = None, **claims: Any) -> Principal:
    return Principal(principal_id=principal_id, scheme="jwt", client_id=client_id, claims=claims)


def build(claim: str | None = None, source: str | None = None, **options: Any) -> UsageKeys:
    usage = usage_keys_from_settings(claim, source, **options)
    assert usage is not None
    return usage


# -- static configuration -------------------------------------------------------------


def test_nothing_configured_is_none() -> None:
    assert usage_keys_from_settings(None, None) is None
    assert usage_keys_from_settings("", "  ") is None  # blank counts as unset, like the other settings


def test_inline_json_mapping() -> None:
    usage = build(source=f"  {json.dumps(MAPPING)}  ")
    usage.prefetch()  # nothing to load: a no-op
    assert usage.key_for(principal("alice")) == KEY_ALICE
    assert usage.key_for(principal("bob")) is None


def test_file_mapping(tmp_path: Path) -> None:
    path = tmp_path / "usage-keys.json"
    path.write_text(json.dumps(MAPPING), encoding="utf-8")
    usage = build(source=str(path))
    assert usage.key_for(principal("alice")) == KEY_ALICE
    assert usage.key_for(principal("mallory")) is None


def test_file_is_read_at_configuration(tmp_path: Path) -> None:
    path = tmp_path / "usage-keys.json"
    path.write_text(json.dumps(MAPPING), encoding="utf-8")
    usage = build(source=str(path))
    path.unlink()
    assert usage.key_for(principal("alice")) == KEY_ALICE


def test_client_id_is_the_fallback() -> None:
    usage = build(source=json.dumps(MAPPING))
    assert usage.key_for(principal("svc-user", client_id="client-123")) == KEY_CLIENT
    # The principal id comes first.
    assert usage.key_for(principal("alice", client_id="client-123")) == KEY_ALICE
    assert usage.key_for(principal("svc-user", client_id="other")) is None
    assert usage.key_for(principal("svc-user")) is None


def test_claim() -> None:
    usage = build(claim=" api_key ")
    assert usage.claim == "api_key"
    assert usage.key_for(principal(api_key=KEY_CLAIMED)) == KEY_CLAIMED
    assert usage.key_for(principal()) is None
    usage.prefetch()  # claim only: nothing to load


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(12345678901234567890123, id="number"),
        pytest.param(["a" * 24], id="list"),
        pytest.param({"k": "a" * 24}, id="object"),
        pytest.param(None, id="null"),
        pytest.param(True, id="bool"),
        pytest.param("", id="empty"),
        pytest.param("a" * (MIN_KEY_LENGTH - 1), id="one-too-short"),
        pytest.param("a" * (MAX_KEY_LENGTH + 1), id="one-too-long"),
        pytest.param("a" * 100_000, id="huge"),
        pytest.param("with a space 0123456789", id="space"),
        pytest.param("tab\tinside-0123456789ab", id="control"),
        pytest.param("ünïcödé-0123456789abcdef", id="non-ascii"),
    ],
)
def test_unusable_claim_values_give_none(value: Any) -> None:
    usage = build(claim="api_key", source=json.dumps(MAPPING))
    # Present but unusable: no key at all, not the mapping's (the token said something else).
    assert usage.key_for(principal("alice", api_key=value)) is None


@pytest.mark.parametrize("length", [MIN_KEY_LENGTH, MAX_KEY_LENGTH])
def test_claim_length_bounds_are_inclusive(length: int) -> None:
    value = "k" * length
    assert build(claim="api_key").key_for(principal(api_key=value)) == value


def test_claim_wins_over_mapping() -> None:
    usage = build(claim="api_key", source=json.dumps(MAPPING))
    assert usage.key_for(principal("alice", api_key=KEY_CLAIMED)) == KEY_CLAIMED
    assert usage.key_for(principal("alice")) == KEY_ALICE  # no claim: the mapping
    assert usage.key_for(principal("svc", client_id="client-123")) == KEY_CLIENT
    assert usage.key_for(principal("bob")) is None


def test_usage_keys_needs_something() -> None:
    with pytest.raises(ValueError, match="a claim, a mapping or both"):
        UsageKeys()


class Bad(NamedTuple):
    claim: str | None
    source: str | None
    content: bytes | None  # written to {file}, for file sources
    setting: str  # the message starts with it
    fragment: str  # and contains this


BAD_CONFIG = [
    # source syntax
    Bad(None, "ssm:", None, "KEYS", "ssm: needs a parameter name starting with '/'"),
    Bad(None, "ssm:relative/name", None, "KEYS", "ssm: needs a parameter name starting with '/'"),
    Bad(None, "ssm:/has space", None, "KEYS", "ssm: needs a parameter name"),
    Bad(None, "ssm:/" + "a" * 2048, None, "KEYS", "ssm: needs a parameter name"),
    Bad(None, "secretsmanager:", None, "KEYS", "secretsmanager: needs a secret name"),
    Bad(None, "secretsmanager:bad name", None, "KEYS", "secretsmanager: needs a secret name"),
    Bad(None, "s3://bucket/keys.json", None, "KEYS", "unknown source scheme 's3'"),
    Bad(None, "SSM:/upper/case", None, "KEYS", "unknown source scheme 'SSM'"),
    Bad(None, f"https://example.com/{SECRET}", None, "KEYS", "unknown source scheme 'https'"),
    # inline JSON
    Bad(None, "{not json", None, "KEYS", "inline JSON: not valid JSON"),
    Bad(None, '{"alice": "' + SECRET, None, "KEYS", "inline JSON: not valid JSON"),
    Bad(None, json.dumps(json.dumps({"alice": SECRET})), None, "KEYS", "inline JSON must be an object"),
    Bad(None, "[]", None, "KEYS", "inline JSON must be an object"),
    Bad(None, "{}", None, "KEYS", "inline JSON: has no entries"),
    Bad(None, '{"alice": 12345678901234567890123}', None, "KEYS", "entry 1: the API key must be a string"),
    Bad(None, '{"alice": ""}', None, "KEYS", "entry 1: the API key must be"),
    Bad(None, json.dumps({"bob": SECRET, "alice": None}), None, "KEYS", "entry 2: the API key must be"),
    Bad(None, json.dumps({"alice": {"nested": SECRET}}), None, "KEYS", "entry 1: the API key must be"),
    Bad(None, json.dumps({"alice": "k" * (MIN_KEY_LENGTH - 1)}), None, "KEYS", "entry 1: the API key must be"),
    Bad(None, json.dumps({"alice": "k" * (MAX_KEY_LENGTH + 1)}), None, "KEYS", "entry 1: the API key must be"),
    Bad(None, json.dumps({"alice": "with space " + SECRET}), None, "KEYS", "entry 1: the API key must be"),
    Bad(None, json.dumps({"": SECRET}), None, "KEYS", "entry 1 has an empty principal or client id"),
    Bad(None, '{"alice": "' + SECRET + '", "alice": "' + SECRET + '2"}', None, "KEYS", "a key appears twice"),
    Bad(None, "{" + '"a": {' * 100_000, None, "KEYS", "inline JSON"),
    Bad(None, json.dumps({"alice": SECRET, "pad": "x" * (1024 * 1024)}), None, "KEYS", "larger than 1048576 bytes"),
    # files
    Bad(None, "{tmp}/missing.json", None, "KEYS", "cannot read file"),
    Bad(None, "{tmp}", None, "KEYS", "cannot read file"),  # a directory
    Bad(None, "{file}", b'{"alice": "' + SECRET.encode(), "KEYS", "not valid JSON"),
    Bad(None, "{file}", json.dumps({"alice": SECRET}).encode("utf-16"), "KEYS", "is not UTF-8 text"),
    Bad(None, "{file}", b" " * (1024 * 1024 + 1), "KEYS", "larger than 1048576 bytes"),
    Bad(None, "{file}", json.dumps([SECRET]).encode(), "KEYS", "must be a JSON object"),
    # the claim name
    Bad("two words", None, None, "CLAIM", "CLAIM must be one claim name"),
    Bad("a\x00b", None, None, "CLAIM", "CLAIM must be one claim name"),
    Bad("c" * 257, None, None, "CLAIM", "CLAIM must be one claim name"),
    Bad("two words", json.dumps(MAPPING), None, "CLAIM", "CLAIM must be one claim name"),
]


@pytest.mark.parametrize("row", BAD_CONFIG, ids=[f"{n}-{row.fragment[:40]}" for n, row in enumerate(BAD_CONFIG)])
def test_bad_configuration(tmp_path: Path, row: Bad) -> None:
    source = row.source
    if source is not None:
        file = tmp_path / "keys.json"
        if row.content is not None:
            file.write_bytes(row.content)
        source = source.replace("{tmp}", str(tmp_path)).replace("{file}", str(file))
    with pytest.raises(ConfigurationError) as caught:
        usage_keys_from_settings(row.claim, source, setting_claim="CLAIM", setting_source="KEYS")
    message = str(caught.value)
    assert message.startswith(row.setting)
    assert row.fragment in message
    assert SECRET not in message
    assert "alice" not in message  # nor what the keys are for
    # Nothing that could show the content travels along in the chain either.
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


@pytest.mark.parametrize("max_age", [0, -1, 86401, True, 1.5])
def test_bad_max_age_for_a_remote_source(max_age: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"^KEYS: the cache max age must be"):
        usage_keys_from_settings(None, "ssm:/usage/keys", setting_source="KEYS", max_age_seconds=max_age)


def test_remote_source_is_not_fetched_at_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No region, no credentials: building must still work, as it does no I/O; the first
    # fetch (prefetch at cold start) then fails clearly.
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    usage = build(source="ssm:/usage/keys")
    with pytest.raises(
        ConfigurationError, match=r"^AUTHZ_USAGE_KEYS: cannot load ssm:/usage/keys: fetch failed: .*region"
    ):
        usage.prefetch()


def test_import_loads_neither_boto3_nor_powertools_parameters() -> None:
    code = (
        "import json, sys\n"
        "from authorizers.usage_keys import usage_keys_from_settings\n"
        "from policies.principal import Principal\n"
        f"usage = usage_keys_from_settings('api_key', {json.dumps(MAPPING)!r})\n"
        "usage.key_for(Principal(principal_id='alice', scheme='jwt'))\n"
        "usage_keys_from_settings(None, 'ssm:/not/fetched')\n"
        "usage_keys_from_settings(None, 'secretsmanager:not-fetched')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = json.loads(done.stdout)
    heavy = [m for m in loaded if m.split(".")[0] in ("boto3", "botocore") or m.startswith("aws_lambda_powertools")]
    assert heavy == []


# -- SSM Parameter Store and Secrets Manager on moto's server -----------------------------


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@dataclass
class Aws:
    ssm: SSMClient
    secrets: SecretsManagerClient

    def put(self, scheme: str, name: str, value: str) -> None:
        """Create or overwrite a parameter (String) or a secret."""
        if scheme == "ssm":
            self.ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        else:
            try:
                self.secrets.put_secret_value(SecretId=name, SecretString=value)
            except self.secrets.exceptions.ResourceNotFoundException:
                self.secrets.create_secret(Name=name, SecretString=value)

    def delete(self, scheme: str, name: str) -> None:
        if scheme == "ssm":
            self.ssm.delete_parameter(Name=name)
        else:
            self.secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Aws:
    aws_environment(monkeypatch, moto_url, tmp_path)
    import boto3

    return Aws(ssm=boto3.client("ssm"), secrets=boto3.client("secretsmanager"))


def unique_name(scheme: Scheme) -> str:
    # Every test its own parameter or secret: the server lives for the whole session.
    suffix = uuid.uuid4().hex
    return f"/usage-keys-test/{suffix}" if scheme == "ssm" else f"usage-keys-test/{suffix}"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting_provider(scheme: Scheme) -> Any:
    """A real Powertools provider for the moto endpoint that counts its AWS calls."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

    base: Any = SSMProvider if scheme == "ssm" else SecretsProvider

    class Counting(base):  # type: ignore[misc]
        calls = 0

        def _get(self, name: str, **options: Any) -> Any:
            self.calls += 1
            return super()._get(name, **options)

    return Counting()


def log_records(text: str) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def test_ssm_string_parameter(aws: Aws) -> None:
    name = unique_name("ssm")
    aws.ssm.put_parameter(Name=name, Value=json.dumps(MAPPING), Type="String")
    usage = build(source=f"ssm:{name}")
    usage.prefetch()
    assert usage.key_for(principal("alice")) == KEY_ALICE
    assert usage.key_for(principal("svc", client_id="client-123")) == KEY_CLIENT
    assert usage.key_for(principal("bob")) is None


def test_ssm_secure_string_is_decrypted(aws: Aws) -> None:
    name = unique_name("ssm")
    aws.ssm.put_parameter(Name=name, Value=json.dumps(MAPPING), Type="SecureString")
    # Read without decryption, the value is not the JSON: decryption is what makes it work.
    assert aws.ssm.get_parameter(Name=name, WithDecryption=False)["Parameter"]["Value"] != json.dumps(MAPPING)
    usage = build(source=f"ssm:{name}")
    usage.prefetch()
    assert usage.key_for(principal("alice")) == KEY_ALICE


def test_secrets_manager_secret(aws: Aws) -> None:
    name = unique_name("secretsmanager")
    aws.secrets.create_secret(Name=name, SecretString=json.dumps(MAPPING))
    usage = build(claim="api_key", source=f"secretsmanager:{name}")
    usage.prefetch()
    assert usage.key_for(principal("alice")) == KEY_ALICE
    assert usage.key_for(principal("alice", api_key=KEY_CLAIMED)) == KEY_CLAIMED


def test_binary_secret_is_refused(aws: Aws) -> None:
    name = unique_name("secretsmanager")
    aws.secrets.create_secret(Name=name, SecretBinary=json.dumps({"alice": SECRET}).encode())
    usage = build(source=f"secretsmanager:{name}")
    with pytest.raises(ConfigurationError, match="holds no JSON text") as caught:
        usage.prefetch()
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(("scheme", "error"), [("ssm", "ParameterNotFound"), ("secretsmanager", "ResourceNotFound")])
def test_missing_at_prefetch_is_a_configuration_error(aws: Aws, scheme: Scheme, error: str) -> None:
    name = unique_name(scheme)
    usage = build(source=f"{scheme}:{name}", setting_source="KEYS")
    with pytest.raises(ConfigurationError) as caught:
        usage.prefetch()
    message = str(caught.value)
    assert message.startswith(f"KEYS: cannot load {scheme}:{name}: fetch failed: ")
    assert error in message


@pytest.mark.parametrize("scheme", ["ssm", "secretsmanager"])
def test_invalid_remote_value_at_prefetch(aws: Aws, scheme: Scheme) -> None:
    name = unique_name(scheme)
    aws.put(scheme, name, '{"alice": "' + SECRET + '", "alice": "' + SECRET + '"}')
    usage = build(source=f"{scheme}:{name}")
    with pytest.raises(ConfigurationError, match=r"invalid value: .*a key appears twice") as caught:
        usage.prefetch()
    assert SECRET not in str(caught.value)
    assert "alice" not in str(caught.value)


def test_unreachable_endpoint_at_prefetch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    aws_environment(monkeypatch, f"http://127.0.0.1:{port}", tmp_path)
    usage = build(source="ssm:/usage/keys")
    with pytest.raises(ConfigurationError, match=r"cannot load ssm:/usage/keys: fetch failed: .*127\.0\.0\.1"):
        usage.prefetch()


def test_never_loaded_fails_closed_and_retries_sparingly(aws: Aws) -> None:
    name = unique_name("ssm")
    provider, clock = counting_provider("ssm"), FakeClock()
    mapping = RemoteMapping(
        RemoteLocation("ssm", name), setting="KEYS", max_age_seconds=300, provider=provider, clock=clock
    )
    usage = UsageKeys(claim="api_key", mapping=mapping)
    with pytest.raises(AuthorizerUnavailable, match=f"KEYS: no usage key mapping from ssm:{name}") as caught:
        usage.key_for(principal("alice"))
    assert not isinstance(caught.value, ConfigurationError)  # a request-time outage: 500
    assert provider.calls == 1
    with pytest.raises(AuthorizerUnavailable):
        usage.key_for(principal("alice"))
    assert provider.calls == 1  # within the retry interval: no new call
    # A principal with the claim does not need the mapping at all.
    assert usage.key_for(principal("alice", api_key=KEY_CLAIMED)) == KEY_CLAIMED
    # Once the parameter exists and the interval has passed, it is picked up.
    aws.put("ssm", name, json.dumps(MAPPING))
    clock.now += RETRY_INTERVAL
    assert usage.key_for(principal("alice")) == KEY_ALICE
    assert provider.calls == 2


def test_refresh_after_max_age_picks_up_a_change(aws: Aws) -> None:
    # The one test that waits for real: the other refresh tests expire the cache directly.
    scheme: Scheme = "ssm"
    name = unique_name(scheme)
    aws.put(scheme, name, json.dumps(MAPPING))
    usage = build(source=f"{scheme}:{name}", max_age_seconds=1)
    usage.prefetch()
    aws.put(scheme, name, json.dumps({"alice": KEY_NEW}))
    assert usage.key_for(principal("alice")) == KEY_ALICE  # still cached
    time.sleep(1.05)  # Powertools' cache runs on the wall clock; max_age is whole seconds
    assert usage.key_for(principal("alice")) == KEY_NEW
    assert usage.key_for(principal("svc", client_id="client-123")) is None


@pytest.mark.parametrize("scheme", ["ssm", "secretsmanager"])
def test_failed_refresh_keeps_the_last_good_mapping(aws: Aws, decision_log: Any, scheme: Scheme) -> None:
    name = unique_name(scheme)
    aws.put(scheme, name, json.dumps(MAPPING))
    provider, clock = counting_provider(scheme), FakeClock()
    mapping = RemoteMapping(
        RemoteLocation(scheme, name), setting="KEYS", max_age_seconds=300, provider=provider, clock=clock
    )
    usage = UsageKeys(mapping=mapping)
    usage.prefetch()
    assert usage.key_for(principal("alice")) == KEY_ALICE
    assert provider.calls == 1  # the second lookup was a cache hit
    decision_log()

    aws.delete(scheme, name)
    provider.clear_cache()  # what max_age passing does to Powertools' cache
    assert usage.key_for(principal("alice")) == KEY_ALICE
    assert provider.calls == 2
    _, output = decision_log()
    warnings = [r for r in log_records(output) if r.get("level") == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0]["message"] == "usage key mapping refresh failed; serving the last good mapping"
    assert warnings[0]["setting"] == "KEYS"
    assert warnings[0]["source"] == f"{scheme}:{name}"
    assert "fetch failed" in warnings[0]["error"]
    assert KEY_ALICE not in output
    assert KEY_CLIENT not in output

    # During the retry interval the outage costs no calls.
    assert usage.key_for(principal("alice")) == KEY_ALICE
    assert provider.calls == 2
    # A prefetch (a new cold start would do one) does not throw away the last good mapping.
    usage.prefetch()
    assert provider.calls == 3

    aws.put(scheme, name, json.dumps({"alice": KEY_NEW}))
    clock.now += RETRY_INTERVAL
    assert usage.key_for(principal("alice")) == KEY_NEW
    assert provider.calls == 4


@pytest.mark.parametrize("scheme", ["ssm", "secretsmanager"])
def test_invalid_refresh_keeps_the_last_good_mapping(aws: Aws, decision_log: Any, scheme: Scheme) -> None:
    name = unique_name(scheme)
    aws.put(scheme, name, json.dumps(MAPPING))
    provider, clock = counting_provider(scheme), FakeClock()
    mapping = RemoteMapping(
        RemoteLocation(scheme, name), setting="KEYS", max_age_seconds=300, provider=provider, clock=clock
    )
    usage = UsageKeys(mapping=mapping)
    usage.prefetch()
    decision_log()

    aws.put(scheme, name, json.dumps({"alice": SECRET, "bob": 42}))
    provider.clear_cache()
    assert usage.key_for(principal("alice")) == KEY_ALICE
    clock.now += RETRY_INTERVAL
    # The invalid value sits in Powertools' cache now: not parsed or reported again.
    assert usage.key_for(principal("alice")) == KEY_ALICE
    assert provider.calls == 2
    _, output = decision_log()
    warnings = [r for r in log_records(output) if r.get("level") == "WARNING"]
    assert len(warnings) == 1
    assert "invalid value" in warnings[0]["error"]
    assert "entry 2" in warnings[0]["error"]
    assert SECRET not in output
    assert KEY_ALICE not in output

    aws.put(scheme, name, json.dumps({"alice": KEY_NEW}))
    provider.clear_cache()
    assert usage.key_for(principal("alice")) == KEY_NEW
