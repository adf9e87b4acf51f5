"""The bus between stages: memory (embedded, bounded queues) or Kafka (distributed workers).

A stage does not know which bus carries its records. `publish(..., on_done)` calls `on_done(None)`
once the record is safe: on Kafka when the broker acknowledged it (acks=all); on the memory bus when
every downstream stage acknowledged it (so file checkpoints follow the sinks' acknowledgements).
Consumers `poll()` messages and call `msg.ack()` when finished; only finished work is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

OnDone = Callable[[BaseException | None], None]


class Message(Protocol):
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    origin: str

    def ack(self, error: BaseException | None = None) -> None: ...


class Consumer(Protocol):
    def poll(self, max_records: int, timeout: float) -> list[Message]: ...
    def finished(self) -> bool: ...
    def close(self) -> None: ...


class Bus(Protocol):
    def publish(self, topic: str, value: bytes, *, key: bytes | None = None, on_done: OnDone | None = None,
                headers: dict[str, bytes] | None = None, origin: str = "") -> None: ...
    def consumer(self, topics: list[str], group: str) -> Consumer: ...
    def end(self, topic: str) -> None: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def ready(self) -> bool: ...
    def close(self) -> None: ...


class Topics:
    """Topic names from the prefix (interfaces.md)."""

    def __init__(self, prefix: str = "tokentrail") -> None:
        self.prefix = prefix
        self.events = f"{prefix}.events"
        self.dlq = f"{prefix}.dlq"

    def raw(self, source: str) -> str:
        return f"{self.prefix}.raw.{source}"

    def state(self, name: str) -> str:
        return f"{self.prefix}.state.{name}"

    def source_of(self, topic: str) -> str | None:
        head = f"{self.prefix}.raw."
        return topic[len(head):] if topic.startswith(head) else None


def create_bus(config: Any, **kwargs: Any) -> Bus:
    if config.kind == "kafka":
        from tokentrail.bus.kafka import KafkaBus

        return KafkaBus(config, **kwargs)
    from tokentrail.bus.memory import MemoryBus

    return MemoryBus(config.queue_size)
