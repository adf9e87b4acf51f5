"""Google Workspace (login, token): the gotchas of the Reports API mapping."""

from __future__ import annotations

import copy

import pytest

from collectors.google import SOURCE
from collectors.google.envelopes import unwrap
from collectors.google.normalize import natural_key, normalize
from collectors.google.params import params_to_dict
from tokentrail.errors import RecordError


def activity(app: str = "login", events=None, **over) -> dict:
    record = {
        "kind": "admin#reports#activity",
        "id": {"time": "2025-02-27T05:59:58.481Z", "uniqueQualifier": "-4719268839187564321",
               "applicationName": app, "customerId": "C03az79cb"},
        "etag": '"abc/def"',
        "actor": {"callerType": "USER", "email": "jdoe@example.com", "profileId": "111111111111111111111"},
        "ownerDomain": "example.com",
        "ipAddress": "203.0.113.10",
        "events": events if events is not None else [{"type": "login", "name": "login_success"}],
    }
    record.update(over)
    return record


def token_event(name: str = "authorize", **params) -> dict:
    return {"type": "auth", "name": name,
            "parameters": [{"name": k, **v} for k, v in params.items()]}


class TestEvents:
    def test_one_event_per_element(self):
        """An activity with two events[] gives two events sharing actor and ip."""
        out = normalize(activity(events=[{"type": "login", "name": "login_failure"},
                                         {"type": "account_warning", "name": "suspicious_login"}]))
        assert [e["event"]["action"] for e in out] == ["login_failure", "suspicious_login"]
        assert all(e["user"]["email"] == "jdoe@example.com" and e["source"]["ip"] == "203.0.113.10" for e in out)

    def test_ids_differ_per_element(self):
        """Events of one activity (same uniqueQualifier) get different event.id values."""
        out = normalize(activity(events=[{"type": "login", "name": "login_challenge"},
                                         {"type": "login", "name": "login_challenge"}]))
        assert out[0]["event"]["id"] != out[1]["event"]["id"]

    def test_split_records_with_same_name_differ(self):
        """Pre-split records (index 0 each) with the same name but other parameters get different ids."""
        a = activity(events={"type": "login", "name": "login_challenge",
                             "parameters": [{"name": "login_challenge_status", "value": "Challenge Passed."}]})
        b = copy.deepcopy(a)
        b["events"]["parameters"][0]["value"] = "Challenge Failed."
        assert normalize(a)[0]["event"]["id"] != normalize(b)[0]["event"]["id"]

    def test_ids_are_stable(self):
        """Normalizing the same activity twice gives the same ids."""
        assert normalize(activity())[0]["event"]["id"] == normalize(activity())[0]["event"]["id"]

    def test_split_events_object_accepted(self):
        """`events` as one object (Elastic's split fixtures) gives one event."""
        out = normalize(activity(events={"type": "login", "name": "logout"}))
        assert len(out) == 1 and out[0]["event"]["type"] == ["end"]

    def test_negative_unique_qualifier_kept_as_text(self):
        """A negative uniqueQualifier is kept as text under google_workspace.id."""
        out = normalize(activity())[0]
        assert out["google_workspace"]["id"]["unique_qualifier"] == "-4719268839187564321"

    def test_natural_key(self):
        """natural_key is id.time/id.uniqueQualifier."""
        assert natural_key(activity()) == "2025-02-27T05:59:58.481Z/-4719268839187564321"


class TestRejects:
    def test_unknown_application(self):
        """An application other than login/token goes to the DLQ naming it."""
        with pytest.raises(RecordError, match="'drive' is not supported"):
            normalize(activity(app="drive"))

    def test_missing_time(self):
        """An activity without id.time is a RecordError."""
        record = activity()
        del record["id"]["time"]
        with pytest.raises(RecordError, match="id.time"):
            normalize(record)

    def test_no_events(self):
        """An activity without events is a RecordError."""
        with pytest.raises(RecordError, match="no events"):
            normalize(activity(events=[]))

    def test_not_an_activity(self):
        """A record without an id object is refused as not an activity."""
        with pytest.raises(RecordError, match="not a Google Workspace activity"):
            normalize({"hello": "world"})


