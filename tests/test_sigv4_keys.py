"""SigV4 key pairs: parsing and refusals, the remote store's refresh rules, SSM and Secrets
Manager through moto on loopback, the handler's settings, and what the handler imports.

Secrets are recognisable (``SENTINEL``) so every refusal and log line can be checked not to
carry one. Time is injected: ``RemoteKeys`` reads ``time.monotonic`` through its module, which
the ``clock`` fixture replaces; Powertools' own cache runs on the wall clock and is emptied
with ``parameters.clear_caches()`` where a test stands for its expiry.
"""

from __future__ import annotations

import json
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from authorizers.errors import AuthorizerUnavailable, ConfigurationError
from authorizers.handlers.runtime import decide
from authorizers.settings import (
    COGNITO_VARIABLES,
    KNOWN_VARIABLES,
    SAML_VARIABLES,
    SIGV4_VARIABLES,
    load_cognito_settings,
    load_jwt_settings,
    load_saml_settings,
    load_sigv4_settings,
)
from authorizers.sigv4 import keys as keys_module
from authorizers.sigv4.keys import (
    MAX_DOCUMENT_BYTES,
    RETRY_SECONDS,
    RemoteKeys,
    SigningIdentity,
    StaticKeys,
    key_store_from,
    parse_credentials,
)
from policies.authorization import PolicyScope
from policies.response import ResponseFormat
from tests.conftest import refusal_message, run_python, watching
from tests.motoserver import aws_environment, moto_server

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient

ROOT = Path(__file__).resolve().parent.parent
SETTING = "SIGV4_CREDENTIALS"
INLINE = f"{SETTING} (inline JSON)"
# Stands for a secret access key that must never show up in an error or a log line.
SECRET = "SENTINEL-sigv4-secret-do-not-print-42"
SECRET_SERVICE = "service-secret-0123456789abcdef"
SECRET_NEW = "rotated-secret-0123456789abcdef"
AKID_ALICE = "AKIDALICE0000001"
AKID_SERVICE = "AKIDSERVICE00002"
AKID_NEW = "AKIDROTATED00003"
ALICE_ENTRY = {"secret": SECRET, "principal": "alice", "groups": ["admins", "readers"]}
KEYS = {AKID_ALICE: ALICE_ENTRY, AKID_SERVICE: SECRET_SERVICE}
ALICE = SigningIdentity(AKID_ALICE, SECRET, "alice", frozenset({"admins", "readers"}))
SERVICE = SigningIdentity(AKID_SERVICE, SECRET_SERVICE, AKID_SERVICE, frozenset())
REGION = "eu-west-1"
HOST = "abcdef123.execute-api.eu-west-1.amazonaws.com"


def assert_quiet(error: BaseException) -> None:
    """No secret in the message, and nothing that could show one travels along in the chain."""
    assert SECRET not in str(error)
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None


# --- 1. parse_credentials and StaticKeys ----------------------------------------------------


def test_inline_json_with_principal_groups_and_a_bare_secret() -> None:
    store = key_store_from(f"  {json.dumps(KEYS)}\n", SETTING)
    assert isinstance(store, StaticKeys)
    store.prefetch()  # nothing to load: a no-op
    assert store.lookup(AKID_ALICE) == ALICE
    # A bare secret: the key id is the principal, and there are no groups.
    assert store.lookup(AKID_SERVICE) == SERVICE
    assert store.lookup("AKIDUNKNOWN00009") is None
    assert store.lookup(AKID_ALICE.lower()) is None  # key ids are exact
    assert SECRET not in repr(ALICE)


def test_parse_credentials_boundaries() -> None:
    shortest = {"A" * 16: "s" * 16, "9" * 128: {"secret": "t" * 16, "groups": []}}
    keys = parse_credentials(shortest, SETTING)
    assert keys["A" * 16] == SigningIdentity("A" * 16, "s" * 16, "A" * 16)
    assert keys["9" * 128].groups == frozenset()
    assert keys["9" * 128].principal == "9" * 128


def entry_two(entry: object) -> str:
    """Inline JSON whose second entry is ``entry`` (the first is good)."""
    return json.dumps({AKID_SERVICE: SECRET_SERVICE, AKID_ALICE: entry})


def key_two(key_id: str) -> str:
    return json.dumps({AKID_SERVICE: SECRET_SERVICE, key_id: SECRET})


ENTRY_SHAPE = "entry 2: expected an object with secret, principal and groups"
KEY_ID = "entry 2: the access key id must be 16-128 of A-Z and 0-9"
SECRET_LENGTH = "entry 2: the secret must be a string of at least 16 characters"
PRINCIPAL = "entry 2: the principal must be a non-empty string"
GROUPS = "entry 2: groups must be a list of strings"
NOT_AN_OBJECT = f"{INLINE}: expected a non-empty object of access key id -> key pair"
NOT_JSON = f"{INLINE}: not valid JSON (or a key id appears twice)"

