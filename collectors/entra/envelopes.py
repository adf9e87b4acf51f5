"""The shapes Entra ID records arrive in, and which dataset each record belongs to.

- Event Hub (diagnostic settings): `{"records": [...]}`; each record is an Azure Monitor envelope
  (`time`, `category`, `resourceId`, `tenantId`...) with the Graph-like object in `properties`.
  One message may mix categories (sign-ins and audit logs).
- Microsoft Graph pages: `{"value": [...], "@odata.nextLink": ...}`; each item is a flat signIn or
  directoryAudit resource, with no envelope and no `category` to route by.
- A single record of either kind, or a JSON array of them (file exports, NDJSON lines).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import orjson

from collectors._source import Record, unwrap_envelope
from tokentrail.errors import RecordError

_ENVELOPE_KEYS: Final[tuple[str, ...]] = ("records", "value")
SIGNINLOGS: Final = "azure.signinlogs"
AUDITLOGS: Final = "azure.auditlogs"

# Event Hub categories we map. Any category ending in "SignInLogs" is a sign-in (ADFSSignInLogs too,
# as Elastic's pipeline accepts it); other Entra categories (RiskyUsers, ProvisioningLogs,
# MicrosoftGraphActivityLogs...) have other schemas and go to the DLQ with their name.
SIGNIN_CATEGORIES: Final[tuple[str, ...]] = (
    "SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs",
)
AUDIT_CATEGORY: Final = "AuditLogs"

# Graph `signInEventTypes` values to the Event Hub category that carries the same records.
EVENT_TYPE_CATEGORY: Final = {
    "interactiveUser": "SignInLogs",
    "nonInteractiveUser": "NonInteractiveUserSignInLogs",
    "servicePrincipal": "ServicePrincipalSignInLogs",
    "managedIdentity": "ManagedIdentitySignInLogs",
}

# Fields that only a directoryAudit (resp. a signIn) resource carries.
_AUDIT_MARKERS: Final[tuple[str, ...]] = ("activityDisplayName", "activityDateTime", "initiatedBy", "targetResources", "loggedByService")
_SIGNIN_MARKERS: Final[tuple[str, ...]] = (
    "createdDateTime", "appId", "status", "userPrincipalName", "signInEventTypes", "servicePrincipalId",
    "uniqueTokenIdentifier", "clientAppUsed",
)


def unwrap(doc: Any) -> Iterable[Record]:
    """Records from an Event Hub body, a Graph page, a JSON array or a single record."""
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict) and "records" not in doc:
        # A Graph error body saved as if it were a page: say so instead of "unknown shape".
        code = doc["error"].get("code")
        raise RecordError(f"Graph error response, not a page of records (code {str(code)[:60]!r})")
    return unwrap_envelope(doc, _ENVELOPE_KEYS)


def properties_of(record: Record) -> dict[str, Any] | None:
    """The Graph-like object of an Event Hub record (`properties`, sometimes a JSON string), else None."""
    props = record.get("properties")
    if isinstance(props, str) and props.lstrip().startswith("{"):
        try:
            props = orjson.loads(props)
        except orjson.JSONDecodeError:
            raise RecordError("Event Hub record whose properties is not valid JSON") from None
    return props if isinstance(props, dict) else None


def sniff(item: dict[str, Any]) -> str | None:
    """The dataset of a flat Graph resource, judged by the fields only that resource has."""
    if any(k in item for k in _AUDIT_MARKERS):
        return AUDITLOGS
    if any(k in item for k in _SIGNIN_MARKERS):
        return SIGNINLOGS
    return None


def route(record: Record) -> tuple[str, dict[str, Any], bool]:
    """(dataset, the Graph-like object, whether an Event Hub envelope wraps it) for one record.

    Raises RecordError for an unsupported Event Hub category or a record of no known shape.
    """
    props = properties_of(record)
    if props is not None:
        category = record.get("category")
        if isinstance(category, str) and category:
            if category == AUDIT_CATEGORY:
                return AUDITLOGS, props, True
            if category.endswith("SignInLogs"):
                return SIGNINLOGS, props, True
            raise RecordError(
                f"unsupported Entra category {category[:80]!r}: this source maps "
                f"{', '.join(SIGNIN_CATEGORIES)} (any *SignInLogs) and {AUDIT_CATEGORY}"
            )
        dataset = sniff(props)
        if dataset is None:
            raise RecordError("unknown shape: Event Hub record without category whose properties "
                              "look like neither a sign-in nor an audit record")
        return dataset, props, True
    dataset = sniff(record)
    if dataset is None:
        keys = ", ".join(sorted(str(k) for k in record)[:8]) or "none"
        raise RecordError(f"unknown shape: not an Event Hub record, Graph signIn or directoryAudit (keys: {keys})")
    return dataset, record, False


def natural_key(record: Record) -> str | None:
    """The provider's id of a sign-in or audit record (`properties.id`, or `id` for Graph items)."""
    props = record.get("properties")
    source = props if isinstance(props, dict) else record
    value = source.get("id")
    return str(value) if value not in (None, "") else None
