"""The shapes org audit events arrive in.

- a page of `GET /admin/v1/orgs/{orgId}/events`: `{"data": [...], "links": {"next": ...}, "meta": {...}}`
  (an empty page, `"data": []` or `"data": null`, yields nothing);
- one event from `GET .../events/{eventId}`: `{"data": {...}}`;
- a bare event object, or a JSON array of events (NDJSON of either: one per line).

An API error body (`{"errors": [{"status": "401", "title": ...}]}` or `{"code": 401, "message": ...}`)
is refused with its status and title, so the DLQ says what happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from collectors._source import Record, unwrap_envelope
from tokentrail.errors import RecordError


def _api_error(doc: dict[str, Any]) -> str | None:
    errors = doc.get("errors")
    if isinstance(errors, list) and errors and "data" not in doc:
        first = errors[0] if isinstance(errors[0], dict) else {}
        status = str(first.get("status") or first.get("code") or "")[:20]
        title = str(first.get("title") or first.get("detail") or "")[:200]
        return f"Atlassian API error {status}: {title}".rstrip(": ")
    if "code" in doc and "message" in doc and "attributes" not in doc and "data" not in doc:
        return f"Atlassian API error {str(doc['code'])[:20]}: {str(doc['message'])[:200]}"
    return None


def unwrap(doc: Any) -> Iterator[Record]:
    """Events from a page envelope, a single-event envelope, a bare event or an array of events."""
    if isinstance(doc, dict):
        reason = _api_error(doc)
        if reason:
            raise RecordError(reason)
        data = doc.get("data")
        if isinstance(data, dict):
            yield data
            return
        if "data" in doc and data is None:
            return
        if "data" in doc and not isinstance(data, list):
            raise RecordError(f"envelope data is {type(data).__name__}, not a list or an object")
    yield from unwrap_envelope(doc, ("data",))
