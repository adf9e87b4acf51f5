"""Pure classifier: a HEC response (HTTP status, parsed body) to what the sink does next.

HEC answers for the whole request (never per event, unlike Elasticsearch `_bulk`):

    200 code 0            OK (with `ackId` when the token has indexer acknowledgement)
    401/403, codes 1-4    stop: the token is refused (AuthError; nothing lost, no retry storm)
    code 7, 16            stop: the token may not write to that index / query-string auth is off
    400 codes 5,6,12,13,15, 413
                          split: find the bad event (HEC gives `invalid-event-number`) and dead-letter
                          it alone; the rest is sent again
    codes 10, 11          new channel, then retry (the server lost or refused our channel)
    429, 5xx (codes 8, 9, 18), other
                          retry later (the Shipper's backoff)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Splunk's documented HEC status codes: code -> (HTTP status, text).
CODES: dict[int, tuple[int, str]] = {
    0: (200, "Success"),
    1: (403, "Token disabled"),
    2: (401, "Token is required"),
    3: (401, "Invalid authorization"),
    4: (403, "Invalid token"),
    5: (400, "No data"),
    6: (400, "Invalid data format"),
    7: (400, "Incorrect index"),
    8: (500, "Internal server error"),
    9: (503, "Server is busy"),
    10: (400, "Data channel is missing"),
    11: (400, "Invalid data channel"),
    12: (400, "Event field is required"),
    13: (400, "Event field cannot be blank"),
    14: (400, "ACK is disabled"),
    15: (400, "Error in handling indexed fields"),
    16: (400, "Query string authorization is not enabled"),
    17: (200, "HEC is healthy"),
    18: (503, "HEC is unhealthy, queues are full"),
}

OK = "ok"
RETRY = "retry"
SPLIT = "split"
AUTH = "auth"
NEW_CHANNEL = "new_channel"
ACK_DISABLED = "ack_disabled"

_SPLIT_CODES = {5, 6, 12, 13, 15}
_STOP_CODES = {1, 2, 3, 4, 7, 16}


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str
    reason: str = ""
    ack_id: int | None = None
    invalid_event: int | None = None  # index of the first bad event in the request, when HEC says


def describe(status: int, body: Any) -> str:
    """`HTTP 400, code 6 Invalid data format (event 3)`: the server's words, never the request."""
    code = body.get("code") if isinstance(body, dict) else None
    text = body.get("text") if isinstance(body, dict) else None
    if isinstance(code, int) and not text and code in CODES:
        text = CODES[code][1]
    out = f"HTTP {status}"
    if isinstance(code, int):
        out += f", code {code}"
    if text:
        out += f" {str(text)[:200]}"
    elif isinstance(body, str | bytes) and body:
        out += f" {(body.decode('utf-8', 'replace') if isinstance(body, bytes) else body)[:200]}"
    if isinstance(body, dict) and isinstance(body.get("invalid-event-number"), int):
        out += f" (event {body['invalid-event-number']} of the request)"
    return out


def classify(status: int, body: Any) -> Verdict:
    """The verdict for one `/services/collector/event` response."""
    code = body.get("code") if isinstance(body, dict) else None
    reason = describe(status, body)
    if status == 200 and code in (0, None):
        ack = body.get("ackId") if isinstance(body, dict) else None
        return Verdict(OK, ack_id=ack if isinstance(ack, int) else None)
    if status in (401, 403) or code in _STOP_CODES:
        return Verdict(AUTH, reason)
    if status == 413:
        return Verdict(SPLIT, f"{reason}: request larger than the server's max_content_length")
    if code in _SPLIT_CODES:
        bad = body.get("invalid-event-number")
        return Verdict(SPLIT, reason, invalid_event=bad if isinstance(bad, int) and bad >= 0 else None)
    if code in (10, 11):
        return Verdict(NEW_CHANNEL, reason)
    return Verdict(RETRY, reason)


def classify_ack(status: int, body: Any) -> Verdict:
    """The verdict for one `/services/collector/ack` response (`OK` carries no ids: read `acks`)."""
    code = body.get("code") if isinstance(body, dict) else None
    reason = describe(status, body)
    if status == 200 and isinstance(body, dict) and isinstance(body.get("acks"), dict):
        return Verdict(OK)
    if status in (401, 403) or code in _STOP_CODES:
        return Verdict(AUTH, reason)
    if code == 14:
        return Verdict(ACK_DISABLED, reason)
    if code in (10, 11):
        return Verdict(NEW_CHANNEL, reason)
    return Verdict(RETRY, reason)
