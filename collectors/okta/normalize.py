"""One Okta LogEvent to one ECS event (`okta.system`), in the order of Elastic's pipeline.

Clean (drop null, "", the string "null" and empties, recursively) -> id and time -> action and
categorisation -> outcome -> actor -> client and network -> targets -> contexts -> debugData.
See README.md for the mapping table and where we differ from Elastic.

Speed: this runs for every Okta record, the bulk of most deployments. The record is not cleaned
as a whole up front: each field read goes through `present()`, which gives exactly what cleaning
would have left there, so only the few subtrees copied whole are walked (`snake_clean`). Nested
output is built as dict literals rather than one dotted `put` per field.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any, Final

from collectors.okta._categories import categorize
from collectors.okta._debug import clean, debug_data, parse_json_string, present, snake_clean
from tokentrail.errors import RecordError
from tokentrail.event import add_related, new_event, obj, put, put_user_agent, split_email, stable_id, ts

DATASET: Final = "okta.system"

# Actor types that are people. Everything else (PublicClientApp, SystemPrincipal, AppInstance...)
# is software and must not become `user.*`.
USER_ACTOR_TYPES: Final = frozenset({"user"})
# Actor types whose `id` is an OAuth client id (the app acting through client credentials).
CLIENT_ACTOR_TYPES: Final = frozenset({"publicclientapp", "confidentialclientapp", "client"})

_OUTCOMES: Final = {"SUCCESS": "success", "ALLOW": "success", "FAILURE": "failure", "DENY": "failure"}
# (raw, ECS) name pairs, flat (see `_pick`); module constants, not literals at the call (see
# tokentrail/compiled.py: literals are built per call).
_AUTH_CONTEXT: Final[tuple[str, ...]] = (
    "authenticationProvider", "authentication_provider",
    "authenticationStep", "authentication_step",
    "credentialProvider", "credential_provider",
    "credentialType", "credential_type",
    "externalSessionId", "external_session_id",
    "interface", "interface",
    "rootSessionId", "root_session_id",
)
_TARGET_KEYS: Final[tuple[str, ...]] = ("id", "id", "type", "type", "alternateId", "alternate_id", "displayName", "display_name")
_TARGET_ITEM_KEYS: Final[tuple[str, ...]] = (*_TARGET_KEYS, "detailEntry", "detail_entry", "changeDetails", "change_details")
_RECORD_KEYS: Final[tuple[str, ...]] = ("version", "version", "severity", "severity", "displayMessage", "display_message")
_RESULT_KEYS: Final[tuple[str, ...]] = ("result", "result", "reason", "reason")
_CLIENT_KEYS: Final[tuple[str, ...]] = ("id", "id", "device", "device", "zone", "zone")
_ID_TYPE_KEYS: Final[tuple[str, ...]] = ("id", "id", "type", "type")
_SECURITY_KEPT: Final[tuple[str, ...]] = ("isp", "domain", "is_proxy")
_USER: Final[tuple[str, ...]] = ("user",)
_USER_TARGET: Final[tuple[str, ...]] = ("user", "target")


def _pick(src: dict[str, Any], keys: tuple[str, ...], out: dict[str, Any] | None = None) -> dict[str, Any]:
    """`{new: present(src[raw])}` for the (raw, new) pairs of `keys` (flat: raw, new, raw, new...)
    whose value is present, added to `out` when given (one insert per field, not two)."""
    if out is None:
        out = {}
    for i in range(0, len(keys), 2):
        v = src.get(keys[i])
        if v is None:
            continue
        if type(v) is str:  # `present` inlined: most fields of a record are read here
            if not v or (len(v) == 4 and v == "null"):  # see tokentrail/compiled.py on `== ""`
                continue
        elif isinstance(v, dict) or isinstance(v, list):
            v = clean(v)
            if not v:
                continue
        out[keys[i + 1]] = v
    return out


def _sub(d: dict[str, Any], key: str) -> dict[str, Any]:
    """The object at `d[key]`, created (or replacing a non-object) as `put` does."""
    v = d.get(key)
    if not isinstance(v, dict):
        v = d[key] = {}
    return v


def _kind(fields: dict[str, Any]) -> str:
    """The lower-cased `type` of an actor or target, from its `_pick`ed fields ("" when absent)."""
    kind = fields.get("type")
    return "" if kind is None else str(kind).lower()


def natural_key(record: dict[str, Any]) -> str | None:
    """Okta's `uuid`, unique per LogEvent (a re-polled event keeps it)."""
    uuid = record.get("uuid")
    return str(uuid) if uuid else None


def outcome(result: Any) -> str:
    """SUCCESS/ALLOW -> success, FAILURE/DENY -> failure, anything else (SKIPPED, CHALLENGE...) -> unknown."""
    return _OUTCOMES.get(str(result).upper(), "unknown") if result else "unknown"


