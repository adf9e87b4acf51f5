"""The API input's checkpoint encoding: seen keys as digests, small enough for a Kafka message."""

from __future__ import annotations

import orjson

from collectors.inputs.api import digest, pack_seen, unpack_seen


def test_seen_round_trips_with_times_rounded_up():
    """Digests survive; times are kept to the second above (never earlier than the record)."""
    seen = {digest("a"): 1780000000.2, digest("b"): 1780000001.0}
    assert unpack_seen(pack_seen(seen)) == {digest("a"): 1780000001.0, digest("b"): 1780000001.0}


def test_keys_in_clear_are_accepted():
    """A hand-written state with keys in clear is read as their digests."""
    assert unpack_seen({"uuid-1": 5}) == {digest("uuid-1"): 5.0}


def test_the_default_bound_fits_kafkas_default_message_size():
    """50,000 remembered keys make a checkpoint under 1 MB."""
    seen = {digest(f"00000000-0000-0000-0000-{i:012d}"): 1780000000.0 + i for i in range(50_000)}
    state = {"v": 1, "streams": {"logs": {"cursor": {"next": "https://example.okta.com/api/v1/logs?after=x" * 3},
                                          "horizon": None, "seen": pack_seen(seen)}}}
    assert len(orjson.dumps(state)) < 1_000_000
