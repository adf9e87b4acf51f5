"""Kafka input: consume an external topic as a source (Azure Event Hubs' Kafka endpoint, log streams).

Each message value is one raw unit for the named source: a record or an envelope such as Event Hubs'
`{"records": [...]}`. The checkpoint is the consumer group's committed offsets: an offset is committed
only after the unit was accepted downstream (`on_done(None)`), contiguously per partition, so a
restart resumes with no gap (a crash may repeat what was in flight).

Azure Event Hubs: `bootstrap_servers: [NAMESPACE.servicebus.windows.net:9093]`,
`security_protocol: SASL_SSL`, `sasl_mechanism: PLAIN`, `sasl_username: $ConnectionString`,
`sasl_password_file: /run/secrets/eventhub` (the connection string), optionally `ca_file`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from collectors.inputs import InputContext
from tokentrail.configtools import doc
from tokentrail.pipeline import Raw
from tokentrail.secrets import Secret


@dataclass(frozen=True)
class KafkaInputConfig:
    bootstrap_servers: list[str] = doc("brokers, host:port (Event Hubs: NAMESPACE.servicebus.windows.net:9093)")
    topic: list[str] = doc("topic(s) to read (Event Hubs: the event hub name)")
    group_id: str = doc("consumer group; its committed offsets are this input's checkpoint", "tokentrail-input")
    start_position: str = doc("where a new group starts: beginning or end", "beginning")
    security_protocol: str = doc("PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (Event Hubs: SASL_SSL)", "PLAINTEXT")
    sasl_mechanism: str | None = doc("PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (Event Hubs: PLAIN)", None)
    sasl_username: str | None = doc("SASL user (Event Hubs: $ConnectionString)", None)
    sasl_password: Secret | None = doc("SASL password (Event Hubs: the connection string), from "
                                       "sasl_password_file or sasl_password_env", None)
    ca_file: str | None = doc("CA bundle to verify the brokers (default: the system's)", None)
    session_timeout_ms: int = doc("the group moves this input's partitions elsewhere after this silence", 10000)
    max_poll_interval_ms: int = doc("rebalance timeout", 10000)
    max_in_flight: int = doc("messages read but not yet accepted downstream (bounds memory)", 1000)
    fetch_max_bytes: int = doc("bytes per fetch response at most (bounds memory)", 8 << 20)

    def validate(self) -> list[str]:
        from tokentrail.bus.kafka import validate_config

        problems = validate_config(self)
        if not self.topic:
            problems.append("topic: give at least one topic")
        if self.start_position not in ("beginning", "end"):
            problems.append("start_position: beginning or end")
        return problems


def config_class(source: str) -> type:
    return KafkaInputConfig


def create(spec: Any, ctx: InputContext) -> KafkaInput:
    return KafkaInput(spec.name, spec.source, spec.config, ctx)


class KafkaInput:
    def __init__(self, name: str, source: str, config: KafkaInputConfig, ctx: InputContext) -> None:
        self.name, self.source, self.config, self.ctx = name, source, config, ctx
        self.records = 0
        self._consumer: Any = None

    def _open(self) -> Any:
        from tokentrail.bus.kafka import KafkaConsumer, client_kwargs

        c = self.config
        return KafkaConsumer(list(c.topic), c.group_id, c, client_kwargs(c), client_id=f"tokentrail-{self.name}",
                             max_in_flight=c.max_in_flight,
                             auto_offset_reset="earliest" if c.start_position == "beginning" else "latest")

    def run(self, emit: Any, stop: threading.Event, once: bool) -> None:
        consumer = self._consumer = self._open()
        if once:
            consumer.end_topics(list(self.config.topic))  # stop when caught up with what is there now
        limit, doc_limit = self.ctx.max_record_bytes, self.ctx.max_document_bytes
        while not stop.is_set():
            msgs = consumer.poll(500, 0.5)
            if not msgs:
                # closed: close() came from another thread (shutdown); poll would return at once forever.
                if consumer.finished() or not consumer.alive() or consumer.closed():
                    return
                continue
            for m in msgs:
                if m.value is None:
                    m.ack()  # a tombstone carries no record
                    continue
                # An envelope larger than one record may be as large as a whole-file document.
                raw = Raw(self.source, m.value, f"kafka:{m.topic}/{m.partition}/{m.offset}", None,
                          limit < len(m.value) <= doc_limit)
                self.records += 1
                emit(raw, m.ack)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
