"""Okta System Log API (`GET /api/v1/logs`) as a polling query.

The first request asks `since` (now - lookback, at most the 90-day retention) with
`sortOrder=ASCENDING` and no `until`: a polling query, filtered by Okta's persistence time so delayed
events are not skipped. Every response carries `Link: <...>; rel="next"`, even when it is empty; that
link is the checkpoint and the next request. We never re-window with since/until: late events have
older `published` times and would be missed. A page shorter than `limit` means caught up.

With `end_time` (backfill) the query is bounded (`since` + `until`): finite pages, no next link at the end.

Rate limits: `X-Rate-Limit-Remaining` at 0 pauses until `X-Rate-Limit-Reset` (epoch seconds); a 429
waits until that reset. Errors carry Okta's `errorCode`/`errorSummary` (E0000011 invalid token...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from collectors.inputs.api import ApiConfig, Page, iso
from collectors.inputs.apiclient import ApiClient, RatePolicy
from tokentrail.clock import Clock
from tokentrail.configtools import doc
from tokentrail.errors import FetchError

PATH = "/api/v1/logs"


@dataclass(frozen=True, kw_only=True)
class Config(ApiConfig):
    SOURCE: ClassVar[str] = "okta"
    AUTH_KINDS: ClassVar[tuple[str, ...]] = ("ssws", "oauth_private_key_jwt")
    MAX_LOOKBACK_DAYS: ClassVar[float] = 90.0

    base_url: str = doc("your Okta org, e.g. https://example.okta.com")
    poll_interval_seconds: float = doc("pause between polls once caught up (a short page)", 15.0)
    rate_limit_requests: int = doc("client-side limit: at most this many requests ... (Okta: 120 a minute "
                                   "for /api/v1/logs on Workforce orgs, a new token gets half)", 60)
    filter: str | None = doc("an Okta filter expression, e.g. eventType sw \"app.oauth2\"", None)


class OktaPolicy(RatePolicy):
    remaining_header = "X-Rate-Limit-Remaining"
    reset_header = "X-Rate-Limit-Reset"
    reset_format = "epoch"


POLICY = OktaPolicy()


def default_token_url(config: Config) -> str:
    """The org authorization server's token endpoint (okta.* scopes are issued only there)."""
    return config.base_url.rstrip("/") + "/oauth2/v1/token"


def scopes(config: Config) -> list[str]:
    return ["okta.logs.read"]


class LogStream:
    """The System Log as one stream; the cursor is the last `next` link."""

    name = "logs"

    def __init__(self, config: Config, client: ApiClient, clock: Clock) -> None:
        self.config, self.client = config, client
        self.until = config.end_epoch()

    def start(self, since: float) -> dict[str, Any]:
        return {"since": iso(since, ms=True)}

    def fetch(self, cursor: dict[str, Any]) -> Page:
        if cursor.get("next"):
            body, resp = self.client.get_json(cursor["next"])
        else:
            params: dict[str, Any] = {"since": cursor["since"], "sortOrder": "ASCENDING",
                                      "limit": self.config.page_size}
            if self.until is not None:
                params["until"] = iso(self.until, ms=True)
            if self.config.filter:
                params["filter"] = self.config.filter
            body, resp = self.client.get_json(PATH, params)
        if not isinstance(body, list):
            raise FetchError(f"{self.client.name}: Okta answered with a JSON {type(body).__name__}, not an array")
        nxt = resp.links.get("next", {}).get("url")
        if nxt:
            return Page(body, {"next": nxt}, more=len(body) >= self.config.page_size)
        if self.until is not None:  # a bounded query ends without a next link
            return Page(body, {"finished": True}, more=False)
        # A polling query always has a next link; without one, ask the same thing again next time.
        return Page(body, cursor, more=False)

    def time(self, record: dict[str, Any]) -> float | None:
        # Keys are forgotten by recency, not by time (late events carry old `published` times).
        return None


def streams(config: Config, client: ApiClient, clock: Clock) -> list[LogStream]:
    return [LogStream(config, client, clock)]
