"""The Splunk HEC sink against the protocol-exact receiver: batching, acks (late, lost, forgotten),
busy servers, invalid events, refused tokens."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sinkkit import ACK_TOKEN, DISABLED_TOKEN, MAIN_ONLY_TOKEN, PLAIN_TOKEN, items_of, make_event, ship
from structlog.testing import capture_logs

from sinks._sink import Outcome
from sinks.splunk_hec import Config, SplunkHecSink
from tokentrail import metrics
from tokentrail.errors import AuthError


@pytest.fixture
def make_sink(hec, secret_file):
    made = []

    def make(token: str = PLAIN_TOKEN, name: str = "hec-test", **kw) -> SplunkHecSink:
        cfg = Config(url=hec.url, token=secret_file(token, f"tok-{len(made)}"), **kw)
        sink = SplunkHecSink(cfg, name=name)
        made.append(sink)
        return sink
    yield make
    for s in made:
        s.close()


def events(n: int, start: int = 0, **kw) -> list:
    return items_of([make_event(i, **kw) for i in range(start, start + n)])


def ids(hec) -> list[str]:
    return [e["event"]["event"]["id"] for e in hec.state.events]


def test_a_batch_is_one_gzipped_request_on_the_worker_channel(hec, make_sink):
    """50 events go in one gzipped request with the Splunk token header and this worker's channel."""
    sink = make_sink()
    assert {r.outcome for r in sink.send(events(50))} == {Outcome.DELIVERED}
    sink.send(events(1, start=50))
    reqs = hec.state.requests
    assert [r.events for r in reqs] == [50, 1]
    assert reqs[0].headers["content-encoding"] == "gzip"
    assert reqs[0].headers["authorization"] == f"Splunk {PLAIN_TOKEN}"
    channels = {r.headers["x-splunk-request-channel"] for r in reqs}
    assert len(channels) == 1 and uuid.UUID(channels.pop())
    assert len(ids(hec)) == 51


def test_requests_are_cut_by_bytes(hec, make_sink):
    """A batch over batch_max_bytes is sent as several requests, every event once."""
    sink = make_sink(batch_max_bytes=4000)
    sink.send(events(20))
    assert len(hec.state.requests) >= 5 and sorted(ids(hec)) == sorted(set(ids(hec))) and len(ids(hec)) == 20


def test_with_acks_a_batch_is_delivered_only_once_acknowledged(hec, make_sink):
    """send() returns DELIVERED only after /ack said true (the receiver acks late)."""
    hec.state.ack_delay = 0.6
    sink = make_sink(ACK_TOKEN, ack=True, ack_poll_seconds=0.2)
    t0 = time.monotonic()
    results = sink.send(events(10))
    assert time.monotonic() - t0 >= 0.6
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    assert sum(r.path == "/services/collector/ack" for r in hec.state.requests) >= 2
    assert hec.state.pending_acks() == 0


def test_a_lost_ack_is_resent_after_the_ack_timeout(hec, make_sink):
    """An ack that never comes makes the request RETRY after ack_timeout; the resend is acknowledged."""
    hec.state.lose_acks(1)
    sink = make_sink(ACK_TOKEN, ack=True, ack_timeout_seconds=0.5, ack_poll_seconds=0.1)
    with capture_logs() as logs:
        run = ship([sink], events(8))
    assert run.acked == 8 and run.dlq == []
    assert sorted(set(ids(hec))) == sorted(f"evt-okta.system-{i:06d}" for i in range(8))
    assert len(ids(hec)) >= 16  # at-least-once: the unacknowledged request was indexed twice
    assert any("no indexer acknowledgement in time" in e["event"] for e in logs)


def test_a_forgotten_channel_resends_what_waited_for_acks(hec, make_sink):
    """If HEC forgets the channel (restart), pending acks can never come: resend on a new channel."""
    hec.state.lose_acks(1)
    sink = make_sink(ACK_TOKEN, ack=True, ack_poll_seconds=0.1)
    threading.Timer(0.3, hec.state.forget_channels).start()
    run = ship([sink], events(5))
    assert run.acked == 5
    assert len({r.headers["x-splunk-request-channel"] for r in hec.state.requests}) == 2


