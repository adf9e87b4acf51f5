"""Split a byte stream into raw units: NDJSON lines, or one whole JSON document (array, envelope,
pretty-printed object). Streams: memory stays bounded by the record limits, whatever the input size.
"""

from __future__ import annotations

import io
import os
import select
import stat
from collections.abc import Callable, Iterator
from typing import Final, Protocol

import orjson

CHUNK: Final = 1 << 16
# Regular files are read with this buffer rather than io's 8 KiB: one read(2) per few lines costs
# about 1 us a line here (measured on `tokentrail process`, 40,000 Okta lines: 2.3% of its CPU).
# Pipes go through PipeReader instead (see there).
READ_BUFFER: Final = 1 << 20
# What `iter_units` asks of a stream per read (`read1`: what is there, up to this). Under glibc's mmap
# threshold (128 KiB): blocks then reuse heap memory, where 1 MiB blocks were each faulted in afresh
# (measured: 0.25 us more per Okta line). Still dozens of lines per scan call.
_BLOCK: Final = CHUNK


class Unit:
    """One raw unit. line: its first line, 1-based. end_offset: the byte offset just after it.
    size: its true size (data is cut at limit + 1 bytes for oversized lines). next_line: the line count
    after it. complete: ended by a newline, or a whole document (a tail waits for the rest otherwise).
    hint: where the first hint of a secret in `data` starts, -1 for none, None when not scanned
    (see `_lines`). A plain class, not a dataclass: see tokentrail.pipeline.Raw."""

    __slots__ = ("data", "line", "end_offset", "size", "next_line", "complete", "document", "hint")

    def __init__(self, data: bytes, line: int, end_offset: int, size: int, next_line: int, complete: bool,
                 document: bool = False, hint: int | None = None) -> None:
        self.data = data
        self.line = line
        self.end_offset = end_offset
        self.size = size
        self.next_line = next_line
        self.complete = complete
        self.document = document
        self.hint = hint

    def __repr__(self) -> str:
        return (f"Unit(line={self.line}, end_offset={self.end_offset}, size={self.size}, next_line={self.next_line}, "
                f"complete={self.complete}, document={self.document})")


