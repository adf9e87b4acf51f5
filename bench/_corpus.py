"""Synthetic corpora for benchmarks, built from the bundled demo records with fresh ids per line."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import orjson

from tokentrail.demo import demo_dir

MIX = {"okta": 0.5, "entra": 0.25, "google": 0.125, "confluence": 0.125}


def templates(source: str) -> list[dict]:
    out = []
    for line in (demo_dir() / f"{source}.ndjson").read_bytes().splitlines():
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict) and not any(isinstance(doc.get(k), list) and k in ("records", "value", "items",
                                                                                    "results", "entities", "data")
                                             for k in doc):
            out.append(doc)
    return out


def _fresh(source: str, rec: dict, n: int) -> dict:
    rec = orjson.loads(orjson.dumps(rec))
    uid = str(uuid.UUID(int=n + 1))
    if source == "okta":
        rec["uuid"] = uid
    elif source == "entra":
        if "properties" in rec and isinstance(rec["properties"], dict):
            rec["properties"]["id"] = uid
        else:
            rec["id"] = uid
    elif source == "google" and isinstance(rec.get("id"), dict):
        rec["id"]["uniqueQualifier"] = str(n)
    elif source == "confluence":
        rec["summary_seq"] = n  # Confluence has no id: vary the record so ids differ
        rec.pop("summary_seq")
        if "creationDate" in rec:
            rec["creationDate"] = 1700000000000 + n
    return rec


def write_mixed(path: Path, lines: int) -> dict[str, int]:
    """Write `lines` NDJSON records in the MIX proportions, interleaved; return counts per source."""
    pools = {s: itertools.cycle(templates(s)) for s in MIX}
    pattern = [s for s, share in MIX.items() for _ in range(int(share * 8))]
    counts = dict.fromkeys(MIX, 0)
    with open(path, "wb") as f:
        for n in range(lines):
            source = pattern[n % len(pattern)]
            counts[source] += 1
            f.write(orjson.dumps(_fresh(source, next(pools[source]), n)) + b"\n")
    return counts


def write_source(path: Path, source: str, lines: int) -> None:
    pool = itertools.cycle(templates(source))
    with open(path, "wb") as f:
        for n in range(lines):
            f.write(orjson.dumps(_fresh(source, next(pool), n)) + b"\n")
