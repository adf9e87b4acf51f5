"""The findings step: severities, findings on the event and alert documents of their own."""

from __future__ import annotations

from typing import Any

import pytest

from enrichers.findings import CATALOG, FindingsEnricher, raise_finding
from schemas import undeclared
from tokentrail.errors import ConfigError
from tokentrail.event import stable_id


def event(outcome: str = "failure", dataset: str = "tokentrail.access") -> dict[str, Any]:
    return {"@timestamp": "2026-03-02T09:30:00.000Z",
            "event": {"id": "ev-1", "dataset": dataset, "action": "http_request", "outcome": outcome,
                      "ingested": "2026-03-02T09:31:00.000Z", "kind": "event", "category": ["web"], "type": ["access"]},
            "source": {"ip": "203.0.113.9"}, "http": {"response": {"status_code": 200 if outcome == "success" else 401}},
            "tokentrail": {"app": {"id": "a", "client_id": "a", "registered": False},
                           "token": {"id": "AT.1", "fingerprint": "f" * 64, "format": "jwt"}}}


class TestFindingsEnricher:
    def test_field_absent_event_untouched(self):
        """An event without findings comes back equal, without alert documents."""
        ev = event()
        assert FindingsEnricher()(event()) == ev

    def test_finding_on_event_and_as_alert(self):
        """A finding goes to tokentrail.findings with its severity and to an alert document."""
        ev = event()
        raise_finding(ev, "token.alg_none", "no signature")
        ev = FindingsEnricher()(ev)
        assert ev["tokentrail"]["findings"] == [{"code": "token.alg_none", "severity": "critical",
                                                 "reason": "no signature"}]
        (doc,) = ev["_extra"]
        assert doc["event"]["kind"] == "alert" and doc["event"]["dataset"] == "tokentrail.findings"
        assert doc["event"]["id"] == stable_id("ev-1", "token.alg_none")
        assert doc["tokentrail"]["finding"]["event_id"] == "ev-1"
        assert doc["tokentrail"]["token"]["id"] == "AT.1" and doc["tokentrail"]["app"]["id"] == "a"
        assert doc["@timestamp"] == ev["@timestamp"] and doc["source"] == {"ip": "203.0.113.9"}

    def test_alert_document_complete_and_declared(self):
        """An alert document has every required event field, and all its fields are declared."""
        ev = event()
        raise_finding(ev, "app.unregistered", "nobody owns it")
        (doc,) = FindingsEnricher()(ev)["_extra"]
        for key in ("id", "kind", "category", "type", "action", "outcome", "dataset", "ingested", "severity"):
            assert doc["event"].get(key) not in (None, "", []), key
        assert undeclared(doc) == []

    def test_alert_is_a_copy(self):
        """Changing the event afterwards does not change its alert document."""
        ev = event()
        raise_finding(ev, "app.unregistered", "x")
        ev = FindingsEnricher()(ev)
        ev["tokentrail"]["app"]["id"] = "changed"
        assert ev["_extra"][0]["tokentrail"]["app"]["id"] == "a"

    def test_one_finding_per_code(self):
        """The same code twice on one event is one finding (the first reason)."""
        ev = event()
        raise_finding(ev, "token.in_url", "first")
        raise_finding(ev, "token.in_url", "second")
        ev = FindingsEnricher()(ev)
        assert [f["reason"] for f in ev["tokentrail"]["findings"]] == ["first"] and len(ev["_extra"]) == 1

    def test_accepted_request_raises_severity(self):
        """A forged token the server accepted (2xx) is one severity higher, and the reason says so."""
        ev = event(outcome="success")
        raise_finding(ev, "token.signature_invalid", "bad signature.")
        (f,) = FindingsEnricher()(ev)["tokentrail"]["findings"]
        assert f["severity"] == "critical" and "accepted" in f["reason"]

    def test_disabled_codes(self):
        """tokens.disabled_findings drops those codes."""
        ev = event()
        raise_finding(ev, "token.replay_new_ip", "x")
        assert "findings" not in FindingsEnricher(["token.replay_new_ip"])(ev)["tokentrail"]

    def test_unknown_disabled_code_is_config_error(self):
        """A code that does not exist cannot be disabled."""
        with pytest.raises(ConfigError):
            FindingsEnricher(["token.nope"])

    def test_catalog_severities_valid(self):
        """Every code has a valid severity and a title."""
        for code, rule in CATALOG.items():
            assert rule.severity in ("low", "medium", "high", "critical") and rule.title, code
