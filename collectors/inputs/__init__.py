"""Generic inputs that hand raw records to a named source: file, api, kafka, http.

Each input module defines `config_class(source) -> type` and `create(spec, ctx) -> Input`, where an
`Input` has `run(emit, stop, once)`: it calls `emit(raw, on_done)` for each raw unit and moves its
checkpoint only when `on_done(None)` is called for it (the runtime calls it once the unit is safe).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tokentrail.checkpoint import Store
from tokentrail.clock import Clock

INPUT_KINDS: dict[str, str] = {
    "file": "collectors.inputs.file",
    "kafka": "collectors.inputs.kafka",
    "api": "collectors.inputs.api",
    "http": "collectors.inputs.http",
}

OnDone = Callable[[BaseException | None], None]


class Input(Protocol):
    name: str
    source: str

    def run(self, emit: Callable[[Any, OnDone], None], stop: Any, once: bool) -> None: ...


@dataclass
class InputContext:
    """What the runtime hands to every input."""

    store: Store
    clock: Clock
    max_record_bytes: int = 1 << 20
    max_document_bytes: int = 64 << 20
    progress: Callable[[str, dict[str, Any]], None] | None = None


def _module(kind: str) -> Any:
    return importlib.import_module(INPUT_KINDS[kind])


def input_config_class(kind: str, source: str) -> type:
    return _module(kind).config_class(source)


def create_input(spec: Any, ctx: InputContext) -> Input:
    return _module(spec.kind).create(spec, ctx)
