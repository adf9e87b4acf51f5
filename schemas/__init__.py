"""Field declarations (schemas/fields.yml plus collectors/<source>/fields.yml) and derived artifacts."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


@lru_cache(maxsize=1)
def declared_fields() -> dict[str, dict[str, Any]]:
    """Every declared field by dotted name, from the base file and each source's fields.yml."""
    from collectors import SOURCE_NAMES

    files = [resources.files("schemas") / "fields.yml"]
    files += [resources.files(f"collectors.{name}") / "fields.yml" for name in SOURCE_NAMES]
    extra = resources.files("enrichers") / "fields.yml"
    if extra.is_file():
        files.append(extra)
    out: dict[str, dict[str, Any]] = {}
    for f in files:
        if not f.is_file():
            continue
        for item in yaml.safe_load(f.read_text()) or []:
            out[item["name"]] = item
    return out


def field_paths(event: Any, prefix: str = "") -> set[str]:
    """Dotted paths of the leaves of an event; lists of objects continue the same path (as ES does)."""
    paths: set[str] = set()
    if isinstance(event, dict):
        for k, v in event.items():
            p = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict | list) and v:
                paths |= field_paths(v, p)
            else:
                paths.add(p)
    elif isinstance(event, list):
        for v in event:
            if isinstance(v, dict | list):
                paths |= field_paths(v, prefix)
            else:
                paths.add(prefix)
    else:
        paths.add(prefix)
    return paths


def undeclared(event: dict[str, Any]) -> list[str]:
    """Paths in `event` that no fields.yml declares (a `flattened` or `object` field covers its subtree)."""
    fields = declared_fields()
    opaque = [n + "." for n, f in fields.items() if f.get("type") in ("flattened", "object", "geo_point")]
    bad = []
    for p in sorted(field_paths(event)):
        if p in fields or any(p.startswith(o) for o in opaque):
            continue
        bad.append(p)
    return bad
