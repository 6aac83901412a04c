"""SAML 2.0 assertions from a corporate identity provider, validated with python3-saml in strict mode.

Importing this package loads nothing heavy; :mod:`authorizers.saml.validator` loads
python3-saml, lxml and xmlsec, so only the SAML handler pays for them.
"""
