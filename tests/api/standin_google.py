"""Google Workspace Reports API stand-in, from the Admin SDK Reports reference and Google's OAuth 2.0 for
service accounts (RFC 7523 JWT bearer grant) documentation:

- `GET /admin/reports/v1/activity/users/{userKey}/applications/{applicationName}` with `startTime`,
  `endTime` (RFC 3339), `maxResults` (<= 1000), `pageToken`; activities newest first; `nextPageToken`
  until the last page; an empty page has no `items` key at all.
- Activities become visible after their lag (`visible_at`): Reports data lands minutes to hours late.
- Quota errors: 403 `rateLimitExceeded` (or 429); 401 `UNAUTHENTICATED` for a bad token.
- `POST /token`: `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256 assertion that
  the stand-in verifies with the service account's public key: iss = client_email, aud = token_uri,
  scope = admin.reports.audit.readonly, sub = an admin with domain-wide delegation, exp <= iat + 3600.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
from standin_base import StandIn, b64, json_response, unb64
from standin_okta import verify_assertion

SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def activity(i: int, when: float, application: str = "login") -> dict[str, Any]:
    if application == "token":
        events = [{"type": "auth", "name": "authorize", "parameters": [
            {"name": "client_id", "value": f"{i}-abc.apps.googleusercontent.com"},
            {"name": "app_name", "value": "Mail Sync"},
            {"name": "scope", "multiValue": ["https://www.googleapis.com/auth/gmail.readonly"]}]}]
    else:
        events = [{"type": "login", "name": "login_success", "parameters": [
            {"name": "login_type", "value": "google_password"}]}]
    return {"kind": "admin#reports#activity",
            "id": {"time": iso(when), "uniqueQualifier": str(-(10**18) + i), "applicationName": application,
                   "customerId": "C03az79cb"},
            "etag": f'"etag-{i}"',
            "actor": {"callerType": "USER", "email": f"user{i % 30}@example.com", "profileId": str(10**20 + i % 30)},
            "ipAddress": f"192.0.2.{i % 250 + 1}", "events": events}


class GoogleStandIn(StandIn):
    def __init__(self, now: Any = None, **kw: Any) -> None:
        super().__init__(**({"now": now} if now else {}), **kw)
        self.activities: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.service_account = "tokentrail@project-1.iam.gserviceaccount.com"
        self.key_id = "1f2e3d4c5b6a"
        self.public_key: Any = None
        self.admins = {"admin@example.com"}
        self.tokens: dict[str, float] = {}
        self.assertions: list[dict[str, Any]] = []
        self._cache: dict[Any, list[dict[str, Any]]] = {}

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def key_json(self, private_pem: str) -> dict[str, Any]:
        """A service-account key file as the Cloud console downloads it."""
        return {"type": "service_account", "project_id": "project-1", "private_key_id": self.key_id,
                "private_key": private_pem, "client_email": self.service_account, "client_id": "1234567890",
                "token_uri": self.token_url}

    def add(self, application: str, acts: list[dict[str, Any]], visible_at: float | None = None) -> None:
        t = self.now() if visible_at is None else visible_at
        self.activities.setdefault(application, []).extend((t, a) for a in acts)

    def throttled(self, request: httpx.Request, wait: float) -> httpx.Response:
        return json_response(403, {"error": {"code": 403, "message": "Quota exceeded for quota metric 'Queries'",
                                             "errors": [{"message": "Rate Limit Exceeded", "domain": "usageLimits",
                                                         "reason": "rateLimitExceeded"}],
                                             "status": "PERMISSION_DENIED"}})

    def route(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/token":
            return self._token(request)
        m = re.fullmatch(r"/admin/reports/v1/activity/users/([^/]+)/applications/([^/]+)", request.url.path)
        if not m:
            return json_response(404, {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}})
        if self.tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "), 0) <= self.now():
            self.rejected += 1
            return json_response(401, {"error": {
                "code": 401, "status": "UNAUTHENTICATED",
                "message": "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                            "location": "Authorization", "locationType": "header"}]}})
        return self._list(request, m.group(2))

    def _list(self, request: httpx.Request, application: str) -> httpx.Response:
        q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        offset = unb64(q["pageToken"])["o"] if "pageToken" in q else 0
        top = min(int(q.get("maxResults", 1000)), 1000)
        lo = epoch(q["startTime"]) if "startTime" in q else 0.0
        hi = epoch(q["endTime"]) if "endTime" in q else self.now()
        if hi < lo:
            return json_response(400, {"error": {"code": 400, "message": "Start time must be less than end time.",
                                                 "status": "INVALID_ARGUMENT"}})
        stored = self.activities.get(application, [])
        key = (application, lo, hi, len(stored))
        items = self._cache.get(key)
        if items is None:
            now = self.now()
            items = [a for t, a in stored if t <= now and lo <= epoch(a["id"]["time"]) <= hi]
            items.sort(key=lambda a: a["id"]["time"], reverse=True)
            if all(t <= now for t, _ in stored):
                self._cache[key] = items
        page = items[offset:offset + top]
        body: dict[str, Any] = {"kind": "admin#reports#activities", "etag": f'"{uuid.uuid4().hex}"'}
        if page:
            body["items"] = page
        if offset + top < len(items):
            body["nextPageToken"] = b64({"o": offset + top})
        return json_response(200, body)

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}

        def refuse(code: str, desc: str) -> httpx.Response:
            return json_response(400, {"error": code, "error_description": desc})

        if form.get("grant_type") != GRANT:
            return refuse("unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type", ""))
        try:
            header = jwt.get_unverified_header(form["assertion"])
            if header.get("kid") != self.key_id or header.get("alg") != "RS256":
                raise jwt.InvalidTokenError("unknown key")
            claims = verify_assertion(form["assertion"], self.public_key, audience=self.token_url,
                                      issuer=self.service_account, now=self.now(), require=("scope",))
        except (jwt.PyJWTError, KeyError):
            return refuse("invalid_grant", "Invalid JWT Signature.")
        self.assertions.append(claims)
        if claims.get("sub") not in self.admins or SCOPE not in str(claims.get("scope", "")).split():
            return refuse("unauthorized_client", "Client is unauthorized to retrieve access tokens using this "
                          "method, or client not authorized for any of the scopes requested.")
        token = "ya29.c." + uuid.uuid4().hex
        self.tokens[token] = self.now() + 3599
        return json_response(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
