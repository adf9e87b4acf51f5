"""The app enricher: registry, learned names, first-party rule and the app findings."""

from __future__ import annotations

from typing import Any

import pytest

from enrichers.apps import AppEnricher, is_write_scope
from enrichers.config import AppConfig, TokensConfig
from enrichers.state import LocalState

SYNC = AppConfig(id="confluence-sync", name="Confluence Sync", owner="it@example.com", client_ids=["0oasync", "sp-sync"],
                 allowed_scopes=["read:confluence-content.all"], refresh_tokens=False, read_only=True)
OPEN = AppConfig(id="open-app", client_ids=["0oaopen"])


def token_event(client: str, scopes: list[str] | None = None, roles: list[str] | None = None,
                signature: str = "valid", refresh: str | None = None) -> dict[str, Any]:
    tok: dict[str, Any] = {"client_id": client, "signature": signature}
    if scopes:
        tok["scopes"] = scopes
    if roles:
        tok["roles"] = roles
    ev: dict[str, Any] = {"event": {"id": "e", "dataset": "tokentrail.access"}, "tokentrail": {"token": tok}}
    if refresh:
        ev["_tt"] = {"token": {"refresh": refresh}}
    return ev


def codes(event: dict[str, Any]) -> list[str]:
    return [c for c, _ in (event.get("_tt") or {}).get("findings", [])]


@pytest.fixture
def apps() -> AppEnricher:
    return AppEnricher(TokensConfig(), [SYNC, OPEN], LocalState())


