"""The correlator: issuance linked to use by token id, replay from a new address, bounded state."""

from __future__ import annotations

from typing import Any

import pytest

from enrichers.correlate import Correlator
from enrichers.state import LocalState
from tokentrail.clock import FixedClock


def issued(token_id: str, outcome: str = "success", lifetime: float | None = 3600) -> dict[str, Any]:
    ev: dict[str, Any] = {"@timestamp": "2026-03-02T09:00:00.000Z",
                          "event": {"id": "grant-1", "dataset": "okta.system", "outcome": outcome},
                          "source": {"ip": "192.0.2.10"},
                          "tokentrail": {"token": {"id": token_id, "activity": "issue", "client_id": "0oa1",
                                                   "related_ids": ["ID.1"]}}}
    if lifetime:
        ev["_tt"] = {"token": {"lifetime": lifetime}}
    return ev


def used(token_id: str | None, ip: str = "203.0.113.10", fp: str = "f" * 64) -> dict[str, Any]:
    tok = {"activity": "use", "location": "authorization_header", "fingerprint": fp}
    if token_id:
        tok["id"] = token_id
    return {"@timestamp": "2026-03-02T09:30:00.000Z", "event": {"id": "use-1", "dataset": "tokentrail.access"},
            "source": {"ip": ip}, "tokentrail": {"token": tok}}


def codes(event: dict[str, Any]) -> list[str]:
    return [c for c, _ in (event.get("_tt") or {}).get("findings", [])]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock("2026-03-02T09:00:00Z")


class TestCorrelator:
    def test_field_absent_event_untouched(self):
        """An event without tokentrail.token comes back equal."""
        ev = {"event": {"id": "1", "dataset": "okta.system"}}
        assert Correlator()(dict(ev)) == ev

    def test_use_linked_to_issuance(self):
        """A use of a token whose issuance was seen carries the issuing event's id, dataset, time and address."""
        corr = Correlator()
        corr(issued("AT.1"))
        ev = corr(used("AT.1"))
        assert ev["tokentrail"]["token"]["issuance"] == {"event_id": "grant-1", "dataset": "okta.system",
                                                         "timestamp": "2026-03-02T09:00:00.000Z",
                                                         "source_ip": "192.0.2.10"}

    def test_related_ids_linked_too(self):
        """The ID token issued with the access token is linked to the same grant."""
        corr = Correlator()
        corr(issued("AT.1"))
        assert corr(used("ID.1"))["tokentrail"]["token"]["issuance"]["event_id"] == "grant-1"

    def test_failed_issuance_not_remembered(self):
        """A failed grant issued nothing: no link."""
        corr = Correlator()
        corr(issued("AT.1", outcome="failure"))
        assert "issuance" not in corr(used("AT.1"))["tokentrail"]["token"]

    def test_issuance_expires_with_token_lifetime(self, clock: FixedClock):
        """The issuance is kept for the token's lifetime, then forgotten."""
        corr = Correlator(state=LocalState(clock=clock))
        corr(issued("AT.1", lifetime=600))
        clock.advance(601)
        assert "issuance" not in corr(used("AT.1"))["tokentrail"]["token"]

    def test_workers_share_state(self):
        """Issuance seen by one worker links a use seen by another through the shared state."""
        state = LocalState()
        Correlator(state=state)(issued("AT.1"))
        assert "issuance" in Correlator(state=state)(used("AT.1"))["tokentrail"]["token"]

    def test_replay_from_new_ip(self):
        """The second address a token is used from raises token.replay_new_ip, once per address."""
        corr = Correlator()
        assert codes(corr(used("AT.1", "203.0.113.10"))) == []
        assert codes(corr(used("AT.1", "203.0.113.10"))) == []
        assert codes(corr(used("AT.1", "198.51.100.7"))) == ["token.replay_new_ip"]
        assert codes(corr(used("AT.1", "198.51.100.7"))) == []

    def test_opaque_tokens_tracked_by_fingerprint(self):
        """A token without id is followed by its fingerprint."""
        corr = Correlator()
        corr(used(None, "203.0.113.10", fp="a" * 64))
        assert codes(corr(used(None, "198.51.100.7", fp="a" * 64))) == ["token.replay_new_ip"]
        assert codes(corr(used(None, "198.51.100.8", fp="b" * 64))) == []

    def test_state_bounded(self):
        """The tables never hold more than their limit."""
        state = LocalState(max_entries=10)
        corr = Correlator(state=state)
        for i in range(100):
            corr(used(f"AT.{i}"))
        assert state.size("token_ips") == 10
