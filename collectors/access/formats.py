"""The four access-log dialects (canonical, NGINX, Envoy, Traefik) read into one `Request`.

Each dialect is a table: logical field -> the record keys that may carry it, most specific first,
then the canonical name as a last resort (gateways often mix both). Keys are compared after
`_key()` folds case, a leading `:` and dashes, so Envoy's `:method`/`user-agent`/`x-request-id` and
Istio's `user_agent`/`request_id`, or Traefik's `request_User-Agent`, all land on one spelling.
Units differ by dialect (durations: NGINX seconds, Envoy milliseconds, Traefik nanoseconds).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from tokentrail.errors import RecordError
from tokentrail.event import ts

CANONICAL: Final[dict[str, tuple[str, ...]]] = {
    "time": ("timestamp",),
    "peer": ("client_ip",),
    "xff": ("x_forwarded_for",),
    "method": ("method",),
    "target": ("url",),
    "protocol": ("protocol",),
    "status": ("status",),
    "user_agent": ("user_agent",),
    "host": ("host",),
    "authorization": ("authorization",),
    "request_id": ("request_id",),
    "referrer": ("referrer", "referer"),
    "user": ("user_name",),
    "scheme": ("scheme",),
    "resp_body_bytes": ("response_bytes",),
}

DIALECTS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "nginx": {
        "time": ("msec", "time_iso8601", "time_local"),
        "peer": ("remote_addr",),
        "xff": ("http_x_forwarded_for",),
        "method": ("request_method",),
        "target": ("request_uri",),
        "protocol": ("server_protocol",),
        "status": ("status",),
        "user_agent": ("http_user_agent",),
        "host": ("http_host", "host", "server_name"),
        "authorization": ("http_authorization",),
        "request_id": ("request_id", "http_x_request_id"),
        "referrer": ("http_referer",),
        "user": ("remote_user",),
        "scheme": ("scheme",),
        "req_bytes": ("request_length",),
        "resp_bytes": ("bytes_sent",),
        "resp_body_bytes": ("body_bytes_sent",),
        "upstream": ("upstream_addr",),
    },
    "envoy": {
        "time": ("start_time",),
        "peer": ("downstream_remote_address",),
        "xff": ("x_forwarded_for",),
        "method": ("method",),
        "target": ("x_envoy_original_path", "path"),
        "protocol": ("protocol",),
        "status": ("response_code",),
        "user_agent": ("user_agent",),
        "host": ("authority",),
        "authorization": ("authorization",),
        "request_id": ("x_request_id", "request_id"),
        "referrer": ("referer",),
        "req_body_bytes": ("bytes_received",),
        "resp_body_bytes": ("bytes_sent",),
        "upstream": ("upstream_host",),
        "service": ("upstream_cluster",),
        "route": ("route_name",),
        "response_flags": ("response_flags",),
    },
    "traefik": {
        "time": ("startutc", "startlocal", "time"),
        "peer": ("clientaddr", "clienthost"),
        "xff": ("request_x_forwarded_for",),
        "method": ("requestmethod",),
        "target": ("requestpath",),
        "protocol": ("requestprotocol",),
        "status": ("downstreamstatus", "originstatus"),
        "user_agent": ("request_user_agent",),
        "host": ("requesthost",),
        "authorization": ("request_authorization",),
        "request_id": ("request_x_request_id",),
        "referrer": ("request_referer",),
        "user": ("clientusername",),
        "scheme": ("requestscheme",),
        "req_body_bytes": ("requestcontentsize",),
        "resp_body_bytes": ("downstreamcontentsize",),
        "upstream": ("serviceurl", "serviceaddr"),
        "service": ("servicename",),
        "route": ("routername",),
    },
}

# Duration keys and their factor to nanoseconds, per dialect.
DURATIONS: Final[dict[str, tuple[tuple[str, int], ...]]] = {
    "canonical": (("duration_ms", 1_000_000),),
    "nginx": (("request_time", 1_000_000_000),),
    "envoy": (("duration", 1_000_000),),
    "traefik": (("duration", 1),),
}

# Keys that identify a dialect (after `_key`), checked in this order: the most specific first.
_MARKERS: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    ("traefik", frozenset({"startutc", "startlocal", "clienthost", "clientaddr", "requestmethod",
                           "requestpath", "downstreamstatus", "originstatus", "routername"})),
    ("envoy", frozenset({"start_time", "downstream_remote_address", "response_code",
                         "x_envoy_original_path", "response_flags", "upstream_host", "authority",
                         "bytes_received", "upstream_cluster"})),
    ("nginx", frozenset({"remote_addr", "request_method", "request_uri", "request", "time_local",
                         "time_iso8601", "msec", "http_user_agent", "http_host", "http_authorization",
                         "http_x_forwarded_for", "body_bytes_sent", "request_time", "server_protocol"})),
    ("canonical", frozenset({"timestamp", "client_ip", "method", "url", "status", "user_agent", "host",
                             "authorization"})),
)

_NGINX_LOCAL: Final = re.compile(r"^(\d{1,2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\s*([+-]\d{2}):?(\d{2}))?$")
_MONTHS: Final = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_METHOD: Final = re.compile(r"^[A-Za-z][A-Za-z_-]{0,31}$")
_MISSING: Final[tuple[str, ...]] = ("", "-")


class Request:
    """One HTTP request as any dialect logged it; strings are as logged, numbers parsed.
    A plain class, not a dataclass: see tokentrail.pipeline.Raw."""

    __slots__ = ("dialect", "timestamp", "values", "duration_ns")

    def __init__(self, dialect: str, timestamp: str) -> None:
        self.dialect = dialect
        self.timestamp = timestamp
        self.values: dict[str, Any] = {}
        self.duration_ns: int | None = None

    def get(self, name: str) -> Any:
        return self.values.get(name)


def _key(name: str) -> str:
    return name.strip().lower().lstrip(":").replace("-", "_")


# `_key` of the keys seen so far: a deployment logs a few dozen distinct keys, record after record.
_KEYS: Final[dict[str, str]] = {}


def _folded_key(name: str) -> str:
    key = _KEYS.get(name)
    if key is None:
        key = _key(name)
        if len(_KEYS) < 4096:  # bounded: keys come from data
            _KEYS[name] = key
    return key


def _present(value: Any) -> bool:
    if value is None or isinstance(value, (dict, list)) and not value:
        return False
    return not (isinstance(value, str) and value.strip() in _MISSING)


def fold_keys(record: dict[str, Any]) -> dict[str, Any]:
    """The record with `_key` spellings; the first present value wins when two keys fold together."""
    out: dict[str, Any] = {}
    for k, v in record.items():
        fk = _folded_key(k if type(k) is str else str(k))
        if fk not in out or (not _present(out[fk]) and _present(v)):
            out[fk] = v
    return out


def detect(folded: dict[str, Any], record: dict[str, Any]) -> str | None:
    """The dialect of a record (by its keys), or None when it carries no access-log field."""
    for k in record:
        if str(k).startswith(":"):
            return "envoy"
    keys = folded.keys()
    for dialect, markers in _MARKERS:
        if not markers.isdisjoint(keys):  # not `markers & keys`: that is a set, typed frozenset
            return dialect
    return None


def nginx_local_time(value: str) -> str | None:
    """NGINX `$time_local` (`02/Mar/2026:10:15:00 +0100`) as ISO 8601, or None if it is not one."""
    m = _NGINX_LOCAL.match(value.strip())
    if not m or m.group(2).lower() not in _MONTHS:
        return None
    d, mon, y, hh, mm, ss, oh, om = m.groups()
    offset = f"{oh}:{om}" if oh else "+00:00"
    return f"{y}-{_MONTHS[mon.lower()]:02d}-{int(d):02d}T{hh}:{mm}:{ss}{offset}"


def _timestamp(dialect: str, folded: dict[str, Any]) -> str:
    keys = (DIALECTS[dialect]["time"] if dialect in DIALECTS else ()) + CANONICAL["time"]
    for key in keys:
        value = folded.get(key)
        if not _present(value):
            continue
        if key == "time_local" and isinstance(value, str):
            iso = nginx_local_time(value)
            if iso is None:
                raise RecordError(f"unusable time_local: {value[:40]!r}")
            value = iso
        return ts(value, field=key)
    raise RecordError(f"no timestamp (expected one of: {', '.join(keys)})")


def as_int(value: Any) -> int | None:
    """A non-negative integer from a number or numeric text; None for `-`, text or negatives."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value >= 0 else None