INLINE_REFUSALS = [
    pytest.param("{}", NOT_AN_OBJECT, id="empty"),
    pytest.param("{" + SECRET, NOT_JSON, id="not-json"),
    pytest.param('{"' + AKID_ALICE + '": "' + SECRET + '"', NOT_JSON, id="truncated"),
    pytest.param(
        '{"' + AKID_ALICE + '": "' + SECRET + '", "' + AKID_ALICE + '": "' + SECRET + '2"}',
        NOT_JSON,
        id="duplicate-key-id",
    ),
    pytest.param(
        '{"' + AKID_SERVICE + '": "' + SECRET_SERVICE + '", "' + AKID_ALICE + '": {"secret": "' + SECRET + '", '
        '"secret": "' + SECRET + '"}}',
        NOT_JSON,
        id="duplicate-field",
    ),
    pytest.param(key_two("AKIDSHORT000001"), KEY_ID, id="key-id-15"),
    pytest.param(key_two("A" * 129), KEY_ID, id="key-id-129"),
    pytest.param(key_two("akidalice0000001"), KEY_ID, id="lower-case-key-id"),
    pytest.param(key_two("AKIDalice0000001"), KEY_ID, id="mixed-case-key-id"),
    pytest.param(key_two("AKID-ALICE-00001"), KEY_ID, id="dash-in-key-id"),
    pytest.param(key_two(""), KEY_ID, id="empty-key-id"),
    pytest.param(key_two(" AKIDALICE0000001"), KEY_ID, id="space-in-key-id"),
    pytest.param(key_two("AKIDÄLICE0000001"), KEY_ID, id="non-ascii-key-id"),
    pytest.param(entry_two("s" * 15), SECRET_LENGTH, id="bare-secret-15"),
    pytest.param(entry_two(""), SECRET_LENGTH, id="bare-secret-empty"),
    pytest.param(entry_two({"secret": "s" * 15}), SECRET_LENGTH, id="secret-15"),
    pytest.param(entry_two({"secret": 1234567890123456789}), SECRET_LENGTH, id="secret-number"),
    pytest.param(entry_two({"secret": [SECRET]}), SECRET_LENGTH, id="secret-list"),
    pytest.param(entry_two({"principal": "alice"}), SECRET_LENGTH, id="no-secret"),
    pytest.param(entry_two({"secret": SECRET, "principal": 42}), PRINCIPAL, id="principal-number"),
    pytest.param(entry_two({"secret": SECRET, "principal": ["alice"]}), PRINCIPAL, id="principal-list"),
    pytest.param(entry_two({"secret": SECRET, "principal": None}), PRINCIPAL, id="principal-null"),
    pytest.param(entry_two({"secret": SECRET, "principal": ""}), PRINCIPAL, id="principal-empty"),
    pytest.param(entry_two({"secret": SECRET, "groups": "admins"}), GROUPS, id="groups-string"),
    pytest.param(entry_two({"secret": SECRET, "groups": ["admins", 1]}), GROUPS, id="groups-number"),
    pytest.param(entry_two({"secret": SECRET, "groups": [""]}), GROUPS, id="groups-empty-name"),
    pytest.param(entry_two({"secret": SECRET, "groups": {"admins": True}}), GROUPS, id="groups-object"),
    pytest.param(entry_two({"secret": SECRET, "groups": None}), GROUPS, id="groups-null"),
    pytest.param(entry_two({"secret": SECRET, "extra": 1}), ENTRY_SHAPE, id="unknown-field"),
    pytest.param(entry_two({"secret": SECRET, "Principal": "alice"}), ENTRY_SHAPE, id="field-case"),
    pytest.param(entry_two({"secret": SECRET, "session_token": SECRET}), ENTRY_SHAPE, id="session-token"),
    pytest.param(entry_two(12345678901234567890), ENTRY_SHAPE, id="entry-number"),
    pytest.param(entry_two(None), ENTRY_SHAPE, id="entry-null"),
    pytest.param(entry_two([SECRET]), ENTRY_SHAPE, id="entry-list"),
    pytest.param(entry_two(True), ENTRY_SHAPE, id="entry-bool"),
]


@pytest.mark.parametrize("document", [[], [[AKID_ALICE, SECRET]], SECRET, None, 42, {}])
def test_parse_credentials_needs_a_non_empty_object(document: object) -> None:
    # Inline JSON starts with "{" (anything else is a file path), so only files and remote
    # stores can hold another JSON value.
    with pytest.raises(ConfigurationError) as caught:
        parse_credentials(document, SETTING)
    assert str(caught.value) == f"{SETTING}: expected a non-empty object of access key id -> key pair"
    assert_quiet(caught.value)


@pytest.mark.parametrize(("text", "expected"), INLINE_REFUSALS)
def test_inline_refusals(text: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        key_store_from(text, SETTING)
    message = str(caught.value)
    assert message.startswith(INLINE), message
    assert expected in message
    assert "entry 1" not in message  # the good first entry is never blamed
    assert AKID_ALICE not in message  # nor is the key id repeated
    assert_quiet(caught.value)


def test_the_refusal_rows_differ_from_an_accepted_document_only_where_they_say() -> None:
    # Counterparts: entry_two and key_two with good values are accepted.
    assert key_store_from(entry_two(ALICE_ENTRY), SETTING).lookup(AKID_ALICE) == ALICE
    assert key_store_from(key_two("AKIDGOOD00000009"), SETTING).lookup("AKIDGOOD00000009") is not None


def test_deeply_nested_inline_json_is_a_configuration_error() -> None:
    # 2 KB: it fits in a Lambda environment variable.
    with pytest.raises(ConfigurationError, match=f"^{SETTING}"):
        key_store_from('{"' + AKID_ALICE + '": ' + "[" * 2000, SETTING)


def test_file_source(tmp_path: Path) -> None:
    path = tmp_path / "sigv4-keys.json"
    path.write_text(json.dumps(KEYS), encoding="utf-8")
    store = key_store_from(f" {path} ", SETTING)
    assert isinstance(store, StaticKeys)
    path.unlink()  # read once, at configuration
    assert store.lookup(AKID_ALICE) == ALICE
    assert store.lookup(AKID_SERVICE) == SERVICE


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(b"{}", "expected a non-empty object", id="empty"),
        pytest.param(entry_two({"secret": SECRET, "extra": 1}).encode(), ENTRY_SHAPE, id="entry-2"),
        pytest.param(b'{"' + AKID_ALICE.encode() + b'": "' + SECRET.encode(), "not valid JSON", id="truncated"),
        pytest.param(b" " * (MAX_DOCUMENT_BYTES + 1), f"over {MAX_DOCUMENT_BYTES} bytes", id="too-large"),
    ],
)
def test_file_refusals(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "sigv4-keys.json"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError) as caught:
        key_store_from(str(path), SETTING)
    assert str(caught.value).startswith(f"{SETTING}: ")
    assert fragment in str(caught.value)
    assert_quiet(caught.value)


