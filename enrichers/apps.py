"""The app enricher: which application an OAuth client id belongs to, and what it may hold.

The registry is the `apps:` config (canonical id, name, owner, client ids across IdPs, policy) plus the
display names identity providers teach (Okta app and client names, Entra `appDisplayName`, Google
`app_name`), kept in the SharedState table `apps` so every worker learns them.

`tokentrail.app` goes on every event that involves an OAuth client: the client id of the token
(`tokentrail.token.client_id`), else the provider's own client field (`okta.client.id`,
`azure.signinlogs.properties.app_id`, `google_workspace.token.client.id`).

When `app.unregistered` fires (docs/tokens.md):
- never while `apps:` is empty: without an inventory every event would carry it (the app is still
  shown with `registered: false`);
- never for first-party clients (`tokens.first_party_apps`, on by default): Microsoft's own
  applications, recognised by a built-in list of well-known app ids or by an Entra sign-in whose
  `app_owner_tenant_id` is one of Microsoft's tenants, Okta's own `okta.*` clients, plus
  `tokens.first_party_client_ids`. They get `first_party: true` instead;
- otherwise for every client id that no app lists.
"""

from __future__ import annotations

import re
from typing import Any, Final

from enrichers.config import AppConfig, TokensConfig
from enrichers.findings import raise_finding
from enrichers.state import LocalState, SharedState
from enrichers.tokens._idp import items_of
from tokentrail.event import get, get_in

LEARNED_TTL: Final = 30 * 86400

# Well-known Microsoft first-party application ids (Microsoft Learn, "Verify first-party Microsoft
# applications in sign-in reports", and the ids Entra sign-in logs show for Microsoft's own clients).
MICROSOFT_FIRST_PARTY: Final[dict[str, str]] = {
    "00000002-0000-0000-c000-000000000000": "Windows Azure Active Directory",
    "00000002-0000-0ff1-ce00-000000000000": "Office 365 Exchange Online",
    "00000003-0000-0000-c000-000000000000": "Microsoft Graph",
    "00000003-0000-0ff1-ce00-000000000000": "Office 365 SharePoint Online",
    "00000004-0000-0ff1-ce00-000000000000": "Skype for Business Online",
    "00000006-0000-0ff1-ce00-000000000000": "Microsoft Office 365 Portal",
    "00000007-0000-0000-c000-000000000000": "Dynamics CRM Online",
    "0000000a-0000-0000-c000-000000000000": "Microsoft Intune",
    "0000000c-0000-0000-c000-000000000000": "Microsoft App Access Panel",
    "00b41c95-dab0-4487-9791-b9d2c32c80f2": "Office 365 Management",
    "04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Microsoft Azure CLI",
    "0ec893e0-5785-4de6-99da-4ed124e5296c": "Office UWP PWA",
    "14d82eec-204b-4c2f-b7e8-296a70dab67e": "Microsoft Graph Command Line Tools",
    "1950a258-227b-4e31-a9cf-717495945fc2": "Microsoft Azure PowerShell",
    "1b730954-1685-4b74-9bfd-dac224a7b894": "Azure Active Directory PowerShell",
    "1fec8e78-bce4-4aaf-ab1b-5451cc387264": "Microsoft Teams",
    "26a7ee05-5602-4d76-a7ba-eae8b7b67941": "Windows Search",
    "27922004-5251-4030-b22d-91ecd9a37ea4": "Outlook Mobile",
    "2793995e-0a7d-40d7-bd35-6968ba142197": "My Apps",
    "29d9ed98-a469-4536-ade2-f981bc1d605e": "Microsoft Authentication Broker",
    "38aa3b87-a06d-4817-b275-7a316988d93b": "Windows Sign In",
    "4765445b-32c6-49b0-83e6-1d93765276ca": "OfficeHome",
    "57336123-6e14-4acc-8dcf-287b6088aa28": "Microsoft Whiteboard Client",
    "5e3ce6c0-2b1f-4285-8d4b-75ee78787346": "Microsoft Teams Web Client",
    "797f4846-ba00-4fd7-ba43-dac1f8f63013": "Windows Azure Service Management API",
    "872cd9fa-d31f-45e0-9eab-6e460a02d1f1": "Visual Studio",
    "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7": "Office365 Shell WCSS-Client",
    "8c59ead7-d703-4a27-9e55-c96a0054c8d2": "My Profile",
    "9ba1a5c7-f17a-4de9-a1f1-6178c8d51223": "Microsoft Intune Company Portal",
    "ab9b8c07-8f02-4f72-87fa-80105867a763": "OneDrive SyncEngine",
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c": "Azure Portal",
    "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe": "Microsoft Teams Services",
    "d3590ed6-52b3-4102-aeff-aad2292ab01c": "Microsoft Office",
    "de8bc8b5-d9f9-48b1-a8ad-b748da725064": "Graph Explorer",
    "ecd6b820-32c2-49b6-98a6-444530e5a77a": "Microsoft Edge",
    "19db86c3-b2b9-44cc-b339-36da233a3be2": "My Signins",
}
# Tenants Microsoft publishes its own applications from (`appOwnerTenantId` of first-party apps).
MICROSOFT_TENANTS: Final = frozenset({"f8cdef31-a31e-4b4a-93e4-5f571e91255a", "72f988bf-86f1-41af-91ab-2d7cd011db47"})

