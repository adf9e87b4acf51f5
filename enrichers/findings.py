"""Findings: what is wrong with a token or an app, on the event and as alert documents of their own.

Detecting enrichers (tokens, apps, correlate) call `raise_finding(event, code, reason)`; the reason is
a sentence for a human, built from claims and ids (never from a raw token). This last step gives each
finding its severity from `CATALOG`, writes `tokentrail.findings` on the event, and appends one alert
document per finding to the event's `_extra` list (the Processor ships them right after the event):
`event.kind: alert`, `event.dataset: tokentrail.findings`, id `stable_id(event.id, code)` so a replay
makes the same document (Elasticsearch answers 409, a duplicate).

A request the server accepted (access log, status below 400) with a forged, expired or misdirected
token is worse than one it refused: those codes go one severity up and say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from tokentrail.event import stable_id

DATASET: Final = "tokentrail.findings"
SEVERITIES: Final[tuple[str, ...]] = ("low", "medium", "high", "critical")
# ECS event.severity is a number; these are the risk scores Elastic's detection rules use per level.
RISK_SCORE: Final = {"low": 21, "medium": 47, "high": 73, "critical": 99}
# Event fields copied onto the alert document so it reads on its own in the SIEM.
_CONTEXT_KEYS: Final[tuple[str, ...]] = ("user", "source", "client", "related", "url", "http", "user_agent", "service")


@dataclass(frozen=True)
class Rule:
    severity: str
    title: str
    escalate_when_accepted: bool = False


CATALOG: Final[dict[str, Rule]] = {
    # The contract (interfaces.md).
    "token.alg_none": Rule("critical", "JWT with alg none"),
    "token.signature_invalid": Rule("high", "JWT signature does not verify with the issuer's keys", True),
    "token.untrusted_key_reference": Rule("high", "JWT header names a key location (jku, x5u, jwk, x5c)"),
    "token.expired_at_use": Rule("medium", "Token used after it expired", True),
    "token.lifetime_over_policy": Rule("medium", "Token lifetime over the policy"),
    "token.audience_mismatch": Rule("high", "Token audience outside the issuer's configured audiences", True),
    "app.unregistered": Rule("medium", "OAuth client not in the app registry"),
    "app.scope_not_allowed": Rule("high", "Scope outside the app's allowed scopes"),
    "app.refresh_token_not_allowed": Rule("high", "Refresh token for an app that may not hold one"),
    # Extensions (docs/tokens.md), from the detections in the research notes.
    "token.refresh_reuse": Rule("high", "Rotated refresh token replayed"),
    "token.replay_new_ip": Rule("medium", "Token used from a new IP address"),
    "token.in_url": Rule("medium", "Token sent in a URL"),
    "token.id_token_as_bearer": Rule("medium", "ID token presented as an access token"),
    "token.issuer_untrusted": Rule("medium", "JWT from an issuer that is not configured", True),
    "app.dangerous_scope": Rule("high", "High-risk scope held by an app without a scope policy"),
    "app.write_scope_on_read_only": Rule("high", "Write scope held by a read-only app"),
}


def raise_finding(event: dict[str, Any], code: str, reason: str) -> None:
    """Record finding `code` on `event` for the findings step (working key `_tt.findings`)."""
    event.setdefault("_tt", {}).setdefault("findings", []).append((code, reason))


def _up(severity: str) -> str:
    return SEVERITIES[min(SEVERITIES.index(severity) + 1, len(SEVERITIES) - 1)]


class FindingsEnricher:
    """Enricher: `_tt.findings` to `tokentrail.findings` and one alert document per finding.

    disabled: codes never raised (config `tokens.disabled_findings`).
    """

    plain_datasets: frozenset[str] = frozenset()  # enrichers.Chain: a plain event has no `_tt.findings`

    def __init__(self, disabled: list[str] | tuple[str, ...] = ()) -> None:
        unknown = [c for c in disabled if c not in CATALOG]
        if unknown:
            from tokentrail.errors import ConfigError

            raise ConfigError(f"tokens.disabled_findings: unknown code(s) {', '.join(unknown)}")
        self.disabled = frozenset(disabled)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        tt = event.get("_tt")
        # `in` first: dict.pop is a method call even compiled, and most events have no findings
        raw = tt.pop("findings") if type(tt) is dict and "findings" in tt else None
        if not raw:
            return event
        ev = event.get("event") or {}
        status = (event.get("http") or {}).get("response", {}).get("status_code")
        accepted = ev.get("dataset") == "tokentrail.access" and ev.get("outcome") == "success"
        seen: set[str] = set()
        out: list[dict[str, str]] = []
        for code, reason in raw:
            if code in seen or code in self.disabled or code not in CATALOG:
                continue
            seen.add(code)
            rule = CATALOG[code]
            severity = rule.severity
            if accepted and rule.escalate_when_accepted:
                severity = _up(severity)
                reason = f"{reason} The server accepted the request (HTTP {status})."
            out.append({"code": code, "severity": severity, "reason": reason})
        if not out:
            return event
        event.setdefault("tokentrail", {}).setdefault("findings", []).extend(out)
        extra = event.setdefault("_extra", [])
        for finding in out:
            extra.append(alert(event, finding))
        return event


def alert(event: dict[str, Any], finding: dict[str, str]) -> dict[str, Any]:
    """The alert document of one finding: points at the event by id, carries its app, token and context."""
    ev = event.get("event") or {}
    code = finding["code"]
    event_id = ev.get("id")
    doc_event: dict[str, Any] = {
        "kind": "alert",
        "dataset": DATASET,
        "module": "tokentrail",
        "provider": "tokentrail",
        "id": stable_id(event_id, code),
        "category": ["iam"] if code.startswith("app.") else ["authentication"],
        "type": ["info"],
        "action": code,
        "outcome": ev.get("outcome", "unknown"),
        "severity": RISK_SCORE[finding["severity"]],
        "reason": finding["reason"],
    }
    if ev.get("ingested"):
        doc_event["ingested"] = ev["ingested"]
    doc: dict[str, Any] = {
        "@timestamp": event.get("@timestamp"),
        "event": doc_event,
        "message": finding["reason"],
        "rule": {"id": code, "name": CATALOG[code].title, "ruleset": "tokentrail",
                 "category": code.split(".", 1)[0]},
    }
    finding_doc = {**finding, "event_id": event_id, "event_dataset": ev.get("dataset"), "event_action": ev.get("action")}
    tt_doc: dict[str, Any] = {"finding": {k: v for k, v in finding_doc.items() if v not in (None, "")}}
    tt = event.get("tokentrail") or {}
    context = {k: event[k] for k in _CONTEXT_KEYS if k in event}
    for key in ("app", "token"):
        if key in tt:
            context[f"tt.{key}"] = tt[key]
    # One deep copy for everything shared with the event: later steps may change the event in place.
    copied = orjson.loads(orjson.dumps(context)) if context else {}
    for key, value in copied.items():
        if key.startswith("tt."):
            tt_doc[key[3:]] = value
        else:
            doc[key] = value
    doc["tokentrail"] = tt_doc
    return doc
