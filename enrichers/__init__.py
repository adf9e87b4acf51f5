"""Enrichers: callables `event -> event`, composed once into a chain (structlog's processor pattern).

Order (DESIGN.md): scrub secrets, decode tokens, resolve app identity, correlate, raise findings,
scrub again, strip working keys. An enricher signals "dead-letter this event" by raising RecordError
and "drop it" by raising DropEvent; only `Chain` catches them. An enricher that makes documents of its
own (findings) appends them to the event's top-level `_extra` list; the Processor ships them after it.

Most events carry nothing for the token audit: no raw secret (`_tt` holds only `scan: False`), no
`tokentrail` yet. Such an event is *plain*. An enricher may declare `plain_datasets`, the datasets
whose plain events it may change: it leaves the plain events of any other dataset as they are, and
`Chain` does not call it for them. Steps without the declaration (strip_working, any step added
later) always run, and so does every step after the first of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from enrichers.apps import AppEnricher
from enrichers.chain import Chain, Enricher, EnrichError
from enrichers.config import parse_sections, sections
from enrichers.correlate import Correlator
from enrichers.findings import FindingsEnricher
from enrichers.scrub import Scrubber, strip_working
from enrichers.state import LocalState, SharedState
from enrichers.tokens import TokenEnricher

__all__ = ["REGISTRY", "Chain", "EnrichError", "LocalState", "SharedState", "build_chain", "parse_sections"]

# Builders by name, each `(config, state) -> Enricher`: `config` is the top-level Config (or None for
# the defaults), `state` the SharedState of this worker. Later stages register here (tokens, apps...).
REGISTRY: dict[str, Callable[[Any, SharedState], Enricher]] = {
    "scrub_first": lambda config, state: Scrubber(collect=True),
    "scrub_last": lambda config, state: Scrubber(collect=False),
    "strip_working": lambda config, state: strip_working,
    "tokens": lambda config, state: TokenEnricher(sections(config)[0]),
    "apps": lambda config, state: AppEnricher(*sections(config), state=state),
    "correlate": lambda config, state: Correlator(sections(config)[0], state),
    "findings": lambda config, state: FindingsEnricher(sections(config)[0].disabled_findings),
}

DEFAULT_ORDER = ["scrub_first", "tokens", "apps", "correlate", "findings", "scrub_last", "strip_working"]


def build_chain(config: Any = None, order: list[str] | None = None, state: SharedState | None = None) -> Chain:
    """The chain for `config`, in DESIGN.md order; `state` is shared between workers (default: local)."""
    shared = state if state is not None else LocalState()
    return Chain((name, REGISTRY[name](config, shared)) for name in (order or DEFAULT_ORDER))
