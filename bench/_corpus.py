"""Synthetic corpora for benchmarks, built from the bundled demo records with fresh ids per line."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import orjson

from tokentrail.demo import demo_dir

MIX = {"okta": 0.5, "entra": 0.25, "google": 0.125, "confluence": 0.125}


def templates(source: str) -> list[dict]:
    """The demo's records of `source` that map to events, one per record.

    Envelopes (an Event Hub body, a Graph page, an API page) are unwrapped into their records, as the
    pipeline does, so every shape the demo shows is in the corpus; the demo's deliberately broken
    lines (bad JSON, no timestamp, an unsupported application) are left out: they show the DLQ, and
    a throughput corpus of events should not be a tenth dead letters.
    """
    from collectors import SOURCES

    src = SOURCES[source]
    out = []
    for line in (demo_dir() / f"{source}.ndjson").read_bytes().splitlines():
        try:
            records = list(src.unwrap(orjson.loads(line)))
            for record in records:
                src.normalize(orjson.loads(orjson.dumps(record)))  # normalize may not mutate; be sure
        except Exception:  # noqa: BLE001 - any failure means a DLQ line, which this corpus leaves out
            continue
        out.extend(records)
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
        # Confluence has no id (event.id hashes the record): vary each form's time so ids differ
        stamp = rec.get("timestamp")
        if "creationDate" in rec:
            rec["creationDate"] = 1700000000000 + n
        elif isinstance(stamp, dict):  # Data Center file: epochSecond + nano
            stamp["nano"] = n % 1_000_000_000
        elif isinstance(stamp, str) and len(stamp) == 24 and stamp[19] == ".":  # Data Center REST
            rec["timestamp"] = f"{stamp[:20]}{n % 1000:03d}Z"
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
