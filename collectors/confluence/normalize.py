"""Confluence audit records (Cloud REST, Data Center file, Data Center REST) to ECS.

Follows Elastic's atlassian_confluence pipelines (cloud.yml / self-hosted.yml then default.yml): each
shape is first brought to the Data Center form under `confluence.audit.*`, then one common step adds
categorisation, user/group fields and `related.*`.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from collectors.confluence import categories as cat
from tokentrail.errors import RecordError
from tokentrail.event import (
    add_related,
    drop_empty,
    get_in,
    is_empty,
    new_event,
    put,
    stable_id,
    ts,
    ts_epoch_nanos,
)

DATASET: Final = "atlassian_confluence.audit"
# Cloud group names carry the group id: "jira-software-users:b8d81944-e737-4da0-94ca-165fa5c0635c".
_CLOUD_GROUP: Final = re.compile(r"^(.+):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def natural_key(record: dict[str, Any]) -> str | None:
    """Confluence audit records carry no id: the hash of the record, as `event.id`."""
    return stable_id(record)


def normalize(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One audit record of any of the three shapes to one ECS event."""
    if isinstance(record.get("auditType"), dict) or isinstance(record.get("type"), dict):
        event, cloud = _data_center(record), False
    elif any(k in record for k in ("creationDate", "summary", "remoteAddress", "affectedObject")):
        event, cloud = _cloud(record), True
    else:
        raise RecordError("unknown Confluence audit shape: neither a Cloud record (summary, creationDate) "
                          "nor a Data Center one (auditType or type)")
    event["event"]["id"] = stable_id(record)
    audit = event.get("confluence", {}).get("audit", {})
    atype = audit.get("type", {})
    choice = cat.categorise(event["event"]["action"], atype.get("action"),
                            [atype.get("categoryI18nKey"), atype.get("category")])
    event["event"]["category"] = list(choice.category)
    event["event"]["type"] = list(choice.type)
    event["event"]["outcome"] = choice.outcome
    _user_fields(event, audit, cloud)
    add_related(event, "user", get_in(event, "user", "name"), get_in(event, "user", "target", "name"),
                get_in(event, "user", "changes", "name"))
    return [event]


def _base(timestamp: str, action: Any) -> dict[str, Any]:
    if not isinstance(action, str) or not action:
        raise RecordError("record names no action (summary / actionI18nKey / action)")
    event = new_event(DATASET)
    event["@timestamp"] = timestamp
    event["event"]["action"] = action
    event["event"]["provider"] = "confluence"
    return event


def _cloud(record: dict[str, Any]) -> dict[str, Any]:
    """Cloud `GET /wiki/rest/api/audit` record (cloud.yml)."""
    created = record.get("creationDate")
    unit = "ms" if isinstance(created, (int, float)) and not isinstance(created, bool) else "auto"
    event = _base(ts(created, field="creationDate", unit=unit), record.get("summary"))
    author = _dict(record.get("author"))
    # The system author is {"displayName": "System"} without accountId; "publicName" is often
    # "Unknown user" and never a name.
    put(event, "user.id", _str(author.get("accountId")))
    put(event, "user.full_name", author.get("displayName"))
    audit: dict[str, Any] = {}
    external = author.get("externalCollaborator", author.get("isExternalCollaborator"))
    if isinstance(external, bool):
        audit["external_collaborator"] = external
    put(audit, "type.action", record.get("summary"))
    put(audit, "type.category", record.get("category"))
    put(audit, "description", record.get("description"))
    for src, dst in (("sysAdmin", "sys_admin"), ("superAdmin", "super_admin")):
        if isinstance(record.get(src), bool):
            audit[dst] = record[src]
    # Elastic's order: associatedObjects, then affectedObject unless already listed.
    objects = [_cloud_object(o) for o in _list(record.get("associatedObjects"))]
    main = _cloud_object(record.get("affectedObject"))
    if main not in objects:
        objects.append(main)
    put(audit, "affected_objects", [o for o in objects if o])
    put(audit, "changed_values", [v for v in map(_cloud_change, _list(record.get("changedValues"))) if v])
    event["confluence"] = {"audit": audit}
    _source(event, record.get("remoteAddress"))
    return event


def _cloud_object(obj: Any) -> dict[str, Any]:
    out = {("type" if k == "objectType" else k): v for k, v in _dict(obj).items()}
    return drop_empty(out)


def _cloud_change(value: Any) -> dict[str, Any]:
    """Cloud {name, oldValue, newValue} to the Data Center {i18nKey, key, from, to}."""
    v = _dict(value)
    out: dict[str, Any] = {"i18nKey": v.get("name"), "key": v.get("name"), "from": v.get("oldValue"),
                           "to": v.get("newValue")}
    out.update({k: x for k, x in v.items() if k not in ("name", "oldValue", "newValue")})
    return drop_empty(out)


