"""File input: globs, read to the end (`--once`) or tail; follows rotation and truncation.

The checkpoint holds, per file identity (device and inode), the path, the byte offset and the line
number after the last record acknowledged downstream, so a restart resumes with no gap.
"""

from __future__ import annotations

import glob
import os
import threading
from dataclasses import dataclass
from typing import Any

from collectors.inputs import InputContext, OnDone
from collectors.inputs.reader import READ_BUFFER, iter_units
from tokentrail.checkpoint import Tracker
from tokentrail.configtools import doc
from tokentrail.pipeline import Raw


@dataclass(frozen=True)
class FileInputConfig:
    path: list[str] = doc("file path or glob (a list for several)")
    start_position: str = doc("where to start in a file never seen: beginning or end", "beginning")
    poll_interval_seconds: float = doc("tail mode: how often to look for new lines and files", 1.0)
    checkpoint_interval_seconds: float = doc("write the checkpoint at most this often", 1.0)

    def validate(self) -> list[str]:
        problems = []
        if not self.path:
            problems.append("path: give at least one path or glob")
        if self.start_position not in ("beginning", "end"):
            problems.append("start_position: beginning or end")
        return problems


def config_class(source: str) -> type:
    return FileInputConfig


def create(spec: Any, ctx: InputContext) -> FileInput:
    return FileInput(spec.name, spec.source, spec.config, ctx)


class _File:
    def __init__(self, key: str, path: str, offset: int, line: int) -> None:
        self.key, self.path, self.offset, self.line = key, path, offset, line
        self.tracker = Tracker()


class FileInput:
    def __init__(self, name: str, source: str, config: FileInputConfig, ctx: InputContext) -> None:
        self.name, self.source, self.config, self.ctx = name, source, config, ctx
        self._lock = threading.Lock()
        self._files: dict[str, _File] = {}
        self._state: dict[str, dict[str, Any]] = (ctx.store.load(name) or {}).get("files", {})
        self._dirty = False
        self._last_save = 0.0
        self.records = 0

    def _paths(self) -> list[str]:
        found: list[str] = []
        for pattern in self.config.path:
            matches = sorted(glob.glob(os.path.expanduser(pattern)))
            found += [m for m in matches if os.path.isfile(m) and m not in found]
        return found

    def _read(self, path: str, emit: Any, stop: threading.Event, final: bool) -> None:
        try:
            st = os.stat(path)
            f = open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115 - closed below
        except OSError:
            return  # vanished between glob and open: the next poll sees the new state
        key = f"{st.st_dev}:{st.st_ino}"
        with f:
            entry = self._files.get(key)
            if entry is None:
                saved = self._state.get(key)
                if saved:
                    entry = _File(key, path, saved["offset"], saved["line"])
                elif self.config.start_position == "end" and not final:
                    entry = _File(key, path, st.st_size, 0)
                else:
                    entry = _File(key, path, 0, 0)
                self._files[key] = entry
            entry.path = path
            if st.st_size < entry.offset:  # truncated in place (copytruncate): start over
                entry.offset, entry.line = 0, 0
            if st.st_size == entry.offset:
                return
            f.seek(entry.offset)
            for unit in iter_units(f, max_record=self.ctx.max_record_bytes, max_document=self.ctx.max_document_bytes,
                                   offset=entry.offset, line=entry.line):
                if not unit.complete and not final:
                    break  # a line still being written: wait for its newline
                entry.line, entry.offset = unit.next_line, unit.end_offset
                seq = entry.tracker.add((unit.end_offset, unit.next_line))
                raw = Raw(self.source, unit.data, f"file:{path}:{unit.line}", unit.size, unit.document)
                self.records += 1
                emit(raw, self._on_done(entry, seq))
                if stop.is_set():
                    return

    def _on_done(self, entry: _File, seq: int) -> OnDone:
        def done(error: BaseException | None) -> None:
            if error is not None:
                return  # not safe: the checkpoint stays; a restart reads it again
            entry.tracker.ack(seq)
            safe = entry.tracker.safe()
            if safe is None:
                return  # an earlier record is still in flight
            with self._lock:
                self._state[entry.key] = {"path": entry.path, "offset": safe[0], "line": safe[1]}
                self._dirty = True
            self.save(force=False)

        return done

    def save(self, force: bool = True) -> None:
        """Write the checkpoint (at most once per checkpoint_interval_seconds unless forced)."""
        with self._lock:
            now = self.ctx.clock.monotonic()
            if not self._dirty or (not force and now - self._last_save < self.config.checkpoint_interval_seconds):
                return
            self.ctx.store.save(self.name, {"files": dict(self._state)})
            self._dirty, self._last_save = False, now

    def run(self, emit: Any, stop: threading.Event, once: bool) -> None:
        while not stop.is_set():
            for path in self._paths():
                self._read(path, emit, stop, final=once)
            if once:
                return
            stop.wait(self.config.poll_interval_seconds)

    def close(self) -> None:
        self.save(force=True)
