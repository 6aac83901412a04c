"""SAML attributes in the context: IdPs name them by URI, so a context key can alias one."""

from __future__ import annotations

from typing import Any

import pytest

from authorizers.errors import ConfigurationError
from authorizers.handlers.saml import create_handler
from tests.conftest import outcome, token_event
from tests.samlkit import ACS_URL, IDP_ENTITY_ID, SP_ENTITY_ID, SamlIdp, b64, shared_key

EMAIL_URI = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"


def env(**extra: str) -> dict[str, str]:
    return {
        "SAML_IDP_ENTITY_ID": IDP_ENTITY_ID,
        "SAML_IDP_CERT": shared_key().cert_pem,
        "SAML_SP_ENTITY_ID": SP_ENTITY_ID,
        "SAML_ACS_URL": ACS_URL,
        "SAML_REPLAY": "reuse",
        **extra,
    }


def saml_event(**response: Any) -> dict[str, Any]:
    xml = SamlIdp(IDP_ENTITY_ID, shared_key()).response(**response)
    return {**token_event("x"), "authorizationToken": f"SAML {b64(xml)}"}


def test_an_attribute_named_by_uri_reaches_the_context_under_its_alias() -> None:
    handler = create_handler(env(SAML_CONTEXT_ATTRIBUTES=f"email={EMAIL_URI},department"))
    event = saml_event(attributes={EMAIL_URI: ["alice@example.com"], "department": ["vets", "admin"]})
    decision, response = outcome(handler, event)
    assert decision == "allow" and response is not None
    assert response["context"]["email"] == "alice@example.com"
    assert response["context"]["department"] == "vets,admin"
    assert EMAIL_URI not in response["context"]


def test_an_absent_attribute_is_left_out() -> None:
    handler = create_handler(env(SAML_CONTEXT_ATTRIBUTES=f"email={EMAIL_URI}"))
    decision, response = outcome(handler, saml_event(attributes={"department": ["vets"]}))
    assert decision == "allow" and response is not None
    assert "email" not in response["context"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (EMAIL_URI, "name it: key=attribute"),  # a URI is no context key
        ("claims=mail", "claims"),  # reserved
        ("email=", "empty or repeats"),
        ("email=mail,email=other", "empty or repeats"),
    ],
)
def test_bad_context_attributes_fail_the_cold_start(value: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_handler(env(SAML_CONTEXT_ATTRIBUTES=value))
    assert "SAML_CONTEXT_ATTRIBUTES" in str(caught.value) and fragment in str(caught.value)