def _data_center(record: dict[str, Any]) -> dict[str, Any]:
    """Data Center audit file line or REST entity (self-hosted.yml)."""
    atype = drop_empty(_dict(record.get("auditType") or record.get("type")))
    event = _base(_dc_timestamp(record.get("timestamp")), atype.get("actionI18nKey") or atype.get("action"))
    author = _dict(record.get("author"))
    # Anonymous is {"id": "-2", "name": "Anonymous"}, the system {"id": "-1", "name": "System"}.
    user: dict[str, Any] = {}
    _keep(user, "id", _str(author.get("id")))
    _keep(user, "full_name", author.get("name"))
    _keep(user, "name", _username(author.get("uri")))
    if user:
        event["user"] = user
    audit: dict[str, Any] = {}
    _keep(audit, "type", atype)
    _keep(audit, "method", record.get("method"))
    _keep(audit, "extra_attributes", drop_empty(_list(record.get("extraAttributes"))))
    _keep(audit, "changed_values", drop_empty(_list(record.get("changedValues"))))
    _keep(audit, "affected_objects", drop_empty(_list(record.get("affectedObjects"))))
    event["confluence"] = {"audit": audit}
    system = record.get("system")
    if isinstance(system, str) and system:
        put(event, "service.address", system)
        add_related(event, "hosts", _hostname(system))
    _source(event, record.get("source"))
    return event


def _dc_timestamp(value: Any) -> str:
    """File lines: {epochSecond, nano}; REST entities: ISO text. Elastic joins the file form as the
    text "{epochSecond}.{nano}", which misreads nano < 100000000 (54000000 ns is .054 s, not .54 s)."""
    if isinstance(value, dict):
        seconds: Any = value.get("epochSecond")
        nanos: Any = value.get("nano", 0)
        try:
            if isinstance(seconds, bool) or isinstance(nanos, bool):
                raise ValueError("boolean")
            text = ts_epoch_nanos(int(seconds), int(nanos or 0))
        except (TypeError, ValueError, OverflowError):
            raise RecordError("unusable timestamp: epochSecond/nano are not integers") from None
        if text is None:
            raise RecordError(f"unusable timestamp: epochSecond {seconds} out of range")
        return text
    return ts(value, field="timestamp")


def _username(uri: Any) -> str | None:
    """`...viewuser.action?username=jdoe` to `jdoe` (Elastic's grok; here also URL-decoded)."""
    if not isinstance(uri, str) or "username=" not in uri:
        return None
    return _username_in(uri)


@lru_cache(maxsize=4096)
def _username_in(uri: str) -> str | None:
    # Cached: the same people's URIs come back record after record, and URL parsing is slow.
    try:
        names = parse_qs(urlsplit(uri).query).get("username")
    except ValueError:
        return None
    return names[-1] if names else None


def _source(event: dict[str, Any], address: Any) -> None:
    if not isinstance(address, str) or not address:
        return
    put(event, "source.address", address)
    if _is_ip(address):
        put(event, "source.ip", address)
        add_related(event, "ip", address)


@lru_cache(maxsize=4096)
def _is_ip(text: str) -> bool:
    # Cached: addresses repeat, and ipaddress is slow.
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1024)
def _hostname(url: str) -> str | None:
    """The host of a base URL (`system`: one or a few per deployment), None when unparsable."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _user_fields(event: dict[str, Any], audit: dict[str, Any], cloud: bool) -> None:
    """ECS user/group fields from affected objects and changed values (Elastic's user script)."""
    action = event["event"]["action"]
    for obj in audit.get("affected_objects", []):
        kind, name, oid = obj.get("type"), obj.get("name"), _str(obj.get("id"))
        if kind == "Group":
            if cloud and isinstance(name, str) and (m := _CLOUD_GROUP.match(name)):
                name, oid = m.group(1), m.group(2)
            if action in cat.GROUP_LIFECYCLE:
                put(event, "group.name", name)
                put(event, "group.id", oid)
            elif action in cat.MEMBERSHIP:
                put(event, "user.target.group.name", name)
                put(event, "user.target.group.id", oid)
        elif kind == "User":
            if action in cat.USER_LIFECYCLE or action in cat.PERMISSION:
                put(event, "user.target.full_name", name)
                put(event, "user.target.id", oid)
                put(event, "user.target.name", _username(obj.get("uri")))
            elif action in cat.MEMBERSHIP or action in cat.TOKEN_OWNER:
                put(event, "user.target.name", name)
                put(event, "user.target.id", oid)
            elif action in cat.LOGIN:
                # The author of a login event is often Anonymous: the user is the affected object.
                put(event, "user.full_name", name)
                put(event, "user.id", oid)
                put(event, "user.name", _username(obj.get("uri")))
    for change in audit.get("changed_values", []):
        key, old, new = change.get("i18nKey"), change.get("from"), change.get("to")
        if action in cat.USER_RENAMED and key in ("audit.logging.changed.value.username", "Username"):
            put(event, "user.changes.name", new)
            put(event, "user.target.name", old)
        elif action in cat.USER_CHANGES:
            field = {"Username": "name", "Email": "email", "Display name": "full_name"}.get(key)
            if field:
                put(event, f"user.changes.{field}", new)
                put(event, f"user.target.{field}", old if old is not None else new)


def _keep(d: dict[str, Any], key: str, value: Any) -> None:
    """`d[key] = value` where `put` would keep it (not None, "" or empty): one object built whole."""
    if not is_empty(value):
        d[key] = value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return str(value) if value else None
    if value is None or isinstance(value, bool) or isinstance(value, dict) or isinstance(value, list):
        return None
    return str(value)


