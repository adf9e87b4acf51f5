"""Confluence audit shapes: Cloud page `{"results": [...]}`, Data Center REST page `{"entities": [...]}`,
a Data Center audit file line (one record), or a JSON array of records.

Empty pages (`results: []`, `entities: []`) yield nothing, as Elastic drops them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from collectors._source import Record, unwrap_envelope

_ENVELOPE_KEYS: Final[tuple[str, ...]] = ("results", "entities")


def unwrap(doc: Any) -> Iterable[Record]:
    """Records from a Cloud or Data Center REST page, one record, or an array."""
    return unwrap_envelope(doc, _ENVELOPE_KEYS)
