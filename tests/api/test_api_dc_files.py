"""Confluence Data Center audit files through the file input: rotation is followed by inode and offset."""

from __future__ import annotations

import os
import threading

import orjson
from conftest import Collector
from standin_atlassian import dc_record

from collectors.inputs import InputContext
from collectors.inputs.file import FileInput, FileInputConfig
from tokentrail.checkpoint import MemoryStore
from tokentrail.clock import FixedClock

T0 = 1_780_000_000.0


def line(i: int) -> bytes:
    # The audit-file shape: timestamp as epochSecond/nano.
    rec = dc_record(i, T0 + i)
    rec["timestamp"] = {"epochSecond": int(T0) + i, "nano": 0}
    return orjson.dumps(rec) + b"\n"


def numbers(raws) -> list[int]:
    return [int(orjson.loads(r.data)["affectedObjects"][0]["id"][1:]) for r in raws]


def file_input(pattern: str, store: MemoryStore) -> FileInput:
    ctx = InputContext(store=store, clock=FixedClock())
    return FileInput("dc-files", "confluence", FileInputConfig(path=[pattern], checkpoint_interval_seconds=0), ctx)


def read(inp: FileInput) -> Collector:
    got = Collector()
    inp.run(got.emit, threading.Event(), once=True)
    inp.close()
    return got


def test_a_new_daily_file_is_picked_up_and_the_old_one_finished(tmp_path):
    """Confluence starts YYYYMMDD-00001.audit.log next to the old one: both are read to the end, once."""
    store = MemoryStore()
    old = tmp_path / "20260301-00000.audit.log"
    old.write_bytes(b"".join(line(i) for i in range(3)))
    assert numbers(read(file_input(str(tmp_path / "*.audit.log"), store)).raws) == [0, 1, 2]
    with open(old, "ab") as f:
        f.write(line(3))  # the last lines before rotation
    (tmp_path / "20260302-00001.audit.log").write_bytes(line(4) + line(5))
    got = read(file_input(str(tmp_path / "*.audit.log"), store))
    assert sorted(numbers(got.raws)) == [3, 4, 5]


def test_rename_rotation_keeps_the_offset_of_the_renamed_file(tmp_path):
    """A renamed file is the same inode: its unread tail is read, nothing twice; the new file from zero."""
    store = MemoryStore()
    current = tmp_path / "audit.log"
    current.write_bytes(line(0) + line(1))
    assert numbers(read(file_input(str(tmp_path / "audit.log*"), store)).raws) == [0, 1]
    with open(current, "ab") as f:
        f.write(line(2))
    os.rename(current, tmp_path / "audit.log.1")
    current.write_bytes(line(3))
    got = read(file_input(str(tmp_path / "audit.log*"), store))
    assert sorted(numbers(got.raws)) == [2, 3]
    saved = store.load("dc-files")["files"]
    assert {v["path"].rsplit("/", 1)[1] for v in saved.values()} == {"audit.log", "audit.log.1"}


def test_checkpoint_keys_are_device_and_inode(tmp_path):
    """The checkpoint names each file by device:inode with its offset and line."""
    store = MemoryStore()
    p = tmp_path / "20260301-00000.audit.log"
    p.write_bytes(line(0))
    read(file_input(str(p), store))
    st = os.stat(p)
    entry = store.load("dc-files")["files"][f"{st.st_dev}:{st.st_ino}"]
    assert entry["offset"] == st.st_size and entry["line"] == 1
