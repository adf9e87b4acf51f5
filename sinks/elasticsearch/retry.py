"""Pure classifier: a `_bulk` response (HTTP status and parsed body) to what happens to each event.

No I/O and no waiting here: the Shipper owns the one backoff (tokentrail/retry.py) and re-sends the
events this module marks RETRY. The rules (Filebeat's, which users trust; DESIGN.md "Delivery"):

    whole request                          per item (HTTP 200, "errors": true)
    200  -> per item                       2xx  delivered
    413  -> split the batch in halves      409  duplicate (create met the same _id: a replay)
    400  -> split (find the bad line)      429  retry (write queue full)
    401/403 -> stop (AuthError)            5xx  retry (shard unavailable...)
    429, 5xx, other -> retry all           403 security_exception -> stop; 403 cluster_block -> retry
    connection errors -> retry all         other 4xx -> dead letter with the server's reason
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sinks._sink import DELIVERED, DUPLICATE, Outcome, Result

ITEMS = "items"      # look at `results`, one per event
RETRY = "retry"      # send every event of the request again later
SPLIT = "split"      # send the two halves separately (a single event: dead letter with `reason`)
AUTH = "auth"        # credentials or privileges refused: stop the worker

_MAX_REASON = 500
# Top-level 400s that say nothing about the data: splitting would dead-letter good events.
_NOT_THE_DATA = {"media_type_header_exception", "status_exception"}


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str
    reason: str = ""
    results: list[Result] | None = None


def error_reason(status: int, error: Any) -> str:
    """`400 document_parsing_exception: failed to parse field [n] ... (caused by ...)`, bounded."""
    if isinstance(error, dict):
        text = f"{status} {error.get('type', 'error')}: {error.get('reason') or ''}".rstrip(": ")
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            text += f" (caused by {cause.get('type', 'error')}: {cause['reason']})"
    elif error:
        text = f"{status} {error}"
    else:
        text = f"{status}"
    return text[:_MAX_REASON]


def classify_item(status: int, error: Any = None) -> Result | None:
    """One bulk item's outcome; None means "stop the worker" (a privilege is missing)."""
    if 200 <= status < 300:
        return DELIVERED
    if status == 409:
        return DUPLICATE
    etype = error.get("type") if isinstance(error, dict) else None
    if status == 429 or status >= 500:
        return Result(Outcome.RETRY, error_reason(status, error))
    if status in (401, 403) and etype == "security_exception":
        return None
    if status == 403 and etype == "cluster_block_exception":
        # A write block (read-only index, closed index) is lifted by an operator: wait, lose nothing.
        return Result(Outcome.RETRY, error_reason(status, error))
    return Result(Outcome.DEAD_LETTER, error_reason(status, error))


def _top_error(body: Any) -> Any:
    if isinstance(body, dict):
        return body.get("error", body)
    if isinstance(body, bytes | str):
        return (body.decode("utf-8", "replace") if isinstance(body, bytes) else body)[:200]
    return None


def classify_bulk(status: int, body: Any, count: int) -> Verdict:
    """The verdict for one `_bulk` request of `count` events."""
    if status == 200:
        if not isinstance(body, dict):
            return Verdict(RETRY, "bulk response is not a JSON object")
        if body.get("errors") is False:
            return Verdict(ITEMS, results=[DELIVERED] * count)
        items = body.get("items")
        if not isinstance(items, list) or len(items) != count:
            got = len(items) if isinstance(items, list) else "no"
            return Verdict(RETRY, f"bulk response has {got} items for {count} operations")
        results: list[Result] = []
        for entry in items:
            op = next(iter(entry.values()), {}) if isinstance(entry, dict) and entry else {}
            res = classify_item(int(op.get("status", 500)), op.get("error"))
            if res is None:
                return Verdict(AUTH, error_reason(int(op.get("status", 403)), op.get("error")))
            results.append(res)
        return Verdict(ITEMS, results=results)
    error = _top_error(body)
    reason = error_reason(status, error)
    etype = error.get("type") if isinstance(error, dict) else None
    if status == 413:
        return Verdict(SPLIT, "413 request larger than the server's http.max_content_length")
    if status in (401, 403):
        return Verdict(AUTH, reason)
    if status == 400 and etype not in _NOT_THE_DATA:
        return Verdict(SPLIT, reason)
    return Verdict(RETRY, reason)
