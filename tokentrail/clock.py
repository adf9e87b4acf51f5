"""Clocks: injected everywhere so tests and goldens are deterministic."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """Wall clock. `now()` is a timezone-aware UTC datetime; `time()` is epoch seconds."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FixedClock(Clock):
    """A clock that stands still unless advanced; `sleep` advances it instead of waiting."""

    def __init__(self, at: datetime | str = "2026-01-01T00:00:00Z") -> None:
        if isinstance(at, str):
            at = datetime.fromisoformat(at.replace("Z", "+00:00"))
        self._t = at.timestamp()
        self.slept: list[float] = []

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._t, UTC)

    def time(self) -> float:
        return self._t

    def monotonic(self) -> float:
        return self._t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._t += max(0.0, seconds)
