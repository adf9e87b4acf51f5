"""Google Workspace Reports API activity (login, token) to ECS, as Elastic's google_workspace pipelines do.

One activity carries `events[]` (the API) or one `events` object (Elastic's split fixtures); each element
becomes one event that reuses the activity's `id`, `actor`, `ipAddress` and `ownerDomain`.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any, Final

from collectors.google.params import params_to_dict, to_int
from tokentrail.errors import RecordError
from tokentrail.event import add_related, is_empty, new_event, obj, put, split_email, stable_id, ts

DATASETS: Final = {"login": "google_workspace.login", "token": "google_workspace.token"}

# --- login categorisation, from Elastic's login pipeline (action -> category / type) ------------------
_LOGIN_CATEGORY: Final[dict[str, list[str]]] = {}
_LOGIN_TYPE: Final[dict[str, list[str]]] = {}


def _add(table: dict[str, list[str]], value: str, actions: str) -> None:
    for action in actions.split():
        table.setdefault(action, []).append(value)


_add(_LOGIN_CATEGORY, "authentication", "suspicious_login suspicious_login_less_secure_app "
     "suspicious_programmatic_login user_signed_out_due_to_suspicious_session_cookie login_failure "
     "login_challenge login_verification logout login_success")
_add(_LOGIN_CATEGORY, "iam", "account_disabled_password_leak 2sv_disable 2sv_enroll account_disabled_generic "
     "account_disabled_spamming_through_relay account_disabled_spamming account_disabled_hijacked "
     "titanium_enroll titanium_unenroll gov_attack_warning")
_add(_LOGIN_CATEGORY, "configuration", "password_edit recovery_email_edit recovery_phone_edit "
     "recovery_secret_qa_edit blocked_sender email_forwarding_out_of_domain risky_sensitive_action_allowed "
     "risky_sensitive_action_blocked")
_add(_LOGIN_CATEGORY, "session", "login_failure login_success logout")
_add(_LOGIN_TYPE, "start", "login_failure login_success")
_add(_LOGIN_TYPE, "end", "logout user_signed_out_due_to_suspicious_session_cookie")
_add(_LOGIN_TYPE, "user", "account_disabled_password_leak account_disabled_generic "
     "account_disabled_spamming_through_relay account_disabled_spamming account_disabled_hijacked "
     "gov_attack_warning")
_add(_LOGIN_TYPE, "change", "password_edit recovery_email_edit recovery_phone_edit recovery_secret_qa_edit "
     "account_disabled_generic account_disabled_spamming_through_relay account_disabled_spamming "
     "account_disabled_hijacked")
_add(_LOGIN_TYPE, "info", "2sv_disable 2sv_enroll suspicious_login suspicious_login_less_secure_app "
     "suspicious_programmatic_login titanium_enroll titanium_unenroll blocked_sender "
     "email_forwarding_out_of_domain login_challenge login_verification risky_sensitive_action_allowed "
     "risky_sensitive_action_blocked account_disabled_password_leak")
_LOGIN_ALERTS: Final = frozenset({"gov_attack_warning"})
_LOGIN_OUTCOME: Final = {"login_success": "success", "login_failure": "failure"}
# Parameters that are multi-valued by nature but also arrive as a single `value`: always a list.
_ALWAYS_LIST: Final = frozenset({"challenge_method", "scope"})


def natural_key(record: dict[str, Any]) -> str | None:
    """`id.time/id.uniqueQualifier`, the activity's identity in the Reports API."""
    rid = record.get("id")
    if not isinstance(rid, dict) or rid.get("time") is None or rid.get("uniqueQualifier") is None:
        return None
    return f"{rid['time']}/{rid['uniqueQualifier']}"


