"""JwtValidator over a StaticKeySource and a fixed clock: every algorithm, issuer, kid rule."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from authorizers.errors import (
    ConfigurationError,
    CredentialRejected,
    InsufficientPermission,
    KeySourceUnavailable,
    Reason,
)
from authorizers.jwt import IssuerConfig, JwtValidator, StaticKeySource, VerifiedJwt, parse_jwks
from authorizers.jwt.algorithms import HMAC_ALGORITHMS, SUPPORTED_ALGORITHMS
from authorizers.jwt.config import MAX_LEEWAY_SECONDS
from authorizers.jwt.jwks import MAX_KEYS, JwkSet
from tests.conftest import b64url, sign_raw

T = 1_700_000_000
ISSUER = "https://a.example"
AUDIENCE = "api"

# Key generation is the slow part: once per module.
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_KEY_B = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - must be skipped
EC_KEYS = {
    "ES256": ec.generate_private_key(ec.SECP256R1()),
    "ES384": ec.generate_private_key(ec.SECP384R1()),
    "ES512": ec.generate_private_key(ec.SECP521R1()),
}
ED_KEY = ed25519.Ed25519PrivateKey.generate()

# Which key (by kid) signs each asymmetric algorithm.
KID_FOR = {
    **dict.fromkeys(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"], "rsa"),
    "ES256": "p256",
    "ES384": "p384",
    "ES512": "p521",
    "EdDSA": "ed",
}
PRIVATE_FOR: dict[str, Any] = {"rsa": RSA_KEY, "p256": EC_KEYS["ES256"], "p384": EC_KEYS["ES384"]}
PRIVATE_FOR |= {"p521": EC_KEYS["ES512"], "ed": ED_KEY}
ALL_ALGORITHMS = sorted(SUPPORTED_ALGORITHMS)
ASYMMETRIC = sorted(KID_FOR)
HMAC = sorted(HMAC_ALGORITHMS)


def jwk(private_key: Any, kid: str | None, **extra: Any) -> dict[str, Any]:
    """The public JWK of ``private_key``, without an ``alg`` unless one is given."""
    family = {
        rsa.RSAPrivateKey: "RS256",
        ec.EllipticCurvePrivateKey: "ES256",
        ed25519.Ed25519PrivateKey: "EdDSA",
    }
    alg = next(name for cls, name in family.items() if isinstance(private_key, cls))
    data: dict[str, Any] = json.loads(get_default_algorithms()[alg].to_jwk(private_key.public_key()))
    if kid is not None:
        data["kid"] = kid
    data.update(extra)
    return data


ALL_KEYS_JWKS = {"keys": [jwk(key, kid) for kid, key in PRIVATE_FOR.items()]}
ALL_KEYS = StaticKeySource(parse_jwks(ALL_KEYS_JWKS, "test"))


def secret(length: int) -> bytes:
    return bytes(range(1, length + 1))


def claims(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"iss": ISSUER, "sub": "alice", "aud": AUDIENCE, "iat": T, "exp": T + 300}
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def sign(alg: str, payload: Mapping[str, Any] | None = None, key: Any = None, **headers: Any) -> str:
    if key is None:
        key = secret(HMAC_ALGORITHMS[alg]) if alg in HMAC_ALGORITHMS else PRIVATE_FOR[KID_FOR[alg]]
    if alg not in HMAC_ALGORITHMS:
        headers.setdefault("kid", KID_FOR[alg])
    header = {"alg": alg, "typ": "JWT", **headers}
    header = {name: value for name, value in header.items() if value is not None}
    return sign_raw(header, payload or claims(), alg, key)


def make_config(**overrides: Any) -> IssuerConfig:
    values: dict[str, Any] = {"issuer": ISSUER, "key_source": ALL_KEYS, "audience": frozenset({AUDIENCE})}
    values.update(overrides)
    return IssuerConfig(**values)


def validator(*configs: IssuerConfig, now: float = T) -> JwtValidator:
    return JwtValidator(configs or (make_config(),), clock=lambda: now)


def rejected(v: JwtValidator, token: str) -> Reason:
    with pytest.raises(CredentialRejected) as caught:
        v.validate(token)
    assert type(caught.value) is CredentialRejected, "expected a 401 refusal, not a 403"
    return caught.value.reason


def config_for_alg(alg: str, allowed: frozenset[str]) -> IssuerConfig:
    hmac_allowed = allowed & set(HMAC_ALGORITHMS)
    return make_config(
        algorithms=allowed,
        key_source=ALL_KEYS if allowed - set(HMAC_ALGORITHMS) else None,
        shared_secret=secret(max(HMAC_ALGORITHMS[a] for a in hmac_allowed)) if hmac_allowed else None,
    )


def tamper_payload(token: str, **changes: Any) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64url(json.dumps(claims(**changes)).encode())}.{signature}"


# --- every algorithm ---------------------------------------------------------------------------


def test_every_supported_algorithm_is_covered() -> None:
    assert set(ASYMMETRIC) | set(HMAC) == SUPPORTED_ALGORITHMS
    assert len(ALL_ALGORITHMS) == 13


@pytest.mark.parametrize("alg", ALL_ALGORITHMS)
def test_valid_token_accepted_when_its_alg_is_allowed(alg: str) -> None:
    v = validator(config_for_alg(alg, frozenset({alg})))
    principal = v.validate(sign(alg))
    assert principal.principal_id == "alice"
    assert principal.issuer == ISSUER
    assert principal.scheme == "jwt"


@pytest.mark.parametrize("alg", ALL_ALGORITHMS)
def test_token_refused_when_its_alg_is_not_allowed(alg: str) -> None:
    # Everything else is allowed, so only the allow-list itself can refuse it.
    v = validator(config_for_alg(alg, SUPPORTED_ALGORITHMS - {alg}))
    assert rejected(v, sign(alg)) is Reason.ALGORITHM_NOT_ALLOWED


@pytest.mark.parametrize("alg", ALL_ALGORITHMS)
def test_tampered_payload_fails_the_signature(alg: str) -> None:
    v = validator(config_for_alg(alg, frozenset({alg})))
    token = sign(alg)
    assert rejected(v, tamper_payload(token, sub="admin")) is Reason.INVALID_SIGNATURE


@pytest.mark.parametrize("alg", ALL_ALGORITHMS)
def test_stripped_signature_fails(alg: str) -> None:
    v = validator(config_for_alg(alg, frozenset({alg})))
    header, payload, _ = sign(alg).split(".")
    assert rejected(v, f"{header}.{payload}.") is Reason.INVALID_SIGNATURE


@pytest.mark.parametrize("alg", HMAC)
def test_hmac_with_another_secret_fails(alg: str) -> None:
    v = validator(config_for_alg(alg, frozenset({alg})))
    other = b"\xff" * HMAC_ALGORITHMS[alg]
    assert rejected(v, sign(alg, key=other)) is Reason.INVALID_SIGNATURE


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_asymmetric_token_signed_by_another_key_fails(alg: str) -> None:
    v = validator(config_for_alg(alg, frozenset({alg})))
    other: Any = {"RS256": RSA_KEY_B, "PS256": RSA_KEY_B}.get(alg)
    if other is None:
        other = ec.generate_private_key(ec.SECP256R1()) if alg == "ES256" else ed25519.Ed25519PrivateKey.generate()
    assert rejected(v, sign(alg, key=other)) is Reason.INVALID_SIGNATURE


def test_hmac_token_in_an_asymmetric_only_config_is_not_allowed() -> None:
    v = validator(make_config(algorithms=frozenset({"RS256"})))
    assert rejected(v, sign("HS256")) is Reason.ALGORITHM_NOT_ALLOWED


# --- several issuers -----------------------------------------------------------------------------


def two_issuers() -> JwtValidator:
    keys_b = StaticKeySource(parse_jwks({"keys": [jwk(RSA_KEY_B, "b-key")]}, "b"))
    return validator(
        make_config(issuer="https://a.example", audience=frozenset({"api-a"})),
        make_config(issuer="https://b.example", key_source=keys_b, audience=frozenset({"api-b"})),
    )


def test_token_iss_selects_its_issuer_config() -> None:
    v = two_issuers()
    a = v.validate(sign("RS256", claims(iss="https://a.example", aud="api-a")))
    b = v.validate(sign("RS256", claims(iss="https://b.example", aud="api-b"), key=RSA_KEY_B, kid="b-key"))
    assert (a.issuer, b.issuer) == ("https://a.example", "https://b.example")


def test_issuer_config_brings_its_own_keys() -> None:
    v = two_issuers()
    # Signed by B's key but claiming to come from A: A's key set has no such kid.
    token = sign("RS256", claims(iss="https://a.example", aud="api-a"), key=RSA_KEY_B, kid="b-key")
    assert rejected(v, token) is Reason.UNKNOWN_KID


def test_issuer_config_brings_its_own_audience() -> None:
    v = two_issuers()
    assert rejected(v, sign("RS256", claims(iss="https://a.example", aud="api-b"))) is Reason.INVALID_AUDIENCE


@pytest.mark.parametrize(
    "iss",
    [
        "https://a.example.evil",
        "https://a.example/",
        "https://a.example//",
        "https://a.exampl",
        "https://A.example",
        "https://a.example ",
        " https://a.example",
        "https://a.example/.well-known/../",
        "http://a.example",
        "https://a.example\u0000",
        "",
    ],
    ids=repr,
)
def test_issuer_matches_exactly(iss: str) -> None:
    assert rejected(two_issuers(), sign("RS256", claims(iss=iss, aud="api-a"))) is Reason.UNKNOWN_ISSUER


def test_configured_trailing_slash_is_not_normalised() -> None:
    v = validator(make_config(issuer="https://a.example/"))
    assert rejected(v, sign("RS256", claims(iss="https://a.example"))) is Reason.UNKNOWN_ISSUER
    assert v.validate(sign("RS256", claims(iss="https://a.example/"))).issuer == "https://a.example/"


@pytest.mark.parametrize("iss", [None, 1, ["https://a.example"], {"iss": "https://a.example"}], ids=repr)
def test_missing_or_non_string_iss_is_unknown_issuer(iss: Any) -> None:
    payload = {**claims(), "iss": iss} if iss is not None else {k: v for k, v in claims().items() if k != "iss"}
    assert rejected(validator(), sign("RS256", payload)) is Reason.UNKNOWN_ISSUER


# --- configuration errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"algorithms": frozenset({"HS256"}), "key_source": None},
        {"algorithms": frozenset({"HS256"}), "key_source": None, "shared_secret": secret(31)},
        {"algorithms": frozenset({"HS384"}), "key_source": None, "shared_secret": secret(47)},
        {"algorithms": frozenset({"HS256", "HS512"}), "key_source": None, "shared_secret": secret(48)},
        {"algorithms": frozenset({"HS256"}), "key_source": None, "shared_secret": b""},
        {"algorithms": frozenset({"RS256"}), "shared_secret": secret(64)},
        {"algorithms": frozenset({"RS256"}), "key_source": None},
        {"algorithms": frozenset({"RS256", "HS256"}), "key_source": None, "shared_secret": secret(64)},
        {"algorithms": frozenset({"RS1"})},
        {"algorithms": frozenset({"none"})},
        {"algorithms": frozenset({"rs256"})},
        {"algorithms": frozenset({"RS256", "ES256K"})},
        {"algorithms": frozenset()},
        {"leeway_seconds": -1},
        {"leeway_seconds": MAX_LEEWAY_SECONDS + 1},
        {"leeway_seconds": True},
        {"audience": frozenset()},
        {"audience": ""},
        {"audience": frozenset({""})},
        {"audience": frozenset({"api", 1})},
        {"issuer": ""},
        {"issuer": "   "},
        {"required_claims": {"tier": ()}},
        {"required_claims": {"tier": "gold"}},
    ],
    ids=[
        "hs-without-secret",
        "hs256-secret-31-bytes",
        "hs384-secret-47-bytes",
        "hs512-secret-48-bytes",
        "hs-empty-secret",
        "secret-without-hs",
        "rs-without-key-source",
        "mixed-without-key-source",
        "unknown-alg",
        "alg-none",
        "lowercase-alg",
        "one-unknown-among-known",
        "empty-algorithms",
        "negative-leeway",
        "leeway-over-max",
        "leeway-bool",
        "audience-empty-set",
        "audience-empty-string",
        "audience-blank-member",
        "audience-non-string-member",
        "issuer-empty",
        "issuer-blank",
        "required-claim-without-values",
        "required-claim-not-a-tuple",
    ],
)
def test_bad_issuer_config_is_a_configuration_error(overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        make_config(**overrides)


def public_pem() -> bytes:
    return RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(
    "material",
    [
        public_pem(),
        RSA_KEY.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        ED_KEY.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        EC_KEYS["ES256"].public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        json.dumps(jwk(RSA_KEY, "rsa")).encode(),
        json.dumps(jwk(EC_KEYS["ES256"], "p256")).encode(),
    ],
    ids=["rsa-pem", "rsa-ssh", "ed25519-ssh", "ecdsa-ssh", "rsa-jwk", "ec-jwk"],
)
def test_public_key_material_is_not_a_shared_secret(material: bytes) -> None:
    assert len(material) >= 64, "long enough that only the public-key check can refuse it"
    with pytest.raises(ConfigurationError, match="public key material"):
        make_config(algorithms=frozenset({"HS256"}), key_source=None, shared_secret=material)


@pytest.mark.parametrize("alg", HMAC)
def test_secret_of_exactly_the_minimum_length_is_accepted(alg: str) -> None:
    cfg = make_config(algorithms=frozenset({alg}), key_source=None, shared_secret=secret(HMAC_ALGORITHMS[alg]))
    assert cfg.shared_secret == secret(HMAC_ALGORITHMS[alg])


def test_secret_is_not_in_the_config_repr() -> None:
    cfg = make_config(algorithms=frozenset({"HS256"}), key_source=None, shared_secret=b"s3cr3t-" * 8)
    assert "s3cr3t" not in repr(cfg)


def test_audience_string_becomes_a_set_and_none_disables_the_check() -> None:
    assert make_config(audience="api").audience == frozenset({"api"})
    v = validator(make_config(audience=None))
    assert v.validate(sign("RS256", claims(aud=None))).principal_id == "alice"


@pytest.mark.parametrize("leeway", [0, MAX_LEEWAY_SECONDS])
def test_leeway_range_ends_are_accepted(leeway: int) -> None:
    assert make_config(leeway_seconds=leeway).leeway_seconds == leeway


def test_duplicate_issuer_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="twice"):
        JwtValidator([make_config(), make_config(audience=frozenset({"other"}))])


def test_no_issuer_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        JwtValidator([])


def test_config_is_frozen() -> None:
    cfg = make_config(required_claims={"tier": ("gold",)})
    with pytest.raises(AttributeError):
        cfg.algorithms = frozenset({"HS256"})  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.required_claims["tier"] = ("silver",)  # type: ignore[index]


# --- kid and key selection ------------------------------------------------------------------------


def one_key(private_key: Any, kid: str | None = "only", **extra: Any) -> StaticKeySource:
    return StaticKeySource(parse_jwks({"keys": [jwk(private_key, kid, **extra)]}, "test"))


def test_missing_kid_with_a_one_key_set_uses_that_key() -> None:
    v = validator(make_config(key_source=one_key(RSA_KEY)))
    assert v.validate(sign("RS256", kid=None)).principal_id == "alice"
    assert rejected(v, sign("RS256", kid=None, key=RSA_KEY_B)) is Reason.INVALID_SIGNATURE


def test_missing_kid_with_a_one_key_set_without_kid() -> None:
    v = validator(make_config(key_source=one_key(RSA_KEY, kid=None)))
    assert v.validate(sign("RS256", kid=None)).principal_id == "alice"


def test_missing_kid_with_several_keys_is_missing_kid() -> None:
    assert rejected(validator(), sign("RS256", kid=None)) is Reason.MISSING_KID


@pytest.mark.parametrize("kid", ["unknown", "RSA", "rsa ", "../../dev/null", "' OR 1=1 --", "x" * 256], ids=repr)
def test_unknown_kid_is_refused(kid: str) -> None:
    assert rejected(validator(), sign("RS256", kid=kid)) is Reason.UNKNOWN_KID


@pytest.mark.parametrize("kid", ["", "x" * 257, 1, ["rsa"], {"kid": "rsa"}, True], ids=repr)
def test_malformed_kid_is_refused(kid: Any) -> None:
    assert rejected(validator(), sign("RS256", kid=kid)) is Reason.MALFORMED_KID


@pytest.mark.parametrize(
    ("alg", "kid"),
    [
        ("RS256", "p256"),
        ("RS256", "ed"),
        ("PS256", "p384"),
        ("ES256", "rsa"),
        ("ES256", "p384"),
        ("ES512", "p256"),
        ("EdDSA", "rsa"),
        ("EdDSA", "p256"),
        ("ES384", "ed"),
    ],
)
def test_kid_naming_a_key_of_another_type_is_a_mismatch(alg: str, kid: str) -> None:
    # Signed with the key of the right type; the header's kid points at the wrong one.
    v = validator(make_config(algorithms=SUPPORTED_ALGORITHMS - set(HMAC), key_source=ALL_KEYS))
    assert rejected(v, sign(alg, kid=kid)) is Reason.KEY_ALGORITHM_MISMATCH


def test_jwk_alg_binds_the_key_to_that_algorithm() -> None:
    keys = one_key(RSA_KEY, kid="rs384-only", alg="RS384")
    v = validator(make_config(algorithms=frozenset({"RS256", "RS384", "PS384"}), key_source=keys))
    assert rejected(v, sign("RS256", kid="rs384-only")) is Reason.KEY_ALGORITHM_MISMATCH
    assert rejected(v, sign("PS384", kid="rs384-only")) is Reason.KEY_ALGORITHM_MISMATCH
    assert v.validate(sign("RS384", kid="rs384-only")).principal_id == "alice"


def test_missing_kid_with_one_key_of_another_type_is_a_mismatch() -> None:
    v = validator(make_config(algorithms=frozenset({"RS256", "ES256"}), key_source=one_key(EC_KEYS["ES256"])))
    assert rejected(v, sign("RS256", kid=None)) is Reason.KEY_ALGORITHM_MISMATCH


def test_duplicate_kids_pick_the_key_that_fits_the_alg() -> None:
    keys = StaticKeySource(parse_jwks({"keys": [jwk(EC_KEYS["ES256"], "same"), jwk(RSA_KEY, "same")]}, "t"))
    v = validator(make_config(algorithms=frozenset({"RS256", "ES256"}), key_source=keys))
    assert v.validate(sign("RS256", kid="same")).principal_id == "alice"
    assert v.validate(sign("ES256", kid="same")).principal_id == "alice"


# --- checks after the signature ---------------------------------------------------------------------


def test_claims_are_validated_with_the_injected_clock() -> None:
    token = sign("RS256", claims(iat=T, exp=T + 300))
    assert validator(now=T + 300 + 29).validate(token).principal_id == "alice"  # default leeway 30
    assert rejected(validator(now=T + 300 + 30), token) is Reason.EXPIRED
    assert rejected(validator(now=T - 31), token) is Reason.ISSUED_IN_FUTURE


def test_token_type_is_checked_when_configured() -> None:
    v = validator(make_config(token_type="at+jwt"))
    assert v.validate(sign("RS256", typ="at+jwt")).principal_id == "alice"
    assert v.validate(sign("RS256", typ="application/at+jwt")).principal_id == "alice"
    assert rejected(v, sign("RS256", typ="JWT")) is Reason.WRONG_TOKEN_TYPE


def test_missing_subject_is_refused() -> None:
    assert rejected(validator(), sign("RS256", claims(sub=None))) is Reason.INVALID_SUBJECT


# --- custom check hook ----------------------------------------------------------------------------


def test_custom_check_sees_the_verified_token() -> None:
    seen: list[VerifiedJwt] = []
    v = validator(make_config(custom_check=seen.append))
    v.validate(sign("RS256", claims(tier="gold")))
    assert len(seen) == 1
    assert seen[0].claims["tier"] == "gold"
    assert seen[0].header["kid"] == "rsa"
    assert seen[0].config.issuer == ISSUER


def test_custom_check_is_not_called_for_a_forged_token() -> None:
    seen: list[VerifiedJwt] = []
    v = validator(make_config(custom_check=seen.append))
    assert rejected(v, sign("RS256", key=RSA_KEY_B)) is Reason.INVALID_SIGNATURE
    assert seen == []


def test_custom_check_raising_credential_rejected_is_a_401() -> None:
    def check(verified: VerifiedJwt) -> None:
        raise CredentialRejected(Reason.CUSTOM_CHECK_FAILED, "revoked")

    assert rejected(validator(make_config(custom_check=check)), sign("RS256")) is Reason.CUSTOM_CHECK_FAILED


def test_custom_check_raising_insufficient_permission_is_a_403_with_the_subject() -> None:
    def check(verified: VerifiedJwt) -> None:
        raise InsufficientPermission(Reason.NOT_PERMITTED, "not on weekends", principal_id="mallory")

    v = validator(make_config(custom_check=check))
    with pytest.raises(InsufficientPermission) as caught:
        v.validate(sign("RS256", claims(sub="bob")))
    assert caught.value.reason is Reason.NOT_PERMITTED
    assert caught.value.principal_id == "bob"


def test_insufficient_scope_carries_the_subject() -> None:
    v = validator(make_config(required_scopes=frozenset({"pets:read"})))
    with pytest.raises(InsufficientPermission) as caught:
        v.validate(sign("RS256", claims(sub="carol", scope="pets:write")))
    assert caught.value.reason is Reason.INSUFFICIENT_SCOPE
    assert caught.value.principal_id == "carol"
    assert v.validate(sign("RS256", claims(scope="pets:read pets:write"))).scopes == {"pets:read", "pets:write"}


def test_required_claim_mismatch_is_a_403() -> None:
    v = validator(make_config(required_claims={"email_verified": (True,)}))
    with pytest.raises(InsufficientPermission) as caught:
        v.validate(sign("RS256", claims(email_verified=1)))
    assert caught.value.reason is Reason.CLAIM_MISMATCH
    assert v.validate(sign("RS256", claims(email_verified=True))).principal_id == "alice"


# --- principal ---------------------------------------------------------------------------------------


def test_principal_fields() -> None:
    v = validator(make_config(groups_claim="cognito:groups"))
    token = sign(
        "RS256",
        claims(scope="read write", client_id="app-1", azp="other", exp=T + 123, **{"cognito:groups": ["admins"]}),
    )
    principal = v.validate(token)
    assert principal.principal_id == "alice"
    assert principal.issuer == ISSUER
    assert principal.scopes == frozenset({"read", "write"})
    assert principal.groups == frozenset({"admins"})
    assert principal.client_id == "app-1"
    assert principal.expires_at == T + 123
    assert principal.claims["sub"] == "alice"


def test_principal_client_id_from_azp_and_scopes_from_scp() -> None:
    principal = validator().validate(sign("RS256", claims(azp="spa", scp=["a", "b"], groups="staff")))
    assert principal.client_id == "spa"
    assert principal.scopes == frozenset({"a", "b"})
    assert principal.groups == frozenset({"staff"})


def test_principal_without_optional_claims() -> None:
    principal = validator().validate(sign("RS256", claims(exp=T + 60.9)))
    assert principal.client_id is None
    assert principal.scopes == frozenset()
    assert principal.groups == frozenset()
    assert principal.expires_at == T + 60


def test_non_string_client_id_is_dropped() -> None:
    assert validator().validate(sign("RS256", claims(client_id=7))).client_id is None


def test_groups_claim_of_wrong_type_is_refused() -> None:
    assert rejected(validator(), sign("RS256", claims(groups=[1]))) is Reason.MALFORMED_CLAIMS


# --- JWKS parsing --------------------------------------------------------------------------------------


GOOD = jwk(RSA_KEY, "good")


@pytest.mark.parametrize(
    "bad",
    [
        jwk(RSA_KEY_B, "enc", use="enc"),
        jwk(RSA_KEY_B, "use-list", use=["sig"]),
        {"kty": "oct", "kid": "oct", "k": b64url(secret(32)), "alg": "HS256"},
        {"kty": "oct", "kid": "oct-no-k"},
        {**jwk(RSA_KEY_B, "private"), "d": "AQAB"},
        {**jwk(EC_KEYS["ES256"], "ec-private"), "d": "AQAB"},
        jwk(RSA_1024, "rsa-1024"),
        jwk(RSA_KEY_B, "encrypt-only", key_ops=["encrypt"]),
        jwk(RSA_KEY_B, "key-ops-string", key_ops="verify"),
        jwk(RSA_KEY_B, "unsupported-alg", alg="RS1"),
        jwk(RSA_KEY_B, "alg-none", alg="none"),
        jwk(RSA_KEY_B, "alg-list", alg=["RS256"]),
        jwk(RSA_KEY_B, "alg-object", alg={"name": "RS256"}),
        jwk(RSA_KEY_B, "hs-alg-on-rsa", alg="HS256"),
        jwk(RSA_KEY_B, "es-alg-on-rsa", alg="ES256"),
        jwk(RSA_KEY_B, "x" * 257),
        {**jwk(RSA_KEY_B, None), "kid": 7},
        jwk(RSA_KEY_B, ""),
        {"kty": "RSA", "kid": "no-n", "e": "AQAB"},
        {"kty": "EC", "kid": "bad-curve", "crv": "P-192", "x": "AA", "y": "AA"},
        {"kty": "DSA", "kid": "dsa"},
        "not-an-object",
        ["RSA"],
    ],
    ids=lambda bad: repr(bad.get("kid") if isinstance(bad, dict) else bad)[:30],
)
def test_unusable_keys_are_skipped(bad: Any) -> None:
    keys = parse_jwks({"keys": [bad, GOOD]}, "test")
    assert [k.kid for k in keys.keys] == ["good"]
    with pytest.raises(KeySourceUnavailable):
        parse_jwks({"keys": [bad]}, "test")


def test_key_ops_with_verify_and_use_sig_are_kept() -> None:
    keys = parse_jwks({"keys": [jwk(RSA_KEY, "ops", key_ops=["verify"], use="sig", alg="PS256")]}, "t")
    assert keys.keys[0].alg == "PS256"
    assert keys.keys[0].fits("PS256")
    assert not keys.keys[0].fits("RS256")


def test_every_key_type_parses() -> None:
    keys = parse_jwks(ALL_KEYS_JWKS, "test")
    assert sorted(k.kid or "" for k in keys.keys) == sorted(PRIVATE_FOR)


@pytest.mark.parametrize(
    "document",
    [
        {"keys": []},
        {"keys": {}},
        {"keys": None},
        {},
        [],
        "not json",
        b"\xff",
        "[]",
        json.dumps({"keys": [{"kty": "oct", "k": "AA"}]}),
        {"keys": [jwk(RSA_KEY_B, f"k{i}") for i in range(MAX_KEYS + 1)]},
    ],
    ids=["empty", "keys-object", "keys-null", "no-keys", "list", "text", "bytes", "json-list", "only-oct", "too-many"],
)
def test_jwks_without_a_usable_key_is_unavailable(document: Any) -> None:
    with pytest.raises(KeySourceUnavailable):
        parse_jwks(document, "test")


def test_jwks_text_is_parsed() -> None:
    keys = parse_jwks(json.dumps({"keys": [GOOD]}), "test")
    assert "good" in keys
    assert "other" not in keys


def test_static_key_source_from_unusable_text_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        StaticKeySource.from_text('{"keys": [{"kty": "oct", "k": "AA"}]}')


def test_empty_key_set_finds_nothing() -> None:
    assert JwkSet(()).find("any", "RS256") is None


def test_der_public_key_as_shared_secret_is_refused_raw_and_base64() -> None:
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from authorizers.errors import ConfigurationError
    from authorizers.jwt.config import IssuerConfig

    der = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for secret in (der, base64.b64encode(der)):
        with pytest.raises(ConfigurationError, match="public key material"):
            IssuerConfig(
                issuer="https://issuer.example",
                key_source=None,
                audience=frozenset({"api"}),
                algorithms=frozenset({"HS256"}),
                shared_secret=secret,
            )


def test_collections_given_as_lists_are_frozen_at_construction() -> None:
    from authorizers.jwt.config import IssuerConfig

    config = IssuerConfig(
        issuer="https://issuer.example",
        key_source=None,
        audience=["api", "other"],  # type: ignore[arg-type]
        algorithms=["HS256"],  # type: ignore[arg-type]
        required_scopes=("a", "b"),  # type: ignore[arg-type]
        shared_secret=b"s" * 32,
    )
    assert config.audience == frozenset({"api", "other"})
    assert config.algorithms == frozenset({"HS256"})
    assert config.required_scopes == frozenset({"a", "b"})
