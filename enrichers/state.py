"""State shared by the token-audit enrichers: learned app names, seen tokens, token use per IP.

`SharedState` is the one seam: `get(table, key)` and `put(table, key, value, ttl_seconds)`. Values are
small JSON-serializable dicts. The embedded runtime uses `LocalState` (bounded LRU with TTL, in this
process). The Kafka bus wraps it (`KafkaState`): a put is also produced to the compacted topic
`<p>.state.<table>` with its absolute expiry, and records consumed from that topic are applied with
`LocalState.apply`, so every enrich worker converges on the same tables.

Tables used by the enrichers (names are part of the topic names, keep them stable):
- `apps`: client id -> {"name": display name, "source": dataset that taught it}
- `tokens`: token id -> the issuance seen for it (event id, dataset, time, client id, source ip)
- `token_ips`: token id or fingerprint -> {"ips": [...]} addresses it was used from
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Protocol

from mypy_extensions import mypyc_attr

from tokentrail.clock import Clock

DEFAULT_MAX_ENTRIES = 100_000


class SharedState(Protocol):
    """Key-value tables with per-entry TTL. `get` returns None for missing or expired keys."""

    def get(self, table: str, key: str) -> dict[str, Any] | None: ...

    def put(self, table: str, key: str, value: dict[str, Any], ttl_seconds: float | None) -> None: ...


# Compiled (tokentrail/compiled.py): the token enrichers read and write it on every token event.
# KafkaState (tokentrail/bus/kafka_state.py) is a pure-Python subclass, which mypyc must be told of.
@mypyc_attr(allow_interpreted_subclasses=True)
class LocalState:
    """SharedState in this process: per table an LRU of at most `max_entries`, entries expire by TTL.

    max_entries: an int for every table, or a dict by table name (`"*"` for the rest).
    clock: expiry uses `clock.time()` (wall clock, epoch seconds) so absolute expiries can travel
        between workers.
    """

    def __init__(self, max_entries: int | dict[str, int] = DEFAULT_MAX_ENTRIES, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._limits = max_entries if isinstance(max_entries, dict) else {"*": max_entries}
        # No table is limited below this: under it, `apply` need not look its table's limit up.
        self._small_limit = min([*self._limits.values(), DEFAULT_MAX_ENTRIES])
        self._tables: dict[str, OrderedDict[str, tuple[float | None, dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def _limit(self, table: str) -> int:
        return self._limits.get(table, self._limits.get("*", DEFAULT_MAX_ENTRIES))

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            rows = self._tables.get(table)
            if not rows:
                return None
            item = rows.get(key)
            if item is None:
                return None
            expires_at, value = item
            if expires_at is not None and expires_at <= self.clock.time():
                del rows[key]
                return None
            rows.move_to_end(key)
            return value

    def put(self, table: str, key: str, value: dict[str, Any], ttl_seconds: float | None) -> None:
        if ttl_seconds is None or ttl_seconds > 0:  # live by construction: no second clock read
            self._store(table, key, value, None if ttl_seconds is None else self.clock.time() + ttl_seconds)
        else:
            self.apply(table, key, value, self.clock.time())  # a TTL of 0 or less: already expired

    def apply(self, table: str, key: str, value: dict[str, Any] | None, expires_at: float | None) -> None:
        """Store `value` until the absolute `expires_at` (epoch seconds; None: no expiry).

        A None value deletes the key (a tombstone on the compacted topic). Records already expired
        are ignored, so replaying a compacted topic does not resurrect old entries.
        """
        if value is None or (expires_at is not None and expires_at <= self.clock.time()):
            with self._lock:
                rows = self._tables.get(table)
                if rows is not None:
                    rows.pop(key, None)
            return
        self._store(table, key, value, expires_at)

    def _store(self, table: str, key: str, value: dict[str, Any], expires_at: float | None) -> None:
        with self._lock:
            rows = self._tables.get(table)
            if rows is None:
                rows = self._tables[table] = OrderedDict()
            rows[key] = (expires_at, value)
            rows.move_to_end(key)
            if len(rows) > self._small_limit:
                limit = self._limit(table)
                while len(rows) > limit:
                    rows.popitem(last=False)

    def expires_at(self, table: str, key: str) -> float | None:
        """The absolute expiry of a live entry (what KafkaState writes next to the value)."""
        with self._lock:
            rows = self._tables.get(table)
            item = rows.get(key) if rows else None
            return item[0] if item else None

    def size(self, table: str) -> int:
        with self._lock:
            return len(self._tables.get(table) or ())
