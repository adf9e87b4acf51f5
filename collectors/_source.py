"""The shape of a source: how its envelopes unwrap and how one record maps to ECS events."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tokentrail.errors import RecordError

Record = dict[str, Any]
Event = dict[str, Any]


@dataclass(frozen=True)
class Source:
    """One provider's wire format and mapping.

    name: the source name used in config and on the CLI (`okta`, `entra`...).
    datasets: every `event.dataset` this source emits.
    unwrap: a parsed JSON document (one record, a JSON array, or the provider's envelope) to records.
        Raises RecordError for a shape the source does not know.
    normalize: one record to a list of ECS events (pure; no `event.ingested`: the runtime adds it).
        Raises RecordError (reason says why) for a record it cannot map.
    natural_key: the provider's unique id of a record, for Kafka keys and de-duplication.
    sourcetypes: `event.dataset` to the Splunk add-on sourcetype, for HEC passthrough mode.
    """

    name: str
    datasets: tuple[str, ...]
    unwrap: Callable[[Any], Iterable[Record]]
    normalize: Callable[[Record], list[Event]]
    natural_key: Callable[[Record], str | None] = field(default=lambda record: None)
    sourcetypes: dict[str, str] = field(default_factory=dict)


def unwrap_envelope(doc: Any, keys: tuple[str, ...]) -> Iterable[Record]:
    """Records from a single object, a JSON array, or an envelope `{key: [...]}` for any of `keys`.

    An envelope whose list is empty yields nothing (an empty API page is not an error). A single
    record, the common case by far, comes back in a list: no generator to build and run for it.
    """
    if isinstance(doc, dict):
        for key in keys:  # a loop, not any() over a generator: this runs once per record
            if isinstance(doc.get(key), list):
                return _unwrap(doc, keys)
        return [doc]
    return _unwrap(doc, keys)


def _unwrap(doc: Any, keys: tuple[str, ...]) -> Iterator[Record]:
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            if not isinstance(item, dict):
                raise RecordError(f"array item {i} is {type(item).__name__}, not an object")
            yield from unwrap_envelope(item, keys)
        return
    if not isinstance(doc, dict):
        raise RecordError(f"unknown shape: a JSON {type(doc).__name__}, not an object or array")
    for key in keys:
        items = doc.get(key)
        if isinstance(items, list):
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise RecordError(f"{key}[{i}] is {type(item).__name__}, not an object")
                yield item
            return
    yield doc
