"""Sinks by `kind`: each module has `Config` (a frozen dataclass) and `create(spec, ctx) -> Sink`."""

from __future__ import annotations

import importlib
from typing import Any

from sinks._sink import DELIVERED, DUPLICATE, Item, Outcome, Result, Sink

SINK_KINDS: dict[str, str] = {
    "file": "sinks.file",
    "kafka": "sinks.kafka",
    "elasticsearch": "sinks.elasticsearch",
    "splunk_hec": "sinks.splunk_hec",
}

__all__ = ["DELIVERED", "DUPLICATE", "SINK_KINDS", "Item", "Outcome", "Result", "Sink", "create_sink",
           "sink_config_class"]


def sink_config_class(kind: str) -> type:
    return importlib.import_module(SINK_KINDS[kind]).Config


def create_sink(spec: Any, ctx: Any = None) -> Sink:
    return importlib.import_module(SINK_KINDS[spec.kind]).create(spec, ctx)