def test_pending_acks_are_bounded(hec, make_sink):
    """At most max_pending_acks requests wait for acknowledgement at any time."""
    hec.state.ack_delay = 0.15
    sink = make_sink(ACK_TOKEN, ack=True, max_pending_acks=2, batch_max_bytes=3000, ack_poll_seconds=0.05)
    assert {r.outcome for r in sink.send(events(24))} == {Outcome.DELIVERED}
    assert sum(r.path.endswith("/event") for r in hec.state.requests) >= 6
    assert hec.state.max_pending() <= 2


def test_ack_true_with_a_token_without_acks_warns_once_and_delivers(hec, make_sink):
    """No ackId in the answer: a 200 means accepted; said once in the log."""
    sink = make_sink(PLAIN_TOKEN, ack=True)
    with capture_logs() as logs:
        assert {r.outcome for r in sink.send(events(3)) + sink.send(events(3, start=3))} == {Outcome.DELIVERED}
    assert sum("no ackId" in e["event"] for e in logs) == 1


def test_busy_server_is_retried_until_delivered(hec, make_sink):
    """503 code 9 is retried with the Shipper's backoff until HEC takes the events."""
    hec.state.busy(3)
    before = metrics.RETRIES.labels(sink="hec-busy")._value.get()
    run = ship([make_sink(name="hec-busy")], events(12))
    assert run.acked == 12 and run.dlq == [] and sorted(ids(hec)) == sorted(set(ids(hec))) and len(ids(hec)) == 12
    assert metrics.RETRIES.labels(sink="hec-busy")._value.get() - before == 36


def test_an_invalid_event_is_dead_lettered_alone(hec, make_sink):
    """Code 6 splits the request until the bad event stands alone; it goes to the DLQ, the rest to HEC."""
    hec.state.poison = "poison-pill"
    batch = events(9) + items_of([make_event(9, user={"name": "poison-pill"})]) + events(6, start=10)
    run = ship([make_sink(name="hec-poison")], batch)
    assert run.acked == 16 and len(run.dlq) == 1
    d = run.dlq[0]["tokentrail"]["dlq"]
    assert d["reason"].startswith("hec-poison: HTTP 400, code 6 Invalid data format")
    assert sorted(ids(hec)) == sorted(f"evt-okta.system-{i:06d}" for i in range(16) if i != 9)


def test_a_refused_token_stops_the_worker_and_acks_nothing(hec, make_sink):
    """403 code 1 raises AuthError: the Shipper stops with a clear error, nothing acknowledged."""
    with capture_logs() as logs:
        run = ship([make_sink(DISABLED_TOKEN)], events(4), timeout=10)
    assert run.acked == 0 and "code 1 Token disabled" in run.fatal[0]
    assert DISABLED_TOKEN not in repr(logs) + run.fatal[0]
    assert sum(r.path.endswith("/event") for r in hec.state.requests) == 1  # no retry storm


def test_an_index_the_token_may_not_use_stops_the_worker(hec, make_sink):
    """Code 7 (incorrect index) is a configuration problem: stop, do not dead-letter everything."""
    with pytest.raises(AuthError, match="code 7 Incorrect index"):
        make_sink(MAIN_ONLY_TOKEN, index="secret").send(events(2))


def test_an_invalid_channel_takes_a_new_one(hec, make_sink):
    """Code 11 makes the sink pick a new channel and try again."""
    hec.state.fail(1, 400, 11)
    run = ship([make_sink()], events(3))
    assert run.acked == 3 and len({r.headers["x-splunk-request-channel"] for r in hec.state.requests}) == 2


def test_ready_uses_the_health_endpoint(hec, make_sink):
    """ready() is true on code 17 and false when HEC is unhealthy."""
    assert make_sink().ready()
    hec.state.unhealthy = True
    assert not make_sink().ready()
