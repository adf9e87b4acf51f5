"""`Chain`: the enrichers run in order, plain events skipping the steps that cannot change them.

See the package docstring (enrichers/__init__.py) for what a plain event is and `plain_datasets`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from tokentrail.errors import DropEvent, RecordError

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

    def __call__(self, event: Any) -> dict[str, Any]:  # Any: a step may return a non-dict (see below)
        # `doc`: the event as a dict, so that compiled reads of it are dict operations rather
        # than method lookups; `event`: what the last step returned, checked before it becomes `doc`.
        doc: dict[str, Any] = event
        steps: _Steps = self.steps
        run: _Steps = ()
        tt = doc.get("_tt")
        if type(tt) is dict and len(tt) == 1 and tt.get("scan") is False and "tokentrail" not in doc:
            plan = self._plan(doc)  # a plain event (see the module docstring)
            if plan is not None:
                run, steps, resume = plan
        # One try around the loops, not one per step: `name` is the step that was running.
        name = ""
        try:
            if run:
                for name, step in run:  # noqa: B007 - `name` is read in the handlers
                    event = step(doc)
                    if type(event) is not dict and not isinstance(event, dict):
                        raise _NotAnEvent
                    doc = event
                tt = doc.get("_tt")
                if not (type(tt) is dict and len(tt) == 1 and tt.get("scan") is False and "tokentrail" not in doc):
                    steps = resume  # the steps run made it more than plain: the rest all run
            for name, step in steps:  # noqa: B007
                event = step(doc)
                if type(event) is not dict and not isinstance(event, dict):
                    raise _NotAnEvent
                doc = event
            return doc
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


# Any, not Enricher: compiled code checks what a call returns against its declared type, and a
# faulty step that returns something else must reach the check in Chain.__call__ (EnrichError).
_Steps = list[tuple[str, Any]] | tuple[()]
# (run, then, otherwise): run these steps; then, if the event is still plain, these; otherwise these.
_Plan = tuple[_Steps, _Steps, _Steps]
_UNPLANNED: Final[Any] = object()


class _NotAnEvent(Exception):
    """A step returned something else than an event dict (Chain names it)."""


def _plan(steps: list[tuple[str, Enricher]], dataset: str) -> _Plan | None:
    """Skip the steps before the first one that claims `dataset`; run from there to the last one
    that claims it; if the event is still plain, go on at the first step without `plain_datasets`,
    else right after the last claiming step. None when nothing can be skipped."""
    first: int | None = None
    last = 0
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