# Standard OpenID Connect scopes: identity, not access to data; never checked against allowed_scopes.
# offline_access is governed by `refresh_tokens`, not by allowed_scopes.
IMPLICIT_SCOPES: Final = frozenset({"openid", "profile", "email", "address", "phone", "offline_access",
                             "https://www.googleapis.com/auth/userinfo.email",
                             "https://www.googleapis.com/auth/userinfo.profile"})

# High-risk scopes from the research notes (Okta admin scopes, Microsoft Graph and Exchange write and
# directory scopes, Google full-account scopes). Matched case-insensitively.
DANGEROUS_SCOPES: Final[tuple[str, ...]] = (
    "okta.users.manage", "okta.groups.manage", "okta.apps.manage", "okta.factors.manage",
    "okta.policies.manage", "okta.authorizationServers.manage", "okta.roles.manage", "okta.idps.manage",
    "okta.clients.manage", "okta.apiTokens.manage",
    "Directory.ReadWrite.All", "RoleManagement.ReadWrite.Directory", "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All", "Mail.ReadWrite",
    "Mail.Send", "Files.ReadWrite.All", "Sites.FullControl.All", "Sites.ReadWrite.All", "full_access_as_app",
    "https://mail.google.com/", "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/admin.directory.user", "https://www.googleapis.com/auth/ediscovery",
    "https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/cloud_search.query",
    "manage:confluence-configuration", "admin:confluence",
)

# A scope that can change data: write/manage/delete/admin verbs (Atlassian `write:…`, Okta `….manage`,
# Graph `….ReadWrite…`, `Mail.Send`), or a Google API scope without `readonly`.
_WRITE: Final = re.compile(r"(?i)(?:^|[^a-z])(?:write|manage|delete|create|update|admin|send|modify|fullcontrol|"
                    r"full_access)(?:[^a-z]|$)|readwrite")
_GOOGLE_SCOPE: Final = "https://www.googleapis.com/auth/"
_GOOGLE_READ_ONLY: Final = frozenset({"userinfo.email", "userinfo.profile", "openid"})


def is_write_scope(scope: str) -> bool:
    """True for scopes that let an app change data (see _WRITE)."""
    if scope.lower() in IMPLICIT_SCOPES or scope in IMPLICIT_SCOPES:
        return False
    if scope.startswith(_GOOGLE_SCOPE):
        rest = scope[len(_GOOGLE_SCOPE):]
        return "readonly" not in rest and rest not in _GOOGLE_READ_ONLY
    if scope == "https://mail.google.com/":
        return True
    return bool(_WRITE.search(scope))


