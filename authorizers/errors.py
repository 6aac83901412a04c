"""One exception root, two branches.

* :class:`CredentialRejected`: the credential is missing, malformed, forged, expired or
  not meant for this API. Carries a :class:`Reason`. The handler answers 401
  (``Unauthorized``), or an explicit Deny (403) for :class:`InsufficientPermission`.
* :class:`AuthorizerUnavailable`: the authorizer is misconfigured or a dependency (a key
  source) cannot be reached. The handler fails closed with a distinct error (500).

Messages never contain a token, a secret or a signature.
"""

from __future__ import annotations

import enum


class Reason(enum.Enum):
    """Why a credential was refused: the code in logs, metrics and tests."""

    # The credential itself
    MISSING_CREDENTIAL = "missing_credential"
    UNSUPPORTED_SCHEME = "unsupported_scheme"
    AMBIGUOUS_CREDENTIAL = "ambiguous_credential"
    TOKEN_TOO_LARGE = "token_too_large"
    MALFORMED_TOKEN = "malformed_token"
    MALFORMED_HEADER = "malformed_header"
    MALFORMED_CLAIMS = "malformed_claims"
    ENCRYPTED_TOKEN = "encrypted_token"
    NESTED_TOKEN = "nested_token"
    # Algorithm and key selection
    ALG_NONE = "alg_none"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    EMBEDDED_KEY_HEADER = "embedded_key_header"
    UNSUPPORTED_CRITICAL_HEADER = "unsupported_critical_header"
    MALFORMED_KID = "malformed_kid"
    MISSING_KID = "missing_kid"
    UNKNOWN_KID = "unknown_kid"
    KEY_ALGORITHM_MISMATCH = "key_algorithm_mismatch"
    # Signature
    INVALID_SIGNATURE = "invalid_signature"
    # Claims
    UNKNOWN_ISSUER = "unknown_issuer"
    MISSING_CLAIM = "missing_claim"
    INVALID_TIME_CLAIM = "invalid_time_claim"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    ISSUED_IN_FUTURE = "issued_in_future"
    INVALID_AUDIENCE = "invalid_audience"
    WRONG_TOKEN_TYPE = "wrong_token_type"
    INVALID_SUBJECT = "invalid_subject"
    CONTEXT_LIMIT = "context_limit"
    CUSTOM_CHECK_FAILED = "custom_check_failed"
    WRONG_TOKEN_USE = "wrong_token_use"  # Cognito: an ID token where an access token is expected, or back
    WRONG_CLIENT = "wrong_client"  # Cognito: issued to an app client that is not accepted
    TOKEN_REVOKED = "token_revoked"  # Cognito: signed and unexpired, but its session was signed out
    REVOCATION_UNCHECKABLE = "revocation_uncheckable"  # Cognito: revocation checked, but GetUser cannot take it
    # SAML
    MALFORMED_SAML = "malformed_saml"  # not base64, not UTF-8 XML, not schema-valid
    FORBIDDEN_XML = "forbidden_xml"  # DOCTYPE or entity declarations
    INVALID_SAML = "invalid_saml"  # not a usable SAML 2.0 Response: structure, status, signed-element rules
    UNSIGNED_ASSERTION = "unsigned_assertion"
    DEPRECATED_ALGORITHM = "deprecated_algorithm"  # SHA-1, DSA
    ENCRYPTED_ASSERTION = "encrypted_assertion"  # not supported: refused whole, never half-read
    MISSING_AUDIENCE = "missing_audience"
    WRONG_RECIPIENT = "wrong_recipient"  # SubjectConfirmationData Recipient or Destination
    INVALID_SUBJECT_CONFIRMATION = "invalid_subject_confirmation"  # no bearer confirmation holds now, here
    REPLAYED_ASSERTION = "replayed_assertion"
    # SigV4
    MALFORMED_SIGNATURE = "malformed_signature"  # the Authorization header or presigned query is not well formed
    UNKNOWN_ACCESS_KEY = "unknown_access_key"
    WRONG_CREDENTIAL_SCOPE = "wrong_credential_scope"  # date, region, service or terminator
    UNSIGNED_HEADER = "unsigned_header"  # host, x-amz-date or x-amz-security-token left out of the signature
    STS_ENDPOINT_NOT_ALLOWED = "sts_endpoint_not_allowed"  # not https to a real STS host of the configuration
    STS_REQUEST_NOT_ALLOWED = "sts_request_not_allowed"  # not exactly a presigned GetCallerIdentity
    STS_REJECTED = "sts_rejected"  # STS refused the signed request (signature, audience, credentials)
    # Valid, but not permitted here (403)
    INSUFFICIENT_SCOPE = "insufficient_scope"
    CLAIM_MISMATCH = "claim_mismatch"
    NOT_PERMITTED = "not_permitted"
    NOT_IN_GROUP = "not_in_group"  # Cognito: not in any of COGNITO_GROUPS
    ROUTE_NOT_ALLOWED = "route_not_allowed"  # the rules do not allow this route for this principal
    USAGE_KEY_MISSING = "usage_key_missing"  # usage keys are configured, none is known for this principal


class AuthorizerError(Exception):
    """Root of every error this toolkit raises."""


class CredentialRejected(AuthorizerError):
    """The credential is refused: 401."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)


class InsufficientPermission(CredentialRejected):
    """The credential is valid but lacks what this API requires: an explicit Deny (403).

    ``principal_id`` is the verified subject, filled in by the validator.
    """

    def __init__(self, reason: Reason, detail: str = "", principal_id: str | None = None) -> None:
        super().__init__(reason, detail)
        self.principal_id = principal_id


class AuthorizerUnavailable(AuthorizerError):
    """The authorizer cannot decide: misconfigured, or a dependency is down (500)."""


class ConfigurationError(AuthorizerUnavailable):
    """Bad configuration; raised at cold start wherever possible."""


class KeySourceUnavailable(AuthorizerUnavailable):
    """No usable keys: the key source could not be fetched or returned garbage."""