def _duration(dialect: str, folded: dict[str, Any]) -> int | None:
    for key, factor in DURATIONS.get(dialect, ()):
        value = folded.get(key)
        if not _present(value) or isinstance(value, bool):
            continue
        try:
            ns = int(Decimal(str(value).strip()) * factor)
        except (InvalidOperation, ValueError):
            return None
        return ns if ns >= 0 else None
    return None


def _request_line(line: str) -> dict[str, str]:
    """NGINX `$request` (`GET /path?q HTTP/1.1`) split into method, target and protocol."""
    parts = line.split()
    if len(parts) not in (2, 3) or not _METHOD.match(parts[0]):
        return {}
    out = {"method": parts[0], "target": parts[1]}
    if len(parts) == 3:
        out["protocol"] = parts[2]
    return out


def read(record: dict[str, Any]) -> Request:
    """A Request from one access-log record; RecordError for an unknown shape or no timestamp."""
    folded = fold_keys(record)
    dialect = detect(folded, record)
    if dialect is None:
        raise RecordError("unknown shape: no canonical, NGINX, Envoy or Traefik access-log field")
    req = Request(dialect=dialect, timestamp=_timestamp(dialect, folded))
    for name, keys in _LOOKUP[dialect]:
        for key in keys:
            value = folded.get(key)
            if value is not None and _present(value):
                req.values[name] = value.strip() if isinstance(value, str) else value
                break
    if dialect == "nginx" and isinstance(folded.get("request"), str):
        for name, value in _request_line(folded["request"]).items():
            req.values.setdefault(name, value)
    method = req.values.get("method")
    if not (isinstance(method, str) and _METHOD.match(method)):
        req.values.pop("method", None)
    req.duration_ns = _duration(dialect, folded)
    return req


def _lookup(dialect: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    table = DIALECTS.get(dialect, {})
    return tuple((name, table.get(name, ()) + CANONICAL.get(name, ())) for name in table.keys() | CANONICAL.keys())


# Per dialect: (logical field, the keys that may carry it, the dialect's first), computed once.
_LOOKUP: Final = {dialect: _lookup(dialect) for dialect in (*DIALECTS, *(name for name, _ in _MARKERS))}
