"""One Okta LogEvent to one ECS event (`okta.system`), in the order of Elastic's pipeline.

Clean (drop null, "", the string "null" and empties, recursively) -> id and time -> action and
categorisation -> outcome -> actor -> client and network -> targets -> contexts -> debugData.
See README.md for the mapping table and where we differ from Elastic.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from collectors.okta._categories import categorize
from collectors.okta._debug import clean, debug_data, parse_json_string
from tokentrail.errors import RecordError
from tokentrail.event import (
    add_related,
    new_event,
    put,
    put_user_agent,
    snake_keys,
    split_email,
    stable_id,
    ts,
)

DATASET = "okta.system"

# Actor types that are people. Everything else (PublicClientApp, SystemPrincipal, AppInstance...)
# is software and must not become `user.*`.
USER_ACTOR_TYPES = frozenset({"user"})
# Actor types whose `id` is an OAuth client id (the app acting through client credentials).
CLIENT_ACTOR_TYPES = frozenset({"publicclientapp", "confidentialclientapp", "client"})

_OUTCOMES = {"SUCCESS": "success", "ALLOW": "success", "FAILURE": "failure", "DENY": "failure"}

_AUTH_CONTEXT = {
    "authenticationProvider": "authentication_provider",
    "authenticationStep": "authentication_step",
    "credentialProvider": "credential_provider",
    "credentialType": "credential_type",
    "externalSessionId": "external_session_id",
    "interface": "interface",
    "rootSessionId": "root_session_id",
}
_TARGET_KEYS = {"id": "id", "type": "type", "alternateId": "alternate_id", "displayName": "display_name"}


def _obj(d: Any, key: str) -> dict[str, Any]:
    """`d[key]` when it is an object, else {} (a malformed part is skipped, not fatal)."""
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, dict) else {}


def natural_key(record: dict[str, Any]) -> str | None:
    """Okta's `uuid`, unique per LogEvent (a re-polled event keeps it)."""
    uuid = record.get("uuid")
    return str(uuid) if uuid else None


def outcome(result: Any) -> str:
    """SUCCESS/ALLOW -> success, FAILURE/DENY -> failure, anything else (SKIPPED, CHALLENGE...) -> unknown."""
    return _OUTCOMES.get(str(result).upper(), "unknown") if result else "unknown"


