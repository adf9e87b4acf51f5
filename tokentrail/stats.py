"""Counts for the end-of-run summary: events per dataset, DLQ, findings per code, apps seen."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

_MAX_TOKENS = 100_000  # a long run counts distinct tokens up to here, then says "100000+"


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records_in: Counter[str] = Counter()
        self.datasets: Counter[str] = Counter()
        self.dlq: Counter[str] = Counter()
        self.findings: Counter[str] = Counter()
        self.apps: dict[str, dict[str, Any]] = {}
        self.delivered: Counter[str] = Counter()
        self.duplicates: Counter[str] = Counter()
        self.tokens: set[str] = set()  # fingerprints only; bounded by what one run sees
        self.linked = 0

    def seen_in(self, source: str, n: int = 1) -> None:
        with self._lock:
            self.records_in[source] += n

    def shipped(self, event: dict[str, Any]) -> None:
        ev = event.get("event") or {}
        tt = event.get("tokentrail") or {}
        with self._lock:
            self.datasets[ev.get("dataset", "unknown")] += 1
            if ev.get("dataset") != "tokentrail.findings":
                for f in tt.get("findings") or []:
                    self.findings[f.get("code", "?")] += 1
                token = tt.get("token")
                if isinstance(token, dict) and token.get("fingerprint"):
                    if len(self.tokens) < _MAX_TOKENS:
                        self.tokens.add(token["fingerprint"])
                    if token.get("issuance"):
                        self.linked += 1
            app = tt.get("app") if ev.get("dataset") != "tokentrail.findings" else None  # alerts repeat it
            if isinstance(app, dict) and app.get("id"):
                seen = self.apps.setdefault(app["id"], {"name": app.get("name"), "registered": app.get("registered"),
                                                        "first_party": app.get("first_party"), "events": 0})
                seen["events"] += 1

    def dead_lettered(self, record: dict[str, Any]) -> None:
        dlq = (record.get("tokentrail") or {}).get("dlq") or {}
        with self._lock:
            self.dlq[f"{dlq.get('stage', '?')}: {dlq.get('source', '?')}"] += 1

    def summary(self) -> str:
        lines = ["Tokentrail run summary", ""]
        total = sum(self.datasets.values())
        lines.append(f"Records read: {sum(self.records_in.values())}   events shipped: {total}   "
                     f"dead-lettered: {sum(self.dlq.values())}")
        lines.append("")
        lines.append("Events per dataset:")
        for ds, n in sorted(self.datasets.items()):
            lines.append(f"  {ds:<32} {n:>8}")
        if self.dlq:
            lines.append("Dead-letter records (stage: source):")
            for k, n in sorted(self.dlq.items()):
                lines.append(f"  {k:<32} {n:>8}")
        if self.tokens:
            more = "+" if len(self.tokens) >= _MAX_TOKENS else ""
            lines.append(f"Tokens seen: {len(self.tokens)}{more} distinct (fingerprints); uses linked to their "
                         f"issuance: {self.linked}")
        lines.append("Findings per code:" if self.findings else "Findings: none")
        for code, n in sorted(self.findings.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {code:<32} {n:>8}")
        lines.append("Apps seen:" if self.apps else "Apps seen: none")
        for app_id, a in sorted(self.apps.items(), key=lambda kv: -kv[1]["events"]):
            reg = "registered" if a.get("registered") else "first-party" if a.get("first_party") else "UNREGISTERED"
            name = f" ({a['name']})" if a.get("name") and a.get("name") != app_id else ""
            n = a['events']
            lines.append(f"  {app_id}{name}: {n} event{'' if n == 1 else 's'}, {reg}")
        return "\n".join(lines)
