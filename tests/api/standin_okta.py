"""Okta stand-in, from Okta's System Log API and OAuth-for-Okta documentation:

- `GET /api/v1/logs`: `since`, `until`, `after` (opaque), `limit` (<= 1000), `sortOrder`, `filter`.
  A polling request (no `until`, ASCENDING) filters on persistence time, returns events in persistence
  order (so a late event can carry an older `published`), and always sends `Link: <...>; rel="next"`,
  even on an empty page. A bounded request (`until` set) ends without a next link.
- Rate limits: `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining`, `X-Rate-Limit-Reset` (epoch seconds) on
  every response; over the limit: 429 with errorCode E0000047.
- Auth: `Authorization: SSWS <token>` or `Bearer <access token>`; otherwise 401 E0000011.
- `POST /oauth2/v1/token`: client credentials with a `private_key_jwt` client assertion, verified with
  the registered public key (iss = sub = client_id, aud = the token URL, exp, unique jti); scope must be
  okta.logs.read.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import jwt
from standin_base import StandIn, b64, json_response, unb64

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def okta_event(i: int, published: str, **extra: Any) -> dict[str, Any]:
    """A realistic System Log event (names and addresses from documentation ranges)."""
    ev = {
        "actor": {"id": f"00u{i:017d}", "type": "User", "alternateId": f"user{i % 50}@example.com",
                  "displayName": f"User {i % 50}"},
        "client": {"userAgent": {"rawUserAgent": "Mozilla/5.0 (X11; Linux x86_64)", "os": "Linux",
                                 "browser": "FIREFOX"},
                   "zone": "null", "device": "Computer", "ipAddress": f"198.51.100.{i % 250 + 1}"},
        "authenticationContext": {"authenticationStep": 0, "externalSessionId": f"102{i:020d}"},
        "displayMessage": "User login to Okta",
        "eventType": "user.session.start",
        "outcome": {"result": "SUCCESS"},
        "published": published,
        "severity": "INFO",
        "debugContext": {"debugData": {"requestId": f"req{i}", "requestUri": "/api/v1/authn"}},
        "legacyEventType": "core.user_auth.login_success",
        "transaction": {"type": "WEB", "id": f"tx{i}"},
        "uuid": str(uuid.UUID(int=i + 1)),
        "version": "0",
        "target": [],
    }
    ev.update(extra)
    return ev


class OktaStandIn(StandIn):
    def __init__(self, now: Any = None, **kw: Any) -> None:
        super().__init__(**({"now": now} if now else {}), **kw)
        self.events: list[tuple[float, dict[str, Any]]] = []  # (persisted at, event) in persistence order
        self.ssws_tokens = {"ssws-test-token"}
        self.clients: dict[str, Any] = {}  # client_id -> public key
        self.access_tokens: dict[str, float] = {}  # token -> expiry
        self.seen_jti: set[str] = set()
        self.token_requests = 0
        self.okta_limit: tuple[int, float] | None = None  # (requests, window seconds), Okta's fixed window
        self._window: tuple[float, int] | None = None  # (window start, used)
        self.max_limit = 1000

    def add(self, events: list[dict[str, Any]], persisted_at: float | None = None) -> None:
        t = self.now() if persisted_at is None else persisted_at
        self.events.extend((t, e) for e in events)

    def register_client(self, client_id: str, public_key: Any) -> None:
        self.clients[client_id] = public_key

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth2/v1/token"

    # -- routes -------------------------------------------------------------------------------------

    def route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/oauth2/v1/token":
            return self._token(request)
        if request.method == "GET" and path == "/api/v1/logs":
            return self._logs(request)
        return json_response(404, {"errorCode": "E0000022", "errorSummary": "The endpoint does not support "
                                   "the provided HTTP method"})

    def _error(self, status: int, code: str, summary: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return json_response(status, {"errorCode": code, "errorSummary": summary, "errorLink": code,
                                      "errorId": "oae" + uuid.uuid4().hex[:20], "errorCauses": []}, headers)

    def _authorized(self, request: httpx.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme == "SSWS":
            return value in self.ssws_tokens
        if scheme == "Bearer":
            exp = self.access_tokens.get(value)
            return exp is not None and exp > self.now()
        return False

    def _limit_headers(self) -> tuple[dict[str, str], bool]:
        if self.okta_limit is None:
            return {}, False
        limit, window = self.okta_limit
        now = self.now()
        if self._window is None or now >= self._window[0] + window:
            self._window = (now, 0)
        start, used = self._window
        over = used >= limit
        if not over:
            used += 1
            self._window = (start, used)
        reset = int(start + window) + 1
        return {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(max(0, limit - used)),
                "X-Rate-Limit-Reset": str(reset)}, over

    def _logs(self, request: httpx.Request) -> httpx.Response:
        headers, over = self._limit_headers()
        if over:
            self.too_many += 1
            return self._error(429, "E0000047", "API call exceeded rate limit due to too many requests.", headers)
        if not self._authorized(request):
            self.rejected += 1
            return self._error(401, "E0000011", "Invalid token provided", headers)
        q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        try:
            limit = min(int(q.get("limit", 100)), self.max_limit)
        except ValueError:
            return self._error(400, "E0000001", "Api validation failed: limit", headers)
        until = q.get("until")
        if "after" in q:
            start = unb64(q["after"])
        elif "since" in q:
            since = _epoch(q["since"])
            start = next((i for i, (t, _) in enumerate(self.events) if t >= since), len(self.events))
        else:
            start = 0
        items = self.events[start:]
        if until is not None:
            end_t = _epoch(until)
            items = [(t, e) for t, e in items if t < end_t]
        page = items[:limit]
        body = [e for _, e in page]
        nxt = start + len(page)
        links = [f'<{self.base_url}/api/v1/logs?{request.url.query.decode()}>; rel="self"']
        if until is None or len(items) > limit:
            params = {"limit": limit, "sortOrder": "ASCENDING", "after": b64(nxt)}
            if until is not None:
                params["until"] = until
            if "filter" in q:
                params["filter"] = q["filter"]
            links.append(f'<{self.base_url}/api/v1/logs?{urlencode(params)}>; rel="next"')
        headers["Link"] = ", ".join(links)
        return json_response(200, body, headers)

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.token_requests += 1
        form = {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}

        def refuse(code: str, desc: str, status: int = 401) -> httpx.Response:
            return json_response(status, {"error": code, "error_description": desc})

        if form.get("grant_type") != "client_credentials":
            return refuse("unsupported_grant_type", "The authorization grant type is not supported.", 400)
        if form.get("client_assertion_type") != ASSERTION_TYPE or "client_assertion" not in form:
            return refuse("invalid_client", "Client authentication failed.")
        assertion = form["client_assertion"]
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
            key = self.clients[claims.get("iss")]
            claims = verify_assertion(assertion, key, audience=self.token_url, issuer=claims["iss"], now=self.now())
        except (jwt.PyJWTError, KeyError):
            return refuse("invalid_client", "The client_assertion signature is invalid.")
        if claims["sub"] != claims["iss"] or claims["jti"] in self.seen_jti:
            return refuse("invalid_client", "The client_assertion token is invalid or was already used.")
        self.seen_jti.add(claims["jti"])
        if "okta.logs.read" not in form.get("scope", "").split():
            return refuse("invalid_scope", "The authorization server does not allow the requested scope.", 400)
        token = "at-" + uuid.uuid4().hex
        self.access_tokens[token] = self.now() + 3600
        return json_response(200, {"token_type": "Bearer", "expires_in": 3600, "access_token": token,
                                   "scope": "okta.logs.read"})


def verify_assertion(assertion: str, key: Any, *, audience: str, issuer: str, now: float,
                     max_lifetime: float = 3600.0, require: tuple[str, ...] = ("jti", "sub")) -> dict[str, Any]:
    """Verify signature, aud and iss with PyJWT; exp/iat against the stand-in's clock (PyJWT reads the
    wall clock, and tests run on a fixed one)."""
    claims = jwt.decode(assertion, key, algorithms=["RS256", "ES256"], audience=audience, issuer=issuer,
                        options={"require": ["exp", "iat", *require], "verify_exp": False, "verify_iat": False})
    if not claims["iat"] - 30 <= now < claims["exp"] or claims["exp"] - claims["iat"] > max_lifetime:
        raise jwt.InvalidTokenError("expired, not yet valid or too long-lived")
    return claims


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
