"""Atlassian organization audit events: `GET /admin/v1/orgs/{orgId}/events`.

Windows `from`/`to` (epoch milliseconds), cursor paging (`links.next`, else `meta.next` as `cursor`),
newest first, de-duplicated on the event `id` across overlapping windows. Auth: an organization API key
as a bearer token (scope read:events:admin). The endpoint allows 10 requests a minute (per user and per
API path, since May 2025): the client never sends more in any 60-second window, and honours
`X-RateLimit-Remaining`/`X-RateLimit-Reset` (ISO 8601) and 429 `Retry-After`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from collectors.confluence.fetch import AtlassianPolicy
from collectors.inputs.api import WindowedConfig, WindowedStream, epoch
from collectors.inputs.apiclient import ApiClient
from tokentrail.clock import Clock
from tokentrail.configtools import doc
from tokentrail.errors import FetchError


@dataclass(frozen=True, kw_only=True)
class Config(WindowedConfig):
    SOURCE: ClassVar[str] = "atlassian"
    AUTH_KINDS: ClassVar[tuple[str, ...]] = ("bearer",)
    MAX_LOOKBACK_DAYS: ClassVar[float] = 180.0

    base_url: str = doc("the Atlassian admin API", "https://api.atlassian.com")
    org_id: str = doc("the organization id (admin.atlassian.com -> Settings -> API keys)")
    poll_interval_seconds: float = doc("pause between polls once caught up", 300.0)
    overlap_seconds: float = doc("re-read this much before the last window's end", 600.0)
    rate_limit_requests: int = doc("client-side limit: at most this many requests ... (10 a minute)", 10)

    def validate(self) -> list[str]:
        problems = super().validate()
        if self.placeholder():
            return problems
        if not self.org_id or not isinstance(self.org_id, str):
            problems.append("org_id: required")
        return problems


POLICY = AtlassianPolicy()


class EventStream(WindowedStream):
    name = "events"

    def request(self, start: float, end: float, page: Any) -> tuple[list[dict[str, Any]], Any]:
        path = f"/admin/v1/orgs/{quote(self.config.org_id, safe='')}/events"
        if isinstance(page, str) and page.startswith(("http://", "https://")):
            body, _ = self.client.get_json(page)
        else:
            params: dict[str, Any] = {"from": int(start * 1000), "to": int(end * 1000)}
            if page:
                params["cursor"] = page
            body, _ = self.client.get_json(path, params)
        if not isinstance(body, dict) or not isinstance(body.get("data") or [], list):
            raise FetchError(f"{self.client.name}: Atlassian answered without a `data` list")
        data = body.get("data") or []
        links = body.get("links") if isinstance(body.get("links"), dict) else {}
        meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
        nxt = links.get("next") or meta.get("next") if data else None
        return data, nxt or None

    def time(self, record: dict[str, Any]) -> float | None:
        attrs = record.get("attributes")
        return epoch(attrs.get("time"), "attributes.time") if isinstance(attrs, dict) else None


def streams(config: Config, client: ApiClient, clock: Clock) -> list[EventStream]:
    return [EventStream(config, client, clock)]
