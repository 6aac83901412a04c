"""JSON read strictly: one key, one value."""

from __future__ import annotations

from typing import Any


def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads`: a repeated key raises ValueError.

    Parsers disagree on which duplicate wins, so a second "alg" or "effect" must never
    silently replace the first.
    """
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result
