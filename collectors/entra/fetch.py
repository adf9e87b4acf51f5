"""Microsoft Graph audit logs: sign-ins (per event type) and directory audits.

Streams, one cursor each:
- `interactiveUser`: `GET /v1.0/auditLogs/signIns` (v1.0 lists interactive user sign-ins);
- `nonInteractiveUser`, `servicePrincipal`, `managedIdentity`: `GET /beta/auditLogs/signIns` with
  `signInEventTypes/any(t: t eq '<type>')` (only beta lists them), header
  `Prefer: include-unknown-enum-members`;
- `directoryAudits`: `GET /v1.0/auditLogs/directoryAudits`.

Each poll asks `$filter=createdDateTime ge <since> and createdDateTime lt <now>` (activityDateTime for
audits), where `since` is the last window's end minus `overlap_seconds`: Graph returns newest first and
logs land minutes late (service-principal sign-ins up to ~15 minutes), so windows overlap and records are
de-duplicated on `id`. Pages follow `@odata.nextLink` verbatim. Throttling (429, or 503/504) waits
`Retry-After` seconds; Graph allows 5 requests per 10 seconds per app and tenant on these reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from collectors.inputs.api import WindowedConfig, WindowedStream, epoch, iso
from collectors.inputs.apiclient import ApiClient, RatePolicy
from tokentrail.clock import Clock
from tokentrail.configtools import doc
from tokentrail.errors import FetchError

EVENT_TYPES = ("interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity")


@dataclass(frozen=True, kw_only=True)
class Config(WindowedConfig):
    SOURCE: ClassVar[str] = "entra"
    AUTH_KINDS: ClassVar[tuple[str, ...]] = ("client_credentials",)
    MAX_LOOKBACK_DAYS: ClassVar[float] = 30.0

    base_url: str = doc("Microsoft Graph (national clouds: https://graph.microsoft.us, "
                        "https://microsoftgraph.chinacloudapi.cn)", "https://graph.microsoft.com")
    event_types: list[str] = doc("sign-in event types to collect", default_factory=lambda: list(EVENT_TYPES))
    directory_audits: bool = doc("also collect auditLogs/directoryAudits", True)
    overlap_seconds: float = doc("re-read this much before the last window's end (late sign-ins)", 900.0)
    rate_limit_requests: int = doc("client-side limit: at most this many requests ... (Graph reports: "
                                   "5 per 10 seconds per app and tenant)", 5)
    rate_limit_seconds: float = doc("... in any window of this many seconds", 10.0)

    def validate(self) -> list[str]:
        problems = super().validate()
        if self.placeholder():
            return problems
        for i, t in enumerate(self.event_types or []):
            if t not in EVENT_TYPES:
                problems.append(f"event_types[{i}]: unknown event type {t!r} (valid: {', '.join(EVENT_TYPES)})")
        if not self.event_types and not self.directory_audits:
            problems.append("event_types: nothing to collect (no event types and directory_audits: false)")
        return problems


POLICY = RatePolicy()  # Retry-After seconds; Graph's error body {"error": {"code", "message"}}


def scopes(config: Config) -> list[str]:
    """The `.default` scope of the configured Graph endpoint (national clouds have their own)."""
    return [config.base_url.rstrip("/") + "/.default"]


class GraphStream(WindowedStream):
    def __init__(self, config: Config, client: ApiClient, clock: Clock, *, name: str, version: str,
                 path: str, time_field: str, event_type: str | None = None) -> None:
        super().__init__(config, client, clock)
        self.name, self.version, self.path, self.time_field = name, version, path, time_field
        self.event_type = event_type

    def request(self, start: float, end: float, page: Any) -> tuple[list[dict[str, Any]], Any]:
        headers = {"Prefer": "include-unknown-enum-members"} if self.version == "beta" else None
        if page:
            body, _ = self.client.get_json(page, headers=headers)
        else:
            flt = f"{self.time_field} ge {iso(start)} and {self.time_field} lt {iso(end)}"
            if self.event_type:
                flt = f"({flt}) and signInEventTypes/any(t: t eq '{self.event_type}')"
            params = {"$filter": flt, "$top": self.config.page_size}
            body, _ = self.client.get_json(f"/{self.version}/{self.path}", params, headers)
        if not isinstance(body, dict) or not isinstance(body.get("value", []), list):
            raise FetchError(f"{self.client.name}: Graph answered without a `value` list")
        return body.get("value") or [], body.get("@odata.nextLink") or None

    def time(self, record: dict[str, Any]) -> float | None:
        return epoch(record.get(self.time_field), self.time_field)


def streams(config: Config, client: ApiClient, clock: Clock) -> list[GraphStream]:
    out = []
    for t in config.event_types:
        if t == "interactiveUser":
            out.append(GraphStream(config, client, clock, name=t, version="v1.0", path="auditLogs/signIns",
                                   time_field="createdDateTime"))
        else:
            out.append(GraphStream(config, client, clock, name=t, version="beta", path="auditLogs/signIns",
                                   time_field="createdDateTime", event_type=t))
    if config.directory_audits:
        out.append(GraphStream(config, client, clock, name="directoryAudits", version="v1.0",
                               path="auditLogs/directoryAudits", time_field="activityDateTime"))
    return out
