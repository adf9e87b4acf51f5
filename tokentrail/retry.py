"""One capped, jittered exponential backoff (tenacity's wait strategy), with injectable sleep."""

from __future__ import annotations

import random
from collections.abc import Callable

from tenacity.wait import wait_random_exponential


class Backoff:
    """`next()` gives the next wait: full jitter over an exponential up to `cap` (AWS's advice)."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self._wait = wait_random_exponential(multiplier=base, max=cap)
        self._rng = rng
        self.attempt = 0

    def next(self) -> float:
        self.attempt += 1
        if self._rng is not None:
            state = random.getstate()
            random.seed(self._rng.random())
            try:
                return self._wait(_State(self.attempt))
            finally:
                random.setstate(state)
        return self._wait(_State(self.attempt))

    def reset(self) -> None:
        self.attempt = 0


class _State:
    # tenacity's wait strategies read only attempt_number from the retry state.
    def __init__(self, attempt: int) -> None:
        self.attempt_number = attempt


def sleep_until(stop_is_set: Callable[[], bool], seconds: float, sleep: Callable[[float], None]) -> bool:
    """Sleep in short steps; return False early when stopping."""
    left = seconds
    while left > 0:
        if stop_is_set():
            return False
        step = min(0.2, left)
        sleep(step)
        left -= step
    return not stop_is_set()
