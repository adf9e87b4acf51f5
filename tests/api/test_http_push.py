"""The `kind: http` push input: shared-secret webhooks and Okta Event Hooks on a loopback port."""

from __future__ import annotations

import threading
import time

import httpx
import orjson
import pytest
from conftest import Collector
from standin_okta import okta_event

from collectors.inputs import InputContext
from collectors.inputs.http import HttpInput, HttpInputConfig
from tokentrail.checkpoint import MemoryStore
from tokentrail.clock import Clock
from tokentrail.secrets import Secret

HOOK_SECRET = "hook-shared-secret"


@pytest.fixture
def push(tmp_path):
    """Start an HttpInput on a free port with the given Collector; yields (url, collector, input)."""
    started = []

    def start(collector: Collector | None = None, **kw):
        f = tmp_path / "hook-secret"
        f.write_text(HOOK_SECRET)
        cfg = HttpInputConfig(listen="127.0.0.1:0", secret=Secret(file=str(f)), path="/hooks/okta", **kw)
        inp = HttpInput("push", "okta", cfg, InputContext(store=MemoryStore(), clock=Clock()))
        collector = collector or Collector()
        stop = threading.Event()
        t = threading.Thread(target=inp.run, args=(collector.emit, stop, False), daemon=True)
        t.start()
        assert inp.ready.wait(5)
        started.append((stop, t))
        host, port = inp.address
        return f"http://{host}:{port}/hooks/okta", collector, inp

    yield start
    for stop, t in started:
        stop.set()
        t.join(5)


def hook_body(n: int) -> bytes:
    return orjson.dumps({"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
                         "source": "https://example.okta.com/api/v1/eventHooks/who8c21", "eventId": "b5a188b9",
                         "eventTime": "2026-03-02T12:00:00.000Z", "contentType": "application/json",
                         "data": {"events": [okta_event(i, "2026-03-02T11:59:00.000Z") for i in range(n)]}})


AUTH = {"Authorization": HOOK_SECRET}


def test_okta_verification_challenge_is_echoed(push):
    """The one-time verification GET gets its challenge back as {"verification": ...}."""
    url, _, _ = push()
    r = httpx.get(url, headers={**AUTH, "X-Okta-Verification-Challenge": "Tgp5WJ2Q9RBI8wKJ2CJvL"})
    assert r.status_code == 200 and r.json() == {"verification": "Tgp5WJ2Q9RBI8wKJ2CJvL"}


def test_wrong_secret_is_refused_and_nothing_emitted(push):
    """Without the shared secret: 401, for the challenge and for records."""
    url, got, _ = push()
    assert httpx.get(url, headers={"X-Okta-Verification-Challenge": "x"}).status_code == 401
    assert httpx.post(url, content=hook_body(2), headers={"Authorization": "guess"}).status_code == 401
    assert got.raws == []


def test_event_hook_events_become_one_raw_each_keyed_by_uuid(push):
    """An Okta Event Hook delivery is split into its events."""
    url, got, _ = push()
    r = httpx.post(url, content=hook_body(3), headers=AUTH)
    assert r.status_code == 200 and r.json() == {"accepted": 3}
    assert got.keys() == [okta_event(i, "")["uuid"] for i in range(3)]
    assert orjson.loads(got.raws[0].data)["eventType"] == "user.session.start"


def test_200_only_after_every_record_is_safe(push):
    """The answer waits for on_done(None) of every record."""
    held = Collector(ack=False)
    url, _, _ = push(held)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", httpx.post(url, content=hook_body(2), headers=AUTH)))
    t.start()
    deadline = time.monotonic() + 5
    while len(held.held) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert "r" not in result  # still waiting for the bus
    held.release()
    t.join(5)
    assert result["r"].status_code == 200


def test_a_failed_record_answers_503(push):
    """If a record cannot be made safe, the sender is told to retry."""
    held = Collector(ack=False)
    url, _, _ = push(held)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", httpx.post(url, content=hook_body(2), headers=AUTH)))
    t.start()
    while len(held.held) < 2:
        time.sleep(0.01)
    held.release(1)
    held.release(1, error=RuntimeError("bus down"))
    t.join(5)
    assert result["r"].status_code == 503


def test_records_not_safe_in_time_answer_503(push):
    """After ack_timeout_seconds without acknowledgement the answer is 503."""
    url, _, _ = push(Collector(ack=False), ack_timeout_seconds=0.2)
    assert httpx.post(url, content=hook_body(1), headers=AUTH).status_code == 503


def test_arrays_ndjson_and_envelopes(push):
    """A JSON array and NDJSON give one raw per element; another object is one whole document."""
    url, got, _ = push()
    events = [okta_event(i, "2026-03-02T11:59:00.000Z") for i in range(2)]
    assert httpx.post(url, content=orjson.dumps(events), headers=AUTH).json() == {"accepted": 2}
    ndjson = b"\n".join(orjson.dumps(e) for e in events) + b"\n"
    assert httpx.post(url, content=ndjson, headers=AUTH).json() == {"accepted": 2}
    assert httpx.post(url, content=orjson.dumps(events[0]), headers=AUTH).json() == {"accepted": 1}
    assert got.raws[-1].document is True and len(got.raws) == 5


def test_bad_bodies_and_paths(push):
    """Not JSON: 400; over max_body_bytes: 413; another path: 404."""
    url, got, _ = push(max_body_bytes=1000)
    assert httpx.post(url, content=b"not json {", headers=AUTH).status_code == 400
    assert httpx.post(url, content=hook_body(20), headers=AUTH).status_code == 413
    assert httpx.post(url.replace("/hooks/okta", "/other"), content=b"{}", headers=AUTH).status_code == 404
    assert got.raws == []


def test_once_returns_at_once(tmp_path):
    """A push input has nothing to catch up: with --once it returns without listening."""
    f = tmp_path / "s"
    f.write_text("x")
    inp = HttpInput("push", "okta", HttpInputConfig(listen="127.0.0.1:0", secret=Secret(file=str(f))),
                    InputContext(store=MemoryStore(), clock=Clock()))
    inp.run(Collector().emit, threading.Event(), once=True)
    assert inp.address is None
