"""Claim checks with an injected clock: exact boundaries, strict types, explicit opt-outs."""

from __future__ import annotations

from typing import Any

import pytest

from authorizers.errors import CredentialRejected, InsufficientPermission, Reason
from authorizers.jwt import claims
from authorizers.jwt.config import IssuerConfig
from authorizers.jwt.jwks import JwkSet
from authorizers.jwt.keysource import StaticKeySource

T = 1_700_000_000  # an arbitrary "now"
LEEWAYS = [0, 1, 30, 300]
NOT_NUMBERS: list[Any] = [
    str(T + 3600),
    "",
    True,
    False,
    None,
    [T + 3600],
    [],
    {"value": T + 3600},
    float("nan"),
    float("inf"),
    float("-inf"),
    10**400,  # finite as an int, but no float can hold it
    -(10**400),
]
NOT_NUMBER_IDS = [
    "string",
    "empty-string",
    "true",
    "false",
    "null",
    "list",
    "empty-list",
    "object",
    "nan",
    "inf",
    "-inf",
    "huge-int",
    "huge-negative-int",
]


def rejected(check: Any, *args: Any) -> Reason:
    with pytest.raises(CredentialRejected) as caught:
        check(*args)
    assert type(caught.value) is CredentialRejected, "a claim failure here is a 401, not a 403"
    return caught.value.reason


def config(**overrides: Any) -> IssuerConfig:
    values: dict[str, Any] = {
        "issuer": "https://issuer.example",
        "key_source": StaticKeySource(JwkSet(())),
        "audience": frozenset({"api"}),
    }
    values.update(overrides)
    return IssuerConfig(**values)


# --- exp ------------------------------------------------------------------------------------


def test_missing_exp_is_a_missing_claim() -> None:
    assert rejected(claims.check_time, {"iat": T}, T, 30) is Reason.MISSING_CLAIM


@pytest.mark.parametrize("leeway", LEEWAYS)
def test_exp_just_inside_the_leeway_passes(leeway: int) -> None:
    exp = T
    claims.check_time({"exp": exp}, exp + leeway - 1, leeway)
    claims.check_time({"exp": exp}, exp + leeway - 0.001, leeway)


@pytest.mark.parametrize("leeway", LEEWAYS)
def test_exp_at_the_leeway_has_expired(leeway: int) -> None:
    exp = T
    assert rejected(claims.check_time, {"exp": exp}, exp + leeway, leeway) is Reason.EXPIRED
    assert rejected(claims.check_time, {"exp": exp}, exp + leeway + 1, leeway) is Reason.EXPIRED


def test_long_expired_token_is_expired() -> None:
    assert rejected(claims.check_time, {"exp": T - 86400}, T, 30) is Reason.EXPIRED


def test_fractional_exp_is_compared_exactly() -> None:
    claims.check_time({"exp": T + 0.5}, T, 0)
    assert rejected(claims.check_time, {"exp": T + 0.5}, T + 0.5, 0) is Reason.EXPIRED


# --- nbf and iat -------------------------------------------------------------------------


@pytest.mark.parametrize("leeway", LEEWAYS)
def test_nbf_just_inside_the_leeway_passes(leeway: int) -> None:
    nbf = T
    claims.check_time({"exp": nbf + 3600, "nbf": nbf}, nbf - leeway, leeway)


@pytest.mark.parametrize("leeway", LEEWAYS)
def test_nbf_just_outside_the_leeway_is_not_yet_valid(leeway: int) -> None:
    nbf = T
    token = {"exp": nbf + 3600, "nbf": nbf}
    assert rejected(claims.check_time, token, nbf - leeway - 1, leeway) is Reason.NOT_YET_VALID
    assert rejected(claims.check_time, token, nbf - leeway - 0.001, leeway) is Reason.NOT_YET_VALID


@pytest.mark.parametrize("leeway", LEEWAYS)
def test_iat_just_inside_the_leeway_passes(leeway: int) -> None:
    iat = T
    claims.check_time({"exp": iat + 3600, "iat": iat}, iat - leeway, leeway)


@pytest.mark.parametrize("leeway", LEEWAYS)
def test_iat_just_outside_the_leeway_is_in_the_future(leeway: int) -> None:
    iat = T
    token = {"exp": iat + 3600, "iat": iat}
    assert rejected(claims.check_time, token, iat - leeway - 1, leeway) is Reason.ISSUED_IN_FUTURE


def test_iat_in_the_past_and_nbf_in_the_past_pass() -> None:
    claims.check_time({"exp": T + 60, "iat": T - 3600, "nbf": T - 3600}, T, 0)


def test_nbf_and_iat_are_optional() -> None:
    claims.check_time({"exp": T + 60}, T, 0)


# --- time claims that are not numbers ---------------------------------------------------


