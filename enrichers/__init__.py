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
        self._planned: list[tuple[str, Enricher]] = []  # the steps `_plans` were made for
        self._plans: dict[str, _Plan | None] = {}

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        steps = self.steps
        run: _Steps = ()
        tt = event.get("_tt")
        if type(tt) is dict and len(tt) == 1 and tt.get("scan") is False and "tokentrail" not in event:
            plan = self._plan(event)  # a plain event (see the module docstring)
            if plan is not None:
                run, steps, resume = plan
        # One try around the loops, not one per step: `name` is the step that was running.
        name = ""
        try:
            if run:
                for name, step in run:  # noqa: B007 - `name` is read in the handlers
                    event = step(event)
                    if type(event) is not dict and not isinstance(event, dict):
                        raise _NotAnEvent
                tt = event.get("_tt")
                if not (type(tt) is dict and len(tt) == 1 and tt.get("scan") is False and "tokentrail" not in event):
                    steps = resume  # the steps run made it more than plain: the rest all run
            for name, step in steps:  # noqa: B007
                event = step(event)
                if type(event) is not dict and not isinstance(event, dict):
                    raise _NotAnEvent
            return event
        except _NotAnEvent:
            raise EnrichError(name, f"returned {type(event).__name__}, not an event dict") from None
        except DropEvent:
            raise
        except RecordError as exc:
            raise EnrichError(name, exc.reason) from None
        except Exception as exc:  # a bug in one step must not stop the pipeline
            raise EnrichError(name, f"{type(exc).__name__}: {exc}") from None

    def _plan(self, event: dict[str, Any]) -> _Plan | None:
        """How a plain event of this dataset goes through the steps; None: through all of them."""
        ev = event.get("event")
        dataset = ev.get("dataset") if type(ev) is dict else None
        if type(dataset) is not str:
            return None
        plan = self._plans.get(dataset, _UNPLANNED)
        if plan is None:
            return None  # all the steps: right whatever they are now
        if plan is _UNPLANNED or self._planned != self.steps:  # a new dataset, or the steps changed
            if self._planned != self.steps:
                self._planned, self._plans = list(self.steps), {}
            plan = _plan(self.steps, dataset)
            if len(self._plans) < 4096:  # datasets come from the sources: a few dozen
                self._plans[dataset] = plan
        return plan


_Steps = list[tuple[str, Enricher]] | tuple[()]
# (run, then, otherwise): run these steps; then, if the event is still plain, these; otherwise these.
_Plan = tuple[_Steps, _Steps, _Steps]
_UNPLANNED: Any = object()


class _NotAnEvent(Exception):
    """A step returned something else than an event dict (Chain names it)."""


def _plan(steps: list[tuple[str, Enricher]], dataset: str) -> _Plan | None:
    """Skip the steps before the first one that claims `dataset`; run from there to the last one
    that claims it; if the event is still plain, go on at the first step without `plain_datasets`,
    else right after the last claiming step. None when nothing can be skipped."""
    first = last = None
    end = len(steps)
    for i, (_, step) in enumerate(steps):
        datasets = getattr(step, "plain_datasets", None)
        if datasets is None:
            end = i
            break
        if dataset in datasets:
            first = i if first is None else first
            last = i
    if first is None:
        return (), steps[end:], ()
    if first == 0 and last + 1 == end:
        return None
    return steps[first:last + 1], steps[end:], steps[last + 1:]


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
