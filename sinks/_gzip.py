"""gzip for sink request bodies: ISA-L (`isal`) when installed, about five times faster than zlib at
level 1 with a slightly better ratio; the standard library otherwise. Output is plain gzip either way."""

from __future__ import annotations

import gzip

try:
    from isal import igzip as _fast
except ImportError:  # pragma: no cover - isal is a dependency; this keeps a bare install working
    _fast = None


def compress(data: bytes, level: int) -> bytes:
    """gzip `data` at `level` (1-9; ISA-L has levels 0-3, so higher levels map to its best, 3)."""
    if _fast is not None:
        return _fast.compress(data, compresslevel=min(level, 3), mtime=0)
    return gzip.compress(data, compresslevel=level, mtime=0)
