"""Google Workspace Reports API shapes: a page `{"items": [...]}`, one activity, or a JSON array.

An empty page from the API has no `items` key at all (`{"kind": "admin#reports#activities",
"etag": ...}`), so a page is recognised by its `kind` and yields nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from collectors._source import Record, unwrap_envelope

_ENVELOPE_KEYS: Final[tuple[str, ...]] = ("items",)
PAGE_KIND: Final = "admin#reports#activities"


def unwrap(doc: Any) -> Iterable[Record]:
    """Activities from an API page, a single activity or an array of either."""
    if isinstance(doc, dict) and doc.get("kind") == PAGE_KIND and not isinstance(doc.get("items"), list):
        return []
    return unwrap_envelope(doc, _ENVELOPE_KEYS)
