"""Okta System Log mapping: the gotchas, one behaviour per test (the goldens cover whole events)."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.okta import SOURCE
from collectors.okta._categories import categorize
from collectors.okta._debug import parse_java_map, split_scopes
from collectors.okta.envelopes import unwrap
from collectors.okta.normalize import natural_key, normalize
from tokentrail.errors import RecordError

BASE = {
    "uuid": "5b1e0c2a-0000-4000-8000-000000000001",
    "published": "2024-05-02T09:00:00.000Z",
    "eventType": "user.session.start",
    "displayMessage": "User login to Okta",
    "severity": "INFO",
    "actor": {"id": "00u1alice0000000001", "type": "User", "alternateId": "alice@example.com",
              "displayName": "Alice Example", "detailEntry": None},
    "client": {"ipAddress": "203.0.113.10", "zone": "null", "id": None,
               "userAgent": {"rawUserAgent": "curl/8.5.0", "browser": "UNKNOWN", "os": "Unknown"}},
    "outcome": {"result": "SUCCESS", "reason": None},
    "target": None,
    "debugContext": {"debugData": {"requestId": "req-1"}},
}


def event(**changes) -> dict:
    rec = copy.deepcopy(BASE)
    rec.update(changes)
    [ev] = normalize(rec)
    return ev


class TestOutcome:
    @pytest.mark.parametrize("result", ["SUCCESS", "ALLOW", "success", "Allow"])
    def test_success_and_allow_are_success(self, result):
        """SUCCESS and ALLOW, in any case, map to success."""
        assert event(outcome={"result": result})["event"]["outcome"] == "success"

    @pytest.mark.parametrize("result", ["FAILURE", "DENY", "deny"])
    def test_failure_and_deny_are_failure(self, result):
        """FAILURE and DENY map to failure."""
        assert event(outcome={"result": result})["event"]["outcome"] == "failure"

    @pytest.mark.parametrize("result", ["SKIPPED", "CHALLENGE", "UNKNOWN", None, ""])
    def test_other_results_are_unknown(self, result):
        """SKIPPED, CHALLENGE, UNKNOWN and an empty result map to unknown."""
        assert event(outcome={"result": result})["event"]["outcome"] == "unknown"

    def test_missing_outcome_is_unknown(self):
        """A LogEvent without an outcome object is unknown, not an error."""
        rec = copy.deepcopy(BASE)
        del rec["outcome"]
        assert normalize(rec)[0]["event"]["outcome"] == "unknown"

    def test_raw_result_and_reason_are_kept(self):
        """The raw result and reason stay under okta.outcome; the reason is also event.reason."""
        ev = event(outcome={"result": "FAILURE", "reason": "INVALID_CREDENTIALS"})
        assert ev["okta"]["outcome"] == {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"}
        assert ev["event"]["reason"] == "INVALID_CREDENTIALS"


class TestActor:
    def test_user_actor_fills_user(self):
        """A User actor gives user.id, the login's local part as user.name, domain, email, full name."""
        assert event()["user"] == {"id": "00u1alice0000000001", "name": "alice", "domain": "example.com",
                                   "email": "alice@example.com", "full_name": "Alice Example"}

    @pytest.mark.parametrize("kind", ["PublicClientApp", "SystemPrincipal", "AppInstance"])
    def test_app_actor_is_not_a_user(self, kind):
        """An app or system actor never becomes user.* nor related.user."""
        ev = event(actor={"id": "0oa5svc", "type": kind, "alternateId": "0oa5svc", "displayName": "Svc"})
        assert "user" not in ev
        assert "user" not in ev.get("related", {})
        assert ev["okta"]["actor"]["type"] == kind

    def test_client_app_actor_gives_client_id(self):
        """A PublicClientApp actor's id is the OAuth client id, kept as okta.client.id."""
        ev = event(actor={"id": "0oa5svc", "type": "PublicClientApp", "alternateId": "0oa5svc"})
        assert ev["okta"]["client"]["id"] == "0oa5svc"

    def test_client_id_field_wins_over_actor(self):
        """client.id, when Okta sends it, is the okta.client.id."""
        ev = event(actor={"id": "0oa5svc", "type": "PublicClientApp"},
                   client={"id": "0oa9other", "ipAddress": "203.0.113.10"})
        assert ev["okta"]["client"]["id"] == "0oa9other"

    def test_login_without_domain_is_the_name(self):
        """A login that is not an email is user.name as it is, with no email or domain."""
        ev = event(actor={"id": "00u2", "type": "User", "alternateId": "bob", "displayName": "Bob"})
        assert ev["user"] == {"id": "00u2", "name": "bob", "full_name": "Bob"}


