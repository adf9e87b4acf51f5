"""Confluence audit records: Cloud REST and Data Center REST. (Data Center audit *files* go through the
file input, which follows rotation by inode and offset.)

- `deployment: cloud`: `GET /wiki/rest/api/audit?startDate=&endDate=&start=&limit=`, dates in epoch
  milliseconds, offset paging with `start`/`limit`, newest first. Auth: e-mail + API token (basic) or an
  OAuth 2.0 bearer token (then base_url is https://api.atlassian.com/ex/confluence/<cloudId>).
- `deployment: datacenter`: `GET /rest/auditing/1.0/events?from=&to=&limit=&pageCursor=`, ISO 8601
  times, cursor paging with `pagingInfo.nextPageCursor`, newest first. Auth: a personal access token
  (bearer) or basic.

Records carry no id: they are keyed (and de-duplicated across overlapping windows) by a hash of their
content, which is also their `event.id`. 429 waits `Retry-After` (or `X-RateLimit-Reset`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from collectors.inputs.api import WindowedConfig, WindowedStream, epoch, iso
from collectors.inputs.apiclient import ApiClient, RatePolicy
from tokentrail.clock import Clock
from tokentrail.configtools import doc
from tokentrail.errors import FetchError

CLOUD_PATH = "/wiki/rest/api/audit"
DC_PATH = "/rest/auditing/1.0/events"


@dataclass(frozen=True, kw_only=True)
class Config(WindowedConfig):
    SOURCE: ClassVar[str] = "confluence"
    AUTH_KINDS: ClassVar[tuple[str, ...]] = ("basic", "bearer")
    MAX_LOOKBACK_DAYS: ClassVar[float] = 365.0

    base_url: str = doc("the Confluence site, e.g. https://example.atlassian.net or https://confluence.example.com")
    deployment: str = doc("cloud (/wiki/rest/api/audit) or datacenter (/rest/auditing/1.0/events)", "cloud")
    overlap_seconds: float = doc("re-read this much before the last window's end", 300.0)
    rate_limit_requests: int = doc("client-side limit: at most this many requests ...", 100)

    def validate(self) -> list[str]:
        problems = super().validate()
        if self.placeholder():
            return problems
        if self.deployment not in ("cloud", "datacenter"):
            problems.append("deployment: cloud or datacenter")
        return problems


class AtlassianPolicy(RatePolicy):
    remaining_header = "X-RateLimit-Remaining"
    reset_header = "X-RateLimit-Reset"
    reset_format = "iso"


POLICY = AtlassianPolicy()


class CloudStream(WindowedStream):
    name = "audit"

    def request(self, start: float, end: float, page: Any) -> tuple[list[dict[str, Any]], Any]:
        offset = int(page or 0)
        params = {"startDate": int(start * 1000), "endDate": int(end * 1000), "start": offset,
                  "limit": self.config.page_size}
        body, _ = self.client.get_json(CLOUD_PATH, params)
        if not isinstance(body, dict) or not isinstance(body.get("results", []), list):
            raise FetchError(f"{self.client.name}: Confluence answered without a `results` list")
        results = body.get("results") or []
        served = body.get("limit") if isinstance(body.get("limit"), int) else self.config.page_size
        links = body.get("_links") if isinstance(body.get("_links"), dict) else {}
        more = bool(results) and (len(results) >= min(served, self.config.page_size) or "next" in links)
        return results, (offset + len(results) if more else None)

    def time(self, record: dict[str, Any]) -> float | None:
        return epoch(record.get("creationDate"), "creationDate")


class DataCenterStream(WindowedStream):
    name = "audit"

    def request(self, start: float, end: float, page: Any) -> tuple[list[dict[str, Any]], Any]:
        params: dict[str, Any] = {"from": iso(start, ms=True), "to": iso(end, ms=True), "limit": self.config.page_size}
        if page:
            params["pageCursor"] = page
        body, _ = self.client.get_json(DC_PATH, params)
        if not isinstance(body, dict) or not isinstance(body.get("entities", []), list):
            raise FetchError(f"{self.client.name}: Confluence answered without an `entities` list")
        entities = body.get("entities") or []
        paging = body.get("pagingInfo") if isinstance(body.get("pagingInfo"), dict) else {}
        nxt = paging.get("nextPageCursor") if entities and not body.get("isLastPage") else None
        return entities, nxt or None

    def time(self, record: dict[str, Any]) -> float | None:
        value = record.get("timestamp")
        if isinstance(value, dict):  # the audit-file shape: {"epochSecond": ..., "nano": ...}
            value = value.get("epochSecond")
        return epoch(value, "timestamp")


def streams(config: Config, client: ApiClient, clock: Clock) -> list[WindowedStream]:
    cls = CloudStream if config.deployment == "cloud" else DataCenterStream
    return [cls(config, client, clock)]
