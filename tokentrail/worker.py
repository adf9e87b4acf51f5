"""Distributed workers over Kafka: `tokentrail worker collect|enrich|ship --config FILE`.

Each role is the same stage code as the embedded mode (tokentrail/stages.py) over the Kafka bus:
- collect: runs the configured inputs; raw records go to `<p>.raw.<source>` keyed by the provider's
  natural key when the unit is one record; checkpoints (in `<p>.state.checkpoints`) move only after
  the broker acknowledged.
- enrich: one consumer group (`<group_id>.enrich`) over every raw topic; events to `<p>.events`, DLQ
  records to `<p>.dlq`; a raw offset is committed once its events and DLQ records are acknowledged.
- ship: one consumer group (`<group_id>.ship`) over `<p>.events`; an offset is committed once every
  sink delivered (or dead-lettered) the event. While a sink retries, the consumer pauses (bounded).

`run_all` runs the three roles in one process (`tokentrail run` with `bus.kind: kafka`).
SIGTERM/SIGINT: stop consuming, finish and commit in-flight work, exit 0 within pipeline.drain_seconds.
"""

from __future__ import annotations

import argparse
import logging as std_logging
import os
import signal
import socket
import threading
import time
from typing import Any

import orjson
import structlog

from collectors import SOURCE_NAMES, SOURCES
from tokentrail import metrics
from tokentrail.clock import Clock
from tokentrail.config import Config
from tokentrail.errors import ConfigError
from tokentrail.pipeline import Raw

log = structlog.get_logger("tokentrail.worker")

ROLES = ("collect", "enrich", "ship")


def add_parser(sub: Any) -> None:
    """Contribute `tokentrail worker ROLE --config FILE` to the CLI."""
    w = sub.add_parser(
        "worker", help="one role of the distributed pipeline over Kafka (collect, enrich or ship)",
        description="Run one role of the distributed pipeline over Kafka (bus.kind: kafka). Serves /healthz, "
        "/readyz and /metrics on http.listen; SIGTERM drains in-flight batches and exits 0.")
    w.add_argument("role", choices=ROLES, metavar="ROLE", help="collect, enrich or ship")
    w.add_argument("--config", "-c", required=True, metavar="FILE", help="YAML config with bus.kind: kafka")
    w.add_argument("--worker-id", metavar="ID", help="shown in logs (default: $HOSTNAME, the pod name)")
    w.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from tokentrail import config, logging

    cfg = config.load(args.config)
    if cfg.bus.kind != "kafka":
        raise ConfigError(f"{args.config}: bus.kind must be kafka to run a worker (it is {cfg.bus.kind!r})")
    worker_id = args.worker_id or os.environ.get("HOSTNAME") or socket.gethostname()
    logging.configure(cfg.logging.level, cfg.logging.format, role=args.role, worker_id=worker_id)
    _bridge_client_logs()
    worker = Worker(cfg, [args.role], worker_id)
    _install_signals(worker.stop)
    return worker.run(once=False)


def run_all(cfg: Config, once: bool) -> int:
    """All three roles in one process over Kafka (`tokentrail run` with bus.kind: kafka)."""
    _bridge_client_logs()
    worker = Worker(cfg, list(ROLES), os.environ.get("HOSTNAME") or socket.gethostname())
    _install_signals(worker.stop)
    code = worker.run(once=once)
    for f in worker.fatal:
        print(f"tokentrail: error: {f}", flush=True)
    return code


