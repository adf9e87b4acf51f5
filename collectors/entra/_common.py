"""Helpers shared by the sign-in and audit mappings: envelope, timestamps, addresses, users."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Final

from collectors._source import Event
from tokentrail.errors import RecordError
from tokentrail.event import add_related, put, ts

_TENANT_IN_RESOURCE: Final = re.compile(r"^/tenants/([^/]+)", re.I)
_PROVIDER_IN_RESOURCE: Final = re.compile(r"/providers/([^/]+)", re.I)
_IP_PORT: Final = re.compile(r"^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$")


def timestamp(primary: Any, fallback: Any, primary_name: str, fallback_name: str) -> str:
    """The body's own time (sign-in/activity time) when usable, else the envelope `time`.

    The envelope `time` is when Azure Monitor wrote the record, often a minute or two after the
    sign-in, and it is the field that arrives in odd forms (US locale); a malformed body time falls
    back to it instead of losing the record.
    """
    if primary not in (None, ""):
        try:
            return ts(primary, field=primary_name)
        except RecordError:
            if fallback in (None, ""):
                raise
    if fallback in (None, ""):
        raise RecordError(f"no usable timestamp: neither {primary_name} nor {fallback_name}")
    return ts(fallback, field=fallback_name)


def timestamps(primary: Any, fallback: Any, primary_name: str, fallback_name: str) -> tuple[str, str | None]:
    """(`@timestamp` as `timestamp` gives it, the body's own time when usable else None).

    The body's time is also kept in the provider namespace: parsed once here for both.
    """
    own = None
    if primary not in (None, ""):
        try:
            own = ts(primary, field=primary_name)
        except RecordError:
            if fallback in (None, ""):
                raise
    if own is not None:
        return own, own
    return timestamp(None, fallback, primary_name, fallback_name), None


_ENVELOPE_TEXT: Final[tuple[tuple[str, str], ...]] = (
    ("operationName", "operation_name"), ("operationVersion", "operation_version"),
    ("resultType", "result_type"), ("resultSignature", "result_signature"),
    ("resultDescription", "result_description"), ("identity", "identity"),
)


def map_envelope(event: Event, envelope: dict[str, Any], props: dict[str, Any], ns: str) -> None:
    """Azure Monitor envelope fields shared by sign-in and audit records (absent for Graph items).

    Runs before anything else writes `azure.*`; the object is built whole rather than put by path.
    """
    resource_id = envelope.get("resourceId")
    tenant = envelope.get("tenantId") or props.get("tenantId")
    if not tenant and isinstance(resource_id, str):
        m = _TENANT_IN_RESOURCE.match(resource_id)
        tenant = m.group(1) if m else None
    azure: dict[str, Any] = {}
    _set(azure, "tenant_id", text(tenant))
    _set(azure, "correlation_id", text(envelope.get("correlationId") or props.get("correlationId")))
    # Envelope resourceId is the tenant's ARM path; properties.resourceId (the app signed in to) stays
    # in the provider namespace. They are different things and must not be merged.
    if isinstance(resource_id, str) and resource_id:
        resource = {"id": resource_id}
        provider = _provider(resource_id)
        if provider:
            resource["provider"] = provider
        azure["resource"] = resource
    if not envelope:  # a Graph item: nothing more to read
        if azure:
            _sub(event, "azure").update(azure)
        return
    fields: dict[str, Any] = {}
    for raw, name in _ENVELOPE_TEXT:
        _set(fields, name, text(envelope.get(raw)))
    if fields:
        azure[ns.rpartition(".")[2]] = fields
    if azure:
        _sub(event, "azure").update(azure)
    level = text(envelope.get("Level", envelope.get("level")))
    if level is not None:
        _sub(event, "log")["level"] = level
    duration = duration_ns(envelope.get("durationMs"))
    if duration is not None:
        event["event"]["duration"] = duration
    put(event, "geo.country_iso_code", text(envelope.get("location")))


@lru_cache(maxsize=1024)
def _provider(resource_id: str) -> str | None:
    # One or a few resource ids per tenant: search each once.
    m = _PROVIDER_IN_RESOURCE.search(resource_id)
    return m.group(1) if m else None


def _set(d: dict[str, Any], key: str, value: Any) -> None:
    """`d[key] = value` unless value is None (callers pass `text()` results: never "")."""
    if value is not None:
        d[key] = value


def _sub(d: dict[str, Any], key: str) -> dict[str, Any]:
    """The object at `d[key]`, created (or replacing a non-object) as `put` does."""
    v = d.get(key)
    if not isinstance(v, dict):
        v = d[key] = {}
    return v


def text(value: Any) -> str | None:
    """A scalar as a string (Azure sends `resultType` and `Level` as string or number); None else."""
    if type(value) is str:  # the common case first: this runs a dozen times per record
        return value.strip() or None
    if value is None or isinstance(value, dict) or isinstance(value, list):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).strip() or None


def duration_ns(value: Any) -> int | None:
    """`durationMs` (int, float or a string such as "0") to nanoseconds; None when unusable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        ms = float(value)
    except (TypeError, ValueError):
        return None
    return int(round(ms * 1_000_000)) if ms >= 0 else None


def as_int(value: Any) -> int | None:
    """An error code sent as int or numeric string to int; None for null, "" or non-numbers."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def parse_ip(value: Any) -> tuple[str | None, int | None]:
    """An address as Azure writes it (`ip`, `ip:port`, `[ipv6]:port`) to (ip, port); (None, None) if not an IP."""
    if not isinstance(value, str):
        return None, None
    return _parse_ip_text(value)


@lru_cache(maxsize=4096)
def _parse_ip_text(value: str) -> tuple[str | None, int | None]:
    # Cached: the same addresses come back record after record, and ipaddress is slow.
    s = value.strip()
    if not s:
        return None, None
    try:
        return str(ipaddress.ip_address(s)), None
    except ValueError:
        pass
    m = _IP_PORT.match(s)
    if m:
        host = m.group(1) or m.group(2)
        try:
            return str(ipaddress.ip_address(host)), int(m.group(3))
        except ValueError:
            return None, None
    return None, None


def put_source(event: Event, *candidates: Any) -> None:
    """`source.ip` (+ port, `related.ip`) from the first candidate that is an IP address."""
    for value in candidates:
        ip, port = parse_ip(value)
        if ip:
            source = _sub(event, "source")
            source["ip"] = ip
            if port is not None:
                source["port"] = port
            add_related(event, "ip", ip)
            return


def put_user(event: Event, upn: Any, user_id: Any, full_name: Any, prefix: str = "user") -> None:
    """ECS user fields from a user principal name (`name@domain`), an object id and a display name."""
    out: dict[str, Any] = {}
    if isinstance(upn, str) and upn.strip():
        upn = upn.strip()
        name, at, domain = upn.rpartition("@")
        if at and name and domain:
            out["name"] = name
            out["domain"] = domain
            out["email"] = upn
        else:
            out["name"] = upn
    _set(out, "id", text(user_id))
    _set(out, "full_name", text(full_name))
    if out:
        into = _sub(event, "user")
        for key in prefix.split(".")[1:]:  # "user.target"
            into = _sub(into, key)
        into.update(out)
    add_related(event, "user", out.get("name"), out.get("email"), out.get("id"))
