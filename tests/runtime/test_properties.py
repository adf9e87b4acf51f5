"""Property tests: for any input, no crash, and every record ends as an event or a DLQ record."""

from __future__ import annotations

from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import SOURCE_NAMES, SOURCES
from enrichers import build_chain
from tests.jsonpaths import paths
from tokentrail.clock import FixedClock
from tokentrail.pipeline import Processor, Raw

GOLDEN = Path(__file__).parent.parent / "golden"
PROCESSOR = Processor(SOURCES, build_chain(), FixedClock(), max_record_bytes=1 << 16)


def seeds(source: str) -> list[dict]:
    out = []
    for path in sorted((GOLDEN / source).glob("*.ndjson")):
        for line in path.read_bytes().splitlines():
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(doc, dict):
                out.append(doc)
    return out or [{}]


SEEDS = {s: seeds(s) for s in SOURCE_NAMES}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, source: str) -> dict:
    """A real record of `source` with a few values replaced by arbitrary JSON or removed."""
    record = orjson.loads(orjson.dumps(draw(st.sampled_from(SEEDS[source]))))
    for _ in range(draw(st.integers(1, 4))):
        where = [p for p in paths(record) if p]
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = record
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return record


def check(source: str, data: bytes) -> None:
    result = PROCESSOR.process(Raw(source, data, "test:1"))
    for ev in result.events:
        assert "_tt" not in ev and "_extra" not in ev
        assert ev.get("@timestamp") and ev["event"].get("id") and ev["event"].get("dataset")
    for d in result.dlq:
        assert d["tokentrail"]["dlq"]["reason"]
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        assert result.dlq, "malformed input must be dead-lettered"
        return
    try:
        records = list(SOURCES[source].unwrap(doc))
    except Exception:
        records = None  # the source refused the shape: that must be a DLQ record
    if records is None:
        assert result.dlq and not result.events
    else:
        # An empty envelope (an empty API page) yields nothing; every record yields something.
        assert len(records) <= len(result.events) + len(result.dlq) + result.dropped


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(SOURCE_NAMES), data=st.binary(max_size=300))
def test_any_bytes(source: str, data: bytes) -> None:
    """Arbitrary bytes never crash the processor."""
    check(source, data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(SOURCE_NAMES), value=json_values)
def test_any_json(source: str, value: object) -> None:
    """Arbitrary JSON never crashes the processor."""
    check(source, orjson.dumps(value))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), source=st.sampled_from(SOURCE_NAMES))
def test_mutated_records(data: st.DataObject, source: str) -> None:
    """Real records with values broken or removed end as events or DLQ records."""
    check(source, orjson.dumps(data.draw(mutated(source))))


def test_invalid_utf8() -> None:
    """Invalid UTF-8 is a DLQ record with a readable original."""
    result = PROCESSOR.process(Raw("okta", b'{"uuid": "\xff\xfe"}', "test:1"))
    assert result.dlq and not result.events
    assert "\ufffd" in result.dlq[0]["event"]["original"]


def test_deeply_nested() -> None:
    """JSON nested deeper than any parser should follow is a DLQ record, not a crash."""
    for depth in (200, 5000):
        result = PROCESSOR.process(Raw("entra", b"[" * depth + b"]" * depth, "test:1"))
        assert result.dlq or not result.events
    result = PROCESSOR.process(Raw("okta", b'{"a":' * 900 + b"1" + b"}" * 900, "test:1"))
    assert result.dlq and not result.events


def test_oversized_record() -> None:
    """A record over the size limit is dead-lettered with the limit in the reason."""
    big = orjson.dumps({"uuid": "x", "pad": "y" * (1 << 17)})
    result = PROCESSOR.process(Raw("okta", big, "test:1"))
    assert "over the limit" in result.dlq[0]["tokentrail"]["dlq"]["reason"]
