"""Google Workspace Admin SDK Reports API: `activities.list` per application.

`GET /admin/reports/v1/activity/users/{userKey}/applications/{application}` with `startTime`,
`endTime`, `maxResults` and `pageToken` (from `nextPageToken`). One stream per configured application
(default `login` and `token`). Activities come newest first and can land hours late, so each window
starts `overlap_seconds` before the last one's end and activities are de-duplicated on
`id.time/id.uniqueQualifier`. An empty page has no `items` key.

Auth: a service-account key with domain-wide delegation; the JWT bearer grant impersonates `subject`
(an admin) with scope admin.reports.audit.readonly. Quota errors come as 429, 503, or 403 with reason
`rateLimitExceeded`/`userRateLimitExceeded`/`quotaExceeded`: all are retried with backoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from collectors.inputs.api import WindowedConfig, WindowedStream, epoch, iso
from collectors.inputs.apiclient import ApiClient, RatePolicy, parse_json
from tokentrail.clock import Clock
from tokentrail.configtools import doc
from tokentrail.errors import FetchError

SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
_QUOTA_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}


@dataclass(frozen=True, kw_only=True)
class Config(WindowedConfig):
    SOURCE: ClassVar[str] = "google"
    AUTH_KINDS: ClassVar[tuple[str, ...]] = ("service_account",)
    MAX_LOOKBACK_DAYS: ClassVar[float] = 180.0

    base_url: str = doc("the Admin SDK endpoint", "https://admin.googleapis.com")
    applications: list[str] = doc("Reports API applications to collect (login, token, admin, saml...)",
                                  default_factory=lambda: ["login", "token"])
    user_key: str = doc("whose activities: all, or one user's e-mail or id", "all")
    customer_id: str | None = doc("the customer to report on (default: the admin's own)", None)
    poll_interval_seconds: float = doc("pause between polls once caught up", 300.0)
    overlap_seconds: float = doc("re-read this much before the last window's end (Reports lag is hours)", 7200.0)
    window_seconds: float = doc("catching up: query at most this much time per window", 12 * 3600.0)
    rate_limit_requests: int = doc("client-side limit: at most this many requests ... (Reports API default "
                                   "quota: 2,400 queries a minute per user and project)", 1200)

    def validate(self) -> list[str]:
        problems = super().validate()
        if self.placeholder():
            return problems
        if not self.applications:
            problems.append("applications: list at least one application")
        return problems


class GooglePolicy(RatePolicy):
    def is_rate_limited(self, resp: httpx.Response) -> bool:
        if resp.status_code == 429:
            return True
        if resp.status_code != 403:
            return False
        body = parse_json(resp)
        err = body.get("error") if isinstance(body, dict) else None
        reasons = {e.get("reason") for e in (err or {}).get("errors") or [] if isinstance(e, dict)}
        return bool(reasons & _QUOTA_REASONS)


POLICY = GooglePolicy()


def scopes(config: Config) -> list[str]:
    return [SCOPE]


class ActivityStream(WindowedStream):
    def __init__(self, config: Config, client: ApiClient, clock: Clock, application: str) -> None:
        super().__init__(config, client, clock)
        self.name = application
        self.path = (f"/admin/reports/v1/activity/users/{quote(config.user_key, safe='@')}"
                     f"/applications/{quote(application, safe='')}")

    def request(self, start: float, end: float, page: Any) -> tuple[list[dict[str, Any]], Any]:
        params: dict[str, Any] = {"startTime": iso(start, ms=True), "endTime": iso(end, ms=True),
                                  "maxResults": self.config.page_size}
        if self.config.customer_id:
            params["customerId"] = self.config.customer_id
        if page:
            params["pageToken"] = page
        body, _ = self.client.get_json(self.path, params)
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise FetchError(f"{self.client.name}: the Reports API answered without an `items` list")
        return body.get("items") or [], body.get("nextPageToken") or None

    def time(self, record: dict[str, Any]) -> float | None:
        rid = record.get("id")
        return epoch(rid.get("time"), "id.time") if isinstance(rid, dict) else None


def streams(config: Config, client: ApiClient, clock: Clock) -> list[ActivityStream]:
    return [ActivityStream(config, client, clock, app) for app in config.applications]