class TestAppEnricher:
    def test_field_absent_event_untouched(self, apps: AppEnricher):
        """An event without any OAuth client comes back equal."""
        ev = {"event": {"id": "1", "dataset": "okta.system", "action": "user.session.start"}, "okta": {"uuid": "u"}}
        assert apps(dict(ev)) == ev

    def test_registered_app(self, apps: AppEnricher):
        """A client id listed by an app gives the app's id, name and owner."""
        ev = apps(token_event("0oasync", ["read:confluence-content.all"]))
        assert ev["tokentrail"]["app"] == {"client_id": "0oasync", "id": "confluence-sync", "name": "Confluence Sync",
                                           "owner": "it@example.com", "registered": True}
        assert codes(ev) == []

    def test_one_app_many_client_ids(self, apps: AppEnricher):
        """The same app is found by its Okta client id and its Entra app id."""
        assert apps(token_event("sp-sync"))["tokentrail"]["app"]["id"] == "confluence-sync"

    def test_unregistered(self, apps: AppEnricher):
        """A client id no app lists is app.unregistered, with the client id as app id."""
        ev = apps(token_event("0oarogue"))
        assert ev["tokentrail"]["app"] == {"client_id": "0oarogue", "id": "0oarogue", "registered": False}
        assert codes(ev) == ["app.unregistered"]

    def test_empty_registry_raises_no_unregistered(self):
        """Without any apps: configured, app.unregistered stays off."""
        ev = AppEnricher()(token_event("0oarogue"))
        assert ev["tokentrail"]["app"]["registered"] is False and codes(ev) == []

    def test_microsoft_first_party_by_id(self, apps: AppEnricher):
        """A well-known Microsoft app id is first-party: named, not flagged."""
        ev = {"event": {"id": "s", "dataset": "azure.signinlogs"},
              "azure": {"signinlogs": {"properties": {"app_id": "d3590ed6-52b3-4102-aeff-aad2292ab01c"}}}}
        ev = apps(ev)
        assert ev["tokentrail"]["app"]["first_party"] is True
        assert ev["tokentrail"]["app"]["name"] == "Microsoft Office"
        assert codes(ev) == []

    def test_microsoft_first_party_by_owner_tenant(self, apps: AppEnricher):
        """An Entra app owned by Microsoft's tenant is first-party even when not in the list."""
        ev = {"event": {"id": "s", "dataset": "azure.signinlogs"},
              "azure": {"signinlogs": {"properties": {"app_id": "new-ms-app",
                                                      "app_owner_tenant_id": "f8cdef31-a31e-4b4a-93e4-5f571e91255a"}}}}
        assert codes(apps(ev)) == []

    def test_first_party_off(self):
        """tokens.first_party_apps: false flags Microsoft's apps like any other."""
        enricher = AppEnricher(TokensConfig(first_party_apps=False), [SYNC])
        assert codes(enricher(token_event("d3590ed6-52b3-4102-aeff-aad2292ab01c"))) == ["app.unregistered"]

    def test_extra_first_party_ids(self):
        """tokens.first_party_client_ids adds known clients."""
        enricher = AppEnricher(TokensConfig(first_party_client_ids=["corp-portal"]), [SYNC])
        assert codes(enricher(token_event("corp-portal"))) == []

    def test_okta_own_clients(self, apps: AppEnricher):
        """Okta's own `okta.*` clients are first-party."""
        assert codes(apps(token_event("okta.2b1959c8-bcc0-56eb-a589-cfcfb7422f26"))) == []

    def test_names_learned_and_shared(self):
        """A name an IdP event teaches is used later, also by another worker on the same state."""
        state = LocalState()
        google = {"event": {"id": "g", "dataset": "google_workspace.token"},
                  "google_workspace": {"token": {"client": {"id": "123.apps"}, "app_name": "Wiki Sync"}}}
        AppEnricher(state=state)(google)
        other_worker = AppEnricher(state=state)
        assert other_worker(token_event("123.apps"))["tokentrail"]["app"]["name"] == "Wiki Sync"

    def test_okta_client_name_from_actor(self, apps: AppEnricher):
        """An Okta client acting as itself names the app."""
        ev = {"event": {"id": "o", "dataset": "okta.system"},
              "okta": {"client": {"id": "0oanew"}, "actor": {"id": "0oanew", "type": "PublicClientApp",
                                                               "display_name": "Export Script"}}}
        assert apps(ev)["tokentrail"]["app"]["name"] == "Export Script"

    def test_scope_not_allowed(self, apps: AppEnricher):
        """A scope outside allowed_scopes is a finding; OIDC scopes are not counted."""
        ev = apps(token_event("0oasync", ["openid", "read:confluence-content.all", "write:confluence-content"]))
        assert "app.scope_not_allowed" in codes(ev)
        assert "write:confluence-content" in dict(ev["_tt"]["findings"])["app.scope_not_allowed"]
        assert codes(apps(token_event("0oasync", ["openid", "email", "read:confluence-content.all"]))) == []

    def test_roles_checked_like_scopes(self, apps: AppEnricher):
        """App roles (Entra application permissions) count as held scopes."""
        assert "app.scope_not_allowed" in codes(apps(token_event("sp-sync", roles=["Sites.FullControl.All"])))

    def test_refresh_not_allowed(self, apps: AppEnricher):
        """A refresh token used or issued for an app with refresh_tokens: false is a finding."""
        assert codes(apps(token_event("0oasync", refresh="used"))) == ["app.refresh_token_not_allowed"]
        assert codes(apps(token_event("0oasync", refresh="issued"))) == ["app.refresh_token_not_allowed"]
        assert codes(apps(token_event("0oaopen", refresh="used"))) == []

    def test_dangerous_scope_without_policy(self, apps: AppEnricher):
        """A high-risk scope held by an app without allowed_scopes is a finding."""
        assert codes(apps(token_event("0oaopen", ["okta.users.manage"]))) == ["app.dangerous_scope"]
        assert codes(apps(token_event("0oaopen", ["okta.users.read"]))) == []

    def test_dangerous_scope_list_configurable(self):
        """tokens.dangerous_scopes replaces the built-in list."""
        enricher = AppEnricher(TokensConfig(dangerous_scopes=["custom:admin"]), [OPEN])
        assert codes(enricher(token_event("0oaopen", ["okta.users.manage"]))) == []
        assert codes(enricher(token_event("0oaopen", ["custom:admin"]))) == ["app.dangerous_scope"]

    def test_write_scope_on_read_only(self, apps: AppEnricher):
        """A read-only app holding a write scope is a finding."""
        assert "app.write_scope_on_read_only" in codes(apps(token_event("0oasync", ["write:confluence-content"])))

    def test_forged_token_claims_not_held_against_app(self, apps: AppEnricher):
        """Scopes of a token whose signature fails raise no app policy finding."""
        for signature in ("invalid", "none"):
            assert codes(apps(token_event("0oasync", ["write:confluence-content"], signature=signature))) == []

    @pytest.mark.parametrize(("scope", "write"), [
        ("read:confluence-content.all", False), ("write:confluence-content", True), ("okta.users.manage", True),
        ("okta.users.read", False), ("Files.ReadWrite.All", True), ("Mail.Send", True), ("User.Read", False),
        ("https://www.googleapis.com/auth/drive", True), ("https://www.googleapis.com/auth/drive.readonly", False),
        ("https://www.googleapis.com/auth/userinfo.email", False), ("https://mail.google.com/", True),
        ("offline_access", False), ("admin:confluence", True),
    ])
    def test_write_scopes(self, scope: str, write: bool):
        """Write-capable scopes are told from read-only ones across dialects."""
        assert is_write_scope(scope) is write
