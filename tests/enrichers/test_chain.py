"""The enricher chain: step order, failures named by step, and plain events skipping steps that declare
they have nothing to do with them (`plain_datasets`)."""

from __future__ import annotations

from typing import Any

import pytest

from enrichers import Chain, EnrichError, build_chain
from tokentrail.errors import DropEvent, RecordError


class Step:
    """A step that records its calls; `plain_datasets` given or not declared at all."""

    def __init__(self, name: str, log: list[str], datasets: set[str] | None = None, effect: Any = None) -> None:
        self.name, self.log, self.effect = name, log, effect
        if datasets is not None:
            self.plain_datasets = frozenset(datasets)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.log.append(self.name)
        if self.effect:
            self.effect(event)
        return event


def plain(dataset: str = "x.audit") -> dict[str, Any]:
    return {"event": {"dataset": dataset}, "_tt": {"scan": False}}


def add_token(event: dict[str, Any]) -> None:
    event.setdefault("tokentrail", {})["token"] = {"id": "t1"}


def chain_of(log: list[str], *specs: tuple[str, set[str] | None] | tuple[str, set[str] | None, Any]) -> Chain:
    return Chain((spec[0], Step(spec[0], log, *spec[1:])) for spec in specs)


class TestPlainEvents:
    def test_unclaimed_dataset_skips_declared_steps(self):
        """A plain event runs only from the first step without a declaration on."""
        log: list[str] = []
        chain_of(log, ("a", set()), ("b", {"okta.system"}), ("strip", None), ("after", set()))(plain())
        assert log == ["strip", "after"]

    def test_claiming_step_runs(self):
        """A step that claims the dataset runs, with the steps between the first and last claiming ones."""
        log: list[str] = []
        chain = chain_of(log, ("a", set()), ("b", {"x.audit"}), ("c", set()), ("d", {"x.audit"}), ("e", set()),
                         ("strip", None))
        chain(plain())
        assert log == ["b", "c", "d", "strip"]

    def test_event_no_longer_plain_runs_the_rest(self):
        """When a claiming step adds token facts, every later step runs."""
        log: list[str] = []
        chain = chain_of(log, ("a", set()), ("tokens", {"x.audit"}, add_token), ("correlate", set()),
                         ("strip", None))
        event = chain(plain())
        assert log == ["tokens", "correlate", "strip"] and event["tokentrail"]["token"]["id"] == "t1"

    @pytest.mark.parametrize("event", [
        {"event": {"dataset": "x.audit"}, "_tt": {"scan": True}},
        {"event": {"dataset": "x.audit"}, "_tt": {"scan": False, "authorization": "Bearer abc"}},
        {"event": {"dataset": "x.audit"}, "_tt": {"scan": False}, "tokentrail": {"token": {}}},
        {"event": {"dataset": "x.audit"}},
        {"event": {"dataset": ["x.audit"]}, "_tt": {"scan": False}},
    ])
    def test_other_events_run_every_step(self, event: dict[str, Any]):
        """Events with a hint of a secret, working keys or token facts (or odd shapes) run every step."""
        log: list[str] = []
        chain_of(log, ("a", set()), ("b", set()), ("strip", None))(event)
        assert log == ["a", "b", "strip"]

    def test_steps_changed_after_first_use(self):
        """A step inserted into `steps` after the chain ran is honoured."""
        log: list[str] = []
        chain = chain_of(log, ("a", set()), ("strip", None))
        chain(plain())
        chain.steps.insert(0, ("new", Step("new", log)))
        chain(plain())
        assert log == ["strip", "new", "a", "strip"]

    def test_default_chain_leaves_plain_event_as_it_was(self):
        """The default chain only strips the working keys of a plain event of a non-token dataset."""
        event = {"@timestamp": "2026-03-02T09:00:00.000Z", "event": {"dataset": "atlassian_confluence.audit"},
                 "user": {"name": "alice"}, "_tt": {"scan": False}}
        assert build_chain()(event) == {"@timestamp": "2026-03-02T09:00:00.000Z",
                                        "event": {"dataset": "atlassian_confluence.audit"}, "user": {"name": "alice"}}


class TestFailures:
    def test_exception_names_the_step(self):
        """An exception in a step becomes EnrichError naming that step, for plain events too."""
        def boom(event: dict[str, Any]) -> dict[str, Any]:
            raise KeyError("x")

        for event in (plain(), {"event": {"dataset": "x.audit"}}):
            with pytest.raises(EnrichError) as err:
                Chain([("ok", lambda e: e), ("boom", boom)])(event)
            assert err.value.step == "boom" and err.value.reason == "boom: KeyError: 'x'"

    def test_record_error_keeps_reason(self):
        """A RecordError from a step keeps its reason, prefixed by the step."""
        def refuse(event: dict[str, Any]) -> dict[str, Any]:
            raise RecordError("no good")

        with pytest.raises(EnrichError, match="^refuse: no good$"):
            Chain([("refuse", refuse)])({})

    def test_step_returning_no_dict(self):
        """A step that returns something else than a dict is named."""
        with pytest.raises(EnrichError, match="^bad: returned NoneType, not an event dict$"):
            Chain([("ok", lambda e: e), ("bad", lambda e: None), ("never", lambda e: e)])({})

    def test_drop_passes_through(self):
        """DropEvent is not turned into a DLQ error."""
        def drop(event: dict[str, Any]) -> dict[str, Any]:
            raise DropEvent()

        with pytest.raises(DropEvent):
            Chain([("drop", drop)])({})