class TestTargets:
    def test_user_and_group_are_chosen_by_type_not_position(self):
        """The first User and the first UserGroup fill user.target.*, wherever they are in the list."""
        ev = event(eventType="group.user_membership.add", target=[
            {"id": "00g1", "type": "UserGroup", "alternateId": "unknown", "displayName": "Engineering"},
            {"id": "0oa1", "type": "AppInstance", "displayName": "Wiki"},
            {"id": "00u3", "type": "User", "alternateId": "carol@example.com", "displayName": "Carol"},
            {"id": "00u4", "type": "User", "alternateId": "dave@example.com", "displayName": "Dave"},
        ])
        target = ev["user"]["target"]
        assert target["id"] == "00u3"
        assert target["email"] == "carol@example.com"
        assert target["group"] == {"id": "00g1", "name": "Engineering"}

    def test_token_targets_stay_under_okta_target(self):
        """access_token / refresh_token targets keep their ids under okta.target and touch no ECS field."""
        ev = event(eventType="app.oauth2.as.token.grant.access_token", target=[
            {"id": "AT.abc123", "type": "access_token", "displayName": "Access Token",
             "detailEntry": {"expires": "2024-05-02T10:00:00.000Z"}},
            {"id": "RT.def456", "type": "refresh_token", "displayName": "Refresh Token"},
        ])
        ids = {t["type"]: t["id"] for t in ev["okta"]["target"]}
        assert ids == {"access_token": "AT.abc123", "refresh_token": "RT.def456"}
        assert "target" not in ev.get("user", {})

    def test_null_target_gives_no_target_fields(self):
        """target: null leaves okta.target and user.target out."""
        ev = event(target=None)
        assert "target" not in ev["okta"]
        assert "target" not in ev["user"]


class TestNulls:
    def test_string_null_is_dropped(self):
        """Okta's string "null" (client.zone) is dropped like a real null."""
        assert "zone" not in event()["okta"]["client"]

    def test_nested_nulls_are_dropped(self):
        """Nulls inside nested objects and lists never reach the event."""
        ev = event(securityContext={"asNumber": None, "asOrg": None, "isp": "null"},
                   target=[None, {"id": "00u9", "type": "User", "alternateId": None, "displayName": None}])
        assert "security_context" not in ev["okta"]
        assert ev["okta"]["target"] == [{"id": "00u9", "type": "User"}]


class TestDebugData:
    def test_java_map_reasons_with_commas(self):
        """A Java-map risk whose reasons hold ", " is split only at the next key."""
        assert parse_java_map("{reasons=Anomalous Device, Anomalous Location, level=HIGH}") == {
            "reasons": "Anomalous Device, Anomalous Location", "level": "HIGH"}

    def test_java_map_keys_with_spaces(self):
        """Behavior keys with spaces and dashes parse as keys."""
        assert parse_java_map("{New Geo-Location=NEGATIVE, New Device=POSITIVE}") == {
            "New Geo-Location": "NEGATIVE", "New Device": "POSITIVE"}

    def test_java_map_nested(self):
        """A nested Java map becomes a nested dict."""
        assert parse_java_map("{a=1, b={c=2, d=3}}") == {"a": "1", "b": {"c": "2", "d": "3"}}

    def test_not_a_java_map(self):
        """A string that is not a Java map gives None."""
        assert parse_java_map("{level}") is None
        assert parse_java_map("level=LOW") is None

    def test_risk_and_behaviors_are_parsed(self):
        """risk and behaviors give risk_level, risk_reasons and the POSITIVE risk_behaviors."""
        ev = event(debugContext={"debugData": {
            "risk": "{reasons=Anomalous Device, Anomalous Location, level=HIGH}",
            "behaviors": "{New IP=POSITIVE, New Device=NEGATIVE, Velocity=POSITIVE}"}})
        data = ev["okta"]["debug_context"]["debug_data"]
        assert data["risk_level"] == "HIGH"
        assert data["risk_reasons"] == ["Anomalous Device", "Anomalous Location"]
        assert data["risk_behaviors"] == ["New IP", "Velocity"]
        assert data["flattened"]["risk"] == {"reasons": "Anomalous Device, Anomalous Location", "level": "HIGH"}

    def test_log_only_security_data_json_is_parsed(self):
        """logOnlySecurityData, JSON inside a string, is parsed into the flattened copy and risk fields."""
        ev = event(debugContext={"debugData": {
            "logOnlySecurityData": '{"risk":{"level":"MEDIUM","reasons":"New Device"},"behaviors":{"New Device":"POSITIVE"}}'}})
        data = ev["okta"]["debug_context"]["debug_data"]
        assert data["flattened"]["logOnlySecurityData"]["risk"] == {"level": "MEDIUM", "reasons": "New Device"}
        assert data["risk_level"] == "MEDIUM"
        assert data["risk_behaviors"] == ["New Device"]

    def test_flattened_keeps_original_keys(self):
        """The flattened copy keeps Okta's camelCase keys, as Elastic's does."""
        ev = event(debugContext={"debugData": {"requestId": "r1", "dtHash": "abc"}})
        assert ev["okta"]["debug_context"]["debug_data"]["flattened"] == {"requestId": "r1", "dtHash": "abc"}

    def test_grant_facts_are_typed_fields(self):
        """grantType and both scope strings are available as typed fields (scopes as lists)."""
        ev = event(debugContext={"debugData": {"grantType": "client_credentials",
                                               "grantedScopes": "okta.logs.read, okta.users.read",
                                               "requestedScopes": "okta.logs.read okta.users.read"}})
        data = ev["okta"]["debug_context"]["debug_data"]
        assert data["grant_type"] == "client_credentials"
        assert data["granted_scopes"] == data["requested_scopes"] == ["okta.logs.read", "okta.users.read"]

    def test_scope_separators(self):
        """Scopes split on commas, spaces or both."""
        assert split_scopes("a, b c,d") == ["a", "b", "c", "d"]

    @settings(max_examples=300)
    @given(st.text(alphabet=st.sampled_from("ab,. \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000"), max_size=20))
    def test_scope_split_is_the_regex_it_replaced(self, text: str) -> None:
        """str.split() at whitespace, commas as spaces: what `re.split(r"[,\\s]+")` gave, empties dropped."""
        assert split_scopes(text) == [s for s in re.split(r"[,\s]+", text) if s]