def normalize(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One LogEvent to one ECS event."""
    rec = clean(record)
    event_type = rec.get("eventType")
    if not isinstance(event_type, str):
        raise RecordError("not an Okta LogEvent: no eventType")
    if "published" not in rec:
        raise RecordError("no usable published")
    ev = new_event(DATASET)
    ev["@timestamp"] = ts(rec["published"], field="published")
    uuid = rec.get("uuid")
    e = ev["event"]
    e["id"] = str(uuid) if uuid else stable_id("okta", rec)
    e["action"] = event_type
    e["provider"] = "okta"
    e["category"], e["type"] = categorize(event_type)
    result = _obj(rec, "outcome")
    e["outcome"] = outcome(result.get("result"))
    put(ev, "event.reason", result.get("reason"))

    okta: dict[str, Any] = {}
    put(okta, "uuid", uuid)
    put(okta, "event_type", event_type)
    put(okta, "version", rec.get("version"))
    put(okta, "severity", rec.get("severity"))
    put(okta, "display_message", rec.get("displayMessage"))
    put(okta, "outcome.result", result.get("result"))
    put(okta, "outcome.reason", result.get("reason"))
    if isinstance(rec.get("severity"), str):
        put(ev, "log.level", rec["severity"].lower())

    _actor(ev, okta, _obj(rec, "actor"))
    _client(ev, okta, _obj(rec, "client"), _obj(rec, "securityContext"))
    _targets(ev, okta, rec.get("target", []))
    _contexts(ev, okta, rec)
    debug = _obj(_obj(rec, "debugContext"), "debugData")
    put(okta, "debug_context.debug_data", debug_data(debug) if debug else None)
    ev["okta"] = okta
    return [ev]


def _actor(ev: dict, okta: dict, actor: dict) -> None:
    for raw, name in _TARGET_KEYS.items():
        put(okta, f"actor.{name}", actor.get(raw))
    kind = str(actor.get("type", "")).lower()
    if kind in CLIENT_ACTOR_TYPES:
        # Client credentials: the app is the actor; its id is the OAuth client id.
        put(okta, "client.id", actor.get("id"))
    if kind not in USER_ACTOR_TYPES:
        return
    _put_person(ev, "user", actor)


def _put_person(ev: dict, prefix: str, who: dict) -> None:
    """id, name (local part), domain, email and full name of an Okta User object under `prefix`."""
    alternate = who.get("alternateId")
    name, domain = split_email(alternate) if isinstance(alternate, str) else (None, None)
    if alternate == "unknown":
        name = None
    put(ev, f"{prefix}.id", who.get("id"))
    put(ev, f"{prefix}.name", name)
    put(ev, f"{prefix}.domain", domain)
    put(ev, f"{prefix}.email", alternate if domain else None)
    put(ev, f"{prefix}.full_name", who.get("displayName"))
    add_related(ev, "user", name, alternate if domain else None, who.get("displayName"))


def _ip(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return None


def geo_point(loc: Any) -> dict[str, float] | None:
    """Okta's `{lat, lon}` as an ECS geo_point, or None when it is not a usable coordinate."""
    if not isinstance(loc, dict):
        return None
    lat, lon = loc.get("lat"), loc.get("lon")
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in (lat, lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return {"lat": lat, "lon": lon}


def _client(ev: dict, okta: dict, client: dict, security: dict) -> None:
    put(okta, "client.id", client.get("id"))
    put(okta, "client.device", client.get("device"))
    put(okta, "client.zone", client.get("zone"))
    raw_ip = client.get("ipAddress")
    ip = _ip(raw_ip) if raw_ip else None
    put(okta, "client.ip", ip)
    if ip:
        put(ev, "client.ip", ip)
        put(ev, "source.ip", ip)
        add_related(ev, "ip", ip)
    elif raw_ip:
        put(ev, "source.address", str(raw_ip))
    agent = _obj(client, "userAgent")
    put(okta, "client.user_agent.browser", agent.get("browser"))
    put(okta, "client.user_agent.os", agent.get("os"))
    put(okta, "client.user_agent.raw_user_agent", agent.get("rawUserAgent"))
    put_user_agent(ev, agent.get("rawUserAgent"))
    geo = _obj(client, "geographicalContext")
    for side in ("client", "source"):
        # No GeoIP here: Okta's own geolocation is the best we have for both sides.
        put(ev, f"{side}.geo.city_name", geo.get("city"))
        put(ev, f"{side}.geo.region_name", geo.get("state"))
        put(ev, f"{side}.geo.country_name", geo.get("country"))
        put(ev, f"{side}.geo.location", geo_point(geo.get("geolocation")))
    put(okta, "security_context.as.number", security.get("asNumber"))
    put(okta, "security_context.as.organization.name", security.get("asOrg"))
    put(okta, "security_context.isp", security.get("isp"))
    put(okta, "security_context.domain", security.get("domain"))
    put(okta, "security_context.is_proxy", security.get("isProxy"))
    put(ev, "client.as.organization.name", security.get("asOrg"))
    put(ev, "source.as.organization.name", security.get("asOrg"))
    put(ev, "source.as.number", security.get("asNumber"))
    put(ev, "client.domain", security.get("domain"))
    put(ev, "source.domain", security.get("domain"))


def _targets(ev: dict, okta: dict, targets: Any) -> None:
    """Every target kept under okta.target; the first User and first UserGroup, by type, to ECS."""
    if isinstance(targets, dict):
        targets = [targets]
    if not isinstance(targets, list):
        return
    kept = []
    user = group = None
    for t in targets:
        if not isinstance(t, dict):
            continue
        item: dict[str, Any] = {}
        for raw, name in _TARGET_KEYS.items():
            put(item, name, t.get(raw))
        put(item, "detail_entry", t.get("detailEntry"))
        put(item, "change_details", t.get("changeDetails"))
        kept.append(item)
        kind = str(t.get("type", "")).lower()
        if kind == "user" and user is None:
            user = t
        elif kind == "usergroup" and group is None:
            group = t
    put(okta, "target", kept)
    if user:
        _put_person(ev, "user.target", user)
    if group:
        put(ev, "user.target.group.id", group.get("id"))
        put(ev, "user.target.group.name", group.get("displayName"))


def _contexts(ev: dict, okta: dict, rec: dict) -> None:
    auth = _obj(rec, "authenticationContext")
    for raw, name in _AUTH_CONTEXT.items():
        put(okta, f"authentication_context.{name}", auth.get(raw))
    issuer = _obj(auth, "issuer")
    put(okta, "authentication_context.issuer.id", issuer.get("id"))
    put(okta, "authentication_context.issuer.type", issuer.get("type"))
    tx = _obj(rec, "transaction")
    put(okta, "transaction.id", tx.get("id"))
    put(okta, "transaction.type", tx.get("type"))
    put(okta, "transaction.detail.request_api_token_id", _obj(tx, "detail").get("requestApiTokenId"))
    chain = _obj(rec, "request").get("ipChain")
    if isinstance(chain, list):
        put(okta, "request.ip_chain", snake_keys(chain))
        for hop in chain:
            if isinstance(hop, dict):
                add_related(ev, "ip", _ip(hop.get("ip")) if hop.get("ip") else None)
    device = rec.get("device")
    if isinstance(device, dict):
        device = snake_keys(device)
        integrator = device.get("device_integrator")
        if isinstance(integrator, str):
            parsed = parse_json_string(integrator)
            device["device_integrator"] = parsed if isinstance(parsed, dict) else {"raw": integrator}
        put(okta, "device", device)
