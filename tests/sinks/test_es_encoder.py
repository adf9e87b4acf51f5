"""Bulk NDJSON encoding for data streams: index names, `_id`, reuse of the event's bytes."""

from __future__ import annotations

import orjson
from sinkkit import items_of, make_event

from sinks._sink import Item
from sinks.elasticsearch.encoder import Encoder, data_stream, doc_id


def lines(b: bytes) -> list[dict]:
    return [orjson.loads(x) for x in b.split(b"\n") if x]


def test_data_stream_name_from_dataset_and_namespace():
    """logs-<event.dataset>-<namespace>."""
    assert data_stream("okta.system", "prod") == "logs-okta.system-prod"


def test_data_stream_name_is_cleaned():
    """Characters a data stream name refuses become `_`; no dataset is `generic`."""
    assert data_stream("My-Data Set", "default") == "logs-my_data_set-default"
    assert data_stream(None, "default") == "logs-generic-default"


def test_action_is_create_with_event_id_and_data_is_reused():
    """The action line is a create with `_id` = event.id; the source line is Item.data verbatim."""
    item = items_of([make_event(7)])[0]
    out = Encoder("default").encode(item)
    action, source = out.split(b"\n")[:2]
    assert orjson.loads(action) == {"create": {"_index": "logs-okta.system-default", "_id": "evt-okta.system-000007"}}
    assert source == item.data and out.endswith(b"\n")


def test_same_event_gives_same_id_across_processing():
    """A replay (same record, new event.ingested) keeps the same `_id`."""
    a, b = make_event(1), make_event(1)
    b["event"]["ingested"] = "2030-01-01T00:00:00Z"
    assert doc_id(a) == doc_id(b)
    del a["event"]["id"], b["event"]["id"]
    assert doc_id(a) == doc_id(b) and doc_id(a).startswith("sha256:")


def test_long_event_id_is_hashed_under_the_id_limit():
    """An event.id too long for `_id` becomes a stable hash of it."""
    ev = make_event(1)
    ev["event"]["id"] = "x" * 600
    assert doc_id(ev) == doc_id(dict(ev)) and len(doc_id(ev)) < 512


def test_original_is_dropped_unless_kept():
    """event.original (only there for HEC passthrough) does not reach Elasticsearch by default."""
    ev = make_event(1)
    ev["event"]["original"] = '{"uuid": "raw"}'
    item = items_of([ev])[0]
    assert "original" not in lines(Encoder("default").encode(item))[1]["event"]
    assert lines(Encoder("default", keep_original=True).encode(item))[1]["event"]["original"] == '{"uuid": "raw"}'


def test_multiline_json_is_reencoded_on_one_line():
    """Pretty-printed input cannot break the NDJSON framing."""
    ev = make_event(2)
    item = Item(ev, orjson.dumps(ev, option=orjson.OPT_INDENT_2))
    out = lines(Encoder("default").encode(item))
    assert len(out) == 2 and out[1] == ev
