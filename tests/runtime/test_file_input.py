"""The file input: read to the end, tail, rotation, truncation, checkpoints that follow acks."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import orjson

from collectors.inputs import InputContext
from collectors.inputs.file import FileInput, FileInputConfig
from tokentrail.checkpoint import MemoryStore, Tracker
from tokentrail.clock import Clock


def line(n: int) -> bytes:
    return orjson.dumps({"n": n}) + b"\n"


def make(path: str, store: MemoryStore | None = None, **kw) -> FileInput:
    cfg = FileInputConfig(path=[path], checkpoint_interval_seconds=0, **kw)
    return FileInput("t", "okta", cfg, InputContext(store=store or MemoryStore(), clock=Clock()))


def collect(inp: FileInput, once: bool = True, ack: bool = True) -> list[bytes]:
    got = []

    def emit(raw, done):
        got.append(raw.data)
        if ack:
            done(None)

    inp.run(emit, threading.Event(), once)
    return got


class TestFileInput:
    def test_reads_lines_with_origin(self, tmp_path: Path):
        """Each line is a raw unit whose origin names file and line."""
        p = tmp_path / "a.ndjson"
        p.write_bytes(line(1) + b"\n" + line(2))
        origins = []
        make(str(p)).run(lambda raw, done: origins.append(raw.origin), threading.Event(), True)
        assert origins == [f"file:{p}:1", f"file:{p}:3"]

    def test_checkpoint_resumes_without_gap_or_duplicate(self, tmp_path: Path):
        """A second run over the same store reads only what was appended."""
        p = tmp_path / "a.ndjson"
        p.write_bytes(line(1) + line(2))
        store = MemoryStore()
        assert len(collect(make(str(p), store))) == 2
        with open(p, "ab") as f:
            f.write(line(3))
        assert collect(make(str(p), store)) == [line(3).strip()]

    def test_unacked_records_are_read_again(self, tmp_path: Path):
        """Without acknowledgements the checkpoint does not move."""
        p = tmp_path / "a.ndjson"
        p.write_bytes(line(1) + line(2))
        store = MemoryStore()
        collect(make(str(p), store), ack=False)
        assert len(collect(make(str(p), store))) == 2

    def test_out_of_order_acks(self, tmp_path: Path):
        """The checkpoint stops at the first unacknowledged record."""
        p = tmp_path / "a.ndjson"
        p.write_bytes(line(1) + line(2) + line(3))
        store = MemoryStore()
        dones = []
        make(str(p), store).run(lambda raw, done: dones.append(done), threading.Event(), True)
        dones[0](None)
        dones[2](None)
        assert collect(make(str(p), store)) == [line(2).strip(), line(3).strip()]

    def test_rotation_by_rename(self, tmp_path: Path):
        """A rotated file is finished and the new file read from its start."""
        p = tmp_path / "app.log"
        p.write_bytes(line(1))
        store = MemoryStore()
        assert len(collect(make(str(tmp_path / "app.log*"), store))) == 1
        with open(p, "ab") as f:
            f.write(line(2))
        os.rename(p, tmp_path / "app.log.1")
        p.write_bytes(line(3))
        got = collect(make(str(tmp_path / "app.log*"), store))
        assert sorted(got) == [line(2).strip(), line(3).strip()]

    def test_truncation_starts_over(self, tmp_path: Path):
        """A file truncated in place (copytruncate) is read again from the start."""
        p = tmp_path / "a.ndjson"
        p.write_bytes(line(1) + line(2))
        store = MemoryStore()
        collect(make(str(p), store))
        p.write_bytes(line(9))
        assert collect(make(str(p), store)) == [line(9).strip()]

    def test_tail_waits_for_newline(self, tmp_path: Path):
        """In tail mode a half-written last line is not emitted until it is complete."""
        p = tmp_path / "a.ndjson"
        p.write_bytes(line(1) + b'{"n": 2')
        inp = make(str(p), poll_interval_seconds=0.05)
        got: list[bytes] = []
        stop = threading.Event()
        t = threading.Thread(target=inp.run, args=(lambda raw, done: got.append(raw.data), stop, False))
        t.start()
        time.sleep(0.3)
        assert got == [line(1).strip()]
        with open(p, "ab") as f:
            f.write(b"}\n")
        deadline = time.time() + 5
        while len(got) < 2 and time.time() < deadline:
            time.sleep(0.05)
        stop.set()
        t.join(5)
        assert got[1] == b'{"n": 2}'

    def test_whole_document_file(self, tmp_path: Path):
        """A pretty-printed envelope spanning lines is one unit."""
        p = tmp_path / "page.json"
        p.write_bytes(b'{\n  "value": [\n    {"id": "a"},\n    {"id": "b"}\n  ]\n}\n')
        got = collect(make(str(p)))
        assert len(got) == 1 and orjson.loads(got[0])["value"][1]["id"] == "b"


class TestTracker:
    def test_safe_is_longest_acked_prefix(self):
        """safe() is the position of the last record of the acknowledged prefix."""
        t = Tracker()
        seqs = [t.add(p) for p in (10, 20, 30)]
        t.ack(seqs[1])
        assert t.safe() is None
        t.ack(seqs[0])
        assert t.safe() == 20 and t.in_flight() == 1
