"""Checkpoints: where each input resumes. They move only after records were accepted downstream.

`FileStore` keeps one JSON file per input in `state_dir` (atomic: write, fsync, rename, fsync dir).
`Tracker` turns out-of-order acknowledgements into the position it is safe to resume from.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Protocol

import orjson


class Store(Protocol):
    def load(self, name: str) -> dict[str, Any] | None: ...
    def save(self, name: str, state: dict[str, Any]) -> None: ...


class FileStore:
    """Checkpoints as `<state_dir>/<name>.json`, replaced atomically."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.dir = Path(state_dir)

    def _path(self, name: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        return self.dir / f"{safe}.json"

    def load(self, name: str) -> dict[str, Any] | None:
        try:
            return orjson.loads(self._path(name).read_bytes())
        except FileNotFoundError:
            return None
        except orjson.JSONDecodeError:
            # A torn write cannot happen with rename; a hand-edited file can. Start over loudly.
            raise ValueError(f"checkpoint {self._path(name)} is not valid JSON; remove it to start over") from None

    def save(self, name: str, state: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self._path(name)
        tmp = path.with_suffix(".json.tmp")
        with open(tmp, "wb") as f:
            f.write(orjson.dumps(state))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class MemoryStore:
    """Checkpoints in a dict (tests, `process`)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def load(self, name: str) -> dict[str, Any] | None:
        return self.data.get(name)

    def save(self, name: str, state: dict[str, Any]) -> None:
        self.data[name] = orjson.loads(orjson.dumps(state))


class Tracker:
    """Positions handed out in order; `ack` in any order; `safe()` is the last position of the
    longest acknowledged prefix. Memory is bounded by the number of records in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._done = 0  # sequence numbers below this are all acknowledged
        self._acked: set[int] = set()
        self._positions: dict[int, Any] = {}
        self._safe: Any = None

    def add(self, position: Any) -> int:
        """Register a record that, once acknowledged, makes `position` safe. Returns its ticket."""
        with self._lock:
            seq = self._next
            self._next += 1
            self._positions[seq] = position
            return seq

    def ack(self, seq: int) -> None:
        with self._lock:
            self._acked.add(seq)
            while self._done in self._acked:
                self._acked.discard(self._done)
                self._safe = self._positions.pop(self._done)
                self._done += 1

    def safe(self) -> Any:
        with self._lock:
            return self._safe

    def in_flight(self) -> int:
        with self._lock:
            return self._next - self._done
