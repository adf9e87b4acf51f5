"""Kafka sink: produce each event (acks=all, idempotent) and report per event once the batch is acked.

Outcomes (the runtime commits): acknowledged -> delivered; too large or refused as invalid ->
dead-letter with the broker's reason; anything else (broker down, timeout, leader moving) -> retry.
Events are keyed by `event.id`, so a replayed event lands on the same partition as the first copy and
a compacted or deduplicating consumer sees one event.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from kafka import KafkaProducer
from kafka.errors import (
    InvalidRecordError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    TopicAuthorizationFailedError,
)

from sinks._sink import DELIVERED, Item, Outcome, Result
from sinks.kafka.config import Config
from tokentrail.errors import AuthError

_DEAD = (MessageSizeTooLargeError, RecordListTooLargeError, InvalidRecordError)


def create(spec: Any, ctx: Any = None) -> KafkaSink:
    return KafkaSink(spec.config, name=spec.name)


def classify(exc: BaseException) -> Result:
    """A produce failure as an outcome: dead-letter what can never succeed, retry the rest."""
    if isinstance(exc, _DEAD):
        return Result(Outcome.DEAD_LETTER, f"kafka refused the event: {type(exc).__name__}")
    return Result(Outcome.RETRY, f"kafka: {type(exc).__name__}: {str(exc)[:200]}")


class KafkaSink:
    def __init__(self, config: Config, *, name: str = "kafka", producer: Any = None) -> None:
        from tokentrail.bus.kafka import _Probe, client_kwargs

        self.name, self.config = name, config
        self._kw = client_kwargs(config)
        self._producer = producer
        self._lock = threading.Lock()
        self._probe = _Probe(list(config.bootstrap_servers))

    def _client(self) -> Any:
        if self._producer is None:
            c = self.config
            self._producer = KafkaProducer(
                client_id=f"tokentrail-sink-{self.name}", acks="all", enable_idempotence=False, linger_ms=5,
                batch_size=256 * 1024, max_request_size=c.max_request_bytes, max_block_ms=10000,
                delivery_timeout_ms=int(c.timeout_seconds * 1000) + 1000, request_timeout_ms=int(c.timeout_seconds * 1000),
                compression_type=None if c.compression_type in (None, "none") else c.compression_type, **self._kw)
        return self._producer

    def send(self, batch: list[Item]) -> list[Result]:
        with self._lock:
            try:
                producer = self._client()
            except KafkaError as exc:
                return [classify(exc)] * len(batch)
            futures: list[Any] = []
            for item in batch:
                eid = (item.event.get("event") or {}).get("id")
                try:
                    futures.append(producer.send(self.config.topic, value=item.data,
                                                 key=str(eid).encode() if eid else None))
                except TopicAuthorizationFailedError as exc:
                    raise AuthError(f"kafka sink {self.name}: not allowed to write {self.config.topic}") from exc
                except Exception as exc:
                    futures.append(exc)
            try:
                producer.flush(timeout=self.config.timeout_seconds)
            except KafkaError:
                pass  # unfinished futures are retried below
            out = []
            deadline = time.monotonic() + 0.1
            for f in futures:
                if isinstance(f, BaseException):
                    out.append(classify(f))
                    continue
                while not f.is_done and time.monotonic() < deadline:
                    time.sleep(0.01)
                if not f.is_done:
                    out.append(Result(Outcome.RETRY, "kafka: not acknowledged in time"))
                elif f.succeeded():
                    out.append(DELIVERED)
                elif isinstance(f.exception, TopicAuthorizationFailedError):
                    raise AuthError(f"kafka sink {self.name}: not allowed to write {self.config.topic}")
                else:
                    out.append(classify(f.exception))
            return out

    def ready(self) -> bool:
        return self._probe()

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None
