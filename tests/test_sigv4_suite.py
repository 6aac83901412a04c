"""The official AWS Signature Version 4 test suite, every case, against our SigV4 code.

``tests/vectors/sigv4-testsuite`` is a verbatim copy of the suite (Apache-2.0, see its
LICENSE and NOTICE). Each case directory holds the raw request (``.req``), the request
as signed (``.sreq``, with its ``Authorization`` header), the canonical request
(``.creq``), the string to sign (``.sts``) and the ``Authorization`` value (``.authz``).
Credentials ``AKIDEXAMPLE`` / ``wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY``, region
``us-east-1``, service ``service``, date ``20150830T123600Z``.

For every case:

1. our ``canonical_request`` equals ``.creq``, ``string_to_sign`` equals ``.sts`` and our
   signature equals the one in ``.authz`` (pure functions, raw values straight from the
   request text, so our trimming and folding is what is checked);
2. the signed request, turned into the REST REQUEST event API Gateway would send (path
   decoded into ``requestContext.path``, ``multiValueHeaders``,
   ``multiValueQueryStringParameters``), goes through the full ``SigV4Validator``
   (``SIGV4_SERVICE=service``, clock fixed at 2015-08-30T12:36:00Z). It is accepted,
   except for the few cases listed in ``REFUSED`` with the reason and why.

Suite quirks, handled explicitly (and asserted, so a corrected suite is noticed):

* ``get-vanilla-with-session-token``: the ``.req`` lacks the ``X-Amz-Security-Token``
  header that the ``.creq`` signs; the ``.sreq`` carries it, so this case is read from
  the ``.sreq`` (its ``Authorization`` header removed). The ``.sreq``'s own
  ``Authorization`` is stale (get-vanilla's signature); ``.authz`` matches ``.creq``.
* ``post-sts-token/post-sts-header-after``: the token header is added after signing, so
  it is in the ``.sreq`` but not among the signed headers; we refuse that on purpose.

The key id: ``AKIDEXAMPLE`` is 11 characters, and our configuration and our
``Credential`` parser take 16-128 (the length IAM gives access key ids). The validator
runs are made with that one bound lowered to 11 (``suite_key_id_allowed``), so the rest
of the pipeline meets the official signatures; ``test_shipped_key_id_rule_refuses_akidexample``
pins what the shipped code does with it.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from authorizers.errors import ConfigurationError, CredentialRejected, Reason
from authorizers.settings import load_sigv4_settings
from authorizers.sigv4 import keys as keys_module
from authorizers.sigv4 import validator as validator_module
from authorizers.sigv4.canonical import (
    CredentialScope,
    canonical_request,
    query_pairs,
    signature,
    signing_key,
    string_to_sign,
)
from authorizers.sigv4.keys import SigningIdentity, StaticKeys
from authorizers.sigv4.validator import SigV4Config, SigV4Validator
from policies.request import parse_event
from tests.conftest import VECTORS, load_event

SUITE = VECTORS / "sigv4-testsuite"
ACCESS_KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
SERVICE = "service"
AMZ_DATE = "20150830T123600Z"
SIGNED_AT = float(calendar.timegm((2015, 8, 30, 12, 36, 0, 0, 0, 0)))
EXPECTED_CASES = 34  # the suite as vendored: every .req file is a case

# The one case whose .req is incomplete: read from the .sreq instead (see the module docstring).
READ_FROM_SREQ = {"get-vanilla-with-session-token"}
# Cases whose .sreq Authorization header is not the .authz value (a stale copy in the suite).
STALE_SREQ_AUTHORIZATION = {"get-vanilla-with-session-token"}
BODY_NOT_VISIBLE = (
    "the signature covers the body's SHA-256, and a REQUEST authorizer never sees the body: "
    "without a signed x-amz-content-sha256 header the empty-body hash is assumed, so this is refused"
)
REFUSED: dict[str, tuple[Reason, str]] = {
    "post-sts-header-after": (
        Reason.UNSIGNED_HEADER,
        "the token header is added after signing: a present x-amz-security-token must be signed (SECURITY.md)",
    ),
    "post-x-www-form-urlencoded": (Reason.INVALID_SIGNATURE, BODY_NOT_VISIBLE),
    "post-x-www-form-urlencoded-parameters": (Reason.INVALID_SIGNATURE, BODY_NOT_VISIBLE),
    # The suite's request line carries a raw space / raw UTF-8, which no real client sends. A
    # REST event shows the path decoded, and only encodings of it are tried (else a signature
    # could move to another path): such a request is refused, an encoded one is accepted.
    "get-space": (Reason.INVALID_SIGNATURE, "a raw space on the request line: clients send %20"),
    "get-utf8": (Reason.INVALID_SIGNATURE, "raw UTF-8 on the request line: clients percent-encode it"),
    # SigV4 signs the normalised path, so "/a/../b" would carry a signature made for "/b" to
    # whatever route API Gateway finds for "/a/../b": such paths are refused, not normalised.
    **{
        case: (Reason.MALFORMED_SIGNATURE, "a path that is not normalised: the signature covers another one")
        for case in (
            "get-relative",
            "get-relative-relative",
            "get-slash",
            "get-slash-dot-slash",
            "get-slash-pointless-dot",
            "get-slashes",
        )
    },
}


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: str  # the request-target as on the request line: path and query, as sent
    headers: tuple[tuple[str, str], ...]  # (name as sent, raw value incl. folded lines), in order
    body: bytes

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    def header_map(self, *, http_semantics: bool = False) -> dict[str, list[str]]:
        """Lower-cased name -> values in order; ``http_semantics`` unfolds and trims as a server would."""
        result: dict[str, list[str]] = {}
        for name, value in self.headers:
            shown = re.sub(r"\r?\n[ \t]+", " ", value).strip(" \t") if http_semantics else value
            result.setdefault(name.lower(), []).append(shown)
        return result

    def without(self, name: str) -> RawRequest:
        kept = tuple((n, v) for n, v in self.headers if n.lower() != name.lower())
        return RawRequest(self.method, self.target, kept, self.body)

    def with_header(self, name: str, value: str) -> RawRequest:
        return RawRequest(self.method, self.target, (*self.without(name).headers, (name, value)), self.body)


def parse_raw_request(data: bytes) -> RawRequest:
    """An HTTP/1.1 request as the suite writes it (LF line ends, obsolete line folding allowed)."""
    text = data.decode("utf-8")
    head, separator, body = text.partition("\n\n")
    lines = head.split("\n")
    if lines[-1] == "":  # the last header line's own line end (some files have one, some not)
        lines.pop()
    method, _, rest = lines[0].partition(" ")
    target, _, version = rest.rpartition(" ")  # the target may contain spaces (get-space)
    assert version == "HTTP/1.1", lines[0]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):  # obs-fold: a continuation of the previous header's value
            name, value = headers[-1]
            headers[-1] = (name, f"{value}\n{line}")
            continue
        name, colon, value = line.partition(":")
        assert colon, line
        headers.append((name, value))
    return RawRequest(method, target, tuple(headers), body.encode("utf-8") if separator else b"")


@dataclass(frozen=True)
class Case:
    name: str
    directory: Path

    def read(self, suffix: str) -> str:
        return (self.directory / f"{self.name}{suffix}").read_text(encoding="utf-8")

    def request(self) -> RawRequest:
        """The unsigned request: the .req, or the .sreq without Authorization where the .req is incomplete."""
        if self.name in READ_FROM_SREQ:
            return self.signed_request().without("Authorization")
        return parse_raw_request((self.directory / f"{self.name}.req").read_bytes())

    def signed_request(self) -> RawRequest:
        return parse_raw_request((self.directory / f"{self.name}.sreq").read_bytes())

    @property
    def authorization(self) -> str:
        return self.read(".authz").strip()

    @property
    def signed_headers(self) -> list[str]:
        match = re.search(r"SignedHeaders=([^,\s]+)", self.authorization)
        assert match is not None
        return match.group(1).split(";")

    @property
    def signature(self) -> str:
        return self.authorization.rpartition("Signature=")[2]


def find_cases() -> list[Case]:
    return [Case(path.stem, path.parent) for path in sorted(SUITE.rglob("*.req"))]


CASES = find_cases()
SCOPE = CredentialScope(ACCESS_KEY_ID, AMZ_DATE[:8], REGION, SERVICE, "aws4_request")


def canonical_for(case: Case) -> str:
    request = case.request()
    return canonical_request(
        request.method,
        request.path,
        query_pairs(request.query),
        request.header_map(),
        signed_headers=case.signed_headers,
        payload_hash=hashlib.sha256(request.body).hexdigest(),
    )


# -- the suite is whole ---------------------------------------------------------------------------------


def test_every_case_is_collected() -> None:
    """Counted independently of the parametrisation: nothing silently skipped or lost in the copy."""
    walked = [name for _, _, files in os.walk(SUITE) for name in files if name.endswith(".req")]
    assert len(CASES) == len(walked) == EXPECTED_CASES
    assert len({case.name for case in CASES}) == len(CASES)
    for case in CASES:
        for suffix in (".req", ".sreq", ".creq", ".sts", ".authz"):
            assert (case.directory / f"{case.name}{suffix}").is_file(), (case.name, suffix)
    names = {case.name for case in CASES}
    assert names >= READ_FROM_SREQ
    assert names >= STALE_SREQ_AUTHORIZATION
    assert names >= set(REFUSED)


def test_license_and_notice_travel_with_the_vectors() -> None:
    assert "Apache License" in (SUITE / "LICENSE").read_text()
    assert "Amazon.com" in (SUITE / "NOTICE").read_text()


def test_the_session_token_req_is_incomplete_and_the_sreq_is_not() -> None:
    """Why that one case reads its .sreq: the .creq signs a token header the .req does not have."""
    case = next(case for case in CASES if case.name == "get-vanilla-with-session-token")
    raw = parse_raw_request((case.directory / f"{case.name}.req").read_bytes())
    assert "x-amz-security-token" not in raw.header_map()
    assert "x-amz-security-token" in case.signed_headers
    assert "x-amz-security-token" in case.request().header_map()


# -- the pure functions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_canonical_request(case: Case) -> None:
    assert canonical_for(case) == case.read(".creq")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_string_to_sign(case: Case) -> None:
    assert string_to_sign(AMZ_DATE, SCOPE, canonical_for(case)) == case.read(".sts")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_signature(case: Case) -> None:
    key = signing_key(SECRET, AMZ_DATE[:8], REGION, SERVICE)
    assert signature(key, string_to_sign(AMZ_DATE, SCOPE, canonical_for(case))) == case.signature
    expected = (
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/{SCOPE.scope}, "
        f"SignedHeaders={';'.join(case.signed_headers)}, Signature={case.signature}"
    )
    assert case.authorization == expected


# -- the full validator on API Gateway events ---------------------------------------------------------------


def rest_request_event(request: RawRequest) -> dict[str, Any]:
    """The REST REQUEST event API Gateway would send for ``request`` (custom domain, no base path).

    Built on the real event shape (tests/vectors/events): the path decoded into ``path`` and
    ``requestContext.path``, headers unfolded and trimmed in ``multiValueHeaders`` (the last
    value in ``headers``), query names and values decoded in ``multiValueQueryStringParameters``.
    """
    event = load_event("apiGatewayAuthorizerRestRequestEvent.json")
    path = urllib.parse.unquote(request.path)
    headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        key = next((k for k in headers if k.lower() == name.lower()), name)
        headers.setdefault(key, []).append(re.sub(r"\r?\n[ \t]+", " ", value).strip(" \t"))
    query: dict[str, list[str]] = {}
    for item in request.query.split("&") if request.query else []:
        name, _, value = item.partition("=")
        query.setdefault(urllib.parse.unquote(name), []).append(urllib.parse.unquote(value))
    stage = "test"
    event.update(
        methodArn=f"arn:aws:execute-api:us-east-1:123456789012:abcdef123/{stage}/{request.method}/{path[1:]}",
        resource="/{proxy+}",
        path=path,
        httpMethod=request.method,
        headers={name: values[-1] for name, values in headers.items()},
        multiValueHeaders=headers,
        queryStringParameters={name: values[-1] for name, values in query.items()} or None,
        multiValueQueryStringParameters=query or None,
        pathParameters={"proxy": path[1:]},
    )
    event["requestContext"].update(
        path=path, httpMethod=request.method, stage=stage, resourcePath="/{proxy+}", domainName="example.amazonaws.com"
    )
    return event


@pytest.fixture
def suite_key_id_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Lower the key id's minimum length from 16 to 11, nothing else, for AKIDEXAMPLE."""
    credential = validator_module._CREDENTIAL.pattern
    key_id = keys_module.ACCESS_KEY_ID.pattern
    assert credential.startswith("([A-Z0-9]{16,128})/") and key_id == "[A-Z0-9]{16,128}"
    monkeypatch.setattr(validator_module, "_CREDENTIAL", re.compile(credential.replace("{16,128}", "{11,128}", 1)))
    monkeypatch.setattr(keys_module, "ACCESS_KEY_ID", re.compile("[A-Z0-9]{11,128}"))
    yield