class Stream(Protocol):
    """What the reader needs of an input: io's BufferedReader and BytesIO, or PipeReader."""

    def read(self, n: int = -1, /) -> bytes: ...

    def read1(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class PipeReader:
    """A pipe or terminal read as it fills: `idle` is called before a read that would wait for the
    writer.

    Behind io's BufferedReader, which cannot say when its buffer is empty, `tokentrail process` had
    no moment to flush its output before waiting on a quiet producer (`tail -f … | tokentrail
    process`): events sat in its 1 MiB output buffer until that filled or the input ended.
    """

    # size: a pipe holds 64 KiB; reads under glibc's mmap threshold (128 KiB) reuse heap memory,
    # where 1 MiB reads each fault in fresh pages (measured: twice the cost per line).
    def __init__(self, raw: io.FileIO, idle: Callable[[], None] | None = None, size: int = CHUNK) -> None:
        self._raw = raw
        self._fd = raw.fileno()
        self._idle = idle
        self._size = size
        self._buf = b""
        self._pos = 0
        self._eof = False

    def _more(self) -> bool:
        """Append what the writer has sent (after `idle` if that means waiting); False at the end."""
        if self._eof:
            return False
        if self._idle is not None and not _readable(self._fd):
            self._idle()
        data = self._raw.read(self._size)
        if not data:
            self._eof = True
            return False
        rest = self._buf[self._pos:]
        self._buf = rest + data if rest else data
        self._pos = 0
        return True

    def _take(self, n: int) -> bytes:
        buf, pos = self._buf, self._pos
        end = len(buf) if n < 0 else min(len(buf), pos + n)
        self._pos = end
        return buf[pos:end]

    def read(self, n: int = -1, /) -> bytes:
        """Up to `n` bytes, waiting for all of them unless the input ends first (as io's read)."""
        while (n < 0 or len(self._buf) - self._pos < n) and self._more():
            pass
        return self._take(n)

    def read1(self, n: int = -1, /) -> bytes:
        """What is buffered, else what one read brings (up to `n` bytes); b"" at the end."""
        if self._pos >= len(self._buf):
            self._more()
        return self._take(n)

    def close(self) -> None:
        self._raw.close()


def _readable(fd: int) -> bool:
    """Whether a read of `fd` would return at once (False when that cannot be told)."""
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return False


def open_stream(raw: io.FileIO, idle: Callable[[], None] | None = None) -> Stream:
    """`raw` read through a READ_BUFFER BufferedReader when it is a regular file; a pipe or terminal
    through PipeReader, which calls `idle` (flush what was written) before it waits for input.
    Closing the stream closes `raw`."""
    if stat.S_ISREG(os.fstat(raw.fileno()).st_mode):
        return io.BufferedReader(raw, READ_BUFFER)
    return PipeReader(raw, idle)


# Where the first hint of a secret in a buffer starts, at or after a position (-1: none): the
# scrubber's `first_hint`, passed in by the caller (the reader knows nothing of secrets).
Scan = Callable[[bytes, int], int]


def _lines(f: Stream, buf: bytes, pos: int, lineno: int, max_record: int, scan: Scan | None) -> Iterator[Unit]:
    """The lines of `buf`, then of `f`, read a block at a time (`read1`, up to `_BLOCK`) and cut
    with `find`: about half the cost of a `readline` and a stripped copy per line. A line over
    `max_record` is cut at `max_record + 1` bytes (size: its true length), the rest of it skipped,
    never held.

    With `scan`, each unit carries where the first hint of a secret in its data starts (`hint`, -1
    for none), found by scanning whole blocks: one call per block and per line that holds a hint,
    where a call per line added ~0.5 us to every line (the RE2 wrapper's). Scans start at line starts
    only, so a line gets the leftmost match of the block that starts in it: never later than a
    scan of the line alone finds one (the same bytes; before a line, a newline is what the start
    of a text is to `\\b`, and the pattern's `^` is multi-line), and none where that scan finds
    none, unless a match runs on past the line's end: a harmless extra walk, not a miss.
    """
    start = 0
    h = scan(buf, 0) if scan is not None and buf else -1
    while True:
        nl = buf.find(b"\n", start)
        if nl >= 0:
            n = nl + 1 - start
            size = nl - start
            pos += n
            lineno += 1
            hint: int | None = None
            if size > max_record:  # its newline is here: cut, and no hint (it is a dead letter)
                data = buf[start:start + max_record + 1]
            else:
                data = buf[start:nl]
                if size and buf[nl - 1] == 13:  # b"\r"
                    data = data.rstrip(b"\r")
                    size = len(data)
                if scan is not None:
                    hint = h - start if 0 <= h < nl else -1
            if scan is not None and 0 <= h <= nl:
                h = scan(buf, nl + 1)  # the next hint, from the next line's start
            start = nl + 1
            if data and not data.isspace():  # blank lines skipped, without a stripped copy
                yield Unit(data, lineno, pos, size, lineno, True, hint=hint)
            continue
        if len(buf) - start > max_record:
            # Over the limit and no newline yet: keep the first max_record + 1 bytes, skip the rest.
            data = buf[start:start + max_record + 1]
            n = len(buf) - start
            while True:
                more = f.read1(_BLOCK)
                end = more.find(b"\n")
                if not more or end >= 0:
                    break
                n += len(more)
            lineno += 1
            if end >= 0:
                n += end + 1
                buf, start = more[end + 1:], 0
                h = scan(buf, 0) if scan is not None and buf else -1
            else:
                buf, start = b"", 0
            pos += n
            if not data.isspace():
                yield Unit(data, lineno, pos, n - 1 if end >= 0 else n, lineno, end >= 0)
            continue
        more = f.read1(_BLOCK)
        if not more:
            if start < len(buf):  # the last line, without its newline (yet)
                n = len(buf) - start
                data = buf[start:].rstrip(b"\r")
                if data and not data.isspace():
                    hint = (h - start if h >= 0 else -1) if scan is not None else None
                    yield Unit(data, lineno + 1, pos + n, len(data), lineno + 1, n > len(data), hint=hint)
            return
        buf = buf[start:] + more if start < len(buf) else more
        start = 0
        h = scan(buf, 0) if scan is not None else -1


def _parses(data: bytes) -> bool:
    try:
        orjson.loads(data)
        return True
    except orjson.JSONDecodeError:
        return False


def iter_units(
    f: Stream, *, max_record: int, max_document: int, offset: int = 0, line: int = 0, scan: Scan | None = None
) -> Iterator[Unit]:
    """Units from `f`, which is positioned at `offset` after `line` lines. At the very start of a
    stream whose first line is not a JSON value on its own but opens one, the whole stream is tried
    as a single document (a Graph page or Okta array saved with indentation)."""
    head = b""
    if offset == 0:
        # Only what the test below needs (the first newline and the first character that is not
        # a space), not a whole CHUNK: on a pipe, records are not held back waiting for 64 KiB
        # that a slow producer may take minutes to write.
        size = min(max_document + 1, CHUNK)
        head = f.read1(size)
        while head and len(head) < size and (b"\n" not in head or not head.lstrip()):
            more = f.read1(size - len(head))
            if not more:
                break
            head += more
        first = head.lstrip()[:1]
        if first in (b"{", b"["):
            nl = head.find(b"\n")
            first_line = head if nl < 0 else head[:nl]
            if nl >= 0 and not _parses(first_line):
                head += f.read(max_document + 1 - len(head))
                if len(head) <= max_document and _parses(head):
                    yield Unit(head, 1, len(head), len(head), head.count(b"\n") + 1, True, True)
                    return
    yield from _lines(f, head, offset, line, max_record, scan)
