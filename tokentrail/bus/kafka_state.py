"""State kept in compacted Kafka topics, so a rescheduled pod carries on where the last one stopped.

`KafkaStore`: input checkpoints (the checkpoint Store protocol) in `<p>.state.checkpoints`, keyed by
input name. `load` reads the topic to its end once; `save` produces the new state (acks=all) and keeps
it in memory. Saving is asynchronous: a checkpoint lost in a crash is an older checkpoint, which means
duplicates, never a gap.

`KafkaState`: the enrichers' SharedState (enrichers/state.py). A put goes to the local tables and to
`<p>.state.<table>` as `{"value": ..., "expires_at": epoch seconds or null}` keyed by the table key; a
follower thread reads every state topic from the beginning and applies what other workers wrote, so all
enrich workers converge on the same tables. Expired entries are skipped when replayed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson
import structlog
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from enrichers.state import DEFAULT_MAX_ENTRIES, LocalState
from tokentrail.bus.kafka import STATE_TABLES, KafkaBus, LogResetWatch
from tokentrail.clock import Clock

log = structlog.get_logger("tokentrail.kafka")


def read_to_end(bus: KafkaBus, topics: list[str], apply: Any, timeout: float = 30.0) -> KafkaConsumer:
    """Read `topics` from the beginning to their current end, calling `apply(record)`; returns the consumer."""
    kc = KafkaConsumer(client_id=f"{bus.client_id}-state", group_id=None, enable_auto_commit=False,
                       auto_offset_reset="earliest", fetch_max_bytes=bus.config.fetch_max_bytes, **bus.kw)
    parts = []
    deadline = time.monotonic() + timeout
    for topic in topics:
        while True:
            found = kc.partitions_for_topic(topic)
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        parts += [TopicPartition(topic, p) for p in sorted(found or ())]
    kc.assign(parts)
    if not parts:
        return kc
    kc.seek_to_beginning(*parts)
    ends = kc.end_offsets(parts)
    while any(kc.position(tp) < end for tp, end in ends.items()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"reading {', '.join(topics)} took more than {timeout:.0f} s")
        for recs in kc.poll(timeout_ms=200, max_records=1000).values():
            for rec in recs:
                apply(rec)
    return kc


class KafkaStore:
    """Checkpoints in the compacted topic `<p>.state.checkpoints` (Store protocol)."""

    def __init__(self, bus: KafkaBus, timeout: float = 30.0) -> None:
        self.bus = bus
        self.topic = bus.topics.state("checkpoints")
        self._data: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        bus.ensure_topics([self.topic], compact=True, partitions=1)
        read_to_end(bus, [self.topic], self._apply, timeout).close()

    def _apply(self, rec: Any) -> None:
        if rec.key is None:
            return
        name = rec.key.decode()
        if rec.value is None:
            self._data.pop(name, None)
            return
        try:
            self._data[name] = orjson.loads(rec.value)
        except orjson.JSONDecodeError:
            log.warning("ignoring a checkpoint that is not JSON", input=name)

    def load(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._data.get(name)

    def save(self, name: str, state: dict[str, Any]) -> None:
        data = orjson.dumps(state)
        with self._lock:
            self._data[name] = orjson.loads(data)
        self.bus.publish_state(self.topic, name.encode(), data)


class KafkaState(LocalState):
    """SharedState over compacted topics `<p>.state.<table>` (see the module docstring)."""

    def __init__(self, bus: KafkaBus, tables: tuple[str, ...] = STATE_TABLES[1:], *,
                 max_entries: int | dict[str, int] = DEFAULT_MAX_ENTRIES, clock: Clock | None = None,
                 timeout: float = 30.0) -> None:
        super().__init__(max_entries, clock)
        self.bus = bus
        self.tables = list(tables)
        topics = [bus.topics.state(t) for t in self.tables]
        bus.ensure_topics(topics, compact=True, partitions=1)
        self._prefix = bus.topics.state("")
        self._kc = read_to_end(bus, topics, self._apply_record, timeout)
        self._kc_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="state-follower", daemon=True)
        self._thread.start()

    def put(self, table: str, key: str, value: dict[str, Any], ttl_seconds: float | None) -> None:
        expires_at = None if ttl_seconds is None else self.clock.time() + max(0.0, ttl_seconds)
        self.apply(table, key, value, expires_at)
        if table not in self.tables:
            self._add_table(table)
        record = orjson.dumps({"value": value, "expires_at": expires_at})
        self.bus.publish_state(self.bus.topics.state(table), key.encode(), record)

    def _add_table(self, table: str) -> None:
        topic = self.bus.topics.state(table)
        self.bus.ensure_topics([topic], compact=True, partitions=1)
        with self._kc_lock:
            if table in self.tables:
                return
            self.tables.append(table)
            parts = list(self._kc.assignment()) + [TopicPartition(topic, 0)]
            self._kc.assign(parts)
            self._kc.seek_to_beginning(TopicPartition(topic, 0))

    def _apply_record(self, rec: Any) -> None:
        table = rec.topic[len(self._prefix):]
        if rec.key is None:
            return
        key = rec.key.decode()
        if rec.value is None:
            self.apply(table, key, None, None)
            return
        try:
            doc = orjson.loads(rec.value)
            self.apply(table, key, doc.get("value"), doc.get("expires_at"))
        except (orjson.JSONDecodeError, AttributeError):
            log.warning("ignoring a state record that is not JSON", table=table)

    def _follow(self) -> None:
        resets, last_check = LogResetWatch(), time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - last_check >= 1.0:
                last_check = time.monotonic()
                self._reread_restarted(resets, last_check)
            try:
                with self._kc_lock:
                    batches = self._kc.poll(timeout_ms=200, max_records=1000)
            except KafkaError as exc:
                log.warning("state follower poll failed; retrying", error=f"{type(exc).__name__}: {exc}")
                self._stop.wait(1.0)
                continue
            for recs in batches.values():
                for rec in recs:
                    self._apply_record(rec)
            if not batches:
                self._stop.wait(0.05)

    def _reread_restarted(self, resets: LogResetWatch, now: float) -> None:
        # A state topic created again (a broker that lost its data): read it from its new beginning,
        # not from our old position, or what other workers write there now would be skipped.
        with self._kc_lock:
            try:
                stale = resets.check(self._kc, now)
                if stale:
                    self._kc.seek_to_beginning(*(tp for tp, _, _ in stale))
            except (KafkaError, AssertionError, ValueError) as exc:
                log.warning("state follower rewind failed", error=f"{type(exc).__name__}: {exc}")
                return
        for tp, pos, hw in stale:
            log.warning("a state topic restarted below the follower's position; reading it again",
                        topic=tp.topic, position=pos, high_watermark=hw)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        try:
            self._kc.close()
        except Exception:
            pass