@pytest.mark.parametrize("path", ["/nonexistent/sigv4-keys.json", "keys/sigv4.json", "{tmp}"])
def test_unreadable_file_is_named(tmp_path: Path, path: str) -> None:
    path = path.replace("{tmp}", str(tmp_path))  # a directory
    with pytest.raises(ConfigurationError) as caught:
        key_store_from(path, SETTING)
    error = "IsADirectoryError" if path == str(tmp_path) else "FileNotFoundError"
    assert str(caught.value) == f"{SETTING}: cannot read {path} ({error})"
    assert_quiet(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(f"{AKID_ALICE}:\n  secret: {SECRET}\n  principal: alice", id="yaml-multi-line"),
        pytest.param(f"{AKID_ALICE}\n{SECRET}", id="two-lines"),
        pytest.param("/keys/" + SECRET * 8, id="over-256-characters"),
    ],
)
def test_a_pasted_value_is_not_shown(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        key_store_from(value, SETTING)
    assert str(caught.value) == f"{SETTING}: cannot read the value given (FileNotFoundError)"
    assert_quiet(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(f'"{AKID_ALICE}": {{"secret": "{SECRET}"}}}}', id="json-without-opening-brace"),
        pytest.param(f'[{{"{AKID_ALICE}": "{SECRET}"}}]', id="json-array"),
        pytest.param(json.dumps(json.dumps({AKID_ALICE: SECRET})), id="json-in-a-json-string"),
    ],
)
def test_a_pasted_single_line_value_is_not_shown(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        key_store_from(value, SETTING)
    assert SECRET not in str(caught.value)


# --- 2. RemoteKeys: cache, refresh, last good keys -----------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """``time.monotonic`` as the keys module sees it (and only it: the rest of the process keeps real time)."""
    fake = Clock()
    monkeypatch.setattr(keys_module, "time", types.SimpleNamespace(monotonic=fake))
    return fake


class Store:
    """An injected fetch: returns ``document`` (or raises it), recording the max_age it is given."""

    def __init__(self, document: object) -> None:
        self.document = document
        self.calls: list[int] = []

    def __call__(self, max_age: int) -> object:
        self.calls.append(max_age)
        if isinstance(self.document, BaseException):
            raise self.document
        return self.document


def ssm_answer(keys: dict[str, Any]) -> dict[str, str]:
    """What Powertools' get_parameters gives: parameter names relative to the path, string values."""
    return {key_id: json.dumps(entry) if isinstance(entry, dict) else entry for key_id, entry in keys.items()}


def remote(store: Store, scheme: str = "ssm", max_age: int = 300) -> RemoteKeys:
    name = "/sigv4/keys" if scheme == "ssm" else "sigv4/keys"
    return RemoteKeys(scheme, name, SETTING, max_age_seconds=max_age, fetch=store)


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


def warnings_in(output: str) -> list[dict[str, Any]]:
    return [record for record in log_records(output) if record.get("level") == "WARNING"]


@pytest.mark.parametrize("scheme", ["ssm", "secretsmanager"])
def test_prefetch_loads_and_lookups_are_served_from_memory(clock: Clock, scheme: str) -> None:
    store = Store(ssm_answer(KEYS) if scheme == "ssm" else json.dumps(KEYS))
    keys = remote(store, scheme, max_age=120)
    keys.prefetch()
    assert store.calls == [120]  # Powertools is given the same max age
    assert keys.lookup(AKID_ALICE) == ALICE
    assert keys.lookup(AKID_SERVICE) == SERVICE
    clock.now += 119.9
    assert keys.lookup(AKID_ALICE) == ALICE
    assert store.calls == [120]


def test_secrets_manager_binary_secret_holding_utf8_json(clock: Clock) -> None:
    keys = remote(Store(json.dumps(KEYS).encode()), "secretsmanager")
    keys.prefetch()
    assert keys.lookup(AKID_ALICE) == ALICE


def test_unknown_key_ids_never_fetch(clock: Clock) -> None:
    store = Store(ssm_answer(KEYS))
    keys = remote(store)
    keys.prefetch()
    for n in range(200):
        assert keys.lookup(f"AKIDRANDOM{n:06d}") is None
    assert store.calls == [300]


def test_refresh_after_max_age_picks_up_a_rotation(clock: Clock) -> None:
    store = Store(ssm_answer(KEYS))
    keys = remote(store)
    keys.prefetch()
    store.document = ssm_answer({AKID_NEW: SECRET_NEW, AKID_SERVICE: SECRET_SERVICE})
    clock.now += 299.999
    assert keys.lookup(AKID_ALICE) == ALICE  # just too early: still the old keys
    assert len(store.calls) == 1
    clock.now += 0.001
    assert keys.lookup(AKID_ALICE) is None  # on the dot: refreshed, alice's key is gone
    assert keys.lookup(AKID_NEW) == SigningIdentity(AKID_NEW, SECRET_NEW, AKID_NEW)
    assert len(store.calls) == 2
    clock.now += 299
    assert keys.lookup(AKID_NEW) is not None
    assert len(store.calls) == 2  # the next refresh is max_age after this one


def test_failed_refresh_keeps_the_last_good_keys_and_logs_once(clock: Clock, decision_log: Any) -> None:
    store = Store(ssm_answer(KEYS))
    keys = remote(store)
    keys.prefetch()
    decision_log()
    store.document = RuntimeError(f"AccessDenied for {SECRET}")  # even an exception's text stays out
    clock.now += 300
    assert keys.lookup(AKID_ALICE) == ALICE
    assert keys.lookup(AKID_SERVICE) == SERVICE
    assert len(store.calls) == 2
    _, output = decision_log()
    (warning,) = warnings_in(output)
    assert warning["message"] == "SigV4 key pairs could not be refreshed; keeping the last good ones"
    assert warning["source"] == SETTING
    assert warning["error"] == "fetch failed (RuntimeError)"
    assert SECRET not in output
    assert SECRET_SERVICE not in output


def test_no_retry_storm_while_the_store_fails(clock: Clock, decision_log: Any) -> None:
    store = Store(ssm_answer(KEYS))
    keys = remote(store)
    keys.prefetch()
    store.document = OSError("unreachable")
    clock.now += 300
    failed_at = clock.now
    assert keys.lookup(AKID_ALICE) == ALICE
    assert len(store.calls) == 2
    decision_log()
    for step in range(1000):  # a busy function: many lookups inside one retry interval
        clock.now = failed_at + step * (RETRY_SECONDS - 0.001) / 1000
        assert keys.lookup(AKID_ALICE) == ALICE
        assert keys.lookup(f"AKIDRANDOM{step:06d}") is None
    assert len(store.calls) == 2
    assert warnings_in(decision_log()[1]) == []
    clock.now = failed_at + RETRY_SECONDS  # on the dot: one retry, failing again
    assert keys.lookup(AKID_ALICE) == ALICE
    assert len(store.calls) == 3
    assert len(warnings_in(decision_log()[1])) == 1
    clock.now += RETRY_SECONDS - 0.001
    assert keys.lookup(AKID_ALICE) == ALICE
    assert len(store.calls) == 3
    # The store comes back: picked up at the next retry, then refreshed every max_age again.
    store.document = ssm_answer({AKID_NEW: SECRET_NEW})
    clock.now = failed_at + 2 * RETRY_SECONDS
    assert keys.lookup(AKID_ALICE) is None
    assert keys.lookup(AKID_NEW) is not None
    assert len(store.calls) == 4
    clock.now += 299
    assert keys.lookup(AKID_NEW) is not None
    assert len(store.calls) == 4


def test_never_loaded_fails_closed(clock: Clock, decision_log: Any) -> None:
    store = Store(OSError("unreachable"))
    keys = remote(store)
    with pytest.raises(AuthorizerUnavailable) as caught:
        keys.lookup(AKID_ALICE)
    assert not isinstance(caught.value, ConfigurationError)  # a request-time outage: 500
    assert str(caught.value) == f"{SETTING}: no key pairs could be loaded"
    assert len(store.calls) == 1
    # Once the store answers (and the retry interval has passed), the keys are loaded.
    store.document = ssm_answer(KEYS)
    clock.now += RETRY_SECONDS
    assert keys.lookup(AKID_ALICE) == ALICE
    assert SECRET not in decision_log()[1]


def test_never_prefetched_loads_on_first_lookup(clock: Clock) -> None:
    store = Store(ssm_answer(KEYS))
    keys = remote(store)
    assert store.calls == []  # building does no I/O
    assert keys.lookup(AKID_SERVICE) == SERVICE
    assert keys.lookup(AKID_ALICE) == ALICE
    assert len(store.calls) == 1


def test_never_loaded_retries_at_most_once_per_interval(clock: Clock) -> None:
    store = Store(OSError("unreachable"))
    keys = remote(store)
    for _ in range(5):
        with pytest.raises(AuthorizerUnavailable):
            keys.lookup(AKID_ALICE)
    assert len(store.calls) == 1


@pytest.mark.parametrize(
    ("scheme", "document", "fragment"),
    [
        pytest.param("ssm", "not a mapping", "unexpected parameters answer", id="ssm-not-a-mapping"),
        pytest.param("ssm", {}, "expected a non-empty object", id="ssm-empty-path"),
        pytest.param("ssm", {"akid-lower-case-1": SECRET}, "entry 1: the access key id", id="ssm-bad-name"),
        pytest.param("ssm", {AKID_SERVICE: SECRET_SERVICE, AKID_ALICE: "short"}, "entry 2: the secret", id="ssm-short"),
        pytest.param("ssm", {AKID_ALICE: "{" + SECRET}, "not valid JSON", id="ssm-broken-json"),
        pytest.param(
            "ssm", {AKID_ALICE: json.dumps({"secret": SECRET, "extra": 1})}, "entry 1: expected", id="ssm-field"
        ),
        pytest.param("ssm", {AKID_ALICE: None}, "entry 1: the secret", id="ssm-null-value"),
        pytest.param("secretsmanager", {"not": "text"}, "the secret must be a JSON string", id="sm-not-text"),
        pytest.param("secretsmanager", SECRET, "not valid JSON", id="sm-bare-secret"),
        pytest.param("secretsmanager", "[]", "expected a non-empty object", id="sm-array"),
        pytest.param(
            "secretsmanager",
            '{"' + AKID_ALICE + '": "' + SECRET + '", "' + AKID_ALICE + '": "' + SECRET + '"}',
            "a key id appears twice",
            id="sm-duplicate",
        ),
        pytest.param("secretsmanager", entry_two({"secret": SECRET, "groups": "x"}), "entry 2: groups", id="sm-groups"),
    ],
)
def test_an_invalid_refreshed_document_is_a_failed_refresh(
    clock: Clock, decision_log: Any, scheme: str, document: object, fragment: str
) -> None:
    store = Store(ssm_answer(KEYS) if scheme == "ssm" else json.dumps(KEYS))
    keys = remote(store, scheme)
    keys.prefetch()
    decision_log()
    store.document = document
    clock.now += 300
    assert keys.lookup(AKID_ALICE) == ALICE
    clock.now += RETRY_SECONDS - 1
    assert keys.lookup(AKID_SERVICE) == SERVICE
    assert len(store.calls) == 2  # an invalid document is retried like an outage, not on every request
    _, output = decision_log()
    (warning,) = warnings_in(output)
    assert warning["source"] == SETTING
    assert fragment in warning["error"]
    assert SECRET not in output


@pytest.mark.parametrize("scheme", ["ssm", "secretsmanager"])
def test_an_invalid_document_at_prefetch_is_a_configuration_error(clock: Clock, scheme: str) -> None:
    bad = {AKID_ALICE: "short"} if scheme == "ssm" else json.dumps({AKID_ALICE: {"secret": SECRET, "x": 1}})
    keys = remote(Store(bad), scheme)
    with pytest.raises(ConfigurationError) as caught:
        keys.prefetch()
    assert str(caught.value).startswith(f"{SETTING}: ")
    assert "entry 1" in str(caught.value)
    assert_quiet(caught.value)
    with pytest.raises(AuthorizerUnavailable):  # and nothing was kept
        keys.lookup(AKID_ALICE)


def test_a_failed_fetch_at_prefetch_is_a_configuration_error(clock: Clock) -> None:
    keys = remote(Store(RuntimeError(f"denied: {SECRET}")))
    with pytest.raises(ConfigurationError) as caught:
        keys.prefetch()
    assert str(caught.value) == f"{SETTING}: fetch failed (RuntimeError)"
    assert_quiet(caught.value)


@pytest.mark.parametrize(
    ("scheme", "document"),
    [
        pytest.param("secretsmanager", b"\xff\xfe not UTF-8", id="sm-binary-not-utf8"),
        pytest.param("secretsmanager", "[" * 5000, id="sm-deeply-nested"),
        pytest.param("ssm", {AKID_ALICE: "{" + '"a": {' * 5000}, id="ssm-deeply-nested"),
    ],
)
def test_an_undecodable_refreshed_document_is_a_failed_refresh(clock: Clock, scheme: str, document: object) -> None:
    store = Store(ssm_answer(KEYS) if scheme == "ssm" else json.dumps(KEYS))
    keys = remote(store, scheme)
    keys.prefetch()
    store.document = document
    clock.now += 300
    assert keys.lookup(AKID_ALICE) == ALICE
    with pytest.raises(ConfigurationError):
        remote(Store(document), scheme).prefetch()


# --- 3. SSM Parameter Store and Secrets Manager on moto's server --------------------------


@pytest.fixture(scope="session")
def sigv4_moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@dataclass
class Aws:
    ssm: SSMClient
    secrets: SecretsManagerClient


@pytest.fixture
def aws(sigv4_moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Aws]:
    """boto3 clients for moto, and Powertools' default providers (clients and caches) fresh for each test.

    The providers live in a module-level dict and keep the client made on first use, bound
    to whatever endpoint was set then: without clearing, a test would see another's cache,
    or another moto server.
    """
    aws_environment(monkeypatch, sigv4_moto_url, tmp_path)
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    parameters.clear_caches()
    assert DEFAULT_PROVIDERS == {}
    yield Aws(ssm=boto3.client("ssm"), secrets=boto3.client("secretsmanager"))
    parameters.clear_caches()


def unique_prefix() -> str:
    # Every test its own path or secret: the server lives for the whole session.
    return f"/sigv4-keys-test/{uuid.uuid4().hex}/"


def put_keys(aws: Aws, prefix: str) -> None:
    """The two key pairs as SecureStrings named by key id: one JSON object, one bare secret."""
    aws.ssm.put_parameter(Name=f"{prefix}{AKID_ALICE}", Value=json.dumps(ALICE_ENTRY), Type="SecureString")
    aws.ssm.put_parameter(Name=f"{prefix}{AKID_SERVICE}", Value=SECRET_SERVICE, Type="SecureString")


def test_ssm_path_of_secure_strings(aws: Aws) -> None:
    prefix = unique_prefix()
    put_keys(aws, prefix)
    # Read without decryption, the value is not the secret: decryption is what makes it work.
    encrypted = aws.ssm.get_parameter(Name=f"{prefix}{AKID_SERVICE}", WithDecryption=False)["Parameter"]["Value"]
    assert encrypted != SECRET_SERVICE
    store = key_store_from(f"ssm:{prefix}", SETTING)
    assert isinstance(store, RemoteKeys)
    store.prefetch()
    assert store.lookup(AKID_ALICE) == ALICE
    assert store.lookup(AKID_SERVICE) == SERVICE
    assert store.lookup(AKID_NEW) is None


def test_ssm_reads_one_level_only(aws: Aws) -> None:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    prefix = unique_prefix()
    put_keys(aws, prefix)
    nested, sibling = "AKIDNESTED000004", "AKIDSIBLING00005"
    aws.ssm.put_parameter(Name=f"{prefix}nested/{nested}", Value=SECRET_NEW, Type="SecureString")
    aws.ssm.put_parameter(Name=f"{prefix.rstrip('/')}-other/{sibling}", Value=SECRET_NEW, Type="SecureString")
    # What Powertools gives for the path (a provider of its own, so the default one's cache is untouched):
    # names relative to the path, and only one level when recursive=False.
    path = prefix.rstrip("/")
    one_level = SSMProvider().get_multiple(path, decrypt=True, recursive=False)
    assert one_level == {AKID_ALICE: json.dumps(ALICE_ENTRY), AKID_SERVICE: SECRET_SERVICE}
    every_level = SSMProvider().get_multiple(path, decrypt=True, recursive=True)
    assert every_level[f"nested/{nested}"] == SECRET_NEW  # what a recursive read would have let in
    store = key_store_from(f"ssm:{prefix}", SETTING)
    store.prefetch()
    assert store.lookup(AKID_ALICE) == ALICE
    assert store.lookup(nested) is None
    assert store.lookup(sibling) is None


def test_secrets_manager_secret_holding_the_mapping(aws: Aws) -> None:
    name = f"sigv4-keys-test/{uuid.uuid4().hex}"
    aws.secrets.create_secret(Name=name, SecretString=json.dumps(KEYS))
    store = key_store_from(f"secretsmanager:{name}", SETTING)
    assert isinstance(store, RemoteKeys)
    store.prefetch()
    assert store.lookup(AKID_ALICE) == ALICE
    assert store.lookup(AKID_SERVICE) == SERVICE
    assert store.lookup(AKID_NEW) is None


def test_missing_ssm_path_at_prefetch(aws: Aws) -> None:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    prefix = unique_prefix()
    # An empty or missing path is no error to SSM: Powertools gives an empty dict ...
    assert SSMProvider().get_multiple(prefix.rstrip("/"), decrypt=True, recursive=False) == {}
    store = key_store_from(f"ssm:{prefix}", SETTING)
    with pytest.raises(ConfigurationError) as caught:
        store.prefetch()
    # ... which the parser refuses as an empty mapping.
    assert str(caught.value).startswith(f"{SETTING}: ")
    assert "expected a non-empty object of access key id -> key pair" in str(caught.value)


def test_missing_secret_at_prefetch(aws: Aws) -> None:
    store = key_store_from(f"secretsmanager:sigv4-keys-test/{uuid.uuid4().hex}", SETTING)
    with pytest.raises(ConfigurationError) as caught:
        store.prefetch()
    assert str(caught.value) == f"{SETTING}: fetch failed (GetParameterError)"
    assert_quiet(caught.value)


def test_refresh_through_powertools(aws: Aws, clock: Clock, decision_log: Any) -> None:
    prefix = unique_prefix()
    put_keys(aws, prefix)
    store = key_store_from(f"ssm:{prefix}", SETTING)
    store.prefetch()
    from aws_lambda_powertools.utilities import parameters

    # A rotation: the new key is there, the old one goes. Powertools' cache is emptied as its
    # max_age passing would (it runs on the wall clock), ours by moving the clock.
    aws.ssm.put_parameter(Name=f"{prefix}{AKID_NEW}", Value=SECRET_NEW, Type="SecureString")
    aws.ssm.delete_parameter(Name=f"{prefix}{AKID_ALICE}")
    assert store.lookup(AKID_ALICE) == ALICE
    parameters.clear_caches()
    clock.now += 300
    assert store.lookup(AKID_ALICE) is None
    assert store.lookup(AKID_NEW) == SigningIdentity(AKID_NEW, SECRET_NEW, AKID_NEW)
    # Every key goes: the empty path is a failed refresh, and the last good keys stay.
    aws.ssm.delete_parameters(Names=[f"{prefix}{AKID_NEW}", f"{prefix}{AKID_SERVICE}"])
    parameters.clear_caches()
    clock.now += 300
    decision_log()
    assert store.lookup(AKID_NEW) is not None
    (warning,) = warnings_in(decision_log()[1])
    assert "expected a non-empty object" in warning["error"]


# --- 4. settings -----------------------------------------------------------------------------

ENV = {"SIGV4_CREDENTIALS": json.dumps(KEYS), "SIGV4_REGION": REGION}


def test_defaults() -> None:
    settings = load_sigv4_settings({"SIGV4_CREDENTIALS": json.dumps(KEYS), "AWS_REGION": "us-east-2"})
    assert settings.mode == "keys"
    config = settings.config
    assert config is not None
    assert (config.region, config.service, config.max_skew_seconds, config.max_expires_seconds) == (
        "us-east-2",
        "execute-api",
        300,
        900,
    )
    assert isinstance(settings.keys, StaticKeys)
    assert settings.keys.lookup(AKID_ALICE) == ALICE
    assert settings.response.authorization.scope is PolicyScope.ROUTE
    assert settings.response.response_format is ResponseFormat.AUTO


def test_every_setting() -> None:
    environ = {
        **ENV,
        "AWS_REGION": "us-east-2",  # SIGV4_REGION wins
        "SIGV4_MODE": " Keys ",
        "SIGV4_SERVICE": "lambda",
        "SIGV4_MAX_SKEW_SECONDS": "900",
        "SIGV4_MAX_EXPIRES_SECONDS": "604800",
        "AUTHZ_RESPONSE_FORMAT": "simple",
        "AUTHZ_POLICY_SCOPE": " Route ",
    }
    settings = load_sigv4_settings(environ)
    config = settings.config
    assert config is not None
    assert (settings.mode, config.region, config.service) == ("keys", REGION, "lambda")
    assert (config.max_skew_seconds, config.max_expires_seconds) == (900, 604800)
    assert settings.response.response_format is ResponseFormat.SIMPLE
    assert settings.response.authorization.scope is PolicyScope.ROUTE


@pytest.mark.parametrize(("skew", "expires"), [("1", "1"), ("1.0", "60"), (" 30 ", "3600")])
def test_whole_second_bounds_are_accepted(skew: str, expires: str) -> None:
    config = load_sigv4_settings({**ENV, "SIGV4_MAX_SKEW_SECONDS": skew, "SIGV4_MAX_EXPIRES_SECONDS": expires}).config
    assert config is not None
    assert (config.max_skew_seconds, config.max_expires_seconds) == (int(float(skew)), int(expires))


def test_remote_sources_are_not_fetched_by_settings() -> None:
    # No AWS at all here: building the settings does no I/O, the handler's prefetch does.
    for source in ("ssm:/sigv4/keys/", "secretsmanager:sigv4/keys"):
        settings = load_sigv4_settings({**ENV, "SIGV4_CREDENTIALS": source})
        assert isinstance(settings.keys, RemoteKeys)


SKEW_OR_EXPIRES = ("SIGV4_MAX_SKEW_SECONDS", "SIGV4_MAX_EXPIRES_SECONDS")
SETTINGS_REFUSALS = [
    *[
        pytest.param({**ENV, "SIGV4_MODE": mode}, ("SIGV4_MODE",), "must be keys or sts", id=f"mode={mode}")
        for mode in ("iam", "keys,sts", "key")
    ],
    # sts mode does not read the key pairs: a deployment that sets them is refused, not ignored.
    pytest.param({**ENV, "SIGV4_MODE": "sts"}, ("SIGV4_CREDENTIALS",), "is not read in", id="mode=sts-with-keys"),
    pytest.param({"SIGV4_CREDENTIALS": ENV["SIGV4_CREDENTIALS"]}, ("SIGV4_REGION", "AWS_REGION"), "", id="no-region"),
    pytest.param(
        {"SIGV4_CREDENTIALS": ENV["SIGV4_CREDENTIALS"], "SIGV4_REGION": " ", "AWS_REGION": ""},
        ("SIGV4_REGION",),
        "is required",
        id="blank-region",
    ),
    *[
        pytest.param({**ENV, "SIGV4_REGION": region}, ("SIGV4_REGION",), "is not an AWS region", id=f"region={region}")
        for region in ("EU-WEST-1", "eu-west", "euwest1", "eu-west-1a", "eu west 1", "*", "eu-west-123")
    ],
    pytest.param(
        {"SIGV4_CREDENTIALS": ENV["SIGV4_CREDENTIALS"], "AWS_REGION": "Mars"},
        ("SIGV4_REGION",),
        "is not an AWS region",
        id="bad-aws-region",
    ),
    *[
        pytest.param({**ENV, "SIGV4_SERVICE": service}, ("SIGV4_SERVICE",), "not a service name", id=f"svc={service}")
        for service in ("Execute-API", "execute api", "execute_api", "s" * 65, "*")
    ],
    *[
        pytest.param({**ENV, name: value}, (name,), "", id=f"{name}={value}")
        for name, values in (
            ("SIGV4_MAX_SKEW_SECONDS", ("0", "0.5", "-1", "901", "abc", "nan", "inf")),
            ("SIGV4_MAX_EXPIRES_SECONDS", ("0", "0.5", "-1", "604801", "abc", "nan", "1e9")),
        )
        for value in values
    ],
    *[
        pytest.param({**ENV, name: value}, SKEW_OR_EXPIRES, "whole seconds", id=f"{name}={value}")
        for name in SKEW_OR_EXPIRES
        for value in ("1.5", "300.1", "899.5")
    ],
    pytest.param({"SIGV4_REGION": REGION}, ("SIGV4_CREDENTIALS",), "is required", id="no-credentials"),
    pytest.param({**ENV, "SIGV4_CREDENTIALS": "  "}, ("SIGV4_CREDENTIALS",), "is required", id="blank-credentials"),
    *[
        pytest.param({**ENV, "SIGV4_CREDENTIALS": source}, ("SIGV4_CREDENTIALS",), fragment, id=source)
        for source, fragment in (
            ("ssm:/sigv4/keys", "ending with /"),
            ("ssm:sigv4/keys/", "ssm:/prefix/"),
            ("ssm:", "ssm:/prefix/"),
            ("ssm:/", "ssm:/prefix/"),
            ("ssm:/has space/", "ssm:/prefix/"),
            ("ssm:/sigv4/ключи/", "ssm:/prefix/"),
            ("secretsmanager:", "secret name or ARN"),
            ("secretsmanager:bad name", "secret name or ARN"),
            ("secretsmanager:a*b", "secret name or ARN"),
            ("{}", "expected a non-empty object"),
            ("/nonexistent/sigv4-keys.json", "cannot read /nonexistent/sigv4-keys.json"),
        )
    ],
    pytest.param({**ENV, "AUTHZ_POLICY_SCOPE": "api"}, ("AUTHZ_POLICY_SCOPE",), "signed route only", id="scope=api"),
    pytest.param({**ENV, "AUTHZ_POLICY_SCOPE": "API"}, ("AUTHZ_POLICY_SCOPE",), "signed route only", id="scope=API"),
    pytest.param({**ENV, "AUTHZ_POLICY_SCOPE": "stage"}, ("AUTHZ_POLICY_SCOPE",), "", id="scope=stage"),
    pytest.param({**ENV, "AUTHZ_RESPONSE_FORMAT": "json"}, ("AUTHZ_RESPONSE_FORMAT",), "", id="response-format"),
    *[
        pytest.param({**ENV, name: "x"}, (name,), "not read by this handler", id=f"foreign-{name}")
        for name in sorted((KNOWN_VARIABLES | COGNITO_VARIABLES | SAML_VARIABLES) - SIGV4_VARIABLES)
    ],
    *[
        pytest.param({**ENV, name: "x"}, (suggestion,), f"unknown setting {name}; did you mean {suggestion}?", id=name)
        for name, suggestion in (
            ("SIGV4_CREDENTAILS", "SIGV4_CREDENTIALS"),
            ("SIGV4_CREDENTIAL", "SIGV4_CREDENTIALS"),
            ("SIGV4_REGOIN", "SIGV4_REGION"),
            ("sigv4_region", "SIGV4_REGION"),
            ("SIGV4_SERVICES", "SIGV4_SERVICE"),
            ("SIGV4_MAX_SKEW", "SIGV4_MAX_SKEW_SECONDS"),
            ("SIGV4_MAX_EXPIRES", "SIGV4_MAX_EXPIRES_SECONDS"),
            ("SIGV4_MODES", "SIGV4_MODE"),
        )
    ],
]


@pytest.mark.parametrize(("environ", "names", "fragment"), SETTINGS_REFUSALS)
def test_settings_refused(environ: dict[str, str], names: tuple[str, ...], fragment: str) -> None:
    message = refusal_message(load_sigv4_settings, environ, *names)
    assert fragment in message
    assert SECRET not in message


def test_the_base_environment_is_accepted() -> None:
    # Every refusal above changes this environment only in the variables it names.
    config = load_sigv4_settings(ENV).config
    assert config is not None and config.region == REGION
    for scope in ("", " ", "route", "ROUTE"):
        settings = load_sigv4_settings({**ENV, "AUTHZ_POLICY_SCOPE": scope})
        assert settings.response.authorization.scope is PolicyScope.ROUTE


@pytest.mark.parametrize("loader", [load_jwt_settings, load_cognito_settings, load_saml_settings])
@pytest.mark.parametrize("name", sorted(n for n in SIGV4_VARIABLES if n.startswith("SIGV4_")))
def test_sigv4_variables_are_refused_by_the_other_handlers(loader: Any, name: str) -> None:
    message = refusal_message(loader, {name: "x"}, name)
    assert message == f"setting {name} is not read by this handler"


def test_sigv4_variables_are_all_listed() -> None:
    assert {n for n in SIGV4_VARIABLES if not n.startswith("AUTHZ_")} == {
        "SIGV4_MODE",
        "SIGV4_CREDENTIALS",
        "SIGV4_REGION",
        "SIGV4_SERVICE",
        "SIGV4_MAX_SKEW_SECONDS",
        "SIGV4_MAX_EXPIRES_SECONDS",
        "SIGV4_STS_AUDIENCE",
        "SIGV4_STS_PARTITIONS",
        "SIGV4_STS_REGIONS",
        "SIGV4_ALLOWED_ACCOUNTS",
        "SIGV4_ALLOWED_PRINCIPALS",
        "SIGV4_STS_ENDPOINT",
    }


def signed_event(access_key_id: str, secret: str, path: str = "/pets") -> dict[str, Any]:
    """An HTTP API (2.0) REQUEST event for a GET signed by botocore, as a client SDK would sign it."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=f"https://{HOST}{path}")
    SigV4Auth(Credentials(access_key_id, secret), "execute-api", REGION).add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = HOST
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:{REGION}:123456789012:abcdef123/$default/GET{path}",
        "routeKey": f"GET {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef123",
            "domainName": HOST,
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "10.0.0.1"},
            "requestId": "id",
            "routeKey": f"GET {path}",
            "stage": "$default",
        },
    }


def counting_ssm_provider() -> Any:
    """A real Powertools SSM provider, counting its calls to SSM."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    class Counting(SSMProvider):
        calls = 0

        def _get_multiple(self, path: str, *args: Any, **options: Any) -> dict[str, str]:
            self.calls += 1
            return super()._get_multiple(path, *args, **options)

    return Counting()


def test_create_handler_prefetches_remote_keys(aws: Aws) -> None:
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    from authorizers.handlers.sigv4 import create_handler

    prefix = unique_prefix()
    put_keys(aws, prefix)
    provider = DEFAULT_PROVIDERS["ssm"] = counting_ssm_provider()
    handler = create_handler({**ENV, "SIGV4_CREDENTIALS": f"ssm:{prefix}"})
    assert provider.calls == 1  # at cold start, before any request
    # The keys are in memory: the store can go away and a signed request is still answered.
    aws.ssm.delete_parameters(Names=[f"{prefix}{AKID_ALICE}", f"{prefix}{AKID_SERVICE}"])
    decision, response = decide(handler, signed_event(AKID_ALICE, SECRET))
    assert decision == "allow", response
    # A wrong secret: refused (an HTTP API's simple response has no 401 of its own).
    assert decide(handler, signed_event(AKID_ALICE, SECRET_NEW)) == ("deny", {"isAuthorized": False})
    assert provider.calls == 1


def test_create_handler_fails_the_cold_start_on_a_missing_path(aws: Aws) -> None:
    from authorizers.handlers.sigv4 import create_handler

    environ = {**ENV, "SIGV4_CREDENTIALS": f"ssm:{unique_prefix()}"}
    message = refusal_message(create_handler, environ, SETTING)
    assert "expected a non-empty object" in message


# --- 5. imports ------------------------------------------------------------------------------

HEAVY = ("boto3", "lxml", "xmlsec", "onelogin")


def test_inline_keys_handler_imports_no_heavy_dependency() -> None:
    code = watching(
        list(HEAVY),
        """
        case = json.loads(sys.stdin.read())
        from authorizers.handlers.sigv4 import create_handler
        from authorizers.handlers.runtime import decide
        decision, _ = decide(create_handler(case["env"]), case["event"])
        parameters = sorted(m for m in sys.modules if m.startswith("aws_lambda_powertools.utilities.parameters"))
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in watch.names)
        print(json.dumps({"decision": decision, "attempts": watch.attempts, "loaded": heavy + parameters}))
        """,
    )
    case = {"env": ENV, "event": signed_event(AKID_SERVICE, SECRET_SERVICE)}
    outcome = run_python(code, json.dumps(case))
    # The decision proves the handler ran; the watch sees any attempt, even a failed one.
    assert outcome == {"decision": "allow", "attempts": [], "loaded": []}
