"""Events to HEC envelopes (`/services/collector/event`): pure, no I/O.

    {"time": 1762156992.253, "host": "...", "source": "tokentrail", "sourcetype": "tokentrail:okta.system",
     "index": "main", "fields": {"dataset": "...", "outcome": "...", "app": "...", "user": "..."},
     "event": {<the normalized event>, "action": "success", "app": "...", "src": "...", ...}}

The event's JSON (`Item.data`) is reused as bytes: the CIM fields are spliced in before its closing
brace, so nothing is parsed or serialized twice.

CIM Authentication fields go at the top of the event, where Splunk's JSON extraction finds them, except
`user`: the ECS `user` object already holds that key, so the CIM `user` string travels as an indexed
field (`fields.user`), which Splunk also shows as the `user` field at search time.

Passthrough: an event carrying `event.original` (the provider's raw record, kept by the enrich stage
only when a passthrough sink is configured) whose dataset has a Splunk add-on sourcetype is sent as
that raw text with the add-on's sourcetype. `event.original == ""` marks the 2nd..nth events made from
one record (a Google activity with several events): the record went with the first, so they are
skipped. Datasets without an add-on sourcetype (findings) are sent normalized.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from sinks._sink import Item

# First present value wins. Paths as tuples: split once, not per event.
_P = tuple[str, ...]


def _paths(*names: str) -> tuple[_P, ...]:
    return tuple(tuple(n.split(".")) for n in names)


APP = _paths("tokentrail.app.name", "tokentrail.app.id", "tokentrail.app.client_id", "tokentrail.token.client_id",
             "event.provider", "event.module")
SRC = _paths("source.ip", "source.address", "client.ip")
USER = _paths("user.name", "user.email", "user.id")
DEST = _paths("destination.domain", "destination.address", "destination.ip", "url.domain", "host.name",
              "service.address", "event.provider")
AUTH_METHOD = _paths(
    "okta.authentication_context.credential_type",
    "okta.debug_context.debug_data.grant_type",
    "azure.signinlogs.properties.authentication_methods_used",
    "azure.signinlogs.properties.client_credential_type",
    "azure.signinlogs.properties.authentication_protocol",
    "google_workspace.login.type",
    "atlassian.org_audit.actor.auth.auth_type",
)
_ACTION = {"success": "success", "failure": "failure"}


def _get(d: Any, path: _P) -> Any:
    for k in path:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _first(event: dict[str, Any], paths: tuple[_P, ...]) -> Any:
    for p in paths:
        top = event.get(p[0])  # most paths miss at the first key: check it before walking
        if top is None:
            continue
        v = _get(top, p[1:])
        if v is not None and v != "" and v != []:
            return v
    return None


def cim_fields(event: dict[str, Any]) -> dict[str, Any]:
    """The Splunk CIM Authentication fields of an event (absent ones left out)."""
    ev = event.get("event")
    if not isinstance(ev, dict):
        ev = {}
    out: dict[str, Any] = {"action": _ACTION.get(ev.get("outcome"), "unknown")}
    for key, paths in _CIM:
        v = _first(event, paths)
        if v is not None:
            out[key] = v
    if ev.get("action"):
        out["signature"] = ev["action"]
    return out


_CIM = (("app", APP), ("src", SRC), ("user", USER), ("dest", DEST), ("authentication_method", AUTH_METHOD))


def indexed_fields(event: dict[str, Any], cim: dict[str, Any]) -> dict[str, Any]:
    """Flat indexed fields: strings only (anything else is HEC code 15)."""
    ev = event.get("event") if isinstance(event.get("event"), dict) else {}
    out = {}
    for key, value in (("dataset", ev.get("dataset")), ("outcome", ev.get("outcome")),
                       ("app", cim.get("app")), ("user", cim.get("user"))):
        if value not in (None, ""):
            out[key] = value if isinstance(value, str) else str(value)
    return out


@lru_cache(maxsize=65536)
def _epoch_second(prefix: str) -> int:
    return calendar.timegm(datetime.strptime(prefix, "%Y-%m-%dT%H:%M:%S").timetuple())


def epoch_text(ts: Any) -> bytes | None:
    """RFC 3339 to epoch seconds with milliseconds, as JSON number text (never exponent notation)."""
    if not isinstance(ts, str) or len(ts) < 20:
        return None
    try:
        if ts.endswith("Z") and ts[19] in ".Z":
            seconds = _epoch_second(ts[:19])
            frac = ts[20:-1] if ts[19] == "." else ""
            ms = (frac + "000")[:3] if frac.isdigit() or not frac else None
            if ms is None:
                return None
        else:
            dt = datetime.fromisoformat(ts)
            if dt.tzinfo is None:
                return None
            seconds, ms = int(dt.timestamp() // 1), f"{dt.microsecond // 1000:03d}"
    except ValueError:
        return None
    return f"{seconds}.{ms}".encode()


class Encoder:
    """Item -> one HEC envelope (bytes), or None when there is nothing to send for it."""

    def __init__(self, *, host: str, source: str = "tokentrail", index: str | None = None,
                 sourcetype: str | None = None, cim: bool = True, passthrough: bool = False,
                 addon_sourcetypes: dict[str, str] | None = None) -> None:
        static: dict[str, Any] = {"host": host, "source": source}
        if index:
            static["index"] = index
        self._static = orjson.dumps(static)[1:-1] + b","
        self._sourcetype = orjson.dumps(sourcetype) if sourcetype else None
        self._sourcetypes: dict[Any, bytes] = {}
        self.cim = cim
        self.passthrough = passthrough
        self.addon = {k: orjson.dumps(v) for k, v in (addon_sourcetypes or {}).items()}
        self.missing_original = 0  # passthrough events that came without the raw record

    def _default_sourcetype(self, dataset: Any) -> bytes:
        st = self._sourcetypes.get(dataset)
        if st is None:
            st = orjson.dumps(f"tokentrail:{dataset if isinstance(dataset, str) and dataset else 'event'}")
            if len(self._sourcetypes) < 1024:
                self._sourcetypes[dataset] = st
        return st

    def encode(self, item: Item) -> bytes | None:
        event = item.event
        ev = event.get("event")
        if not isinstance(ev, dict):
            ev = {}
        dataset = ev.get("dataset")
        cim = cim_fields(event) if self.cim else {}
        fields = indexed_fields(event, cim if cim else cim_fields(event))
        head = b"{"
        t = epoch_text(event.get("@timestamp"))
        if t is not None:
            head += b'"time":' + t + b","
        head += self._static
        addon = self.addon.get(dataset) if self.passthrough else None
        if addon is not None:
            original = ev.get("original")
            if original == "":
                return None  # this record was passed through with its first event
            if isinstance(original, str):
                return (head + b'"sourcetype":' + addon + b',"fields":' + orjson.dumps(fields)
                        + b',"event":' + orjson.dumps(original) + b"}")
            self.missing_original += 1
        body = item.data
        if "original" in ev or body[:1] != b"{" or body[-1:] != b"}":
            # The raw record is for passthrough only; a normalized event goes without it.
            if "original" in ev:
                event = {**event, "event": {k: v for k, v in ev.items() if k != "original"}}
            body = orjson.dumps(event)
        sourcetype = self._sourcetype or self._default_sourcetype(dataset)
        extra = {k: v for k, v in cim.items() if k not in event}
        if not extra:
            return b"".join((head, b'"sourcetype":', sourcetype, b',"fields":', orjson.dumps(fields), b',"event":',
                             body, b"}"))
        # Splice the CIM fields in before the event's closing brace: one copy of the event's bytes.
        return b"".join((head, b'"sourcetype":', sourcetype, b',"fields":', orjson.dumps(fields), b',"event":',
                         memoryview(body)[:-1], b"," if len(body) > 2 else b"", orjson.dumps(extra)[1:], b"}"))