def suite_validator() -> SigV4Validator:
    environ = {
        "SIGV4_REGION": REGION,
        "SIGV4_SERVICE": SERVICE,
        "SIGV4_CREDENTIALS": json.dumps({ACCESS_KEY_ID: {"secret": SECRET, "principal": "example"}}),
    }
    settings = load_sigv4_settings(environ)
    assert settings.config is not None and settings.keys is not None
    return SigV4Validator(settings.config, settings.keys, clock=lambda: SIGNED_AT)


def signed_event(case: Case, authorization: str | None = None) -> dict[str, Any]:
    """The .sreq as an event, its Authorization header the .authz value (checked equal, but for the stale one)."""
    signed = case.signed_request()
    sent = signed.header_map(http_semantics=True)["authorization"]
    if case.name in STALE_SREQ_AUTHORIZATION:
        assert sent != [case.authorization]
    else:
        assert sent == [case.authorization]
    return rest_request_event(signed.with_header("Authorization", authorization or case.authorization))


@pytest.mark.usefixtures("suite_key_id_allowed")
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_validator_on_the_signed_request_as_a_rest_event(case: Case) -> None:
    request = parse_event(signed_event(case))
    validator = suite_validator()
    if case.name in REFUSED:
        reason, _why = REFUSED[case.name]
        with pytest.raises(CredentialRejected) as refused:
            validator.validate(request)
        assert refused.value.reason is reason
        return
    principal = validator.validate(request)
    assert principal.principal_id == "example"
    assert principal.scheme == "sigv4"
    assert principal.claims["access_key_id"] == ACCESS_KEY_ID
    assert principal.expires_at == int(SIGNED_AT) + 300