class TestParameters:
    def test_int_value_string(self):
        """intValue sent as a JSON string (Google's int64) becomes an int."""
        assert params_to_dict([{"name": "n", "intValue": "1223"}]) == {"n": 1223}

    def test_multi_int_value(self):
        """multiIntValue strings become ints."""
        assert params_to_dict([{"name": "n", "multiIntValue": ["1", "-2"]}]) == {"n": [1, -2]}

    def test_bool_value_string(self):
        """A boolValue sent as "true" becomes True."""
        assert params_to_dict([{"name": "b", "boolValue": "true"}]) == {"b": True}

    def test_message_value(self):
        """messageValue{parameter[]} becomes a nested dict."""
        got = params_to_dict([{"name": "m", "messageValue": {"parameter": [{"name": "os", "value": "Android"},
                                                                         {"name": "v", "intValue": "14"}]}}])
        assert got == {"m": {"os": "Android", "v": 14}}

    def test_multi_message_value(self):
        """multiMessageValue[] becomes a list of dicts."""
        got = params_to_dict([{"name": "scope_data", "multiMessageValue": [
            {"parameter": [{"name": "scope_name", "value": "s1"}, {"name": "product_bucket", "multiValue": ["GMAIL"]}]},
            {"parameter": [{"name": "scope_name", "value": "s2"}]}]}])
        assert got == {"scope_data": [{"scope_name": "s1", "product_bucket": ["GMAIL"]}, {"scope_name": "s2"}]}

    def test_empty_and_nameless_dropped(self):
        """Parameters without a name or with an empty value are dropped."""
        assert params_to_dict([{"value": "x"}, {"name": "e", "multiValue": []}, {"name": "s", "value": ""}]) == {}


class TestLogin:
    def test_prefix_stripped(self):
        """login_* parameters land under google_workspace.login without the prefix."""
        ev = normalize(activity(events=[{"type": "login", "name": "login_failure", "parameters": [
            {"name": "login_failure_type", "value": "login_failure_invalid_password"}]}]))[0]
        assert ev["google_workspace"]["login"] == {"failure_type": "login_failure_invalid_password"}

    @pytest.mark.parametrize("param", [{"value": "password"}, {"multiValue": ["password"]}])
    def test_challenge_method_always_list(self, param):
        """login_challenge_method as value or multiValue is always a list."""
        ev = normalize(activity(events=[{"type": "login", "name": "login_success",
                                         "parameters": [{"name": "login_challenge_method", **param}]}]))[0]
        assert ev["google_workspace"]["login"]["challenge_method"] == ["password"]

    def test_login_timestamp_microseconds(self):
        """login_timestamp (µs, as a string) sets event.start."""
        ev = normalize(activity(events=[{"type": "account_warning", "name": "suspicious_login", "parameters": [
            {"name": "login_timestamp", "intValue": "1593695305123456"}]}]))[0]
        assert ev["event"]["start"] == "2020-07-02T13:08:25.123456Z"
        assert ev["google_workspace"]["login"]["timestamp"] == 1593695305123456

    @pytest.mark.parametrize(("status", "outcome"), [("Challenge Passed.", "success"), ("passed", "success"),
                                                     ("Challenge Failed.", "failure")])
    def test_challenge_status_outcome(self, status, outcome):
        """login_challenge_status decides the outcome of a challenge."""
        ev = normalize(activity(events=[{"type": "login", "name": "login_challenge", "parameters": [
            {"name": "login_challenge_status", "value": status}]}]))[0]
        assert ev["event"]["outcome"] == outcome

    def test_login_failure_beats_challenge_status(self):
        """login_failure stays a failure whatever the challenge status says."""
        ev = normalize(activity(events=[{"type": "login", "name": "login_failure", "parameters": [
            {"name": "login_challenge_status", "value": "Challenge Passed."}]}]))[0]
        assert ev["event"]["outcome"] == "failure"

    def test_login_success_categorised(self):
        """login_success is authentication+session / start / success."""
        ev = normalize(activity())[0]["event"]
        assert (ev["category"], ev["type"], ev["outcome"]) == (["authentication", "session"], ["start"], "success")

    def test_gov_attack_is_alert(self):
        """gov_attack_warning is an alert."""
        assert normalize(activity(events=[{"type": "account_warning", "name": "gov_attack_warning"}]))[0][
            "event"]["kind"] == "alert"

    def test_affected_email_to_target(self):
        """affected_email_address fills user.target and related.user."""
        ev = normalize(activity(events=[{"type": "account_warning", "name": "account_disabled_hijacked", "parameters": [
            {"name": "affected_email_address", "value": "victim@example.org"}]}]))[0]
        assert ev["user"]["target"] == {"email": "victim@example.org", "name": "victim", "domain": "example.org"}
        assert "victim" in ev["related"]["user"]

    def test_actor_split(self):
        """actor.email splits into user.name and user.domain, also under source.user."""
        ev = normalize(activity())[0]
        assert ev["user"] == {"email": "jdoe@example.com", "name": "jdoe", "domain": "example.com",
                              "id": "111111111111111111111"}
        assert ev["source"]["user"] == ev["user"]
        assert ev["organization"]["id"] == "C03az79cb"

    def test_actor_without_email(self):
        """A KEY actor without email has no user.* but keeps google_workspace.actor.key."""
        ev = normalize(activity(actor={"callerType": "KEY", "key": "SYSTEM"}))[0]
        assert "user" not in ev and ev["google_workspace"]["actor"] == {"type": "KEY", "key": "SYSTEM"}

    def test_missing_ip(self):
        """Without ipAddress there is no source.ip nor related.ip."""
        record = activity()
        del record["ipAddress"]
        ev = normalize(record)[0]
        assert "ip" not in ev.get("source", {}) and "ip" not in ev.get("related", {})

    def test_invalid_ip_kept_as_address(self):
        """An ipAddress that is not an IP goes to source.address only."""
        ev = normalize(activity(ipAddress="unknown"))[0]
        assert ev["source"]["address"] == "unknown" and "ip" not in ev["source"]


