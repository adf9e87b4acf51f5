"""Enrichers: callables `event -> event`, composed once into a chain (structlog's processor pattern).

Order (DESIGN.md): scrub secrets, decode tokens, resolve app identity, correlate, raise findings,
scrub again, strip working keys. An enricher signals "dead-letter this event" by raising RecordError
and "drop it" by raising DropEvent; only `Chain` catches them. An enricher that makes documents of its
own (findings) appends them to the event's top-level `_extra` list; the Processor ships them after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from enrichers.apps import AppEnricher
from enrichers.config import parse_sections, sections
from enrichers.correlate import Correlator
from enrichers.findings import FindingsEnricher
from enrichers.scrub import Scrubber, strip_working
from enrichers.state import LocalState, SharedState
from enrichers.tokens import TokenEnricher
from tokentrail.errors import DropEvent, RecordError

__all__ = ["REGISTRY", "Chain", "EnrichError", "LocalState", "SharedState", "build_chain", "parse_sections"]

Enricher = Callable[[dict[str, Any]], dict[str, Any]]


class EnrichError(RecordError):
    """An enricher failed on one event; `step` names it."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step


class Chain:
    """Run named enrichers in order. Any exception inside a step becomes EnrichError (DLQ)."""

    def __init__(self, steps: Iterable[tuple[str, Enricher]]) -> None:
        self.steps = list(steps)
        self.names = [name for name, _ in self.steps]

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        # One try around the loop, not one per step: `name` is the step that was running.
        name = ""
        try:
            for name, step in self.steps:  # noqa: B007 - `name` is read after the loop
                event = step(event)
                if type(event) is not dict and not isinstance(event, dict):
                    break
            else:
                return event
        except DropEvent:
            raise
        except RecordError as exc:
            raise EnrichError(name, exc.reason) from None
        except Exception as exc:  # a bug in one step must not stop the pipeline
            raise EnrichError(name, f"{type(exc).__name__}: {exc}") from None
        raise EnrichError(name, f"returned {type(event).__name__}, not an event dict")


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
