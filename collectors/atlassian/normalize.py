"""One Atlassian organization audit event to one ECS event (`atlassian.org_audit`).

No Elastic integration exists for this log; the mapping follows sources.md 4b and the API's event
model (`id`, `attributes{time, action, actor, context[], container[], location}`, `message`).
See README.md for the table.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any, Final

from collectors.atlassian._categories import categorize, outcome
from tokentrail.errors import RecordError
from tokentrail.event import (
    add_related,
    is_empty,
    new_event,
    obj,
    put,
    snake_keys,
    split_email,
    stable_id,
    ts,
)

DATASET: Final = "atlassian.org_audit"
NS: Final = "atlassian.org_audit"

# Context / container item types (the API names them in the plural, JSON:API style).
USER_TYPES: Final = frozenset({"users", "user"})
GROUP_TYPES: Final = frozenset({"groups", "group"})
ORG_TYPES: Final = frozenset({"orgs", "org", "organizations"})
# Actor types that are not people (the actor model carries no type today; accept one if it comes).
NON_USER_ACTOR_TYPES: Final = frozenset({"app", "apps", "system", "service"})


def natural_key(record: dict[str, Any]) -> str | None:
    """The event `id`, unique per org audit event."""
    eid = record.get("id")
    return str(eid) if eid else None


def normalize(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One org audit event to one ECS event."""
    attrs = record.get("attributes")
    if not isinstance(attrs, dict):
        raise RecordError("not an Atlassian org audit event: no attributes object")
    action = attrs.get("action")
    if not isinstance(action, str) or not action:
        raise RecordError("not an Atlassian org audit event: no attributes.action")
    if attrs.get("time") in (None, ""):
        raise RecordError("no usable attributes.time")
    ev = new_event(DATASET)
    ev["@timestamp"] = ts(attrs["time"], field="attributes.time")
    e: dict[str, Any] = ev["event"]  # typed: dict writes compiled, not generic ones
    eid = record.get("id")
    e["id"] = str(eid) if eid else stable_id("atlassian", snake_keys(record))
    e["action"] = action
    e["provider"] = "atlassian"
    e["category"], e["type"] = categorize(action)
    e["outcome"] = outcome(action)

    ns: dict[str, Any] = {}
    _actor(ev, ns, attrs.get("actor"))
    _location(ev, ns, attrs.get("location"))
    _context(ev, ns, attrs.get("context"))
    _container(ev, ns, attrs.get("container"))
    message = record.get("message")
    if isinstance(message, dict):
        put(ns, "message.format", message.get("format"))
        put(ns, "message.content", message.get("content"))
    put(ev, NS, ns)
    return [ev]


def _actor(ev: dict, ns: dict, actor: Any) -> None:
    if not isinstance(actor, dict):
        return
    put(ns, "actor.id", actor.get("id"))
    put(ns, "actor.name", actor.get("name"))
    put(ns, "actor.email", actor.get("email"))
    put(ns, "actor.type", actor.get("type"))
    auth = actor.get("auth")
    if isinstance(auth, dict):
        # Token facts (type, id, label) for the token enricher; the API never sends the token itself.
        put(ns, "actor.auth.auth_type", auth.get("authType"))
        put(ns, "actor.auth.token_id", auth.get("tokenId"))
        put(ns, "actor.auth.token_label", auth.get("tokenLabel"))
    app = actor.get("app")
    if isinstance(app, dict):
        put(ns, "actor.app.id", app.get("id"))
        put(ns, "actor.app.type", app.get("type"))
        put(ns, "actor.app.attributes", snake_keys(app.get("attributes")) if app.get("attributes") else None)
    behalf = actor.get("onBehalfOf")
    if isinstance(behalf, dict):
        put(ns, "actor.on_behalf_of.id", behalf.get("id"))
        put(ns, "actor.on_behalf_of.name", behalf.get("name"))
        put(ns, "actor.on_behalf_of.email", behalf.get("email"))
        # An app acting for a person: the person is the user of the event, the app stays in ns.
        _put_person(ev, "user", behalf)
        return
    if isinstance(app, dict) or str(actor.get("type", "")).lower() in NON_USER_ACTOR_TYPES:
        return  # software, not a person: never user.*
    _put_person(ev, "user", actor)


def _put_person(ev: dict, prefix: str, who: dict) -> None:
    email = who.get("email") if isinstance(who.get("email"), str) else None
    _, domain = split_email(email)
    name = who.get("name")
    person = {key: value for key, value in (("id", who.get("id")), ("name", name), ("full_name", name),
                                            ("email", email), ("domain", domain)) if _kept(value)}
    if person:  # merged as one object rather than a put per field
        into = ev
        for key in prefix.split("."):
            nxt = into.get(key)
            if not isinstance(nxt, dict):
                nxt = into[key] = {}
            into = nxt
        into.update(person)
    add_related(ev, "user", who.get("id"), name, email)


def _kept(value: Any) -> bool:
    """What `put` keeps: not None, "" or an empty container."""
    return not is_empty(value)


@lru_cache(maxsize=4096)
def _ip(text: str) -> str | None:
    # Cached: addresses repeat, and ipaddress is slow.
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _location(ev: dict, ns: dict, loc: Any) -> None:
    if not isinstance(loc, dict):
        return
    raw_ip = loc.get("ip")
    if raw_ip:
        ip = _ip(str(raw_ip))
        if ip:
            put(ev, "source.ip", ip)
            add_related(ev, "ip", ip)
        else:
            put(ev, "source.address", str(raw_ip))
    put(ev, "source.geo.city_name", loc.get("city"))
    put(ev, "source.geo.region_name", loc.get("regionName"))
    put(ev, "source.geo.country_name", loc.get("countryName"))
    # `geo` is one free-text string ("Sydney, New South Wales, Australia"): kept, not guessed apart.
    put(ns, "location.geo", loc.get("geo"))


def _objects(items: Any) -> list[dict]:
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict)]


def _context(ev: dict, ns: dict, items: Any) -> None:
    """What the action was performed on: the first user and first group, by type, go to ECS."""
    objs = _objects(items)
    put(ns, "context", [snake_keys(o) for o in objs])
    user = next((o for o in objs if str(o.get("type", "")).lower() in USER_TYPES), None)
    group = next((o for o in objs if str(o.get("type", "")).lower() in GROUP_TYPES), None)
    if user:
        attrs = obj(user, "attributes")
        email = attrs.get("email") if isinstance(attrs.get("email"), str) else None
        name = attrs.get("name") or attrs.get("displayName")
        put(ev, "user.target.id", user.get("id"))
        put(ev, "user.target.name", name)
        put(ev, "user.target.full_name", name)
        put(ev, "user.target.email", email)
        put(ev, "user.target.domain", split_email(email)[1])
        add_related(ev, "user", user.get("id"), name, email)
    if group:
        attrs = obj(group, "attributes")
        put(ev, "user.target.group.id", group.get("id"))
        put(ev, "user.target.group.name", attrs.get("name") or attrs.get("displayName"))


def _container(ev: dict, ns: dict, items: Any) -> None:
    """Where the action happened (org, site, product); an org container gives organization.id."""
    objs = _objects(items)
    put(ns, "container", [snake_keys(o) for o in objs])
    org = next((o for o in objs if str(o.get("type", "")).lower() in ORG_TYPES), None)
    if org:
        put(ev, "organization.id", org.get("id"))
        attrs = obj(org, "attributes")
        put(ev, "organization.name", attrs.get("name"))