@pytest.mark.parametrize("value", NOT_NUMBERS, ids=NOT_NUMBER_IDS)
@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_time_claim_that_is_not_a_finite_number_is_refused(name: str, value: Any) -> None:
    token: dict[str, Any] = {"exp": T + 3600, name: value}
    assert rejected(claims.check_time, token, T, 30) is Reason.INVALID_TIME_CLAIM


def test_integer_and_float_time_claims_are_numbers() -> None:
    claims.check_time({"exp": float(T + 60), "nbf": T - 1, "iat": float(T - 1)}, T, 0)


# --- audience ------------------------------------------------------------------------------


API = frozenset({"api"})


@pytest.mark.parametrize("aud", ["api", ["api"], ["other", "api"], ["api", "api"]], ids=repr)
def test_audience_accepted_as_string_or_list(aud: Any) -> None:
    claims.check_audience({"aud": aud}, API)


def test_any_of_several_expected_audiences_is_accepted() -> None:
    claims.check_audience({"aud": "b"}, frozenset({"a", "b"}))


@pytest.mark.parametrize("token", [{}, {"aud": None}], ids=["absent", "null"])
def test_missing_audience_is_refused(token: dict[str, Any]) -> None:
    assert rejected(claims.check_audience, token, API) is Reason.INVALID_AUDIENCE


@pytest.mark.parametrize("aud", ["other", "API", "api ", "ap", "apix", "", ["other"], ["API"]], ids=repr)
def test_wrong_audience_is_refused(aud: Any) -> None:
    assert rejected(claims.check_audience, {"aud": aud}, API) is Reason.INVALID_AUDIENCE


@pytest.mark.parametrize(
    "aud",
    [[], ["api", 1], ["api", None], [["api"]], [{"aud": "api"}], 1, True, {"api": True}, ("api",)],
    ids=repr,
)
def test_audience_of_wrong_type_is_refused(aud: Any) -> None:
    assert rejected(claims.check_audience, {"aud": aud}, API) is Reason.INVALID_AUDIENCE


@pytest.mark.parametrize("aud", [None, "anything", ["a", 1], 42], ids=repr)
def test_audience_check_disabled_with_none(aud: Any) -> None:
    claims.check_audience({"aud": aud}, None)
    claims.check_audience({}, None)


# --- typ -------------------------------------------------------------------------------------


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "Application/AT+JWT", "at+JWT"], ids=repr)
def test_typ_compared_as_a_media_type(typ: str) -> None:
    claims.check_token_type({"typ": typ}, "at+jwt")
    claims.check_token_type({"typ": typ}, "application/at+jwt")


@pytest.mark.parametrize(
    "header",
    [
        {"typ": "JWT"},
        {"typ": "jwt"},
        {"typ": "application/jwt"},
        {"typ": "at+jwt; charset=utf-8"},
        {"typ": "text/at+jwt"},
        {"typ": "application/application/at+jwt"},
        {"typ": "atjwt"},
        {"typ": ""},
        {"typ": None},
        {"typ": ["at+jwt"]},
        {"typ": 1},
        {},
    ],
    ids=repr,
)
def test_wrong_or_missing_typ_is_refused_when_required(header: dict[str, Any]) -> None:
    assert rejected(claims.check_token_type, header, "at+jwt") is Reason.WRONG_TOKEN_TYPE


@pytest.mark.parametrize("header", [{}, {"typ": "JWT"}, {"typ": 1}], ids=repr)
def test_typ_not_checked_when_not_required(header: dict[str, Any]) -> None:
    claims.check_token_type(header, None)


def test_media_type_strips_the_application_prefix_and_case() -> None:
    assert claims.media_type("Application/AT+JWT") == "at+jwt"
    assert claims.media_type("at+jwt") == "at+jwt"
    assert claims.media_type("JWT") == "jwt"


# --- subject ---------------------------------------------------------------------------------


def test_subject_is_returned() -> None:
    assert claims.subject({"sub": "alice"}) == "alice"


@pytest.mark.parametrize(
    "token",
    [{}, {"sub": ""}, {"sub": None}, {"sub": 42}, {"sub": ["alice"]}, {"sub": "x" * (claims.MAX_SUBJECT_LENGTH + 1)}],
    ids=["absent", "empty", "null", "int", "list", "too-long"],
)
def test_bad_subject_is_refused(token: dict[str, Any]) -> None:
    assert rejected(claims.subject, token) is Reason.INVALID_SUBJECT


def test_subject_at_the_length_limit_is_accepted() -> None:
    sub = "x" * claims.MAX_SUBJECT_LENGTH
    assert claims.subject({"sub": sub}) == sub


