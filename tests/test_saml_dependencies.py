"""lxml and xmlsec are one pair: they must share one libxml2, and only SAML may load them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.conftest import run_python

ROOT = Path(__file__).resolve().parent.parent


def test_lxml_and_xmlsec_import_together_on_one_libxml2() -> None:
    # A mismatched pair fails right here: "lxml & xmlsec libxml2 library version mismatch".
    import lxml.etree
    import xmlsec

    assert xmlsec.get_libxml_version() == lxml.etree.LIBXML_VERSION
    assert xmlsec.get_libxml_compiled_version() == lxml.etree.LIBXML_COMPILED_VERSION


def test_python3_saml_loads_with_the_pair() -> None:
    from onelogin.saml2.response import OneLogin_Saml2_Response

    assert callable(OneLogin_Saml2_Response)


def test_the_pair_is_pinned_exactly_and_only_in_the_saml_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    saml = " ".join(extras["saml"])
    assert "xmlsec==" in saml and "lxml" in saml
    for name, requirements in extras.items():
        if name not in ("saml", "dev"):
            assert not any(r.startswith(("lxml", "xmlsec", "python3-saml")) for r in requirements), name
    assert not any(r.startswith(("lxml", "xmlsec", "python3-saml")) for r in project["dependencies"])
    pins = (ROOT / "constraints.txt").read_text().splitlines()
    assert any(line.startswith("lxml==") for line in pins)
    assert any(line.startswith("xmlsec==") for line in pins)


@pytest.mark.parametrize("handler", ["saml", "multi"])
def test_without_the_saml_libraries_the_cold_start_says_what_is_missing(handler: str) -> None:
    """The slim layer has no python3-saml, lxml or xmlsec: a clear configuration error, not a traceback."""
    result = run_python(
        f"""
        import json, sys

        class NoSamlLibraries:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("onelogin", "lxml", "xmlsec"):
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, NoSamlLibraries())
        from authorizers.errors import ConfigurationError
        try:
            from authorizers.handlers.{handler} import create_handler
            create_handler({{
                "AUTHORIZER_SCHEMES": "saml",
                "SAML_IDP_ENTITY_ID": "https://idp.example.com",
                "SAML_IDP_CERT": "x",
                "SAML_SP_ENTITY_ID": "https://sp.example.com",
                "SAML_ACS_URL": "https://sp.example.com/acs",
            }} if "{handler}" == "multi" else {{}})
        except ConfigurationError as exc:
            print(json.dumps(str(exc)))
        """
    )
    assert "SAML needs python3-saml, lxml and xmlsec (onelogin is missing): use the full layer" in result