def normalize(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One Reports API activity to one ECS event per element of `events`."""
    rid = record.get("id")
    if not isinstance(rid, dict):
        raise RecordError("not a Google Workspace activity: no `id` object")
    app = rid.get("applicationName")
    if not app:
        raise RecordError("not a Google Workspace activity: no id.applicationName")
    dataset = DATASETS.get(app)
    if dataset is None:
        raise RecordError(f"Google Workspace application {str(app)[:40]!r} is not supported (login, token)")
    timestamp = ts(rid.get("time"), field="id.time")
    raw_events = record.get("events")
    if isinstance(raw_events, dict):
        raw_events = [raw_events]
    if not isinstance(raw_events, list) or not raw_events:
        raise RecordError("activity has no events")
    out = []
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            raise RecordError(f"events[{index}] is {type(raw).__name__}, not an object")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise RecordError(f"events[{index}] has no name")
        event = _common(record, rid, app, dataset, timestamp, index, name, raw)
        params = params_to_dict(raw.get("parameters"))
        if app == "login":
            _login(event, name, params)
        else:
            _token(event, name, params)
        out.append(event)
    return out


def _common(record: dict, rid: dict, app: str, dataset: str, timestamp: str, index: int, name: str,
            raw: dict) -> dict[str, Any]:
    """Fields every event of the activity shares."""
    event = new_event(dataset)
    event["@timestamp"] = timestamp
    qualifier = rid.get("uniqueQualifier")
    qualifier = None if qualifier is None else str(qualifier)
    # All events of one activity share uniqueQualifier: the position, name and content keep their ids
    # apart, also for records already split to one `events` object each (index 0), as Elastic's are.
    e: dict[str, Any] = event["event"]  # typed: dict writes compiled, not generic ones
    e["id"] = stable_id(qualifier, timestamp, app, index, name, raw.get("type"), raw.get("parameters"))
    e["action"] = name
    e["provider"] = app
    e["outcome"] = "unknown"
    org_id = _str(rid.get("customerId"))
    if org_id is not None:
        event["organization"] = {"id": org_id}
    actor = obj(record, "actor")
    gw = _workspace(record, actor, qualifier, raw.get("type"))
    if gw:
        event["google_workspace"] = gw
    email = actor.get("email") if isinstance(actor.get("email"), str) else None
    user_name, domain = split_email(email)
    if domain is None:  # not an address: keep it as the email only, as Elastic does
        user_name = None
    user: dict[str, Any] = {}
    for key, value in (("email", email), ("name", user_name), ("domain", domain), ("id", _str(actor.get("profileId")))):
        if value:  # None or "" (the values are strings)
            user[key] = value
    if user:
        event["user"] = user
        event["source"] = {"user": dict(user)}
    ip = record.get("ipAddress")
    if isinstance(ip, str) and ip:
        if _is_ip(ip):
            _sub(event, "source")["ip"] = ip
            add_related(event, "ip", ip)
        else:  # an `ip` field that Elasticsearch would refuse; keep the text
            _sub(event, "source")["address"] = ip
    return event


def _workspace(record: dict, actor: dict, qualifier: str | None, event_type: Any) -> dict[str, Any]:
    """The activity-level `google_workspace.*` fields (one object, built whole: this is per event)."""
    gw: dict[str, Any] = {}
    for key, value in (("kind", record.get("kind")), ("etag", record.get("etag"))):
        if _present(value):
            gw[key] = value
    if qualifier:
        gw["id"] = {"unique_qualifier": qualifier}
    if _present(event_type):
        gw["event"] = {"type": event_type}
    domain = record.get("ownerDomain")
    if _present(domain):
        gw["organization"] = {"domain": domain}
    who = {key: value for key, value in (("type", actor.get("callerType")), ("key", actor.get("key")))
           if _present(value)}
    if who:
        gw["actor"] = who
    return gw


def _present(value: Any) -> bool:
    """What `put` keeps: not None, "" or an empty container."""
    return not is_empty(value)


def _sub(d: dict[str, Any], key: str) -> dict[str, Any]:
    """The object at `d[key]`, created (or replacing a non-object) as `put` does."""
    v = d.get(key)
    if not isinstance(v, dict):
        v = d[key] = {}
    return v


def _login(event: dict[str, Any], action: str, params: dict[str, Any]) -> None:
    """`google_workspace.login.*` (names without `login_`), categorisation and outcome."""
    login: dict[str, Any] = {}
    for name, value in params.items():
        key = name[len("login_"):] if name.startswith("login_") else name
        if key in _ALWAYS_LIST and not isinstance(value, list):
            value = [value]
        login[key] = value
    if "timestamp" in login:
        login["timestamp"] = to_int(login["timestamp"])
        if isinstance(login["timestamp"], int):
            event["event"]["start"] = ts(login["timestamp"], field="login_timestamp", unit="us")
    if login:
        event.setdefault("google_workspace", {})["login"] = login
    ev: dict[str, Any] = event["event"]
    ev["category"] = list(_LOGIN_CATEGORY.get(action, ["authentication"]))
    ev["type"] = list(_LOGIN_TYPE.get(action, ["info"]))
    if action in _LOGIN_ALERTS:
        ev["kind"] = "alert"
    if action in _LOGIN_OUTCOME:
        ev["outcome"] = _LOGIN_OUTCOME[action]
    elif isinstance(login.get("challenge_status"), str):
        # "Challenge Passed.", "passed" (Elastic's fixtures); anything else is a failed challenge.
        ev["outcome"] = "success" if "passed" in login["challenge_status"].lower() else "failure"
    add_related(event, "user", event.get("user", {}).get("name"))
    affected = login.get("affected_email_address")
    if isinstance(affected, str):
        target, target_domain = split_email(affected)
        put(event, "user.target.email", affected if target_domain else None)
        put(event, "user.target.name", target if target_domain else affected)
        put(event, "user.target.domain", target_domain)
        add_related(event, "user", target if target_domain else affected)


def _token(event: dict[str, Any], action: str, params: dict[str, Any]) -> None:
    """`google_workspace.token.*` with Elastic's renames; category iam, type info (+user, +deletion)."""
    token = dict(params)
    for src, dst in (("client_id", "client"), ("client_type", "client")):
        if src in token:
            token.setdefault(dst, {})[src.split("_", 1)[1]] = token.pop(src)
    if "num_response_bytes" in token:
        token["num_response_bytes"] = to_int(token["num_response_bytes"])
    scope: dict[str, Any] = {}
    if "scope" in token:
        value = token.pop("scope")
        scope["value"] = value if isinstance(value, list) else [value]
    if "scope_data" in token:
        data = token.pop("scope_data")
        scope["data"] = data if isinstance(data, list) else [data]
    if scope:
        token["scope"] = scope
    if token:
        event.setdefault("google_workspace", {})["token"] = token
    ev: dict[str, Any] = event["event"]
    ev["category"] = ["iam"]
    ev["type"] = ["info"]
    lowered = action.lower()
    if lowered in ("authorize", "revoke"):
        ev["type"].append("user")
    if lowered == "revoke":
        ev["type"].append("deletion")
    user = event.get("user", {})
    add_related(event, "user", user.get("id"), user.get("name"), user.get("email"))
    gw_domain = event.get("google_workspace", {}).get("organization", {}).get("domain")
    add_related(event, "hosts", user.get("domain"), gw_domain)


@lru_cache(maxsize=4096)
def _is_ip(text: str) -> bool:
    # Cached: a user's address comes back in activity after activity, and ipaddress is slow.
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return str(value) if value else None
    if value is None or isinstance(value, dict) or isinstance(value, list):
        return None
    return str(value)
