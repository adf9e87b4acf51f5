"""The three stages over any bus: collect (inputs -> raw topics), enrich (raw -> events + DLQ),
ship (events -> sinks), plus the embedded DLQ writer. Same code in `run` and in the Kafka workers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import structlog

from sinks._sink import Item, Outcome, Result, Sink
from tokentrail import metrics
from tokentrail.bus import Bus, Consumer, Message, OnDone, Topics
from tokentrail.clock import Clock
from tokentrail.errors import AuthError
from tokentrail.pipeline import Processor, Raw, dlq_record
from tokentrail.retry import Backoff, sleep_until
from tokentrail.stats import Stats

log = structlog.get_logger("tokentrail")
_CLOCK = Clock()


class Latch:
    """Calls `done(error)` once `n` children reported; the first error wins."""

    __slots__ = ("_n", "_done", "_error", "_lock")

    def __init__(self, n: int, done: OnDone) -> None:
        self._n, self._done, self._error = n, done, None
        self._lock = threading.Lock()
        if n == 0:
            done(None)

    def child(self, error: BaseException | None) -> None:
        with self._lock:
            if error is not None and self._error is None:
                self._error = error
            self._n -= 1
            finished = self._n == 0
        if finished:
            self._done(self._error)


def collect(inp: Any, bus: Bus, topics: Topics, stop: threading.Event, once: bool, stats: Stats | None = None) -> None:
    """Run one input, publishing raw records to `<p>.raw.<source>`."""
    topic = topics.raw(inp.source)
    counter = metrics.EVENTS_IN.labels(source=inp.source)

    def emit(raw: Raw, on_done: OnDone) -> None:
        headers = {"origin": raw.origin.encode()}
        if raw.size:
            headers["size"] = str(raw.size).encode()
        if raw.document:
            headers["document"] = b"1"
        counter.inc()
        if stats:
            stats.seen_in(inp.source)
        bus.publish(topic, raw.data, key=raw.key, on_done=on_done, headers=headers,
                    origin=raw.origin)

    inp.run(emit, stop, once)


def _raw_from(msg: Message, topics: Topics) -> Raw:
    source = topics.source_of(msg.topic) or ""
    h = msg.headers or {}
    origin = msg.origin or (h["origin"].decode() if "origin" in h else f"{msg.topic}")
    size = int(h["size"]) if "size" in h else None
    return Raw(source, msg.value, origin, size, h.get("document") == b"1")


def enrich(consumer: Consumer, bus: Bus, topics: Topics, processor: Processor, stop: threading.Event,
           *, batch: int = 500) -> None:
    """Normalize and enrich raw records; a raw record is acked once its events and DLQ records are safe."""
    while not stop.is_set():
        msgs = consumer.poll(batch, 0.2)
        if not msgs:
            if consumer.finished():
                return
            continue
        for msg in msgs:
            result = processor.process(_raw_from(msg, topics))
            latch = Latch(len(result.events) + len(result.dlq), msg.ack)
            for event in result.events:
                eid = (event.get("event") or {}).get("id")
                bus.publish(topics.events, processor.encode(event, result.clean), key=eid.encode() if eid else None,
                            on_done=latch.child)
            for rec in result.dlq:
                d = rec["tokentrail"]["dlq"]
                metrics.DLQ.labels(stage=d["stage"], reason=metrics.reason_class(d["stage"], d["reason"])).inc()
                bus.publish(topics.dlq, orjson.dumps(rec), on_done=latch.child)


class Shipper:
    """Send event batches to every sink; ack an event when each sink delivered or dead-lettered it.

    Retryable failures are retried with backoff for as long as it takes (the worker stops consuming
    meanwhile: backpressure); on stop, what is not delivered is left unacknowledged (redelivered later).
    """

    def __init__(self, sinks: list[Sink], bus: Bus, topics: Topics, stop: threading.Event, *,
                 stats: Stats | None = None, sleep: Callable[[float], None] = time.sleep,
                 backoff: Callable[[], Backoff] = Backoff, on_fatal: Callable[[str], None] | None = None) -> None:
        self.sinks, self.bus, self.topics, self.stop = sinks, bus, topics, stop
        self.stats, self.sleep, self.backoff = stats, sleep, backoff
        self.on_fatal = on_fatal

    def run(self, consumer: Consumer, batch_size: int = 2000, batch_seconds: float = 1.0) -> None:
        while not self.stop.is_set():
            msgs = self._gather(consumer, batch_size, batch_seconds)
            if not msgs:
                if consumer.finished():
                    return
                continue
            self.ship(msgs)

    def _gather(self, consumer: Consumer, size: int, seconds: float) -> list[Message]:
        msgs = consumer.poll(size, 0.2)
        deadline = time.monotonic() + seconds
        while msgs and len(msgs) < size and time.monotonic() < deadline and not consumer.finished():
            more = consumer.poll(size - len(msgs), min(0.05, max(0.0, deadline - time.monotonic())))
            if not more:
                break
            msgs += more
        return msgs

    def ship(self, msgs: list[Message]) -> None:
        items = [Item(orjson.loads(m.value), m.value) for m in msgs]
        latches = [Latch(len(self.sinks), m.ack) for m in msgs]
        for sink in self.sinks:
            outcomes = self._deliver(sink, items)
            for i, res in enumerate(outcomes):
                if res is None:
                    continue  # stopped before delivery: leave unacknowledged
                if res.outcome is Outcome.DEAD_LETTER:
                    self._dead_letter(sink, items[i], res, latches[i])
                else:
                    latches[i].child(None)
        if self.stats:
            for item in items:
                self.stats.shipped(item.event)

    def _deliver(self, sink: Sink, items: list[Item]) -> list[Result | None]:
        out: list[Result | None] = [None] * len(items)
        pending = list(range(len(items)))
        backoff = self.backoff()
        while pending:
            t0 = time.monotonic()
            try:
                results = sink.send([items[i] for i in pending])
            except AuthError as exc:
                log.error("sink refused credentials; stopping", sink=sink.name, error=str(exc))
                if self.on_fatal:
                    self.on_fatal(f"sink {sink.name}: {exc}")
                self.stop.set()
                return out
            metrics.BATCH_SECONDS.labels(sink=sink.name).observe(time.monotonic() - t0)
            retry = []
            for i, res in zip(pending, results, strict=True):
                if res.outcome is Outcome.RETRY:
                    retry.append(i)
                else:
                    out[i] = res
                    if res.outcome is Outcome.DELIVERED:
                        metrics.EVENTS_OUT.labels(sink=sink.name).inc()
                    elif res.outcome is Outcome.DUPLICATE:
                        metrics.DUPLICATES.labels(sink=sink.name).inc()
            if retry:
                metrics.RETRIES.labels(sink=sink.name).inc(len(retry))
                wait = backoff.next()
                reason = next((r.reason for r in results if r.outcome is Outcome.RETRY), None)
                log.warning("sink asked to retry", sink=sink.name, events=len(retry), wait_seconds=round(wait, 2),
                            reason=reason)
                if not sleep_until(self.stop.is_set, wait, self.sleep):
                    return out
            pending = retry
        return out

    def _dead_letter(self, sink: Sink, item: Item, res: Result, latch: Latch) -> None:
        source = (item.event.get("event") or {}).get("dataset", "?")
        reason = f"{sink.name}: {res.reason or 'rejected'}"
        rec = dlq_record(stage="ship", source=source, reason=reason, origin=f"sink:{sink.name}",
                         original=item.data, clock=_CLOCK)
        metrics.DLQ.labels(stage="ship", reason=metrics.reason_class("ship", reason)).inc()
        metrics.SINK_DEAD_LETTERS.labels(sink=sink.name).inc()
        self.bus.publish(self.topics.dlq, orjson.dumps(rec), on_done=latch.child)


def write_dlq(consumer: Consumer, sink: Sink, stop: threading.Event, stats: Stats | None = None) -> None:
    """Embedded mode: dead-letter records to the DLQ file; acked once written."""
    while not stop.is_set():
        msgs = consumer.poll(1000, 0.2)
        if not msgs:
            if consumer.finished():
                return
            continue
        items = [Item(orjson.loads(m.value), m.value) for m in msgs]
        while True:
            results = sink.send(items)
            if all(r.outcome is not Outcome.RETRY for r in results):
                break
            if not sleep_until(stop.is_set, 1.0, time.sleep):
                return
        for m, item in zip(msgs, items, strict=True):
            if stats:
                stats.dead_lettered(item.event)
            m.ack()

