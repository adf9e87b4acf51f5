"""Microsoft Graph stand-in, from the Graph signIn/directoryAudit list docs and the identity platform docs:

- `GET /v1.0/auditLogs/signIns`: interactive user sign-ins only; `GET /beta/auditLogs/signIns` with
  `signInEventTypes/any(t: t eq '<type>')`; `GET /v1.0/auditLogs/directoryAudits`.
- `$filter=<createdDateTime|activityDateTime> ge <t> and ... lt <t>`, `$top` (<= 1000), newest first,
  `@odata.nextLink` carrying `$skiptoken` until the last page.
- Records become visible only after their ingestion lag (`visible_at`): logs land minutes late.
- 429 with `Retry-After` seconds; 401 `InvalidAuthenticationToken`.
- `POST /{tenant}/oauth2/v2.0/token`: client credentials with `client_secret`, or a client assertion
  signed with the certificate's key (`x5t` = SHA-1 thumbprint), verified with the certificate.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import jwt
from standin_base import StandIn, b64, json_response, unb64
from standin_okta import verify_assertion

_WINDOW = re.compile(r"(\w+) ge (\S+) and \w+ lt (\S+?)\)?(?: and|$)")
_TYPE = re.compile(r"signInEventTypes/any\(t: t eq '(\w+)'\)")


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def signin(i: int, created: float, event_type: str = "interactiveUser", **extra: Any) -> dict[str, Any]:
    rec = {
        "id": str(uuid.UUID(int=0x5150 << 64 | i)),
        "createdDateTime": iso(created),
        "userDisplayName": f"User {i % 40}", "userPrincipalName": f"user{i % 40}@example.com",
        "userId": str(uuid.UUID(int=i % 40 + 7)),
        "appId": "00000003-0000-0000-c000-000000000000", "appDisplayName": "Microsoft Graph",
        "ipAddress": f"203.0.113.{i % 250 + 1}", "clientAppUsed": "Browser",
        "status": {"errorCode": 0, "failureReason": "Other."},
        "signInEventTypes": [event_type],
        "uniqueTokenIdentifier": f"uti{i:08d}AAAA",
        "location": {"city": "Redmond", "state": "Washington", "countryOrRegion": "US"},
    }
    rec.update(extra)
    return rec


def audit(i: int, when: float) -> dict[str, Any]:
    return {
        "id": f"Directory_{i:08d}", "category": "ApplicationManagement", "correlationId": str(uuid.UUID(int=i)),
        "result": "success", "resultReason": "", "activityDisplayName": "Consent to application",
        "activityDateTime": iso(when), "loggedByService": "Core Directory", "operationType": "Assign",
        "initiatedBy": {"user": {"id": str(uuid.UUID(int=9)), "userPrincipalName": "admin@example.com",
                                 "ipAddress": "198.51.100.7"}},
        "targetResources": [{"id": str(uuid.UUID(int=77)), "displayName": "Mail Reader", "type": "ServicePrincipal"}],
        "additionalDetails": [],
    }


def thumbprint(cert_der: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha1(cert_der).digest()).rstrip(b"=").decode()  # noqa: S324


class GraphStandIn(StandIn):
    def __init__(self, now: Any = None, **kw: Any) -> None:
        super().__init__(**({"now": now} if now else {}), **kw)
        self.tenant = "tenant-1"
        self.client_id = "11111111-2222-3333-4444-555555555555"
        self.client_secret = "graph-client-secret"
        self.certificate: Any = None  # cryptography x509 certificate for assertions
        self.records: dict[str, list[tuple[float, dict[str, Any]]]] = {"signIns": [], "directoryAudits": []}
        self.tokens: dict[str, float] = {}
        self.token_requests: list[dict[str, str]] = []
        self._cache: dict[Any, list[dict[str, Any]]] = {}

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/{self.tenant}/oauth2/v2.0/token"

    def add(self, kind: str, recs: list[dict[str, Any]], visible_at: float | None = None) -> None:
        t = self.now() if visible_at is None else visible_at
        self.records[kind].extend((t, r) for r in recs)

    def throttled(self, request: httpx.Request, wait: float) -> httpx.Response:
        return json_response(429, {"error": {"code": "TooManyRequests", "message": "Too many requests."}},
                             {"Retry-After": str(int(wait) + 1)})

    def route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == f"/{self.tenant}/oauth2/v2.0/token":
            return self._token(request)
        m = re.fullmatch(r"/(v1\.0|beta)/auditLogs/(signIns|directoryAudits)", path)
        if request.method != "GET" or not m:
            return json_response(404, {"error": {"code": "ResourceNotFound", "message": "Resource not found."}})
        if self.tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "), 0) <= self.now():
            self.rejected += 1
            return json_response(401, {"error": {"code": "InvalidAuthenticationToken",
                                                 "message": "Access token has expired or is not yet valid.",
                                                 "innerError": {"request-id": str(uuid.uuid4())}}})
        return self._list(request, m.group(1), m.group(2))

    def _list(self, request: httpx.Request, version: str, kind: str) -> httpx.Response:
        q = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        if "$skiptoken" in q:
            try:
                state = unb64(q["$skiptoken"])
            except Exception:
                return json_response(400, {"error": {"code": "Request_BadRequest", "message": "Invalid skip token."}})
            flt, offset = state["f"], state["o"]
        else:
            flt, offset = q.get("$filter", ""), 0
        top = min(int(q.get("$top", 1000)), 1000)
        window = _WINDOW.search(flt)
        etype = _TYPE.search(flt)
        if version == "v1.0" and etype and kind == "signIns":
            return json_response(400, {"error": {"code": "BadRequest", "message": "signInEventTypes is only in beta"}})
        key = (version, kind, flt, len(self.records[kind]))
        cached = self._cache.get(key)
        items = cached if cached is not None else self._select(version, kind, window, etype, key)
        page = items[offset:offset + top]
        body: dict[str, Any] = {"@odata.context": f"{self.base_url}/{version}/$metadata#auditLogs/{kind}",
                                "value": page}
        if offset + top < len(items):
            token = b64({"f": flt, "o": offset + top})
            body["@odata.nextLink"] = (f"{self.base_url}/{version}/auditLogs/{kind}?"
                                       + urlencode({"$top": top, "$skiptoken": token}, safe="$"))
        return json_response(200, body)

    def _select(self, version: str, kind: str, window: Any, etype: Any, key: Any) -> list[dict[str, Any]]:
        now = self.now()
        items = []
        hidden = False
        field = "createdDateTime" if kind == "signIns" else "activityDateTime"
        lo = hi = None
        if window:
            lo, hi = epoch(window.group(2)), epoch(window.group(3))
        wanted = etype.group(1) if etype else "interactiveUser"
        for visible, rec in self.records[kind]:
            if visible > now:
                hidden = True
                continue
            if lo is not None and not lo <= epoch(rec[field]) < hi:
                continue
            if kind == "signIns" and wanted not in (rec.get("signInEventTypes") or ["interactiveUser"]):
                continue
            items.append(rec)
        items.sort(key=lambda r: r[field], reverse=True)  # newest first
        if not hidden:  # nothing still in flight: the same query gives the same list
            self._cache[key] = items
        return items

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}
        self.token_requests.append(form)

        def refuse(code: str, desc: str, status: int = 401) -> httpx.Response:
            return json_response(status, {"error": code, "error_description": desc, "error_codes": [7000215]})

        if form.get("grant_type") != "client_credentials" or form.get("client_id") != self.client_id:
            return refuse("unauthorized_client", "AADSTS700016: Application not found in the directory.", 400)
        if not form.get("scope", "").endswith("/.default"):
            return refuse("invalid_scope", "AADSTS1002012: The provided value for scope is not valid.", 400)
        if "client_secret" in form:
            if form["client_secret"] != self.client_secret:
                return refuse("invalid_client", "AADSTS7000215: Invalid client secret provided.")
        else:
            from cryptography.hazmat.primitives.serialization import Encoding

            try:
                header = jwt.get_unverified_header(form["client_assertion"])
                der = self.certificate.public_bytes(Encoding.DER)
                if header.get("x5t") != thumbprint(der):
                    raise jwt.InvalidTokenError("x5t does not match the certificate")
                verify_assertion(form["client_assertion"], self.certificate.public_key(), audience=self.token_url,
                                 issuer=self.client_id, now=self.now())
            except (jwt.PyJWTError, KeyError, AttributeError):
                return refuse("invalid_client", "AADSTS700027: Client assertion failed signature validation.")
        token = "eyJ0eXAiOiJKV1QiLCJub25jZSI6Ij" + uuid.uuid4().hex  # opaque to us, like Graph's
        self.tokens[token] = self.now() + 3599
        return json_response(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                   "access_token": token})
