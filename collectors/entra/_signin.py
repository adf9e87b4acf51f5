"""A sign-in (Event Hub `properties` or a Graph signIn item) to an `azure.signinlogs` event."""

from __future__ import annotations

from typing import Any, Final

from collectors._source import Event
from collectors.entra._common import (
    as_int,
    map_envelope,
    put_source,
    put_user,
    text,
    timestamps,
)
from collectors.entra.envelopes import EVENT_TYPE_CATEGORY
from tokentrail.event import as_list, obj, put, put_user_agent, snake_keys, snake_keys_except, stable_id

NS: Final = "azure.signinlogs"
_CATEGORY, _PROPERTIES = f"{NS}.category", f"{NS}.properties"
ACTION: Final = "Sign-in activity"  # Azure's operationName for every sign-in; Graph items carry none
SERVICE_CATEGORIES: Final = frozenset({"ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs"})
_SERVICE_TYPES: Final = frozenset({"servicePrincipal", "managedIdentity"})
_USER_TYPES: Final = frozenset({"interactiveUser", "nonInteractiveUser"})

# Body keys mapped by hand below; everything else goes to azure.signinlogs.properties.* snake_cased.
_HANDLED: Final = frozenset({
    "ipAddress", "userAgent", "location", "status", "createdDateTime", "authenticationProcessingDetails",
})
# Elastic's names where plain snake_case differs.
_RENAMES: Final = {
    "processing_time_in_milliseconds": "processing_time_ms",
    "risk_level_during_sign_in": "risk_level_during_signin",
}


def map_signin(event: Event, props: dict[str, Any], envelope: dict[str, Any]) -> None:
    """Fill `event` from one sign-in; `envelope` is the Event Hub record, or {} for a Graph item."""
    event["@timestamp"], created_at = timestamps(
        props.get("createdDateTime"), envelope.get("time"),
        "properties.createdDateTime" if envelope else "createdDateTime", "time",
    )
    ev: dict[str, Any] = event["event"]  # typed: dict writes compiled, not generic ones
    ev["id"] = text(props.get("id")) or stable_id("entra", envelope or props)
    ev["category"] = ["authentication"]
    ev["type"] = ["info"]
    ev["action"] = text(envelope.get("operationName")) or ACTION

    map_envelope(event, envelope, props, NS)
    category = text(envelope.get("category")) or category_of(props)
    put(event, _CATEGORY, category)

    put_source(event, props.get("ipAddress"), envelope.get("callerIpAddress"))
    status = obj(props, "status")
    ev["outcome"] = outcome(status, envelope.get("resultType"))
    if ev["outcome"] == "failure":
        put(event, "message", failure_message(status, envelope.get("resultDescription")))

    if is_service_identity(category, props):
        # The caller is an application; its ids stay under properties (app_id, service_principal_*).
        put(event, "service.name", text(props.get("servicePrincipalName")))
    else:
        put_user(event, props.get("userPrincipalName"), props.get("userId"), props.get("userDisplayName"))
    put_user_agent(event, props.get("userAgent"))
    put_location(event, props.get("location"))
    put(event, _PROPERTIES, properties(props, status, ev["outcome"], created_at))


def category_of(props: dict[str, Any]) -> str | None:
    """The Event Hub category a Graph item would have had (from beta `signInEventTypes`)."""
    for kind in as_list(props.get("signInEventTypes")):
        if kind in EVENT_TYPE_CATEGORY:
            return EVENT_TYPE_CATEGORY[kind]
    if props.get("isInteractive") is True:
        return "SignInLogs"
    return None


def is_service_identity(category: str | None, props: dict[str, Any]) -> bool:
    """Service principal and managed identity sign-ins have no user; never invent one for them."""
    if category in SERVICE_CATEGORIES:
        return True
    kinds = set(as_list(props.get("signInEventTypes")))
    if kinds & _SERVICE_TYPES and not kinds & _USER_TYPES:
        return True
    no_user = not props.get("userPrincipalName") and not props.get("userId")
    return no_user and bool(props.get("servicePrincipalId") or props.get("servicePrincipalName"))


def outcome(status: dict[str, Any], result_type: Any) -> str:
    """`status.errorCode` null or 0: success, above 0: failure; else the envelope `resultType`."""
    if "errorCode" in status:
        raw = status["errorCode"]
        if raw is None:
            return "success"
        code = as_int(raw)
        if code is not None:
            return "failure" if code > 0 else "success" if code == 0 else "unknown"
    code = as_int(result_type)
    if code is None:
        return "unknown"
    return "failure" if code > 0 else "success" if code == 0 else "unknown"


def failure_message(status: dict[str, Any], result_description: Any) -> str | None:
    """`failureReason (additionalDetails)`, or whichever of them exists, else `resultDescription`."""
    reason, details = text(status.get("failureReason")), text(status.get("additionalDetails"))
    if reason and details:
        return f"{reason} ({details})"
    return reason or details or text(result_description)


def put_location(event: Event, location: Any) -> None:
    """Entra's own geolocation of the sign-in to `geo.*` (region, not country, for `state`)."""
    if not isinstance(location, dict):
        return
    put(event, "geo.city_name", text(location.get("city")))
    put(event, "geo.region_name", text(location.get("state")))
    if not event.get("geo", {}).get("country_iso_code"):
        put(event, "geo.country_iso_code", text(location.get("countryOrRegion")))


def properties(props: dict[str, Any], status: dict[str, Any], result: str,
               created_at: str | None) -> dict[str, Any]:
    """The provider's fields, snake_cased as Elastic names them, empties dropped.

    `created_at`: createdDateTime formatted, None when absent or unusable (@timestamp then fell back
    to the envelope time; a bad date would fail the index mapping).
    """
    out = snake_keys_except(props, _HANDLED)
    for old, new in _RENAMES.items():
        if old in out:
            out[new] = out.pop(old)
    if created_at is not None:
        out["created_at"] = created_at
    details = processing_details(props.get("authenticationProcessingDetails"))
    if details:
        out["authentication_processing_details"] = details
    st = snake_keys(status)
    if "error_code" in st and as_int(st["error_code"]) is not None:
        st["error_code"] = as_int(st["error_code"])
    if result == "failure":  # both went to `message`
        st.pop("failure_reason", None)
        st.pop("additional_details", None)
    if st:
        out["status"] = st
    coords = props.get("location", {}).get("geoCoordinates") if isinstance(props.get("location"), dict) else None
    if isinstance(coords, dict) and (coords.get("latitude") or coords.get("longitude")):
        out["location"] = {"geo_coordinates": snake_keys(coords)}
    return out


def processing_details(items: Any) -> dict[str, Any]:
    """`[{key, value}, ...]` to `{key: value}` (keys kept as Azure writes them, e.g. "Is CAE Token")."""
    out: dict[str, Any] = {}
    for item in as_list(items):
        if isinstance(item, dict) and isinstance(item.get("key"), str) and item["key"].strip():
            value = item.get("value")
            if value not in (None, ""):
                out[item["key"].strip()] = value
    return out
