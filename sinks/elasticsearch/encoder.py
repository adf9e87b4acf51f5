"""Bulk NDJSON for data streams: a `create` action with a deterministic `_id`, then the event's JSON.

The event's bytes (`Item.data`, orjson from the enrich stage) are reused as they are: the only work per
event is the action line. `_id` is `event.id`, so a replay of the same record meets its earlier copy
and Elasticsearch answers 409 (a duplicate, never a second document).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

import orjson

from sinks._sink import Item

# Elasticsearch refuses an _id longer than 512 bytes; 128 characters are at most 512 UTF-8 bytes.
_MAX_ID_CHARS = 128
_BAD_DATASET_CHARS = re.compile(r"[^a-z0-9_.]")


@lru_cache(maxsize=1024)
def data_stream(dataset: str | None, namespace: str = "default") -> str:
    """`logs-<dataset>-<namespace>`, with the dataset cleaned to what a data stream name allows."""
    ds = _BAD_DATASET_CHARS.sub("_", (dataset or "").lower()).strip("._") or "generic"
    return f"logs-{ds[:100]}-{namespace}"


def doc_id(event: dict[str, Any]) -> str:
    """The document `_id`: `event.id` itself when it fits, else a hash that still depends only on it.

    An event without `event.id` (none should reach a sink) gets a hash of its content minus
    `event.ingested`, which is the only field that differs when the same record is processed again.
    """
    ev = event.get("event")
    eid = ev.get("id") if isinstance(ev, dict) else None
    if isinstance(eid, str) and eid:
        if len(eid) <= _MAX_ID_CHARS:
            return eid
        return "sha256:" + hashlib.sha256(eid.encode("utf-8", "surrogatepass")).hexdigest()
    canon = dict(event)
    if isinstance(ev, dict):
        canon["event"] = {k: v for k, v in ev.items() if k != "ingested"}
    return "sha256:" + hashlib.sha256(orjson.dumps(canon, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


class Encoder:
    """Item -> the two NDJSON lines of its bulk `create` operation."""

    def __init__(self, namespace: str = "default", *, keep_original: bool = False) -> None:
        self.namespace = namespace
        self.keep_original = keep_original
        self._prefixes: dict[Any, bytes] = {}

    def _prefix(self, dataset: Any) -> bytes:
        key = dataset if isinstance(dataset, str) else None
        prefix = self._prefixes.get(key)
        if prefix is None:
            index = orjson.dumps(data_stream(key, self.namespace))
            prefix = b'{"create":{"_index":' + index + b',"_id":'
            if len(self._prefixes) < 1024:
                self._prefixes[key] = prefix
        return prefix

    def index_of(self, item: Item) -> str:
        ev = item.event.get("event")
        return data_stream(ev.get("dataset") if isinstance(ev, dict) else None, self.namespace)

    def encode(self, item: Item) -> bytes:
        event = item.event
        ev = event.get("event")
        if not isinstance(ev, dict):
            ev = {}
        eid = ev.get("id")
        if type(eid) is str and 0 < len(eid) <= _MAX_ID_CHARS:
            id_json = orjson.dumps(eid)
        else:
            id_json = orjson.dumps(doc_id(event))
        data = item.data
        if (not self.keep_original and "original" in ev) or b"\n" in data:
            # Rare paths: drop the passthrough copy of the raw record, or re-encode JSON that is not one line.
            if not self.keep_original and "original" in ev:
                event = {**event, "event": {k: v for k, v in ev.items() if k != "original"}}
            data = orjson.dumps(event)
        return self._prefix(ev.get("dataset")) + id_json + b"}}\n" + data + b"\n"