class TestToken:
    def test_client_and_scopes(self):
        """client_id/client_type/scope land in google_workspace.token.client.* and scope.value."""
        ev = normalize(activity(app="token", events=[token_event(
            client_id={"value": "123-abc.apps.googleusercontent.com"}, client_type={"value": "WEB"},
            scope={"value": "https://www.googleapis.com/auth/drive"}, num_response_bytes={"intValue": "10"})]))[0]
        token = ev["google_workspace"]["token"]
        assert token["client"] == {"id": "123-abc.apps.googleusercontent.com", "type": "WEB"}
        assert token["scope"]["value"] == ["https://www.googleapis.com/auth/drive"]
        assert token["num_response_bytes"] == 10

    def test_revoke_categorised(self):
        """revoke is iam / info+user+deletion with an unknown outcome, as Elastic does."""
        ev = normalize(activity(app="token", events=[token_event("revoke")]))[0]["event"]
        assert (ev["category"], ev["type"], ev["outcome"]) == (["iam"], ["info", "user", "deletion"], "unknown")
        assert ev["dataset"] == "google_workspace.token"

    def test_related_hosts(self):
        """Token events list the user's and owner's domains in related.hosts."""
        ev = normalize(activity(app="token", events=[token_event()], ownerDomain="example.org"))[0]
        assert ev["related"]["hosts"] == ["example.com", "example.org"]


class TestEnvelopes:
    def test_items_page(self):
        """A page yields its items."""
        assert len(list(unwrap({"kind": "admin#reports#activities", "items": [activity(), activity()]}))) == 2

    def test_empty_page_without_items(self):
        """An empty API page has no `items` key and yields nothing."""
        assert list(unwrap({"kind": "admin#reports#activities", "etag": '"x"'})) == []

    def test_sourcetypes(self):
        """Splunk sourcetypes follow the Google Workspace add-on."""
        assert SOURCE.sourcetypes == {"google_workspace.login": "gws:reports:login",
                                      "google_workspace.token": "gws:reports:token"}
