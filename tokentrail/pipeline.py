"""The normalize + enrich stage: one raw unit in, events and DLQ records out. No I/O here.

Used by `tokentrail process`, the embedded runtime and the Kafka enrich worker alike.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

import orjson

from collectors._source import Source
from enrichers import Chain
from enrichers.scrub import Scrubber, first_hint, has_secret_hint, hinted_outside, scrub_text
from tokentrail.clock import Clock
from tokentrail.errors import DropEvent, RecordError
from tokentrail.event import format_ts, second_text

DEFAULT_MAX_RECORD_BYTES: Final = 1 << 20
_FINAL_SCRUB: Final = Scrubber(collect=False)


class Raw:
    """One unit as an input read it: a line, a message, a request body.

    size: the true size when `data` was cut short (oversized line). document: a whole-file document,
    bounded by max_document_bytes instead. key: the Kafka key the collect stage publishes it under
    (its natural key). hint: where the first hint of a secret in `data` starts (-1: none), when the
    reader found it already (collectors.inputs.reader scans whole blocks); None: `process` scans.
    Plain classes here and in the other per-record types, not dataclasses:
    compiled, a dataclass is built through its generated Python `__init__`, six times slower.
    """

    __slots__ = ("source", "data", "origin", "size", "document", "key", "hint")

    def __init__(self, source: str, data: bytes, origin: str, size: int | None = None, document: bool = False,
                 key: bytes | None = None, hint: int | None = None) -> None:
        self.source = source
        self.data = data
        self.origin = origin
        self.size = size
        self.document = document
        self.key = key
        self.hint = hint

    def __repr__(self) -> str:
        return (f"Raw(source={self.source!r}, origin={self.origin!r}, bytes={len(self.data)}, size={self.size}, "
                f"document={self.document}, key={self.key!r})")  # no data: it may hold a secret


class Result:
    """What `Processor.process` made of one raw unit. clean: the unit held no hint of a secret
    (see Processor.encode)."""

    __slots__ = ("events", "dlq", "dropped", "clean")

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.dlq: list[dict[str, Any]] = []
        self.dropped = 0
        self.clean = False


def dlq_record(
    *, stage: str, source: str, reason: str, origin: str, original: Any, clock: Clock,
    max_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> dict[str, Any]:
    """A DLQ record per interfaces.md: the original with secrets scrubbed, and why it failed."""
    if isinstance(original, (bytes, bytearray)):
        text = bytes(original[:max_bytes]).decode("utf-8", "replace")
        size = len(original)
    elif isinstance(original, str):
        text, size = original[:max_bytes], len(original)
    else:
        text = orjson.dumps(original, default=str).decode()
        size = len(text)
        text = text[:max_bytes]
    dlq: dict[str, Any] = {"stage": stage, "source": source, "reason": scrub_text(reason)[:2000], "origin": origin}
    if size > max_bytes:
        dlq["truncated"] = True
        dlq["original_bytes"] = size
    return {
        "@timestamp": format_ts(clock.now()),
        "event": {"kind": "pipeline_error", "original": scrub_text(text)},
        "tokentrail": {"dlq": dlq},
    }


class Processor:
    """Parse, unwrap, normalize and enrich raw units of any registered source."""

    def __init__(
        self, sources: Mapping[str, Source], chain: Chain, clock: Clock | None = None,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES, keep_original: bool = False,
    ) -> None:
        self.sources = sources
        self._resolved: dict[str, Source] = {}  # a plain dict: `sources` may be a lazy Mapping in Python
        self.chain = chain
        self.clock = clock or Clock()
        self.max_record_bytes = max_record_bytes
        # HEC passthrough (sinks/splunk_hec): the scrubbed raw record rides in the first event's
        # `event.original`; "" marks the record's other events. Off unless such a sink is configured.
        self.keep_original = keep_original
        self._ingested_second = -1
        self._ingested_text = ""

    def dead_letter(self, raw: Raw, stage: str, reason: str, original: Any = None) -> dict[str, Any]:
        return dlq_record(
            stage=stage, source=raw.source, reason=reason, origin=raw.origin,
            original=raw.data if original is None else original, clock=self.clock,
            max_bytes=self.max_record_bytes,
        )

    def process(self, raw: Raw) -> Result:
        """Every record of `raw` ends as an event or a DLQ record; this never raises for bad data."""
        result = Result()
        source = self._resolved.get(raw.source)
        if source is None:
            source = self.sources.get(raw.source)  # collectors.SOURCES imports a source on first use
            if source is not None:
                self._resolved[raw.source] = source
        if source is None:
            result.dlq.append(self.dead_letter(raw, "normalize", f"unknown source {raw.source!r}"))
            return result
        size = raw.size or len(raw.data)
        if size > self.max_record_bytes and not raw.document:
            reason = f"record of {size} bytes is over the limit of {self.max_record_bytes}"
            result.dlq.append(self.dead_letter(raw, "normalize", reason))
            return result
        try:
            doc = orjson.loads(raw.data)
        except orjson.JSONDecodeError as exc:
            result.dlq.append(self.dead_letter(raw, "normalize", f"malformed JSON: {exc}"))
            return result
        try:
            unwrapped = source.unwrap(doc)
            records = unwrapped if type(unwrapped) is list else list(unwrapped)
        except RecordError as exc:
            result.dlq.append(self.dead_letter(raw, "normalize", exc.reason))
            return result
        except RecursionError:
            result.dlq.append(self.dead_letter(raw, "normalize", "JSON nested too deeply"))
            return result
        ingested = self._ingested()
        # One linear scan of the raw bytes tells the scrubber whether walking the events is needed.
        hint = raw.hint
        if hint is None:
            hint = first_hint(raw.data)
        result.clean = hint < 0
        if len(records) == 1:
            self._one(raw, source, records[0], raw.origin, ingested, hint, result)
        else:
            for i, record in enumerate(records):
                self._one(raw, source, record, f"{raw.origin}#{i}", ingested, hint, result)
        return result

    def _ingested(self) -> str:
        """`event.ingested`: now, in whole seconds, as Elastic's Fleet final pipeline writes it
        ("truncate-subseconds-event-ingested", for storage: a few distinct values compress well).
        From the system clock, the text is made once per second, not per record."""
        if type(self.clock) is Clock:
            second = time.time_ns() // 1_000_000_000
            if second != self._ingested_second:
                self._ingested_text = second_text(second) + ".000Z"
                self._ingested_second = second
            return self._ingested_text
        return format_ts(self.clock.now().replace(microsecond=0))

    def encode(self, event: dict[str, Any], clean: bool = False, option: int = 0) -> bytes:
        """The event as JSON, after a last scan of the exact bytes that leave: the final safety net.

        `clean` (Result.clean): the raw record held no hint of a secret, so neither can its events
        (sources copy and reshape, never decode); the scan is then skipped. `option`: orjson's.
        """
        data = orjson.dumps(event, option=option)
        if not clean and has_secret_hint(data):
            data = orjson.dumps(_FINAL_SCRUB(event), option=option)
        return data

    def encode_line(self, event: dict[str, Any], clean: bool = False) -> bytes:
        """`encode` plus the newline of NDJSON, appended by orjson without a copy."""
        return self.encode(event, clean, orjson.OPT_APPEND_NEWLINE)

    def process_stream(self, source: str, units: Iterable[Any], label: str, out: Any, dlq_out: Any) -> None:
        """`tokentrail process`: every unit of `units` (collectors.inputs.reader.Unit) through `process`,
        events to `out` and DLQ records to `dlq_out` as NDJSON (both binary files). Here, compiled,
        rather than in the CLI: this loop runs once per line."""
        write, write_dlq = out.write, dlq_out.write
        for unit in units:
            result = self.process(Raw(source, unit.data, f"{label}:{unit.line}", unit.size, unit.document,
                                      hint=unit.hint))
            clean = result.clean
            for event in result.events:
                write(self.encode_line(event, clean))
            for record in result.dlq:
                write_dlq(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))

    def _one(self, raw: Raw, source: Source, record: dict, origin: str, ingested: str, hint: int,
             result: Result) -> None:
        original = scrub_text(orjson.dumps(record).decode()) if self.keep_original else None
        try:
            events = source.normalize(record)
        except RecordError as exc:
            result.dlq.append(self._dlq_for(raw, origin, "normalize", exc.reason, record))
            return
        except RecursionError:
            result.dlq.append(self._dlq_for(raw, origin, "normalize", "JSON nested too deeply", record))
            return
        except Exception as exc:  # a mapping bug must not stop the pipeline
            reason = f"mapping raised {type(exc).__name__}: {exc}"
            result.dlq.append(self._dlq_for(raw, origin, "normalize", reason, record))
            return
        chain, out = self.chain, result.events
        scan = hint >= 0
        for event in events:
            ev = event.get("event")
            if type(ev) is dict:
                ev["ingested"] = ingested
            else:
                event.setdefault("event", {})["ingested"] = ingested
            tt = event.get("_tt")
            if tt is None:
                event.setdefault("_tt", {})["scan"] = scan
            else:
                # A record whose only hint is the Authorization header its source took out of the
                # event (a bearer token in an access log) leaves nothing in the event to walk for.
                moved = tt.get("authorization")
                tt["scan"] = scan and (type(moved) is not str or hinted_outside(raw.data, hint, moved))
            try:
                event = chain(event)
            except DropEvent:
                result.dropped += 1
                continue
            except RecordError as exc:
                result.dlq.append(self._dlq_for(raw, origin, "enrich", exc.reason, record))
                continue
            # `in` first: dict.pop is a method call even compiled, and few events have extras
            extra = event.pop("_extra") if "_extra" in event else None
            if original is not None:
                event.setdefault("event", {})["original"] = original
                original = ""
            out.append(event)
            if extra:
                out.extend(extra)

    def _dlq_for(self, raw: Raw, origin: str, stage: str, reason: str, record: Any) -> dict[str, Any]:
        try:
            original: Any = orjson.dumps(record)
        except (TypeError, orjson.JSONEncodeError):
            original = raw.data
        return dlq_record(stage=stage, source=raw.source, reason=reason, origin=origin, original=original,
                          clock=self.clock, max_bytes=self.max_record_bytes)
