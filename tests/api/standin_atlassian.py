"""Atlassian stand-ins, from the Confluence Cloud REST v1, Atlassian Audit (Data Center) and Organizations
REST API documentation:

- Confluence Cloud `GET /wiki/rest/api/audit`: `startDate`/`endDate` in epoch milliseconds, `start`
  offset and `limit`, records newest first, `_links.next` while more remain; basic auth with e-mail and
  API token (or a bearer token).
- Confluence Data Center `GET /rest/auditing/1.0/events`: `from`/`to` ISO 8601, `limit`, `pageCursor`
  from `pagingInfo.nextPageCursor` (`timestamp,id`), newest first; personal access token as bearer.
- Organization `GET /admin/v1/orgs/{orgId}/events`: `from`/`to` epoch milliseconds, `cursor`,
  `links.next` and `meta.next`, newest first; org API key as bearer; 10 requests a minute.
- Rate limiting: 429 with `Retry-After` and `X-RateLimit-Reset` (ISO 8601); `X-RateLimit-Remaining`.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import httpx
from standin_base import StandIn, b64, json_response, unb64


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def cloud_record(i: int, when: float) -> dict[str, Any]:
    return {"author": {"type": "user", "displayName": f"Admin {i % 5}", "accountId": f"5b10ac8d82e05b22cc7d{i:04x}",
                       "accountType": "atlassian", "publicName": f"Admin {i % 5}"},
            "remoteAddress": f"198.51.100.{i % 250 + 1}", "creationDate": int(when * 1000),
            "summary": "Space permission added", "description": f"change {i}", "category": "Permissions",
            "sysAdmin": False, "superAdmin": False,
            "affectedObject": {"name": "Engineering", "objectType": "Space"},
            "changedValues": [{"name": "Permission", "oldValue": "", "newValue": f"VIEWSPACE-{i}"}],
            "associatedObjects": []}


def dc_record(i: int, when: float) -> dict[str, Any]:
    return {"timestamp": iso(when),
            "author": {"name": f"admin{i % 5}", "type": "user", "id": f"2c9680837d4a3682017d4a375a28{i:04x}"},
            "type": {"category": "Users and groups", "action": "User added to group",
                     "categoryI18nKey": "audit.logging.category.user.management",
                     "actionI18nKey": "audit.logging.summary.group.membership.added"},
            "affectedObjects": [{"name": "confluence-users", "type": "Group", "id": f"g{i}"}],
            "changedValues": [], "source": f"192.0.2.{i % 250 + 1}", "system": "https://confluence.example.com",
            "method": "Browser", "extraAttributes": []}


def org_event(i: int, when: float) -> dict[str, Any]:
    return {"id": str(uuid.UUID(int=0xA71A << 64 | i)), "type": "events",
            "attributes": {"time": iso(when), "action": "user_added_to_group",
                           "actor": {"id": f"5b10ac8d82e05b22cc7d4e{i:03x}", "name": "Org Admin",
                                     "links": {"self": "https://api.atlassian.com/users/x/manage/profile"}},
                           "context": [{"id": f"712020:{i}", "type": "users"}],
                           "container": [{"id": "org-1", "type": "orgs"}],
                           "location": {"ip": f"203.0.113.{i % 250 + 1}", "geo": "Sydney, Australia"}},
            "links": {"self": f"https://api.atlassian.com/admin/v1/orgs/org-1/events/{i}"}}


class _Timed(StandIn):
    """Records with a time, visible after their lag, listed newest first."""

    def __init__(self, now: Any = None, **kw: Any) -> None:
        super().__init__(**({"now": now} if now else {}), **kw)
        self.records: list[tuple[float, float, dict[str, Any]]] = []  # (visible at, time, record)
        self.bearer = {"standin-token"}
        self._cache: dict[Any, list[dict[str, Any]]] = {}

    def add(self, recs: list[tuple[float, dict[str, Any]]], visible_at: float | None = None) -> None:
        v = self.now() if visible_at is None else visible_at
        self.records.extend((v, t, r) for t, r in recs)

    def window(self, lo: float, hi: float) -> list[dict[str, Any]]:
        key = (lo, hi, len(self.records))
        if key in self._cache:
            return self._cache[key]
        now = self.now()
        found = [(t, r) for v, t, r in self.records if v <= now and lo <= t < hi]
        found.sort(key=lambda x: x[0], reverse=True)
        items = [r for _, r in found]
        if all(v <= now for v, _, _ in self.records):  # nothing in flight: the answer cannot change
            self._cache[key] = items
        return items

    def throttled(self, request: httpx.Request, wait: float) -> httpx.Response:
        reset = datetime.fromtimestamp(self.now() + wait + 1, UTC).strftime("%Y-%m-%dT%H:%MZ")
        return json_response(429, {"code": 429, "message": "Rate limit exceeded"},
                             {"Retry-After": str(int(wait) + 1), "X-RateLimit-Remaining": "0",
                              "X-RateLimit-Reset": reset})

    def _bearer_ok(self, request: httpx.Request) -> bool:
        return request.headers.get("Authorization", "").removeprefix("Bearer ") in self.bearer


class ConfluenceCloudStandIn(_Timed):
    def __init__(self, now: Any = None, **kw: Any) -> None:
        super().__init__(now, **kw)
        self.basic = {("bot@example.com", "atlassian-api-token")}

    def _authorized(self, request: httpx.Request) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme == "Basic":
            user, _, password = base64.b64decode(value).decode().partition(":")
            return (user, password) in self.basic
        return self._bearer_ok(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/wiki/rest/api/audit":
            return json_response(404, {"statusCode": 404, "message": "No resource found"})
        if not self._authorized(request):
            self.rejected += 1
            return json_response(401, {"code": 401, "message": "Client must be authenticated to access this resource."})
        q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        start, limit = int(q.get("start", 0)), min(int(q.get("limit", 1000)), 1000)
        items = self.window(int(q["startDate"]) / 1000, int(q["endDate"]) / 1000)
        page = items[start:start + limit]
        links = {"base": self.base_url + "/wiki", "context": "/wiki", "self": f"{self.base_url}/wiki/rest/api/audit"}
        if start + limit < len(items):
            links["next"] = "/rest/api/audit?" + urlencode({**q, "start": start + limit})
        return json_response(200, {"results": page, "start": start, "limit": limit, "size": len(page),
                                   "_links": links})


class ConfluenceDataCenterStandIn(_Timed):
    def route(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/rest/auditing/1.0/events":
            return json_response(404, {"errors": [{"message": "Not found"}]})
        if not self._bearer_ok(request):
            self.rejected += 1
            return json_response(401, {"errors": [{"context": None, "exceptionName": "NotAuthorizedException",
                                                   "message": "Client must be authenticated to access this resource."}]})
        q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        limit = min(int(q.get("limit", 200)), 1000)
        items = self.window(epoch(q["from"]), epoch(q["to"]))
        offset = unb64(q["pageCursor"].split(",", 1)[1]) if "pageCursor" in q else 0
        page = items[offset:offset + limit]
        paging: dict[str, Any] = {"blockSize": limit, "size": len(page)}
        if offset + limit < len(items):
            cursor = f"{page[-1]['timestamp']},{b64(offset + limit)}"
            paging["nextPageCursor"] = cursor
            paging["nextPageLink"] = (f"{self.base_url}/rest/auditing/1.0/events?"
                                      + urlencode({**q, "pageCursor": cursor}))
        return json_response(200, {"entities": page, "pagingInfo": paging})


class OrgStandIn(_Timed):
    def __init__(self, now: Any = None, org_id: str = "org-1", **kw: Any) -> None:
        super().__init__(now, **kw)
        self.org_id = org_id
        self.page_size = 100

    def route(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != f"/admin/v1/orgs/{quote(self.org_id, safe='')}/events":
            return json_response(404, {"errors": [{"status": "404", "title": "Not Found"}]})
        if not self._bearer_ok(request):
            self.rejected += 1
            return json_response(401, {"errors": [{"status": "401", "code": "unauthorized", "title": "Unauthorized",
                                                   "detail": "The API key is invalid or has expired."}]})
        q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        if "cursor" in q:
            state = unb64(q["cursor"])
            lo, hi, offset = state["lo"], state["hi"], state["o"]
        else:
            lo, hi, offset = int(q["from"]) / 1000, int(q.get("to", self.now() * 1000)) / 1000, 0
        items = self.window(lo, hi)
        page = items[offset:offset + self.page_size]
        body: dict[str, Any] = {"data": page, "links": {"self": str(request.url)},
                                "meta": {"page_size": self.page_size}}
        if offset + self.page_size < len(items):
            cursor = b64({"lo": lo, "hi": hi, "o": offset + self.page_size})
            body["links"]["next"] = (f"{self.base_url}/admin/v1/orgs/{self.org_id}/events?"
                                     + urlencode({"cursor": cursor}))
            body["meta"]["next"] = cursor
        return json_response(200, body)
