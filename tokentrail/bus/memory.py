"""In-process bus: one bounded queue per topic. `publish` blocks while a queue is full (backpressure).

Acknowledgement flows upstream: a consumer's `msg.ack()` calls the publisher's `on_done`, so a raw
record counts as done only when all of its events were delivered or dead-lettered.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from tokentrail.bus import OnDone


@dataclass(slots=True)
class MemoryMessage:
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, bytes] = field(default_factory=dict)
    origin: str = ""
    on_done: OnDone | None = None

    def ack(self, error: BaseException | None = None) -> None:
        cb, self.on_done = self.on_done, None
        if cb is not None:
            cb(error)


class _Topic:
    def __init__(self, size: int) -> None:
        self.q: queue.Queue[MemoryMessage] = queue.Queue(size)
        self.ended = threading.Event()


class MemoryConsumer:
    def __init__(self, bus: MemoryBus, topics: list[str]) -> None:
        self.bus = bus
        self.topics = [bus.topic(t) for t in topics]

    def poll(self, max_records: int, timeout: float) -> list[MemoryMessage]:
        out: list[MemoryMessage] = []
        for t in self.topics:
            while len(out) < max_records:
                try:
                    out.append(t.q.get_nowait())
                except queue.Empty:
                    break
        if out or timeout <= 0:
            return out
        # Nothing ready: wait on the first topic that may still get data.
        for t in self.topics:
            if not (t.ended.is_set() and t.q.empty()):
                try:
                    out.append(t.q.get(timeout=timeout))
                except queue.Empty:
                    pass
                break
        return out

    def finished(self) -> bool:
        return all(t.ended.is_set() and t.q.empty() for t in self.topics)

    def close(self) -> None:
        pass


class MemoryBus:
    def __init__(self, queue_size: int = 10000) -> None:
        self.queue_size = queue_size
        self._topics: dict[str, _Topic] = {}
        self._lock = threading.Lock()

    def topic(self, name: str) -> _Topic:
        with self._lock:
            t = self._topics.get(name)
            if t is None:
                t = self._topics[name] = _Topic(self.queue_size)
            return t

    def publish(self, topic: str, value: bytes, *, key: bytes | None = None, on_done: OnDone | None = None,
                headers: dict[str, bytes] | None = None, origin: str = "") -> None:
        self.topic(topic).q.put(MemoryMessage(topic, key, value, headers or {}, origin, on_done))

    def consumer(self, topics: list[str], group: str) -> MemoryConsumer:
        return MemoryConsumer(self, topics)

    def end(self, topic: str) -> None:
        """No more records will be published to `topic` (end of a `--once` run)."""
        self.topic(topic).ended.set()

    def flush(self, timeout: float | None = None) -> None:
        pass

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        pass
