"""Build the pipeline from a Config and run it: the embedded mode of `tokentrail run`.

Threads: one per input (collect), one enrich, one ship, one DLQ writer, joined by the memory bus.
Drain order at the end (or on SIGTERM): inputs stop -> raw topics end -> enrich finishes -> events
topic ends -> ship finishes -> DLQ topic ends -> DLQ writer finishes -> checkpoints saved.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import structlog

from collectors import SOURCES
from collectors.inputs import InputContext, create_input
from enrichers import build_chain
from sinks import create_sink
from sinks.file import FileSink
from tokentrail.bus import Topics, create_bus
from tokentrail.checkpoint import FileStore
from tokentrail.clock import Clock
from tokentrail.config import Config
from tokentrail.pipeline import Processor
from tokentrail.stages import Shipper, collect, enrich, write_dlq
from tokentrail.stats import Stats

log = structlog.get_logger("tokentrail")


def build_processor(cfg: Config, clock: Clock | None = None, state: Any = None) -> Processor:
    """The normalize + enrich stage for `cfg`; `state` is the enrichers' shared state (Kafka) or local."""
    return Processor(SOURCES, build_chain(cfg, state=state), clock or Clock(), cfg.pipeline.max_record_bytes,
                     keep_original=keep_original(cfg))


def keep_original(cfg: Config) -> bool:
    """Whether events must carry their raw record: a sink passes raw records through (HEC passthrough)."""
    return any(getattr(s.config, "passthrough", False) for s in cfg.sinks)


@dataclass
class Embedded:
    cfg: Config
    clock: Clock = field(default_factory=Clock)
    stats: Stats = field(default_factory=Stats)
    stop: threading.Event = field(default_factory=threading.Event)
    fatal: list[str] = field(default_factory=list)
    sinks: list[Any] = field(default_factory=list)

    def ready(self) -> bool:
        """For /readyz: every sink reachable and no stage has failed."""
        if self.fatal or not self.sinks:
            return False
        try:
            return all(s.ready() for s in self.sinks)
        except Exception:  # a readiness probe answers, it does not raise
            return False

    def run(self, once: bool) -> int:
        cfg = self.cfg
        bus = create_bus(cfg.bus)
        topics = Topics(cfg.bus.topic_prefix)
        store = FileStore(cfg.state_dir)
        ctx = InputContext(store=store, clock=self.clock, max_record_bytes=cfg.pipeline.max_record_bytes,
                           max_document_bytes=cfg.pipeline.max_document_bytes)
        inputs = [create_input(spec, ctx) for spec in cfg.inputs]
        sinks = [create_sink(spec) for spec in cfg.sinks]
        self.sinks = sinks
        dlq_sink = FileSink(cfg.dlq.path, name="dlq")
        processor = build_processor(cfg, self.clock)
        # Ship and DLQ threads keep going after `stop` until their topics are drained.
        drain = threading.Event()

        def guarded(name: str, fn: Any, *args: Any) -> threading.Thread:
            def body() -> None:
                try:
                    fn(*args)
                except Exception as exc:  # a crashed stage must stop the run, not hang it
                    log.exception("stage crashed", stage=name)
                    self.fatal.append(f"{name}: {type(exc).__name__}: {exc}")
                    self.stop.set()
                    drain.set()

            t = threading.Thread(target=body, name=name, daemon=True)
            t.start()
            return t

        # In config order: the memory consumer drains the first topics first, so identity-provider
        # inputs listed before access logs let issuances be seen before the tokens' use.
        raw_topics = list(dict.fromkeys(topics.raw(i.source) for i in inputs))
        collectors = [guarded(f"collect:{i.name}", collect, i, bus, topics, self.stop, once, self.stats)
                      for i in inputs]
        enricher = guarded("enrich", enrich, bus.consumer(raw_topics, "enrich"), bus, topics, processor, drain)
        shipper = Shipper(sinks, bus, topics, drain, stats=self.stats, on_fatal=self.fatal.append)
        ship = guarded("ship", shipper.run, bus.consumer([topics.events], "ship"), cfg.pipeline.batch_size,
                       cfg.pipeline.batch_seconds)
        dlq = guarded("dlq", write_dlq, bus.consumer([topics.dlq], "dlq"), dlq_sink, drain, self.stats)

        for t in collectors:
            while t.is_alive():
                t.join(0.2)
        for topic in raw_topics:
            bus.end(topic)
        self._join(enricher, drain)
        bus.end(topics.events)
        self._join(ship, drain)
        bus.end(topics.dlq)
        self._join(dlq, drain)
        for inp in inputs:
            close = getattr(inp, "close", None)
            if close:
                close()
        for s in [*sinks, dlq_sink]:
            s.close()
        return 1 if self.fatal else 0

    def _join(self, t: threading.Thread, drain: threading.Event) -> None:
        deadline = None
        while t.is_alive():
            t.join(0.2)
            if self.stop.is_set():
                # After SIGTERM the stages drain what is in flight, within the grace period; then what
                # is left stays unacknowledged (its checkpoint did not move) and is read again next time.
                now = self.clock.monotonic()
                deadline = deadline or now + self.cfg.pipeline.drain_seconds
                if now > deadline:
                    drain.set()
                if now > deadline + 2:
                    log.warning("stage did not finish within the grace period; its records will be re-read",
                                stage=t.name)
                    return
