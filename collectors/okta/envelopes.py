"""The shapes Okta LogEvents arrive in: the API's JSON array, one object, or NDJSON lines of either.

An Okta API error body (`{"errorCode": "E0000011", "errorSummary": ...}`) saved in place of a page is
refused with Okta's code and summary, so the DLQ says what happened instead of "no eventType".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from collectors._source import Record, unwrap_envelope
from tokentrail.errors import RecordError


def unwrap(doc: Any) -> Iterable[Record]:
    """Records from a JSON array of LogEvents or a single LogEvent."""
    if isinstance(doc, dict) and "errorCode" in doc and "eventType" not in doc:
        summary = str(doc.get("errorSummary") or "")[:200]
        raise RecordError(f"Okta API error {str(doc['errorCode'])[:40]}: {summary}".rstrip(": "))
    return unwrap_envelope(doc, ())
