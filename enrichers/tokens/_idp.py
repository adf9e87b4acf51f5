"""Token facts an identity provider logs about the tokens it issues, revokes or sees replayed.

No raw token is ever in these events; what they carry is the token's id, type, client, scopes and
expiry, in the provider's namespace (as the source mappings keep them):

- Okta (`okta.system`, `app.oauth2.*`): `okta.target[]` entries typed access_token / refresh_token /
  id_token with the token id (`AT.…`, the access token's `jti`) and `detail_entry.expires/subject`;
  `okta.client.id`; `okta.debug_context.debug_data.grant_type` and `granted_scopes`.
- Entra ID sign-ins (`azure.signinlogs`): `properties.unique_token_identifier` (the issued token's
  `uti` claim), `app_id`, `resource_id`, `incoming_token_type`, `client_credential_type`,
  `authentication_protocol`.
- Entra audit "Consent to application" (`azure.auditlogs`): the app id (`additional_details` AppId, or
  the target's service principal names) and the consented scopes (`Scope:` in ConsentAction.Permissions).
- Google Workspace token events (`google_workspace.token`): client id and scopes; Google access tokens
  are opaque and their ids are not logged.
"""

from __future__ import annotations

import re
from typing import Any, Final

from tokentrail.errors import RecordError
from tokentrail.event import canonical_us, epoch_of, get, ts

_OKTA_TOKEN_TYPES: Final = {"access_token": "access", "refresh_token": "refresh", "id_token": "id"}
_ORDER: Final[tuple[str, ...]] = ("access", "refresh", "id")
# Entra's clientCredentialType for an app signing in as itself.
_APP_CREDENTIALS: Final = frozenset({"clientsecret", "certificate", "clientassertion", "federatedidentitycredential",
                              "managedidentity"})
_ENTRA_PROTOCOL_GRANTS: Final = {"devicecode": "device_code", "ropc": "password"}


class Facts:
    """What one provider event says about a token (or an authorization) and its client.

    refresh: "used" (a refresh token was redeemed), "issued", or "consented". lifetime: seconds from
    issuance to expiry, when the event tells both. reuse: the provider detected a rotated refresh
    token replayed. A plain class, not a dataclass: see tokentrail.pipeline.Raw.
    """

    __slots__ = ("fields", "related_ids", "refresh", "lifetime", "reuse")

    def __init__(self, fields: dict[str, Any], refresh: str | None = None, reuse: bool = False) -> None:
        self.fields = fields
        self.related_ids: list[str] = []
        self.refresh = refresh
        self.lifetime: float | None = None
        self.reuse = reuse


# The datasets `facts` reads: events of any other dataset describe no token.
DATASETS: Final = frozenset({"okta.system", "azure.signinlogs", "azure.auditlogs", "google_workspace.token"})


def facts(event: dict[str, Any]) -> Facts | None:
    """Token facts of a provider event, None for events about no token."""
    ev = event.get("event")
    if type(ev) is not dict and not isinstance(ev, dict):
        return None
    dataset = ev.get("dataset")
    if dataset == "okta.system":
        return _okta(event, ev)
    if dataset == "azure.signinlogs":
        return _entra(event, ev)
    if dataset == "azure.auditlogs" and ev.get("action") == "Consent to application":
        return _entra_consent(event)
    if dataset == "google_workspace.token":
        return _google(event, ev)
    return None


def _time(value: Any) -> tuple[float, str] | None:
    """(epoch seconds, RFC 3339 text) of a timestamp string, None when unusable."""
    if not isinstance(value, str):
        return None
    us = canonical_us(value)
    if us >= 0:  # already what `ts` writes: most of them
        return us / 1_000_000, value
    try:
        return epoch_of(value), ts(value)
    except RecordError:
        return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, (str, int)) and v != ""]
    return []


def _okta(event: dict[str, Any], ev: dict[str, Any]) -> Facts | None:
    action = ev.get("action")
    if not isinstance(action, str) or not action.startswith("app.oauth2."):
        return None
    okta = event.get("okta") or {}
    tokens: dict[str, dict[str, Any]] = {}
    for t in okta.get("target") or []:
        kind = _OKTA_TOKEN_TYPES.get(str(t.get("type", "")).lower()) if isinstance(t, dict) else None
        if kind and kind not in tokens and t.get("id"):
            tokens[kind] = t
    debug = okta.get("debug_context")
    debug = (debug.get("debug_data") if isinstance(debug, dict) else None) or {}
    grant_type = debug.get("grant_type")
    if not isinstance(grant_type, str):
        grant_type = None
    scopes = _strings(debug.get("granted_scopes"))
    if action.endswith(".detect_reuse"):
        activity = "reuse"
    elif ".revoke" in action:
        activity = "revoke"
    elif ".token.grant" in action:
        activity = "issue"
    elif ".authorize" in action:
        activity = "authorize"
    else:
        activity = None
    client = okta.get("client")
    fields: dict[str, Any] = {"client_id": client.get("id") if isinstance(client, dict) else None,
                              "grant_type": grant_type, "scopes": scopes, "activity": activity}
    out = Facts(fields=fields, reuse=activity == "reuse")
    # `….grant.refresh_token` is about the refresh token even when the access token came with it.
    named = _OKTA_TOKEN_TYPES.get(action.rsplit(".", 1)[-1])
    primary: str | None = named if named in tokens else None
    if primary is None:
        for kind in _ORDER:  # a loop, not next() over a generator: compiled, the generator is an object
            if kind in tokens:
                primary = kind
                break
    if primary:
        target = tokens[primary]
        fields["id"] = str(target["id"])
        fields["type"] = primary
        detail = target.get("detail_entry")
        if not isinstance(detail, dict):
            detail = {}
        subject = detail.get("subject")
        fields["subject"] = subject if isinstance(subject, str) else None
        expires = _time(detail.get("expires"))
        if expires is not None:
            fields["expires_at"] = expires[1]
            if activity == "issue":
                issued = _time(event.get("@timestamp"))
                if issued is not None:
                    fields["issued_at"] = issued[1]
                    out.lifetime = max(0.0, expires[0] - issued[0])
                    fields["lifetime_seconds"] = int(round(out.lifetime))
        out.related_ids = [str(tokens[k]["id"]) for k in _ORDER if k in tokens and k != primary]
    if activity == "issue" and ev.get("outcome") != "failure":
        if grant_type == "refresh_token":
            out.refresh = "used"
        elif "refresh" in tokens or "offline_access" in scopes:
            out.refresh = "issued"
    for value in fields.values():  # any(), without the generator
        if value:
            return out
    return None


