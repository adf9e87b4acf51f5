"""NDJSON file sink. A batch counts as delivered once it is written and flushed (fsync optional)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sinks._sink import DELIVERED, Item, Outcome, Result
from tokentrail.configtools import doc


@dataclass(frozen=True)
class Config:
    path: str = doc("NDJSON file to append to (its folder is created)")
    fsync: bool = doc("fsync after every batch (slower, survives a power cut)", False)


def create(spec: Any, ctx: Any = None) -> FileSink:
    return FileSink(spec.config.path, fsync=spec.config.fsync, name=spec.name)


class FileSink:
    def __init__(self, path: str, *, fsync: bool = False, name: str = "file") -> None:
        self.name = name
        self.path = Path(path)
        self.fsync = fsync
        self._lock = threading.Lock()
        self._f: Any = None

    def _open(self) -> Any:
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "ab")  # noqa: SIM115 - kept open across batches
        return self._f

    def send(self, batch: list[Item]) -> list[Result]:
        with self._lock:
            try:
                f = self._open()
                f.write(b"".join(item.data + b"\n" for item in batch))
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            except OSError as exc:
                self._f = None
                return [Result(Outcome.RETRY, f"write to {self.path} failed: {exc.strerror}")] * len(batch)
        return [DELIVERED] * len(batch)

    def ready(self) -> bool:
        return os.access(self.path.parent if self.path.parent.exists() else ".", os.W_OK)

    def close(self) -> None:
        with self._lock:
            if self._f is not None:
                self._f.close()
                self._f = None
