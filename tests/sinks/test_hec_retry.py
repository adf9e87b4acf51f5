"""The HEC response classifier on Splunk's documented bodies (no I/O)."""

from __future__ import annotations

import pytest

from sinks.splunk_hec import retry


def body(code: int, **extra) -> dict:
    return {"text": retry.CODES[code][1], "code": code, **extra}


def test_success_carries_the_ack_id():
    """200 code 0 is OK, with the ackId when the token acknowledges."""
    v = retry.classify(200, {"text": "Success", "code": 0, "ackId": 7})
    assert v.action == retry.OK and v.ack_id == 7
    assert retry.classify(200, body(0)).ack_id is None


@pytest.mark.parametrize("status,code", [(403, 1), (401, 2), (401, 3), (403, 4), (400, 7), (400, 16)])
def test_token_and_index_refusals_stop_the_worker(status, code):
    """Codes 1-4 (token), 7 (index not allowed for the token) and 16 stop: retrying cannot help."""
    v = retry.classify(status, body(code))
    assert v.action == retry.AUTH and f"code {code}" in v.reason


def test_busy_and_internal_errors_are_retried():
    """503 code 9, 500 code 8, 503 code 18 and bare 5xx/429 are retried with backoff."""
    for status, b in ((503, body(9)), (500, body(8)), (503, body(18)), (502, b"Bad Gateway"), (429, None)):
        assert retry.classify(status, b).action == retry.RETRY


@pytest.mark.parametrize("code", [5, 6, 12, 13, 15])
def test_invalid_events_split_the_request(code):
    """Invalid data (6, 12, 13, 15, 5) splits the request, pointing at the event HEC names."""
    v = retry.classify(400, body(code, **{"invalid-event-number": 3}))
    assert v.action == retry.SPLIT and v.invalid_event == 3
    assert f"code {code} {retry.CODES[code][1]} (event 3 of the request)" in v.reason


def test_413_splits():
    """A request over max_content_length is split."""
    assert retry.classify(413, b"<html>Request Entity Too Large</html>").action == retry.SPLIT


def test_channel_problems_take_a_new_channel():
    """Codes 10 and 11 mean our channel is missing or unknown: take a new one and retry."""
    assert retry.classify(400, body(11)).action == retry.NEW_CHANNEL
    assert retry.classify(400, body(10)).action == retry.NEW_CHANNEL


def test_ack_query_answers():
    """An ack response maps ids to booleans; code 14 means acks are off; 11 means the channel is gone."""
    assert retry.classify_ack(200, {"acks": {"0": True}}).action == retry.OK
    assert retry.classify_ack(400, body(14)).action == retry.ACK_DISABLED
    assert retry.classify_ack(400, body(11)).action == retry.NEW_CHANNEL
    assert retry.classify_ack(403, body(4)).action == retry.AUTH
    assert retry.classify_ack(503, body(9)).action == retry.RETRY


def test_reason_quotes_the_server_not_the_request():
    """The reason is built from the status and HEC's code/text only."""
    assert retry.describe(503, body(9)) == "HTTP 503, code 9 Server is busy"