def normalize(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One LogEvent to one ECS event."""
    event_type = present(record.get("eventType"))
    if not isinstance(event_type, str):
        raise RecordError("not an Okta LogEvent: no eventType")
    published = present(record.get("published"))
    if published is None:
        raise RecordError("no usable published")
    ev = new_event(DATASET)
    ev["@timestamp"] = ts(published, field="published")
    uuid = present(record.get("uuid"))
    e: dict[str, Any] = ev["event"]  # typed: dict writes compiled, not generic ones
    e["id"] = str(uuid) if uuid else stable_id("okta", clean(record))
    e["action"] = event_type
    e["provider"] = "okta"
    e["category"], e["type"] = categorize(event_type)
    result_obj = obj(record, "outcome")
    result, reason = present(result_obj.get("result")), present(result_obj.get("reason"))
    e["outcome"] = outcome(result)
    if reason is not None:
        e["reason"] = reason

    okta: dict[str, Any] = {} if uuid is None else {"uuid": uuid}
    okta["event_type"] = event_type
    _pick(record, _RECORD_KEYS, okta)
    result_out = _pick(result_obj, _RESULT_KEYS)
    if result_out:
        okta["outcome"] = result_out
    severity = okta.get("severity")
    if isinstance(severity, str):
        ev["log"] = {"level": severity.lower()}
    _actor(ev, okta, obj(record, "actor"))
    _client(ev, okta, obj(record, "client"), obj(record, "securityContext"))
    _targets(ev, okta, record.get("target"))
    _contexts(ev, okta, record)
    debug = obj(obj(record, "debugContext"), "debugData")
    data = debug_data(debug) if debug else None
    if data:
        okta["debug_context"] = {"debug_data": data}
    ev["okta"] = okta
    return [ev]


def _actor(ev: dict, okta: dict, actor: dict) -> None:
    fields = _pick(actor, _TARGET_KEYS)
    if fields:
        okta["actor"] = fields
    kind = _kind(fields)
    if kind in CLIENT_ACTOR_TYPES and "id" in fields:
        # Client credentials: the app is the actor; its id is the OAuth client id.
        okta["client"] = {"id": fields["id"]}
    if kind not in USER_ACTOR_TYPES:
        return
    _put_person(ev, _USER, fields)


def _put_person(ev: dict, path: tuple[str, ...], fields: dict) -> None:
    """id, name (local part), domain, email and full name of an Okta User (its `_pick`ed fields)
    at `path`, then related.user."""
    alternate = fields.get("alternate_id")
    name, domain = split_email(alternate) if isinstance(alternate, str) else (None, None)
    if alternate == "unknown":
        name = None
    email = alternate if domain else None
    full_name = fields.get("display_name")
    out = {}
    user_id = fields.get("id")
    if user_id is not None:
        out["id"] = user_id
    if name is not None:
        out["name"] = name
    if domain is not None:
        out["domain"] = domain
    if email is not None:
        out["email"] = email
    if full_name is not None:
        out["full_name"] = full_name
    if out:
        into = ev
        last = len(path) - 1
        for i in range(last):
            into = _sub(into, path[i])
        existing = into.get(path[last])
        if isinstance(existing, dict):
            existing.update(out)
        else:  # most often: `out` itself, not its fields copied into a new object
            into[path[last]] = out
    add_related(ev, "user", name, email, full_name)


@lru_cache(maxsize=4096)
def _ip_text(text: str) -> str | None:
    # Addresses repeat a lot (one user, one office): parsing each once is enough.
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _ip(value: Any) -> str | None:
    return _ip_text(str(value).strip())


def geo_point(loc: Any) -> dict[str, float] | None:
    """Okta's `{lat, lon}` as an ECS geo_point, or None when it is not a usable coordinate."""
    if not isinstance(loc, dict):
        return None
    lat: Any = loc.get("lat")
    lon: Any = loc.get("lon")
    if not (_is_number(lat) and _is_number(lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return {"lat": lat, "lon": lon}


def _is_number(v: Any) -> bool:
    return (isinstance(v, int) or isinstance(v, float)) and not isinstance(v, bool)


_GEO_KEYS: Final[tuple[str, ...]] = ("city", "city_name", "state", "region_name", "country", "country_name")
_AGENT_KEYS: Final[tuple[str, ...]] = ("browser", "browser", "os", "os", "rawUserAgent", "raw_user_agent")
_SECURITY_KEYS: Final[tuple[str, ...]] = ("asNumber", "number", "asOrg", "org", "isp", "isp", "domain", "domain", "isProxy", "is_proxy")


def _geo(geo: dict) -> dict[str, Any]:
    """`client.geo` / `source.geo` from Okta's geographicalContext."""
    out = _pick(geo, _GEO_KEYS)
    point = geo_point(geo.get("geolocation"))
    if point is not None:
        out["location"] = point
    return out


def _client(ev: dict, okta: dict, client: dict, security: dict) -> None:
    """Client address, agent and geolocation, security context. ECS `client` and `source` do not
    exist yet: they are built here and attached once not empty."""
    out = okta.get("client") or {}  # may hold the client-app actor's id, which client.id overrides
    _pick(client, _CLIENT_KEYS, out)
    ecs_client: dict[str, Any] = {}
    ecs_source: dict[str, Any] = {}
    raw_ip = present(client.get("ipAddress"))
    ip = _ip(raw_ip) if raw_ip else None
    if ip:
        out["ip"] = ip
        ecs_client["ip"] = ecs_source["ip"] = ip
        _attach(ev, ecs_client, ecs_source)
        add_related(ev, "ip", ip)
    elif raw_ip:
        ecs_source["address"] = str(raw_ip)
        _attach(ev, ecs_client, ecs_source)
    agent_out = _pick(obj(client, "userAgent"), _AGENT_KEYS)
    if agent_out:
        out["user_agent"] = agent_out
    if out:
        okta["client"] = out
    put_user_agent(ev, agent_out.get("raw_user_agent"))
    # No GeoIP here: Okta's own geolocation is the best we have for both sides.
    geo = _geo(obj(client, "geographicalContext"))
    if geo:
        ecs_client["geo"] = geo
        copy = dict(geo)  # each side its own objects
        if "location" in copy:
            copy["location"] = dict(copy["location"])
        ecs_source["geo"] = copy
        _attach(ev, ecs_client, ecs_source)

    fields = _pick(security, _SECURITY_KEYS)
    number, org, domain = fields.get("number"), fields.get("org"), fields.get("domain")
    sec: dict[str, Any] = {}
    if number is not None or org is not None:
        sec["as"] = _as(number, org)
        if org is not None:
            ecs_client["as"] = {"organization": {"name": org}}
            ecs_source["as"] = {"organization": {"name": org}}
        if number is not None:
            _sub(ecs_source, "as")["number"] = number
        _attach(ev, ecs_client, ecs_source)
    for key in _SECURITY_KEPT:
        if key in fields:
            sec[key] = fields[key]
    if sec:
        okta["security_context"] = sec
    if domain is not None:
        ecs_client["domain"] = ecs_source["domain"] = domain
    _attach(ev, ecs_client, ecs_source)


def _attach(ev: dict, ecs_client: dict, ecs_source: dict) -> None:
    """`client` and `source` into the event once they hold something (keys in `put` order)."""
    if ecs_client and "client" not in ev:
        ev["client"] = ecs_client
    if ecs_source and "source" not in ev:
        ev["source"] = ecs_source


def _as(number: Any, org: Any) -> dict[str, Any]:
    out: dict[str, Any] = {} if number is None else {"number": number}
    if org is not None:
        out["organization"] = {"name": org}
    return out


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
        item = _pick(t, _TARGET_ITEM_KEYS)
        if not item and not clean(t):
            continue  # nothing but empties: cleaning drops it from the list
        kept.append(item)
        kind = _kind(item)
        if kind == "user" and user is None:
            user = item
        elif kind == "usergroup" and group is None:
            group = item
    if kept:
        okta["target"] = kept
    if user:
        _put_person(ev, _USER_TARGET, user)
    if group:
        put(ev, "user.target.group.id", group.get("id"))
        put(ev, "user.target.group.name", group.get("display_name"))


def _contexts(ev: dict, okta: dict, rec: dict) -> None:
    auth = obj(rec, "authenticationContext")
    ctx = _pick(auth, _AUTH_CONTEXT)
    issuer = _pick(obj(auth, "issuer"), _ID_TYPE_KEYS)
    if issuer:
        ctx["issuer"] = issuer
    if ctx:
        okta["authentication_context"] = ctx
    tx = obj(rec, "transaction")
    tx_out = _pick(tx, _ID_TYPE_KEYS)
    token_id = present(obj(tx, "detail").get("requestApiTokenId"))
    if token_id is not None:
        tx_out["detail"] = {"request_api_token_id": token_id}
    if tx_out:
        okta["transaction"] = tx_out
    chain = obj(rec, "request").get("ipChain")
    if isinstance(chain, list):
        hops = snake_clean(chain)
        if hops:
            okta["request"] = {"ip_chain": hops}
        for hop in chain:
            if isinstance(hop, dict):
                ip = present(hop.get("ip"))
                add_related(ev, "ip", _ip(ip) if ip else None)
    device = rec.get("device")
    if isinstance(device, dict):
        device = snake_clean(device)
        integrator = device.get("device_integrator")
        if isinstance(integrator, str):
            parsed = parse_json_string(integrator)
            device["device_integrator"] = parsed if isinstance(parsed, dict) else {"raw": integrator}
        if device:
            okta["device"] = device
