"""Confluence audit shapes: Cloud page `{"results": [...]}`, Data Center REST page `{"entities": [...]}`,
a Data Center audit file line (one record), or a JSON array of records.

Empty pages (`results: []`, `entities: []`) yield nothing, as Elastic drops them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from collectors._source import Record, unwrap_envelope


def unwrap(doc: Any) -> Iterator[Record]:
    """Records from a Cloud or Data Center REST page, one record, or an array."""
    yield from unwrap_envelope(doc, ("results", "entities"))