# --- scopes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ({"scope": "read write"}, {"read", "write"}),
        ({"scope": "  read   write  "}, {"read", "write"}),
        ({"scope": "read\twrite"}, {"read", "write"}),
        ({"scope": ""}, set()),
        ({"scp": "read write"}, {"read", "write"}),
        ({"scp": ["read", "write"]}, {"read", "write"}),
        ({"scp": []}, set()),
        ({"scope": "read", "scp": ["admin"]}, {"read"}),  # scope wins: scp is not merged in
        ({}, set()),
        ({"scope": None}, set()),
    ],
    ids=[
        "scope",
        "scope-extra-spaces",
        "scope-tab",
        "scope-empty",
        "scp-string",
        "scp-list",
        "scp-empty-list",
        "scope-wins",
        "none",
        "scope-null",
    ],
)
def test_scopes_from_scope_or_scp(token: dict[str, Any], expected: set[str]) -> None:
    assert claims.scopes(token) == frozenset(expected)


@pytest.mark.parametrize(
    "token",
    [{"scope": 1}, {"scope": {"read": True}}, {"scp": ["read", 1]}, {"scp": True}, {"scope": ["read", None]}],
    ids=repr,
)
def test_malformed_scopes_are_refused(token: dict[str, Any]) -> None:
    assert rejected(claims.scopes, token) is Reason.MALFORMED_CLAIMS


def test_string_set() -> None:
    assert claims.string_set({"groups": "admins"}, "groups") == frozenset({"admins"})
    assert claims.string_set({"groups": ["a", "b"]}, "groups") == frozenset({"a", "b"})
    assert claims.string_set({}, "groups") == frozenset()
    assert rejected(claims.string_set, {"groups": ["a", 1]}, "groups") is Reason.MALFORMED_CLAIMS
    assert rejected(claims.string_set, {"groups": {"a": 1}}, "groups") is Reason.MALFORMED_CLAIMS


# --- permissions (403) ------------------------------------------------------------------------


def denied(token: dict[str, Any], granted: frozenset[str], cfg: IssuerConfig) -> Reason:
    with pytest.raises(InsufficientPermission) as caught:
        claims.check_permissions(token, granted, cfg)
    return caught.value.reason


def test_all_required_scopes_granted_passes() -> None:
    cfg = config(required_scopes=frozenset({"read", "write"}))
    claims.check_permissions({}, frozenset({"read", "write", "admin"}), cfg)


@pytest.mark.parametrize("granted", [set(), {"read"}, {"READ", "write"}, {"read write"}], ids=repr)
def test_missing_scope_is_insufficient_scope(granted: set[str]) -> None:
    cfg = config(required_scopes=frozenset({"read", "write"}))
    assert denied({}, frozenset(granted), cfg) is Reason.INSUFFICIENT_SCOPE


@pytest.mark.parametrize(
    ("actual", "accepted"),
    [
        (True, (True,)),
        (1, (1,)),
        ("gold", ("silver", "gold")),
        (["bronze", "gold"], ("gold",)),  # a list claim matches when it contains any accepted value
        ([1, 2], (2,)),
        (1.5, (1.5,)),
    ],
    ids=repr,
)
def test_required_claim_matches_same_type_and_value(actual: Any, accepted: tuple[Any, ...]) -> None:
    cfg = config(required_claims={"tier": accepted})
    claims.check_permissions({"tier": actual}, frozenset(), cfg)


@pytest.mark.parametrize(
    ("actual", "accepted"),
    [
        (1, (True,)),
        (True, (1,)),
        (0, (False,)),
        (False, (0,)),
        (1.0, (1,)),
        (1, (1.0,)),
        ("1", (1,)),
        ("true", (True,)),
        ("Gold", ("gold",)),
        (["bronze"], ("gold",)),
        ([], ("gold",)),
        ([[True]], (True,)),
        ([1], (True,)),
        (None, ("gold",)),
        ({"gold": True}, ("gold",)),
    ],
    ids=repr,
)
def test_required_claim_mismatch_is_refused(actual: Any, accepted: tuple[Any, ...]) -> None:
    cfg = config(required_claims={"tier": accepted})
    assert denied({"tier": actual}, frozenset(), cfg) is Reason.CLAIM_MISMATCH


def test_absent_required_claim_is_a_mismatch() -> None:
    cfg = config(required_claims={"tier": ("gold",)})
    assert denied({}, frozenset(), cfg) is Reason.CLAIM_MISMATCH


def test_every_required_claim_must_match() -> None:
    cfg = config(required_claims={"tier": ("gold",), "email_verified": (True,)})
    claims.check_permissions({"tier": "gold", "email_verified": True}, frozenset(), cfg)
    assert denied({"tier": "gold", "email_verified": 1}, frozenset(), cfg) is Reason.CLAIM_MISMATCH


def test_no_requirements_pass_anything() -> None:
    claims.check_permissions({}, frozenset(), config())
