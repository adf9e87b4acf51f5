"""The line reader over pipes (PipeReader): the same lines and units as over a file, whatever the
writer's chunking, and `idle` called only before a read that would wait."""

from __future__ import annotations

import io
import os
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.inputs.reader import PipeReader, iter_units, open_stream


class Chunks(io.RawIOBase):
    """A raw stream that returns the given chunks one read at a time, as a pipe does."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if not self._chunks:
            return b""
        chunk = self._chunks.pop(0)
        if 0 <= size < len(chunk):
            self._chunks.insert(0, chunk[size:])
            chunk = chunk[:size]
        return chunk

    def fileno(self) -> int:
        return -1  # never selected on: these readers get no `idle`


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False) if b > a]


LINES = st.lists(st.sampled_from([b"", b"{}", b'{"a": 1}', b"x" * 70, b"  ", b"[1,\n2]", b"\r"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(parts=LINES, cuts=st.lists(st.integers(0, 2000), max_size=10),
       limits=st.lists(st.integers(-1, 80), min_size=1, max_size=30))
def test_readline_as_io(parts: list[bytes], cuts: list[int], limits: list[int]) -> None:
    data = b"\n".join(parts)
    pipe, plain = PipeReader(Chunks(split(data, cuts))), io.BytesIO(data)  # type: ignore[arg-type]
    for limit in limits * 4:
        assert pipe.readline(limit) == plain.readline(limit)


@settings(max_examples=200, deadline=None)
@given(parts=LINES, cuts=st.lists(st.integers(0, 2000), max_size=10), sizes=st.lists(st.integers(-1, 50), max_size=8))
def test_read_and_read1(parts: list[bytes], cuts: list[int], sizes: list[int]) -> None:
    data = b"\n".join(parts)
    pipe = PipeReader(Chunks(split(data, cuts)))  # type: ignore[arg-type]
    got = b""
    for n in sizes:
        chunk = pipe.read1(n)
        assert n < 0 or len(chunk) <= n
        got += chunk
    rest = pipe.read(10)
    assert len(rest) == min(10, len(data) - len(got))  # read waits for all it asks, unless the end
    assert got + rest + pipe.read() == data
    assert pipe.read1(5) == b"" and pipe.readline() == b""


@settings(max_examples=200, deadline=None)
@given(parts=LINES, cuts=st.lists(st.integers(0, 2000), max_size=10), max_record=st.integers(1, 80))
def test_units_as_from_a_file(parts: list[bytes], cuts: list[int], max_record: int) -> None:
    """Lines, oversized lines, blank lines and whole documents come out as they do from a file."""
    data = b"\n".join(parts)

    def units(f: object) -> list[tuple]:
        return [(u.data, u.line, u.end_offset, u.size, u.next_line, u.complete, u.document)
                for u in iter_units(f, max_record=max_record, max_document=500)]  # type: ignore[arg-type]

    assert units(PipeReader(Chunks(split(data, cuts)))) == units(io.BytesIO(data))  # type: ignore[arg-type]


def test_idle_before_waiting_only() -> None:
    """`idle` (flush the output) runs when the writer has sent nothing more, not between lines
    already there; a slow writer's first line is not held back for 64 KiB (the document sniff)."""
    r, w = os.pipe()
    idle_calls: list[int] = []
    stream = open_stream(io.FileIO(r, "rb"), lambda: idle_calls.append(1))
    assert isinstance(stream, PipeReader)
    os.write(w, b'{"a": 1}\n{"a": 2}\n')
    units = iter_units(stream, max_record=100, max_document=1000)
    assert next(units).data == b'{"a": 1}'  # returns without the writer closing
    assert next(units).data == b'{"a": 2}'
    calls = len(idle_calls)
    threading.Timer(0.2, lambda: (os.write(w, b'{"a": 3}\n'), os.close(w))).start()
    assert next(units).data == b'{"a": 3}'
    assert len(idle_calls) > calls  # it had to wait for line 3: the output was flushed first
    assert list(units) == []
    stream.close()


def test_regular_file_is_buffered(tmp_path) -> None:
    path = tmp_path / "x.ndjson"
    path.write_bytes(b"{}\n")
    stream = open_stream(open(path, "rb", buffering=0))  # noqa: SIM115 - closed below
    assert isinstance(stream, io.BufferedReader)
    assert [u.data for u in iter_units(stream, max_record=10, max_document=10)] == [b"{}"]
    stream.close()
