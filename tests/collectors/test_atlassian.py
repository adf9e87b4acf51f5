"""Atlassian organization audit mapping: one behaviour per test (the goldens cover whole events)."""

from __future__ import annotations

import copy

import pytest

from collectors.atlassian._categories import categorize, outcome, words
from collectors.atlassian.envelopes import unwrap
from collectors.atlassian.normalize import natural_key, normalize
from tokentrail.errors import RecordError

BASE = {
    "id": "6a1b2c3d-4e5f-6789-abcd-ef0123456789",
    "type": "events",
    "attributes": {
        "time": "2024-06-01T10:00:00.123Z",
        "action": "user_added_to_group",
        "actor": {"id": "5b10ac8d82e05b22cc7d4ef5", "name": "Olivia Admin", "email": "olivia.admin@example.com"},
        "context": [
            {"id": "712020:aaaa", "type": "users"},
            {"id": "grp-1", "type": "groups", "attributes": {"name": "wiki-editors"}},
        ],
        "container": [{"id": "org-1", "type": "orgs"}],
        "location": {"ip": "203.0.113.77", "geo": "Sydney, New South Wales, Australia"},
    },
}


def event(**attrs) -> dict:
    rec = copy.deepcopy(BASE)
    rec["attributes"].update(attrs)
    [ev] = normalize(rec)
    return ev


class TestFields:
    def test_time_id_action(self):
        """attributes.time is @timestamp, id is event.id, attributes.action is event.action."""
        ev = event()
        assert ev["@timestamp"] == "2024-06-01T10:00:00.123Z"
        assert ev["event"]["id"] == BASE["id"] == natural_key(BASE)
        assert ev["event"]["action"] == "user_added_to_group"
        assert ev["event"]["dataset"] == "atlassian.org_audit"

    def test_actor_is_the_user(self):
        """The actor's id, name and email fill user.*."""
        assert event()["user"]["id"] == "5b10ac8d82e05b22cc7d4ef5"
        assert event()["user"]["name"] == "Olivia Admin"
        assert event()["user"]["email"] == "olivia.admin@example.com"
        assert event()["user"]["domain"] == "example.com"

    def test_location_ip_is_source_ip(self):
        """location.ip is source.ip and related.ip; the free-text geo stays in the namespace."""
        ev = event()
        assert ev["source"]["ip"] == "203.0.113.77"
        assert ev["related"]["ip"] == ["203.0.113.77"]
        assert ev["atlassian"]["org_audit"]["location"]["geo"] == "Sydney, New South Wales, Australia"

    def test_context_users_and_groups_are_targets(self):
        """A users context item is user.target.id; a groups item is user.target.group.*."""
        target = event()["user"]["target"]
        assert target["id"] == "712020:aaaa"
        assert target["group"] == {"id": "grp-1", "name": "wiki-editors"}

    def test_org_container_is_organization_id(self):
        """An orgs container gives organization.id and the containers stay in the namespace."""
        ev = event()
        assert ev["organization"]["id"] == "org-1"
        assert ev["atlassian"]["org_audit"]["container"] == [{"id": "org-1", "type": "orgs"}]

    def test_on_behalf_of_is_the_user(self):
        """An app acting on behalf of a person: the person is user.*, the app stays under actor.app."""
        ev = event(actor={"id": "app-acct", "name": "Sync App", "app": {"id": "client-1"},
                          "onBehalfOf": {"id": "712020:bbbb", "name": "Alice", "email": "alice@example.com"}})
        assert ev["user"]["id"] == "712020:bbbb"
        assert ev["atlassian"]["org_audit"]["actor"]["app"]["id"] == "client-1"

    def test_app_actor_is_not_a_user(self):
        """An app acting on its own never becomes user.*."""
        ev = event(actor={"id": "app-acct", "name": "Reporting Bot", "app": {"id": "client-2"}})
        assert "id" not in ev.get("user", {})
        assert "user" not in ev.get("related", {}) or "app-acct" not in ev["related"]["user"]

    def test_token_facts_are_kept(self):
        """actor.auth (type, token id, label) is kept for the token enricher."""
        ev = event(actor={"id": "u1", "auth": {"authType": "api-token", "tokenId": "tok-1", "tokenLabel": "ci"}})
        assert ev["atlassian"]["org_audit"]["actor"]["auth"] == {
            "auth_type": "api-token", "token_id": "tok-1", "token_label": "ci"}

    def test_missing_id_gets_a_stable_id(self):
        """Without id the event id is a hash of the record, the same on every run."""
        rec = copy.deepcopy(BASE)
        del rec["id"]
        assert normalize(rec)[0]["event"]["id"] == normalize(copy.deepcopy(rec))[0]["event"]["id"]

    def test_missing_time_is_a_record_error(self):
        """An event without attributes.time goes to the DLQ."""
        with pytest.raises(RecordError, match="attributes.time"):
            event(time=None)

    def test_not_an_event_is_a_record_error(self):
        """An object without attributes is refused with a reason."""
        with pytest.raises(RecordError, match="no attributes"):
            normalize({"id": "x"})


class TestCategories:
    @pytest.mark.parametrize("action, expected", [
        ("user_login", (["authentication"], ["start"])),
        ("user_logged_in", (["authentication"], ["start"])),
        ("user_logout", (["authentication"], ["end"])),
        ("api_token_created", (["iam"], ["creation"])),
        ("api_token_revoked", (["iam"], ["deletion"])),
        ("user_added_to_group", (["iam"], ["group", "change"])),
        ("group_created", (["iam"], ["group", "creation"])),
        ("user_invited", (["iam"], ["user", "creation"])),
        ("user_deactivated", (["iam"], ["user", "change"])),
        ("sign_in_policy_updated", (["configuration"], ["change"])),
        ("app_installed", (["configuration"], ["creation"])),
        ("app_authorized", (["iam"], ["change"])),
        ("app_deauthorized", (["iam"], ["deletion"])),
        ("audit_log_exported", (["configuration"], ["info"])),
    ])
    def test_action_categories(self, action, expected):
        """Each action family has its ECS category and type."""
        assert categorize(action) == expected

    def test_words_of_camel_and_dotted_ids(self):
        """camelCase, dotted and dashed ids split into the same words as snake_case."""
        assert words("userAddedToGroup") == words("user.added-to_group") == ["user", "added", "to", "group"]

    @pytest.mark.parametrize("action, expected", [
        ("user_login", "success"), ("user_login_failed", "failure"), ("app_update_attempt", "unknown"),
    ])
    def test_outcome_from_action(self, action, expected):
        """An action is a success unless its words say it failed or was only attempted."""
        assert outcome(action) == expected


class TestEnvelopes:
    def test_page(self):
        """A {"data": [...]} page yields each event; links and meta are ignored."""
        page = {"data": [BASE, BASE], "links": {"next": "https://api.atlassian.com/...?cursor=abc"}, "meta": {}}
        assert list(unwrap(page)) == [BASE, BASE]

    def test_empty_page(self):
        """An empty page yields nothing."""
        assert list(unwrap({"data": [], "links": {}})) == []

    def test_single_event_envelope(self):
        """GET /events/{id} gives {"data": {...}}: one event."""
        assert list(unwrap({"data": BASE})) == [BASE]

    def test_bare_event(self):
        """A bare event object yields itself."""
        assert list(unwrap(BASE)) == [BASE]

    def test_api_error(self):
        """An API error body is refused with its status and title."""
        with pytest.raises(RecordError, match="401: Unauthorized"):
            list(unwrap({"errors": [{"status": "401", "title": "Unauthorized"}]}))