def _install_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        log.info("signal received; draining", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


class _ClientLogs(std_logging.Handler):
    """kafka-python's warnings and errors as our JSON log lines (its messages carry no secrets)."""

    def emit(self, record: std_logging.LogRecord) -> None:
        try:
            level = "error" if record.levelno >= std_logging.ERROR else "warning"
            getattr(structlog.get_logger("kafka"), level)(record.getMessage()[:500], logger=record.name)
        except Exception:
            pass


def _bridge_client_logs() -> None:
    kafka_log = std_logging.getLogger("kafka")
    if not any(isinstance(h, _ClientLogs) for h in kafka_log.handlers):
        kafka_log.addHandler(_ClientLogs(std_logging.WARNING))
        kafka_log.setLevel(std_logging.WARNING)


def natural_key(raw: Raw, max_bytes: int = 1 << 20) -> bytes | None:
    """The provider's id of the raw unit when it holds exactly one record, else None (no key)."""
    source = SOURCES.get(raw.source)
    if source is None or raw.document or len(raw.data) > max_bytes:
        return None
    try:
        doc = orjson.loads(raw.data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None  # an array is an envelope of several records
    try:
        records = []
        for rec in source.unwrap(doc):
            records.append(rec)
            if len(records) > 1:
                return None  # an envelope of several records: no single key
        key = source.natural_key(records[0]) if records else None
    except Exception:
        return None  # the enrich stage reports what is wrong with it
    return str(key).encode() if key else None


class _KeyedInput:
    """Wraps an input so every raw unit it emits carries its natural key."""

    def __init__(self, inp: Any, max_bytes: int) -> None:
        self.inner, self.name, self.source, self.max_bytes = inp, inp.name, inp.source, max_bytes

    def run(self, emit: Any, stop: threading.Event, once: bool) -> None:
        def keyed(raw: Raw, on_done: Any) -> None:
            k = Raw(raw.source, raw.data, raw.origin, raw.size, raw.document, natural_key(raw, self.max_bytes))
            emit(k, on_done)

        self.inner.run(keyed, stop, once)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close:
            close()


class _Counting:
    """A consumer wrapper counting raw records read per source (the enrich role's events_in)."""

    def __init__(self, consumer: Any, topics: Any) -> None:
        self.c, self.topics = consumer, topics

    def poll(self, max_records: int, timeout: float) -> list[Any]:
        msgs = self.c.poll(max_records, timeout)
        for m in msgs:
            metrics.EVENTS_IN.labels(source=self.topics.source_of(m.topic) or "?").inc()
        return msgs

    def finished(self) -> bool:
        return self.c.finished()

    def close(self) -> None:
        self.c.close()


class Worker:
    """One or more roles over one Kafka bus, with health, metrics and a bounded drain."""

    def __init__(self, cfg: Config, roles: list[str], worker_id: str) -> None:
        self.cfg, self.roles, self.worker_id = cfg, roles, worker_id
        self.stop = threading.Event()
        self.fatal: list[str] = []
        self.threads: dict[str, threading.Thread] = {}
        self.clock = Clock()

    def _thread(self, name: str, fn: Any, *args: Any) -> None:
        def body() -> None:
            try:
                fn(*args)
            except Exception as exc:  # a crashed stage stops the worker (exit 1), it does not hang it
                log.exception("stage crashed", stage=name)
                self.fatal.append(f"{name}: {type(exc).__name__}: {exc}")
                self.stop.set()

        t = threading.Thread(target=body, name=name, daemon=True)
        t.start()
        self.threads[name] = t

    def run(self, once: bool) -> int:
        from collectors.inputs import InputContext, create_input
        from sinks import create_sink
        from tokentrail.bus.kafka import KafkaBus
        from tokentrail.bus.kafka_state import KafkaState, KafkaStore
        from tokentrail.runtime import build_processor
        from tokentrail.stages import Shipper, collect, enrich

        cfg, started = self.cfg, time.monotonic()
        bus = KafkaBus(cfg.bus, client_id=f"tokentrail-{self.worker_id}")
        topics = bus.topics
        bus.ensure_all_topics(SOURCE_NAMES)
        group = cfg.bus.group_id
        inputs: list[Any] = []
        sinks: list[Any] = []
        consumers: dict[str, Any] = {}
        state = None
        collect_threads: list[str] = []

        if "collect" in self.roles:
            store = KafkaStore(bus)
            ctx = InputContext(store=store, clock=self.clock, max_record_bytes=cfg.pipeline.max_record_bytes,
                               max_document_bytes=cfg.pipeline.max_document_bytes)
            inputs = [_KeyedInput(create_input(spec, ctx), cfg.pipeline.max_record_bytes) for spec in cfg.inputs]
            if not inputs:
                log.warning("the collect role has no inputs configured")
        if "enrich" in self.roles:
            state = KafkaState(bus, clock=self.clock)
            processor = build_processor(cfg, self.clock, state=state)
            raw = [topics.raw(s) for s in SOURCE_NAMES]
            consumers["enrich"] = bus.consumer(raw, f"{group}.enrich")
        if "ship" in self.roles:
            sinks = [create_sink(spec) for spec in cfg.sinks]
            if not sinks:
                raise ConfigError("the ship role needs at least one sink")
            consumers["ship"] = bus.consumer([topics.events], f"{group}.ship",
                                             max_in_flight=max(cfg.bus.max_in_flight, 2 * cfg.pipeline.batch_size))

        server = None
        if cfg.http.listen:
            from tokentrail.health import serve

            def ready() -> bool:
                return bus.ready() and all(_sink_ready(s) for s in sinks)

            server = serve(cfg.http.listen, ready=ready, alive=lambda: self._alive(consumers))

        for inp in inputs:
            name = f"collect:{inp.name}"
            self._thread(name, self._collect, collect, inp, bus, topics, once)
            collect_threads.append(name)
        if "enrich" in self.roles:
            counted = consumers["enrich"] if "collect" in self.roles else _Counting(consumers["enrich"], topics)
            self._thread("enrich", enrich, counted, bus, topics, processor, self.stop)
        if "ship" in self.roles:
            shipper = Shipper(sinks, bus, topics, self.stop, on_fatal=self.fatal.append)
            self._thread("ship", shipper.run, consumers["ship"], cfg.pipeline.batch_size, cfg.pipeline.batch_seconds)
        log.info("worker started", roles=self.roles, inputs=len(inputs), sinks=len(sinks),
                 seconds=round(time.monotonic() - started, 2))

        if once:
            self._run_once(bus, topics, collect_threads, consumers)
        else:
            while not self.stop.is_set():
                self.stop.wait(0.2)
                if not all(c.alive() for c in consumers.values()):
                    self.fatal.append("a consumer stopped: " + "; ".join(
                        c.error for c in consumers.values() if getattr(c, "error", None)))
                    self.stop.set()
                if inputs and bus.failed_raw:
                    # An input's checkpoint cannot pass a record the broker refused: restart from it.
                    self.fatal.append("the broker did not acknowledge raw records; a restart resumes "
                                      "from the last checkpoint")
                    self.stop.set()
        code = self._drain(bus, inputs, sinks, consumers, state, server)
        return code

    def _collect(self, collect: Any, inp: Any, bus: Any, topics: Any, once: bool) -> None:
        collect(inp, bus, topics, self.stop, once)
        bus.flush()

    def _alive(self, consumers: dict[str, Any]) -> bool:
        return not self.fatal and all(c.alive() for c in consumers.values())

    def _run_once(self, bus: Any, topics: Any, collect_threads: list[str], consumers: dict[str, Any]) -> None:
        # Same drain order as the embedded mode: inputs, raw topics, enrich, events topic, ship.
        for name in collect_threads:
            self._join(name)
        if "enrich" in consumers:
            for s in SOURCE_NAMES:
                bus.end(topics.raw(s))
            self._join("enrich")
        if "ship" in consumers:
            bus.end(topics.events)
            self._join("ship")

    def _join(self, name: str) -> None:
        t = self.threads.get(name)
        while t is not None and t.is_alive():
            t.join(0.2)
            if self.stop.is_set():
                return

    def _drain(self, bus: Any, inputs: list[Any], sinks: list[Any], consumers: dict[str, Any], state: Any,
               server: Any) -> int:
        """Stop, let in-flight batches finish, commit finished work, within pipeline.drain_seconds."""
        self.stop.set()
        deadline = time.monotonic() + max(1.0, self.cfg.pipeline.drain_seconds - 2.0)

        def left() -> float:
            return max(0.1, deadline - time.monotonic())

        for t in self.threads.values():
            t.join(left())
        stuck = [n for n, t in self.threads.items() if t.is_alive()]
        if stuck:
            log.warning("stages still busy at the end of the grace period; their work is not committed",
                        stages=stuck)
        bus.flush(left())
        for inp in inputs:
            try:
                inp.close()  # the final checkpoint
            except Exception as exc:
                log.warning("input close failed", input=inp.name, error=f"{type(exc).__name__}: {exc}")
        bus.flush(left())
        for c in consumers.values():
            c.close(timeout=left())
        if state is not None:
            state.close()
        for s in sinks:
            try:
                s.close()
            except Exception as exc:
                log.warning("sink close failed", sink=getattr(s, "name", "?"), error=str(exc))
        bus.close(timeout=left())
        if server is not None:
            server.shutdown()
        if bus.unacknowledged():
            log.warning("records not acknowledged at exit; they are read again after a restart",
                        records=bus.unacknowledged())
        log.info("worker stopped", roles=self.roles, fatal=self.fatal or None)
        return 1 if self.fatal else 0


def _sink_ready(sink: Any) -> bool:
    try:
        return bool(sink.ready())
    except Exception:
        return False