class AppEnricher:
    """Enricher: `tokentrail.app` for every event with an OAuth client; the app findings.

    tokens: the `tokens:` config (first-party rule, dangerous scopes).
    apps: the `apps:` registry.
    state: where learned display names are shared (table `apps`).
    """

    # enrichers.Chain: a plain event has no `tokentrail.token`; these datasets name their client
    # in their own fields (see `_client`).
    plain_datasets = frozenset({"okta.system", "azure.signinlogs", "google_workspace.token"})

    def __init__(self, tokens: TokensConfig | None = None, apps: list[AppConfig] | None = None,
                 state: SharedState | None = None) -> None:
        self.cfg = tokens or TokensConfig()
        self.apps = list(apps or [])
        self.state = state if state is not None else LocalState()
        self.by_client: dict[str, AppConfig] = {}
        # allowed_scopes as a set, made once per app (keyed by the object: self.apps keeps them alive)
        self._allowed: dict[int, frozenset[str]] = {}
        for app in self.apps:
            for cid in app.client_ids:
                self.by_client.setdefault(cid, app)
            if app.allowed_scopes is not None:
                self._allowed[id(app)] = frozenset(app.allowed_scopes)
        self.first_party: dict[str, str] = {}
        if self.cfg.first_party_apps:
            self.first_party.update(MICROSOFT_FIRST_PARTY)
        for cid in self.cfg.first_party_client_ids:
            self.first_party.setdefault(cid, "")
        dangerous = DANGEROUS_SCOPES if self.cfg.dangerous_scopes is None else self.cfg.dangerous_scopes
        self.dangerous = frozenset(s.lower() for s in dangerous)
        self._names: dict[str, str] = {}  # learned names this worker already put into state

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        client_id, name = self._client(event)
        if not client_id:
            return event
        if name:
            self._learn(client_id, name, (event.get("event") or {}).get("dataset"))
        app = self.by_client.get(client_id)
        first_party = False
        if app is not None:
            info: dict[str, Any] = {"client_id": client_id, "id": app.id, "registered": True}
            shown = app.name or self._name(client_id, name)
            if shown:
                info["name"] = shown
            if app.owner:
                info["owner"] = app.owner
        else:
            first_party = self._is_first_party(event, client_id)
            info = {"client_id": client_id, "id": client_id, "registered": False}
            shown = self._name(client_id, name) or self.first_party.get(client_id)
            if shown:
                info["name"] = shown
            if first_party:
                info["first_party"] = True
        event.setdefault("tokentrail", {})["app"] = info
        self._findings(event, app, info, first_party)
        return event

    # -- identity -----------------------------------------------------------------------------------

    @staticmethod
    def _client(event: dict[str, Any]) -> tuple[str | None, str | None]:
        """(client id, display name the event teaches) of the event's OAuth client."""
        # Plain nested reads rather than `get(…, "a.b")`: this runs for every event.
        tt = event.get("tokentrail")
        token = tt.get("token") if isinstance(tt, dict) else None
        client = token.get("client_id") if isinstance(token, dict) else None
        ev = event.get("event")
        dataset = ev.get("dataset") if isinstance(ev, dict) else None
        if not client and dataset != "okta.system" and dataset != "azure.signinlogs" \
                and dataset != "google_workspace.token":
            return None, None  # what the branches below come to for the other events without a token
        name = None
        if dataset == "okta.system":
            found = event.get("okta")
            okta: dict[str, Any] = found if isinstance(found, dict) else {}  # typed: dict reads compiled
            if not client:
                doc = okta.get("client")
                client = doc.get("id") if isinstance(doc, dict) else None
            if client:
                actor = okta.get("actor")
                if isinstance(actor, dict) and actor.get("id") == client:
                    kind = actor.get("type")
                    if str("" if kind is None else kind).lower() != "user":
                        name = actor.get("display_name")
                for t in okta.get("target") or []:
                    if isinstance(t, dict) and t.get("id") == client and t.get("display_name"):
                        name = name or t["display_name"]
        elif dataset == "azure.signinlogs":
            props = get_in(event, "azure", "signinlogs", "properties") or {}
            client = client or props.get("app_id")
            if client and client == props.get("app_id"):
                name = props.get("app_display_name")
        elif dataset == "azure.auditlogs" and client:
            for target in items_of(get(event, "azure.auditlogs.properties.target_resources")):
                if isinstance(target, dict) and target.get("type") == "ServicePrincipal":
                    name = target.get("display_name")
                    break
        elif dataset == "google_workspace.token":
            token_doc = get_in(event, "google_workspace", "token")
            client_doc = token_doc.get("client") if isinstance(token_doc, dict) else None
            doc_client = client_doc.get("id") if isinstance(client_doc, dict) else None
            client = client or doc_client
            if client and client == doc_client:
                name = token_doc.get("app_name")
        client = str(client)[:256] if client else None
        return client, name if isinstance(name, str) and name else None

    def _learn(self, client_id: str, name: str, dataset: Any) -> None:
        if self._names.get(client_id) == name:
            return
        known = self.state.get("apps", client_id)
        if not known or known.get("name") != name:
            self.state.put("apps", client_id, {"name": name, "source": dataset}, LEARNED_TTL)
        self._names[client_id] = name
        if len(self._names) > 10_000:
            self._names.clear()

    def _name(self, client_id: str, name: str | None) -> str | None:
        if name:
            return name
        known = self.state.get("apps", client_id)
        return known.get("name") if known else None

    def _is_first_party(self, event: dict[str, Any], client_id: str) -> bool:
        if client_id in self.first_party:
            return True
        if not self.cfg.first_party_apps:
            return False
        if client_id.startswith("okta."):
            return True
        props = get_in(event, "azure", "signinlogs", "properties")
        return isinstance(props, dict) and props.get("app_owner_tenant_id") in MICROSOFT_TENANTS

    # -- findings -----------------------------------------------------------------------------------

    def _findings(self, event: dict[str, Any], app: AppConfig | None, info: dict[str, Any],
                  first_party: bool) -> None:
        if app is None and self.apps and not first_party:
            raise_finding(event, "app.unregistered",
                          f"Client {_label(info)} is not listed by any app in the registry (apps:): nobody owns it.")
        token = event["tokentrail"].get("token") or {}
        if token.get("signature") in ("invalid", "none"):
            return  # forged claims are not held against the app they name; the token findings say it
        scopes, roles = token.get("scopes"), token.get("roles")
        tt = event.get("_tt")
        refresh = (tt.get("token") or {}).get("refresh") if tt else None
        if not (scopes or roles or refresh):
            return
        verb = "was granted" if token.get("activity") == "authorize" else "holds"
        held = list(scopes or [])
        if roles:
            held += [r for r in roles if r not in held]
        if app is not None and app.allowed_scopes is not None:
            allowed = self._allowed.get(id(app)) or frozenset(app.allowed_scopes)
            extra = [s for s in held if s not in allowed and s.lower() not in IMPLICIT_SCOPES]
            if extra:
                raise_finding(event, "app.scope_not_allowed",
                              f"App {app.id} {verb} {', '.join(extra[:10])}, outside its allowed_scopes "
                              f"({', '.join(app.allowed_scopes) or 'none'}).")
        if app is not None and not app.refresh_tokens and refresh:
            what = {"used": "redeemed a refresh token", "issued": "was issued a refresh token",
                    "consented": "was granted offline_access (refresh tokens)"}.get(refresh, "holds a refresh token")
            raise_finding(event, "app.refresh_token_not_allowed",
                          f"App {app.id} {what}, but its registry entry says refresh_tokens: false.")
        if app is None or app.allowed_scopes is None:
            risky = [s for s in held if s.lower() in self.dangerous]
            if risky:
                who = f"App {app.id}" if app else f"Client {_label(info)}"
                raise_finding(event, "app.dangerous_scope",
                              f"{who} {verb} high-risk scope(s) {', '.join(risky[:10])} with no allowed_scopes "
                              "policy approving them.")
        if app is not None and app.read_only:
            writes = [s for s in held if is_write_scope(s)]
            if writes:
                raise_finding(event, "app.write_scope_on_read_only",
                              f"App {app.id} is registered as read-only but {verb} write scope(s) "
                              f"{', '.join(writes[:10])}.")




def _label(info: dict[str, Any]) -> str:
    return f"{info['name']} ({info['client_id']})" if info.get("name") else str(info["client_id"])
