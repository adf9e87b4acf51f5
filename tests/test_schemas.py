"""Schemas: artifacts current, golden outputs valid, templates coherent."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import fastjsonschema
import orjson
import pytest

from schemas.build import artifacts
from schemas.elasticsearch import DATASETS, templates
from schemas.jsonschema import event_schema

GOLDEN = Path(__file__).parent / "golden"
EXPECTED = sorted(GOLDEN.glob("*/*-expected.json"))


@lru_cache(maxsize=1)
def validator():
    return fastjsonschema.compile(event_schema())


def test_artifacts_are_current():
    """The committed JSON Schema, templates and field reference match the declarations."""
    stale = [str(p) for p, data in artifacts().items() if not p.exists() or p.read_bytes() != data]
    assert stale == [], "run: .venv/bin/python -m schemas.build"


@pytest.mark.parametrize("path", EXPECTED, ids=[f"{p.parent.name}/{p.stem}" for p in EXPECTED])
def test_golden_events_validate(path: Path):
    """Every golden event validates against the normalized-event JSON Schema."""
    for event in orjson.loads(path.read_bytes())["events"]:
        validator()(event)


def test_schema_rejects_working_keys():
    """An event that still carries `_tt` is invalid."""
    ev = {"@timestamp": "2026-01-01T00:00:00.000Z", "_tt": {}, "event": {
        "id": "1", "kind": "event", "category": [], "type": [], "action": "a", "outcome": "success",
        "dataset": "okta.system", "ingested": "2026-01-01T00:00:00.000Z"}}
    with pytest.raises(fastjsonschema.JsonSchemaException):
        validator()(ev)


def test_every_dataset_has_an_index_template():
    """Each dataset's data stream is covered by a Tokentrail index template above the built-in `logs`."""
    t = templates()["index_templates"]
    for ds in DATASETS:
        tpl = t[f"logs-{ds}"]
        assert tpl["index_patterns"] == [f"logs-{ds}-*"] and tpl["priority"] > 100 and "data_stream" in tpl


def test_mapping_types():
    """Ids are keywords, addresses ip, times date."""
    props = templates()["component_templates"]["tokentrail@mappings"]["template"]["mappings"]["properties"]
    assert props["source"]["properties"]["ip"]["type"] == "ip"
    assert props["event"]["properties"]["id"]["type"] == "keyword"
    assert props["@timestamp"]["type"] == "date"


def test_schema_rejects_a_bad_ip():
    """A value the mapping would refuse (not an IP in an `ip` field) is invalid."""
    ev = {"@timestamp": "2026-01-01T00:00:00.000Z", "source": {"ip": "not-an-ip"}, "event": {
        "id": "1", "kind": "event", "category": [], "type": [], "action": "a", "outcome": "success",
        "dataset": "okta.system", "ingested": "2026-01-01T00:00:00.000Z"}}
    with pytest.raises(fastjsonschema.JsonSchemaException):
        validator()(ev)


def test_schema_stays_small():
    """Each object is defined once: the schema grows with the fields, not with 2 ** depth."""
    assert len(orjson.dumps(event_schema())) < 1_000_000