class TestCategories:
    @pytest.mark.parametrize("event_type, expected", [
        ("user.session.start", (["authentication", "session"], ["start", "info"])),
        ("user.session.end", (["authentication", "session"], ["end", "info"])),
        ("user.authentication.auth_via_mfa", (["authentication"], ["info"])),
        ("policy.evaluate_sign_on", (["authentication"], ["info"])),
        ("app.oauth2.as.token.grant.refresh_token", (["authentication"], ["info"])),
        ("app.oauth2.as.authorize.code", (["authentication"], ["info"])),
        ("user.lifecycle.create", (["iam"], ["user", "creation"])),
        ("user.lifecycle.suspend", (["iam"], ["user", "change"])),
        ("group.user_membership.remove", (["iam"], ["group", "change"])),
        ("policy.rule.delete", (["configuration"], ["deletion"])),
        ("something.new", (["iam"], ["info"])),
    ])
    def test_event_type_categories(self, event_type, expected):
        """Each eventType family has its ECS category and type."""
        assert categorize(event_type) == expected


class TestRecord:
    def test_uuid_is_event_id_and_natural_key(self):
        """uuid is event.id and the natural key."""
        assert event()["event"]["id"] == BASE["uuid"] == natural_key(BASE)

    def test_missing_uuid_gets_a_stable_id(self):
        """Without uuid the id is a hash of the record, the same on every run."""
        rec = copy.deepcopy(BASE)
        del rec["uuid"]
        assert normalize(rec)[0]["event"]["id"] == normalize(copy.deepcopy(rec))[0]["event"]["id"]

    def test_missing_published_is_a_record_error(self):
        """A LogEvent without published goes to the DLQ."""
        rec = copy.deepcopy(BASE)
        del rec["published"]
        with pytest.raises(RecordError, match="published"):
            normalize(rec)

    def test_not_a_log_event_is_a_record_error(self):
        """An object without eventType is refused with a reason."""
        with pytest.raises(RecordError, match="eventType"):
            normalize({"foo": 1})

    def test_offset_timestamp_becomes_utc(self):
        """A published time with an offset becomes UTC with Z."""
        assert event(published="2024-05-02T11:00:00.5+02:00")["@timestamp"] == "2024-05-02T09:00:00.500Z"

    def test_bad_ip_goes_to_source_address(self):
        """A client address that is not an IP is kept as source.address, never source.ip."""
        ev = event(client={"ipAddress": "unknown-host"})
        assert ev["source"] == {"address": "unknown-host"}
        assert "related" not in ev or "ip" not in ev["related"]

    def test_geolocation_is_a_geo_point(self):
        """Okta's geolocation becomes {lat, lon} on client.geo and source.geo; a bad one is left out."""
        geo = {"city": "Lyon", "geolocation": {"lat": 45.76, "lon": 4.84}}
        ev = event(client={"ipAddress": "203.0.113.10", "geographicalContext": geo})
        assert ev["client"]["geo"]["location"] == ev["source"]["geo"]["location"] == {"lat": 45.76, "lon": 4.84}
        bad = event(client={"ipAddress": "203.0.113.10", "geographicalContext": {"geolocation": {"lat": 95, "lon": 0}}})
        assert "geo" not in bad["client"]

    def test_sourcetype(self):
        """The Splunk sourcetype is the Okta add-on's."""
        assert SOURCE.sourcetypes == {"okta.system": "OktaIM2:log"}


class TestEnvelopes:
    def test_array_page(self):
        """A JSON array of LogEvents yields each one."""
        assert list(unwrap([BASE, BASE])) == [BASE, BASE]

    def test_single_object(self):
        """A single LogEvent yields itself."""
        assert list(unwrap(BASE)) == [BASE]

    def test_api_error_body(self):
        """An Okta error body is refused with its code and summary."""
        with pytest.raises(RecordError, match="E0000047: API call exceeded rate limit"):
            list(unwrap({"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit"}))
