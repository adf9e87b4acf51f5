"""LocalState: the SharedState of one process, bounded, with TTL."""

from __future__ import annotations

from enrichers.state import LocalState
from tokentrail.clock import FixedClock


class TestLocalState:
    def test_missing_key(self):
        """A key never put is None."""
        assert LocalState().get("tokens", "x") is None

    def test_put_get(self):
        """A value put is read back from its table only."""
        s = LocalState()
        s.put("tokens", "a", {"v": 1}, None)
        assert s.get("tokens", "a") == {"v": 1}
        assert s.get("apps", "a") is None

    def test_ttl(self):
        """An entry expires after its TTL."""
        clock = FixedClock()
        s = LocalState(clock=clock)
        s.put("tokens", "a", {"v": 1}, 10)
        clock.advance(9)
        assert s.get("tokens", "a") == {"v": 1}
        clock.advance(2)
        assert s.get("tokens", "a") is None

    def test_lru_bound(self):
        """Beyond the limit the least recently used entry goes."""
        s = LocalState(max_entries={"tokens": 2, "*": 5})
        s.put("tokens", "a", {}, None)
        s.put("tokens", "b", {}, None)
        s.get("tokens", "a")
        s.put("tokens", "c", {}, None)
        assert s.get("tokens", "b") is None and s.get("tokens", "a") == {}
        assert s.size("tokens") == 2

    def test_apply_absolute_expiry_and_tombstone(self):
        """Records from another worker carry an absolute expiry; None deletes; expired ones are ignored."""
        clock = FixedClock()
        s = LocalState(clock=clock)
        s.apply("apps", "c1", {"name": "x"}, clock.time() + 60)
        assert s.expires_at("apps", "c1") == clock.time() + 60
        s.apply("apps", "c1", None, None)
        assert s.get("apps", "c1") is None
        s.apply("apps", "c2", {"name": "old"}, clock.time() - 1)
        assert s.get("apps", "c2") is None