def _entra(event: dict[str, Any], ev: dict[str, Any]) -> Facts | None:
    azure: Any = event.get("azure")
    logs = azure.get("signinlogs") if isinstance(azure, dict) else None
    props = logs.get("properties") if isinstance(logs, dict) else None
    if not isinstance(props, dict):
        return None
    uti = props.get("unique_token_identifier")
    app_id = props.get("app_id")
    if not uti and not app_id:
        return None
    incoming = str(props.get("incoming_token_type") or "").lower()
    credential = str(props.get("client_credential_type") or "").lower()
    protocol = str(props.get("authentication_protocol") or "").lower()
    grant_type: str | None
    if incoming == "refreshtoken":
        grant_type = "refresh_token"
    elif credential in _APP_CREDENTIALS:
        grant_type = "client_credentials"
    else:
        grant_type = _ENTRA_PROTOCOL_GRANTS.get(protocol)
    fields = {
        "id": str(uti) if uti else None,
        "client_id": str(app_id) if app_id else None,
        "audience": [str(props["resource_id"])] if props.get("resource_id") else None,
        "tenant_id": azure.get("tenant_id") or props.get("resource_tenant_id"),
        "grant_type": grant_type,
        "activity": "issue",
    }
    ok = ev.get("outcome") != "failure"
    return Facts(fields=fields, refresh="used" if incoming == "refreshtoken" and ok else None)


_CONSENT_SCOPE: Final = re.compile(r"Scope:\s*([^,\]]*)")


def items_of(value: Any) -> list[Any]:
    """A list, or the values of a dict keyed "0", "1"… (how Elastic's pipeline keeps Azure arrays)."""
    if isinstance(value, dict):
        return list(value.values())
    return value if isinstance(value, list) else []


def _entra_consent(event: dict[str, Any]) -> Facts | None:
    props = get(event, "azure.auditlogs.properties")
    if not isinstance(props, dict):
        return None
    client = None
    for item in items_of(props.get("additional_details")):
        if isinstance(item, dict) and item.get("key") == "AppId" and isinstance(item.get("value"), str):
            client = item["value"]
    scopes: list[str] = []
    for target in items_of(props.get("target_resources")):
        if not isinstance(target, dict):
            continue
        for prop in items_of(target.get("modified_properties")):
            if not isinstance(prop, dict) or not isinstance(prop.get("new_value"), str):
                continue
            if prop.get("display_name") == "ConsentAction.Permissions":
                for match in _CONSENT_SCOPE.findall(prop["new_value"]):
                    scopes += [s for s in match.split() if s not in scopes]
            elif prop.get("display_name") == "TargetId.ServicePrincipalNames" and not client:
                client = prop["new_value"].strip('"').split(";")[0] or None
    if not client and not scopes:
        return None
    fields = {"client_id": client, "scopes": scopes, "activity": "authorize"}
    ok = get(event, "event.outcome") != "failure"
    return Facts(fields=fields, refresh="consented" if "offline_access" in scopes and ok else None)


_GOOGLE_ACTIVITIES: Final = {"authorize": "authorize", "revoke": "revoke", "request": "use"}


def _google(event: dict[str, Any], ev: dict[str, Any]) -> Facts | None:
    workspace = event.get("google_workspace")
    token = workspace.get("token") if isinstance(workspace, dict) else None
    if not isinstance(token, dict):
        return None
    action = ev.get("action")
    activity = _GOOGLE_ACTIVITIES.get(action) if isinstance(action, str) else None
    client, scope = token.get("client"), token.get("scope")
    fields = {"client_id": client.get("id") if isinstance(client, dict) else None,
              "scopes": _strings(scope.get("value") if isinstance(scope, dict) else None), "activity": activity}
    if not fields["client_id"] and not fields["scopes"]:
        return None
    return Facts(fields=fields)
