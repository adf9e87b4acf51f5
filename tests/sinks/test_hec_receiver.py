"""The test HEC receiver speaks Splunk's documented protocol (so the sink tests mean something)."""

from __future__ import annotations

import base64
import gzip

import httpx
import pytest
from sinkkit import ACK_TOKEN, DISABLED_TOKEN, MAIN_ONLY_TOKEN, PLAIN_TOKEN

CH = "0b5c6a1e-1111-4222-8333-444455556666"


def post(hec, body: bytes, token: str | None = PLAIN_TOKEN, path: str = "/services/collector/event", **headers):
    h = {"Authorization": f"Splunk {token}"} if token else {}
    h.update(headers)
    return httpx.post(hec.url + path, content=body, headers=h)


@pytest.mark.parametrize("auth,code,status", [
    (None, 2, 401), ("Bearer x", 3, 401), (f"Splunk {DISABLED_TOKEN}", 1, 403), ("Splunk nope", 4, 403)])
def test_token_check(hec, auth, code, status):
    """Missing, malformed, disabled and unknown tokens get their code and HTTP status."""
    r = httpx.post(hec.url + "/services/collector/event", content=b'{"event":"x"}',
                   headers={"Authorization": auth} if auth else {})
    assert (r.status_code, r.json()["code"]) == (status, code)


def test_basic_auth_with_token_as_password(hec):
    """Basic auth with the token as password is accepted."""
    cred = base64.b64encode(f"x:{PLAIN_TOKEN}".encode()).decode()
    r = httpx.post(hec.url + "/services/collector/event", content=b'{"event":"x"}',
                   headers={"Authorization": f"Basic {cred}"})
    assert r.json() == {"text": "Success", "code": 0}


def test_query_string_token_is_refused(hec):
    """`?token=` is code 16 unless enabled."""
    r = httpx.post(hec.url + "/services/collector/event?token=abc", content=b'{"event":"x"}')
    assert r.json()["code"] == 16


def test_concatenated_events_and_gzip(hec):
    """Several JSON objects back to back (no separator needed), gzipped."""
    r = post(hec, gzip.compress(b'{"event":"a"}{"event":{"b":1}} {"event":"c"}'), **{"Content-Encoding": "gzip"})
    assert r.json()["code"] == 0 and [e["event"] for e in hec.state.events] == ["a", {"b": 1}, "c"]


@pytest.mark.parametrize("body,code,n", [
    (b"", 5, None), (b'{"event":"a"} {"event":', 6, 1), (b'{"event":"a"}{"time":1}', 12, 1),
    (b'{"event":""}', 13, 0), (b'{"event":"a","fields":{"x":{"y":1}}}', 15, 0),
    (b'{"event":"a","time":"soon"}', 15, 0)])
def test_invalid_data_codes(hec, body, code, n):
    """No data, bad JSON, missing/blank event, bad fields or time: code, and the first bad event."""
    r = post(hec, body)
    assert r.status_code == 400 and r.json()["code"] == code and r.json().get("invalid-event-number") == n
    assert hec.state.events == []


def test_index_outside_the_token_list_is_code_7(hec):
    """An index the token may not write to is refused."""
    assert post(hec, b'{"event":"a","index":"secret"}', token=MAIN_ONLY_TOKEN).json()["code"] == 7


def test_ack_token_needs_a_valid_channel(hec):
    """With acknowledgement on, the channel is required (10) and must be a GUID (11)."""
    assert post(hec, b'{"event":"a"}', token=ACK_TOKEN).json()["code"] == 10
    assert post(hec, b'{"event":"a"}', token=ACK_TOKEN, **{"X-Splunk-Request-Channel": "abc"}).json()["code"] == 11


def test_ack_ids_and_the_ack_endpoint(hec):
    """Each request gets the next ackId of its channel; an ack reported true is then forgotten."""
    h = {"X-Splunk-Request-Channel": CH}
    assert [post(hec, b'{"event":"a"}', token=ACK_TOKEN, **h).json()["ackId"] for _ in range(2)] == [0, 1]
    r = post(hec, b'{"acks":[0,1,5]}', token=ACK_TOKEN, path="/services/collector/ack", **h)
    assert r.json() == {"acks": {"0": True, "1": True, "5": False}}
    r = post(hec, b'{"acks":[0]}', token=ACK_TOKEN, path="/services/collector/ack", **h)
    assert r.json() == {"acks": {"0": False}}


def test_ack_on_a_token_without_acks_is_code_14(hec):
    """Querying acks with a token that does not acknowledge is code 14."""
    r = post(hec, b'{"acks":[0]}', path="/services/collector/ack", **{"X-Splunk-Request-Channel": CH})
    assert (r.status_code, r.json()["code"]) == (400, 14)


def test_health(hec):
    """The health endpoint says 17 when healthy and 18 (503) when queues are full."""
    assert httpx.get(hec.url + "/services/collector/health").json() == {"text": "HEC is healthy", "code": 17}
    hec.state.unhealthy = True
    r = httpx.get(hec.url + "/services/collector/health")
    assert (r.status_code, r.json()["code"]) == (503, 18)
