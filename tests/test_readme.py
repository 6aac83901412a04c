"""The README's table of environment variables says what each handler really reads."""

from __future__ import annotations

import re
from pathlib import Path

from authorizers import settings

README = Path(__file__).resolve().parent.parent / "README.md"
HANDLER_VARIABLES = {
    "jwt": settings.KNOWN_VARIABLES,
    "cognito": settings.COGNITO_VARIABLES,
    "saml": settings.SAML_VARIABLES,
    "sigv4": settings.SIGV4_VARIABLES,
    "multi": settings.MULTI_VARIABLES,
}


def _table() -> dict[str, set[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Environment variables, per handler", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    columns = {name: header.index(name) for name in HANDLER_VARIABLES}
    read_by: dict[str, set[str]] = {name: set() for name in HANDLER_VARIABLES}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        variable = re.fullmatch(r"`([A-Z0-9_]+)`", cells[0])
        assert variable, line
        for handler, column in columns.items():
            assert cells[column] in ("", "✓"), line
            if cells[column] == "✓":
                read_by[handler].add(variable.group(1))
    return read_by


def test_the_environment_table_matches_the_settings() -> None:
    table = _table()
    for handler, variables in HANDLER_VARIABLES.items():
        assert table[handler] == set(variables), handler
