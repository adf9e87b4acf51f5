"""Access-log records as they arrive: one object, a JSON array, or a log-shipper wrapper.

Container runtimes and shippers often wrap the proxy's JSON line in a string field: Docker's json-file
driver writes `{"log": "<line>\\n", "stream": "stdout", "time": ...}`; Fluent Bit, Vector and
CloudWatch exports use `{"message": "<line>"}` next to fields of their own (`host`, `@timestamp`).
A wrapper is opened when its string parses to an object with access-log fields; anything else is
left for normalize to judge.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import orjson

from collectors._source import Record, unwrap_envelope
from collectors.access.formats import detect, fold_keys
from tokentrail.errors import RecordError

WRAPPER_KEYS: Final[tuple[str, ...]] = ("log", "message")


def _open_wrapper(record: Record) -> Record:
    for key in WRAPPER_KEYS:
        text = record.get(key)
        if not (isinstance(text, str) and text.lstrip().startswith("{")):
            continue
        try:
            inner = orjson.loads(text)
        except orjson.JSONDecodeError:
            if detect(fold_keys(record), record) is not None:
                return record  # a record of its own whose message merely looks like JSON
            raise RecordError(f"`{key}` holds malformed JSON") from None
        if isinstance(inner, dict) and detect(fold_keys(inner), inner) is not None:
            return inner
    return record  # normalize says why it cannot map it


def unwrap(doc: Any) -> Iterator[Record]:
    """Records from an object, an array of objects, or wrapped lines (Docker `log`, shipper `message`)."""
    for record in unwrap_envelope(doc, ()):
        yield _open_wrapper(record)
