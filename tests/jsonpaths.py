"""Paths into parsed JSON documents, for the property and fuzz tests that alter real records."""

from __future__ import annotations

from typing import Any


def paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path in `doc` (dict keys and list indexes), `prefix` (the document itself) first."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, (*prefix, i))
    return out
