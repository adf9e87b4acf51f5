"""The shape of a sink: `send(batch)` returns one outcome per item; the runtime decides commits."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    DUPLICATE = "duplicate"      # already there (Elasticsearch 409 on create): counts as delivered
    RETRY = "retry"              # send again later (429, 5xx, connection)
    DEAD_LETTER = "dead_letter"  # refused for good (mapping error, invalid event): to the DLQ


@dataclass(slots=True)
class Result:
    outcome: Outcome
    reason: str | None = None

    @property
    def done(self) -> bool:
        return self.outcome in (Outcome.DELIVERED, Outcome.DUPLICATE)


DELIVERED = Result(Outcome.DELIVERED)
DUPLICATE = Result(Outcome.DUPLICATE)


@dataclass(slots=True)
class Item:
    """One event in a batch: the dict and its JSON encoding (sinks use whichever they need)."""

    event: dict[str, Any]
    data: bytes


class Sink(Protocol):
    name: str

    def send(self, batch: list[Item]) -> list[Result]:
        """Deliver what it can; one Result per item, in order. Raise AuthError to stop the worker."""
        ...

    def ready(self) -> bool:
        """Whether the destination is reachable (for /readyz)."""
        ...

    def close(self) -> None: ...
