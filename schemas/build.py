"""Regenerate the committed schema artifacts: `python -m schemas.build` (a test checks they are current).

Writes schemas/event.schema.json, schemas/templates/*/*.json and schemas/FIELDS.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from schemas import declared_fields
from schemas.elasticsearch import templates
from schemas.jsonschema import event_schema

HERE = Path(__file__).parent
_OPTS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def artifacts() -> dict[Path, bytes]:
    out: dict[Path, bytes] = {HERE / "event.schema.json": orjson.dumps(event_schema(), option=_OPTS) + b"\n"}
    for kind, items in templates().items():
        for name, body in items.items():
            out[HERE / "templates" / kind / f"{name}.json"] = orjson.dumps(body, option=_OPTS) + b"\n"
    out[HERE / "FIELDS.md"] = field_reference().encode()
    return out


def field_reference() -> str:
    lines = ["# Field reference", "",
             "Every field Tokentrail writes, generated from the `fields.yml` declarations by",
             "`python -m schemas.build`. `ecs` marks fields defined by the Elastic Common Schema.", "",
             "| field | type | ecs | description |", "|---|---|---|---|"]
    for name, f in sorted(declared_fields().items()):
        desc = str(f.get("description", "")).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{name}` | {f.get('type', 'keyword')} | {'ecs' if f.get('external') == 'ecs' else ''} | {desc} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    for path, data in artifacts().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
