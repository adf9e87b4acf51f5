"""A directory audit record (Event Hub `properties` or a Graph directoryAudit item) to `azure.auditlogs`."""

from __future__ import annotations

from typing import Any, Final

from collectors._source import Event
from collectors.entra._common import map_envelope, put_source, put_user, text, timestamps
from tokentrail.event import as_list, obj, put, put_user_agent, snake_keys, snake_keys_except, stable_id

NS: Final = "azure.auditlogs"
_CATEGORY, _PROPERTIES = f"{NS}.category", f"{NS}.properties"
_HANDLED: Final = frozenset({"activityDateTime", "initiatedBy", "targetResources", "result"})

# Audit `category` to ECS event.category, and the iam type that names what was managed.
_CONFIGURATION: Final = frozenset({"Policy", "PolicyManagement", "AuthorizationPolicy"})
_IAM_TYPE: Final = {"UserManagement": "user", "GroupManagement": "group", "RoleManagement": "admin"}
# Audit `operationType` to ECS event.type.
_OPERATION_TYPE: Final = {"add": "creation", "update": "change", "delete": "deletion", "assign": "change",
                   "unassign": "change"}


def map_audit(event: Event, props: dict[str, Any], envelope: dict[str, Any]) -> None:
    """Fill `event` from one audit record; `envelope` is the Event Hub record, or {} for a Graph item."""
    event["@timestamp"], activity_at = timestamps(
        props.get("activityDateTime"), envelope.get("time"),
        "properties.activityDateTime" if envelope else "activityDateTime", "time",
    )
    ev: dict[str, Any] = event["event"]  # typed: dict writes compiled, not generic ones
    ev["id"] = text(props.get("id")) or stable_id("entra", envelope or props)
    ev["action"] = (text(envelope.get("operationName")) or text(props.get("activityDisplayName"))
                    or text(props.get("operationType")) or "unknown")
    ev["category"], ev["type"] = categorize(props.get("category"), props.get("operationType"))
    result = (text(props.get("result")) or "").lower()
    ev["outcome"] = result if result in ("success", "failure") else "unknown"
    put(event, "event.provider", text(props.get("loggedByService")))

    map_envelope(event, envelope, props, NS)
    put(event, _CATEGORY, text(envelope.get("category")) or "AuditLogs")
    if ev["outcome"] == "failure":
        put(event, "message", text(props.get("resultReason")) or text(envelope.get("resultDescription")))

    initiated = obj(props, "initiatedBy")
    actor = obj(initiated, "user")
    if actor.get("userPrincipalName") or actor.get("id"):
        # A person acted. An app actor (initiatedBy.app) is not a user: it stays in the namespace.
        put_user(event, actor.get("userPrincipalName"), actor.get("id"), actor.get("displayName"))
        put(event, "user.roles", [r for r in as_list(actor.get("roles")) if isinstance(r, str) and r])
    put_source(event, envelope.get("callerIpAddress"), actor.get("ipAddress"))
    put_user_agent(event, detail(props.get("additionalDetails"), "User-Agent"))
    put_targets(event, props.get("targetResources"))
    put(event, _PROPERTIES, properties(props, result, activity_at))


def categorize(category: Any, operation_type: Any) -> tuple[list[str], list[str]]:
    """ECS category and type lists from the audit `category` and `operationType`."""
    kind = _OPERATION_TYPE.get(str(operation_type or "").lower(), "info")
    if category in _CONFIGURATION:
        return ["configuration"], [kind]
    qualifier = _IAM_TYPE.get(str(category or ""))
    return ["iam"], [kind, qualifier] if qualifier else [kind]


def detail(items: Any, key: str) -> Any:
    """The value of `key` in a `[{key, value}, ...]` list (additionalDetails)."""
    for item in as_list(items):
        if isinstance(item, dict) and str(item.get("key", "")).lower() == key.lower():
            return item.get("value")
    return None


def put_targets(event: Event, targets: Any) -> None:
    """The user (and group) an audit activity acted on to `user.target.*` / `group.*`."""
    users = [t for t in as_list(targets) if isinstance(t, dict) and t.get("type") == "User"]
    groups = [t for t in as_list(targets) if isinstance(t, dict) and t.get("type") == "Group"]
    if users:
        t = users[0]
        put_user(event, t.get("userPrincipalName"), t.get("id"), t.get("displayName"), prefix="user.target")
        if groups:  # membership changes: the group the user was added to or removed from
            put(event, "user.target.group.id", text(groups[0].get("id")))
            put(event, "user.target.group.name", text(groups[0].get("displayName")))
    elif groups:
        put(event, "group.id", text(groups[0].get("id")))
        put(event, "group.name", text(groups[0].get("displayName")))


def target_resources(targets: Any) -> dict[str, Any]:
    """targetResources as Elastic indexes them: a map keyed by position, modifiedProperties likewise.

    A list of objects would lose which old/new value belongs to which property once indexed.
    """
    out: dict[str, Any] = {}
    for i, t in enumerate(as_list(targets)):
        if not isinstance(t, dict):
            continue
        item = snake_keys({k: v for k, v in t.items() if k != "modifiedProperties"})
        mods = {}
        for j, m in enumerate(as_list(t.get("modifiedProperties"))):
            if isinstance(m, dict) and (mm := snake_keys(m)):
                mods[str(j)] = mm
        if mods:
            item["modified_properties"] = mods
        if item:
            out[str(i)] = item
    return out


def properties(props: dict[str, Any], result: str, activity_at: str | None) -> dict[str, Any]:
    """The provider's fields, snake_cased as Elastic names them, empties dropped.

    `activity_at`: activityDateTime formatted, None when absent or unusable (@timestamp then fell
    back to the envelope time).
    """
    out = snake_keys_except(props, _HANDLED)
    if activity_at is not None:
        out["activity_datetime"] = activity_at
    if result and result not in ("success", "failure"):
        out["result"] = result  # e.g. timeout; success/failure live in event.outcome
    initiated = snake_keys(props.get("initiatedBy")) if isinstance(props.get("initiatedBy"), dict) else {}
    if initiated:
        out["initiated_by"] = initiated
    targets = target_resources(props.get("targetResources"))
    if targets:
        out["target_resources"] = targets
    return out
