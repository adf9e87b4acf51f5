"""The line reader: the units a line at a time would give (the reader as it was, `reference`), the
hints of secrets its block scans find, and over pipes (PipeReader) the same units as over a file,
whatever the writer's chunking, with `idle` called only before a read that would wait."""

from __future__ import annotations

import io
import os
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.inputs.reader import PipeReader, iter_units, open_stream
from enrichers.scrub import first_hint


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
    assert pipe.read1(5) == b""


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


def reference(data: bytes, max_record: int) -> list[tuple]:
    """NDJSON units as a readline per line gives them (the reader before it read blocks): data
    without its line end, cut at max_record + 1 bytes when longer (size: its true length), blank
    lines skipped."""
    f, pos, lineno, out = io.BytesIO(data), 0, 0, []
    while line := f.readline(max_record + 1):
        n = len(line)
        if line.endswith(b"\n") or len(line) <= max_record:
            unit, size = line.rstrip(b"\r\n"), len(line.rstrip(b"\r\n"))
        else:
            unit = line
            while (rest := f.readline(64)) and not rest.endswith(b"\n"):
                n += len(rest)
            n += len(rest)
            size = n - (1 if rest.endswith(b"\n") else 0)
        pos, lineno = pos + n, lineno + 1
        if unit and not unit.isspace():
            out.append((unit, lineno, pos, size, lineno, n > size, False))
    return out


# Lines that hold hints of secrets, alone or (the last three) only with what comes after them.
SECRETISH = [b'{"password": "hunter2"}', b"Bearer abc123", b'{"m": "eyJhbGciOiJIUzI1NiJ9.e30.x"}',
             b"x https://u:pw@host", b"token=abc", b'"pass', b'word": "x"', b"Bearer"]
ANY_LINE = st.sampled_from([*SECRETISH, b"", b"{}", b'{"a": 1}', b"x" * 70, b"  ", b"\r", b"{\r"])


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(ANY_LINE, max_size=14), cuts=st.lists(st.integers(0, 2000), max_size=10),
       max_record=st.integers(1, 80), end=st.booleans())
def test_units_as_a_line_at_a_time(parts: list[bytes], cuts: list[int], max_record: int, end: bool) -> None:
    """Block reads cut the same units, and each carries a hint no later than a scan of its line
    finds one (-1: none)."""
    data = b"\n".join(parts) + (b"\n" if end else b"")
    units = list(iter_units(PipeReader(Chunks(split(data, cuts))), max_record=max_record, max_document=0,
                            scan=first_hint))  # type: ignore[arg-type]
    assert [(u.data, u.line, u.end_offset, u.size, u.next_line, u.complete, u.document) for u in units] == \
        reference(data, max_record)
    for u in units:
        if u.size > max_record:
            assert u.hint is None  # a dead letter: nothing to scan for
            continue
        alone = first_hint(u.data)
        assert u.hint is not None
        if alone >= 0:
            assert 0 <= u.hint <= alone, (u.data, u.hint, alone)
        elif u.hint >= 0:  # only a match that runs on past the line's end
            assert first_hint(u.data[u.hint:] + data[u.end_offset - (u.complete and 1):]) == 0


def test_block_hints_are_the_line_hints_of_json_lines() -> None:
    """For JSON lines, the block scan finds exactly what a scan of each line finds."""
    lines = [b'{"a": "x"}', b'{"password": "hunter2"}', b'{"a": "y", "b": "Bearer abc123"}', b'{"a": 1}',
             b'{"url": "https://u:pw@host/x"}', b'{"q": "/x?token=abc"}', b'{"a": "b"}'] * 3
    units = list(iter_units(io.BytesIO(b"\n".join(lines) + b"\n"), max_record=1000, max_document=0,
                            scan=first_hint))  # type: ignore[arg-type]
    assert [u.hint for u in units] == [first_hint(line) for line in lines]
    assert sum(u.hint >= 0 for u in units if u.hint is not None) == 12
