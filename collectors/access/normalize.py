"""One access-log record to one ECS `web`/`access` event (dataset `tokentrail.access`).

The Authorization header's value goes to the working key `_tt.authorization` for the token enricher
and nowhere else: `_tt` is never scrubbed (the enricher needs the raw value) and never shipped (the
last chain step strips it). The event itself keeps only the scheme (`tokentrail.access.authorization_scheme`).
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

from collectors.access._addr import choose_client, forwarded_hops, split_address, split_host
from collectors.access.formats import Request, as_int, read
from tokentrail.event import add_related, get, new_event, put, put_user_agent, split_email, stable_id

DATASET: Final = "tokentrail.access"

# Authorization schemes by lowercase name, in their usual spelling. Anything else is "other", never
# the first word itself: a header without a scheme would otherwise put its credential in the event.
_SCHEMES: Final = {s.lower(): s for s in (
    "Bearer", "Basic", "SSWS", "DPoP", "Digest", "Negotiate", "NTLM", "Token", "ApiKey", "MAC", "PoP",
    "AWS4-HMAC-SHA256", "HOBA", "Mutual", "SharedAccessSignature",
)}
# What a proxy writes when told to redact a header (Traefik `headers.names.Authorization: redact`).
_REDACTED: Final = frozenset({"REDACTED", "[REDACTED]"})
_URL_SCHEMES: Final = frozenset({"http", "https", "ws", "wss"})


def authorization_scheme(value: str) -> str:
    """The scheme of an Authorization value: a known scheme, `other`, `bare` (no scheme) or `redacted`."""
    v = value.strip()
    if v in _REDACTED:
        return "redacted"
    head, sep, _ = v.partition(" ")
    known = _SCHEMES.get(head.lower())
    if known:
        return known
    return "other" if sep else "bare"


def _authorization(event: dict[str, Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        return  # a non-text header value is dropped, not guessed at: it may hold a credential
    scheme = authorization_scheme(value)
    put(event, "tokentrail.access.authorization_scheme", scheme)
    if scheme != "redacted":
        event.setdefault("_tt", {})["authorization"] = value.strip()


def _source(event: dict[str, Any], req: Request) -> None:
    peer_raw = req.get("peer")
    peer_ip, peer_port = split_address(str(peer_raw)) if peer_raw is not None else (None, None)
    hops = forwarded_hops(req.get("xff"))
    client = choose_client(peer_ip, hops)
    put(event, "source.ip", client)
    if client is not None and client == peer_ip:
        put(event, "source.port", peer_port)
    elif client is None and isinstance(peer_raw, str):
        put(event, "source.address", peer_raw)  # a unix socket or a name, not an IP
    if peer_ip is not None and client != peer_ip:
        put(event, "tokentrail.access.peer_ip", peer_ip)
    put(event, "tokentrail.access.forwarded_for", hops)
    add_related(event, "ip", client, peer_ip, *hops)


def _url(event: dict[str, Any], req: Request) -> None:
    target = req.get("target")
    if target is not None:
        target = str(target)
        put(event, "url.original", target)
        if target.startswith("/"):
            put(event, "url.path", target.split("?", 1)[0].split("#", 1)[0])
        elif "://" in target:
            try:
                parts = urlsplit(target)
                put(event, "url.scheme", parts.scheme.lower() if parts.scheme.lower() in _URL_SCHEMES else None)
                put(event, "url.domain", parts.hostname)
                put(event, "url.path", parts.path)
            except ValueError:
                pass  # an unparsable absolute URL stays in url.original only
    # url.query is not set: the scrubber finds `?name=` and `&name=` secrets, and a query without its
    # `?` would hide the first parameter from it; url.original keeps the query for the scrubber.
    scheme = req.get("scheme")
    if isinstance(scheme, str) and scheme.lower() in _URL_SCHEMES:
        put(event, "url.scheme", scheme.lower())
    host = req.get("host")
    if isinstance(host, str):
        name, port = split_host(host)
        ip, _ = split_address(name)
        if ip:
            put(event, "destination.ip", ip)
        else:
            put(event, "destination.domain", name)
        if name and get(event, "url.domain") is None:
            put(event, "url.domain", ip or name)
        put(event, "destination.port", port)


def _http(event: dict[str, Any], req: Request) -> None:
    put(event, "http.request.method", req.get("method"))
    protocol = req.get("protocol")
    if isinstance(protocol, str) and protocol.upper().startswith("HTTP/"):
        put(event, "http.version", protocol[5:])
    put(event, "http.request.id", None if req.get("request_id") is None else str(req.get("request_id")))
    put(event, "http.request.referrer", req.get("referrer"))
    put(event, "http.request.bytes", as_int(req.get("req_bytes")))
    put(event, "http.request.body.bytes", as_int(req.get("req_body_bytes")))
    put(event, "http.response.bytes", as_int(req.get("resp_bytes")))
    put(event, "http.response.body.bytes", as_int(req.get("resp_body_bytes")))
    status = as_int(req.get("status"))
    if status is not None and 100 <= status <= 999:  # Envoy logs 0 when no response was sent
        put(event, "http.response.status_code", status)
        event["event"]["outcome"] = "success" if status < 400 else "failure"
    else:
        event["event"]["outcome"] = "unknown"


def _user(event: dict[str, Any], value: Any) -> None:
    if not isinstance(value, str):
        return
    put(event, "user.name", value)
    name, domain = split_email(value)
    if domain:
        put(event, "user.email", value)
        put(event, "user.domain", domain)
    add_related(event, "user", value)


def normalize(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One access-log record (any dialect) to one event; RecordError for no timestamp or unknown shape."""
    req = read(record)
    event = new_event(DATASET)
    event["@timestamp"] = req.timestamp
    event["event"].update(category=["web"], type=["access"], action="http_request")
    if req.dialect != "canonical":
        event["event"]["provider"] = req.dialect
    # Not the request id alone: Traefik logs X-Request-Id as the client sent it, so a client could
    # reuse an old id and have its request dropped as a duplicate. The whole record is the identity.
    event["event"]["id"] = stable_id(DATASET, record)
    put(event, "event.duration", req.duration_ns)
    _http(event, req)
    _url(event, req)
    _source(event, req)
    put_user_agent(event, req.get("user_agent") if isinstance(req.get("user_agent"), str) else None)
    _user(event, req.get("user"))
    put(event, "tokentrail.access.format", req.dialect)
    for name in ("upstream", "service", "route", "response_flags"):
        value = req.get(name)
        put(event, f"tokentrail.access.{name}", value if isinstance(value, str) else None)
    _authorization(event, req.get("authorization"))
    return [event]


def natural_key(record: dict[str, Any]) -> str | None:
    """The request id when the proxy logged one (NGINX `$request_id`, `x-request-id`), else None."""
    try:
        request_id = read(record).get("request_id")
    except Exception:  # natural_key is advisory; a bad record fails later in normalize, with a reason
        return None
    return None if request_id is None else str(request_id)