@pytest.mark.usefixtures("suite_key_id_allowed")
@pytest.mark.parametrize("case", [c for c in CASES if c.name not in REFUSED], ids=lambda case: case.name)
def test_validator_refuses_the_same_request_with_one_byte_of_the_signature_changed(case: Case) -> None:
    """The acceptance above is the signature's doing: flip its last hex digit and the same event is refused."""
    flipped = case.signature[:-1] + ("0" if case.signature[-1] != "0" else "1")
    event = signed_event(case, case.authorization.replace(case.signature, flipped))
    with pytest.raises(CredentialRejected) as refused:
        suite_validator().validate(parse_event(event))
    assert refused.value.reason is Reason.INVALID_SIGNATURE


def test_shipped_key_id_rule_refuses_akidexample() -> None:
    """Without the test-only relaxation, the suite's 11-character key id is refused at both doors."""
    environ = {
        "SIGV4_REGION": REGION,
        "SIGV4_SERVICE": SERVICE,
        "SIGV4_CREDENTIALS": json.dumps({ACCESS_KEY_ID: {"secret": SECRET}}),
    }
    with pytest.raises(ConfigurationError, match="16-128"):
        load_sigv4_settings(environ)
    keys = StaticKeys({ACCESS_KEY_ID: SigningIdentity(ACCESS_KEY_ID, SECRET, "example")})
    validator = SigV4Validator(SigV4Config(region=REGION, service=SERVICE), keys, clock=lambda: SIGNED_AT)
    vanilla = next(case for case in CASES if case.name == "get-vanilla")
    with pytest.raises(CredentialRejected) as refused:
        validator.validate(parse_event(signed_event(vanilla)))
    assert refused.value.reason is Reason.MALFORMED_SIGNATURE
