"""Unit tests for the entra source: one gotcha per test. Mappings as a whole are covered by goldens."""

from __future__ import annotations

import pytest

from collectors.entra import SOURCE
from collectors.entra._common import duration_ns, parse_ip
from collectors.entra.envelopes import AUDITLOGS, SIGNINLOGS, route
from tokentrail.errors import RecordError

TENANT = "5f1c8e2a-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
ARM_PATH = f"/tenants/{TENANT}/providers/Microsoft.aadiam"


def signin(**props: object) -> dict:
    """A minimal Graph-like sign-in body; keyword arguments override its fields."""
    body = {
        "id": "1a2b3c4d-0001-4e5f-8a9b-000000000001",
        "createdDateTime": "2025-03-04T08:15:02.1234567+00:00",
        "userPrincipalName": "alice.nguyen@example.com",
        "userId": "9f8e7d6c-0001-4b5a-9c8d-000000000a11",
        "userDisplayName": "Alice Nguyen",
        "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "appDisplayName": "Azure Portal",
        "ipAddress": "203.0.113.10",
        "status": {"errorCode": 0},
    }
    body.update(props)
    return body


def eventhub(category: str = "SignInLogs", props: dict | None = None, **envelope: object) -> dict:
    """An Event Hub record (Azure Monitor envelope) around `props`."""
    record = {
        "time": "2025-03-04T08:15:03.0000000Z", "category": category, "tenantId": TENANT,
        "resourceId": ARM_PATH, "operationName": "Sign-in activity", "resultType": "0",
        "properties": signin() if props is None else props,
    }
    record.update(envelope)
    return record


def audit(**props: object) -> dict:
    """A minimal Graph directoryAudit item; keyword arguments override its fields."""
    body = {
        "id": "Directory_5b6c7d8e_0001", "category": "UserManagement", "result": "success",
        "activityDisplayName": "Update user", "activityDateTime": "2025-03-06T10:00:00Z",
        "operationType": "Update", "loggedByService": "Core Directory",
        "initiatedBy": {"user": {"id": "u-1", "userPrincipalName": "bob.martin@example.com", "ipAddress": "198.51.100.7"}},
        "targetResources": [],
    }
    body.update(props)
    return body


def one(record: dict) -> dict:
    """The single event `record` normalizes to."""
    events = SOURCE.normalize(record)
    assert len(events) == 1
    return events[0]


class TestShapes:
    def test_eventhub_body_yields_each_record(self) -> None:
        """An Event Hub body unwraps to its records, whatever their categories."""
        body = {"records": [eventhub(), eventhub("AuditLogs", audit())]}
        assert len(list(SOURCE.unwrap(body))) == 2

    def test_graph_page_yields_value_items(self) -> None:
        """A Graph page unwraps to its `value` items and ignores the paging annotations."""
        page = {"@odata.context": "x", "@odata.nextLink": "https://graph.microsoft.com/next", "value": [signin(), audit()]}
        assert [r["id"] for r in SOURCE.unwrap(page)] == [signin()["id"], audit()["id"]]

    def test_empty_graph_page_yields_nothing(self) -> None:
        """The last, empty page of a Graph listing is not an error."""
        assert list(SOURCE.unwrap({"value": []})) == []

    def test_graph_error_body_is_a_record_error(self) -> None:
        """A Graph error response names its code instead of passing as a record."""
        with pytest.raises(RecordError, match="Authorization_RequestDenied"):
            list(SOURCE.unwrap({"error": {"code": "Authorization_RequestDenied", "message": "no"}}))

    def test_properties_as_json_string_is_parsed(self) -> None:
        """An Event Hub record whose `properties` is JSON text maps like an object."""
        import orjson

        record = eventhub(props=None)
        record["properties"] = orjson.dumps(signin()).decode()
        assert one(record)["user"]["name"] == "alice.nguyen"


class TestRouting:
    @pytest.mark.parametrize("category", [
        "SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs",
    ])
    def test_signin_categories_route_to_signinlogs(self, category: str) -> None:
        """Every sign-in category of the Event Hub lands in azure.signinlogs."""
        assert route(eventhub(category))[0] == SIGNINLOGS

    def test_audit_category_routes_to_auditlogs(self) -> None:
        """The AuditLogs category lands in azure.auditlogs."""
        assert route(eventhub("AuditLogs", audit()))[0] == AUDITLOGS

    def test_unknown_category_is_a_record_error(self) -> None:
        """Another Entra category goes to the DLQ with its name in the reason."""
        with pytest.raises(RecordError, match="unsupported Entra category 'RiskyUsers'"):
            SOURCE.normalize(eventhub("RiskyUsers"))

    def test_graph_signin_routed_by_its_fields(self) -> None:
        """A flat Graph signIn (no envelope, no category) is recognised as a sign-in."""
        assert one(signin())["event"]["dataset"] == SIGNINLOGS

    def test_graph_audit_routed_by_its_fields(self) -> None:
        """A flat directoryAudit, whose own `category` is not an Event Hub category, is an audit record."""
        assert one(audit())["event"]["dataset"] == AUDITLOGS

    def test_unknown_object_is_a_record_error(self) -> None:
        """An object that is neither shape is refused with a clear reason."""
        with pytest.raises(RecordError, match="unknown shape"):
            SOURCE.normalize({"displayName": "a user object"})


class TestTimestamps:
    def test_seven_fraction_digits(self) -> None:
        """Entra's 7-digit fractions parse (truncated to microseconds)."""
        assert one(signin())["@timestamp"] == "2025-03-04T08:15:02.123456Z"

    def test_offset_is_converted_to_utc(self) -> None:
        """An offset in createdDateTime is converted to UTC."""
        event = one(signin(createdDateTime="2019-10-18T04:45:48.0729893-05:00"))
        assert event["@timestamp"] == "2019-10-18T09:45:48.072989Z"

    def test_us_locale_time(self) -> None:
        """The US-locale envelope time (`11/14/2025 1:48:53 AM`) parses when it is the only time."""
        props = signin()
        del props["createdDateTime"]
        assert one(eventhub(props=props, time="11/14/2025 1:48:53 AM"))["@timestamp"] == "2025-11-14T01:48:53.000Z"

    def test_created_datetime_preferred_over_envelope_time(self) -> None:
        """The sign-in's own time wins over the later time Azure Monitor wrote the record."""
        record = eventhub(props=signin(createdDateTime="2026-07-10T20:01:51.9248761+00:00"),
                          time="2026-07-10T20:03:31.2737420Z")
        assert one(record)["@timestamp"] == "2026-07-10T20:01:51.924876Z"

    def test_malformed_created_datetime_falls_back_to_time(self) -> None:
        """A malformed createdDateTime does not lose the record when the envelope time is usable."""
        record = eventhub(props=signin(createdDateTime="not a date"), time="2025-03-08T07:05:00Z")
        assert one(record)["@timestamp"] == "2025-03-08T07:05:00.000Z"

    def test_no_timestamp_is_a_record_error(self) -> None:
        """A record with no usable time at all goes to the DLQ."""
        props = signin()
        del props["createdDateTime"]
        record = eventhub(props=props)
        del record["time"]
        with pytest.raises(RecordError, match="no usable timestamp"):
            SOURCE.normalize(record)


class TestOutcome:
    @pytest.mark.parametrize(("status", "expected"), [
        ({"errorCode": 0}, "success"),
        ({"errorCode": None}, "success"),
        ({"errorCode": 50126}, "failure"),
        ({"errorCode": "50074"}, "failure"),
    ])
    def test_error_code_to_outcome(self, status: dict, expected: str) -> None:
        """status.errorCode null or 0 is success, above 0 failure, as int or string."""
        assert one(signin(status=status))["event"]["outcome"] == expected

    def test_result_type_used_without_status(self) -> None:
        """Without status, the envelope's string resultType decides."""
        props = signin()
        del props["status"]
        assert one(eventhub(props=props, resultType="50053"))["event"]["outcome"] == "failure"

    def test_no_result_at_all_is_unknown(self) -> None:
        """A Graph item with neither status nor resultType has an unknown outcome."""
        props = signin()
        del props["status"]
        assert one(props)["event"]["outcome"] == "unknown"

    def test_failure_message_joins_reason_and_details(self) -> None:
        """message is `failureReason (additionalDetails)` for a failure."""
        status = {"errorCode": 50126, "failureReason": "Invalid password.", "additionalDetails": "Wrong credentials."}
        assert one(signin(status=status))["message"] == "Invalid password. (Wrong credentials.)"

    def test_success_has_no_message(self) -> None:
        """A success keeps Graph's placeholder reason in the namespace, not in message."""
        event = one(signin(status={"errorCode": 0, "failureReason": "Other."}))
        assert "message" not in event
        assert event["azure"]["signinlogs"]["properties"]["status"]["failure_reason"] == "Other."

    def test_audit_result_to_outcome(self) -> None:
        """An audit `result` of failure is the outcome, with resultReason as message."""
        event = one(audit(result="failure", resultReason="Insufficient privileges."))
        assert (event["event"]["outcome"], event["message"]) == ("failure", "Insufficient privileges.")


class TestIdentity:
    def test_upn_split_into_name_and_domain(self) -> None:
        """userPrincipalName gives user.name, user.domain and user.email."""
        user = one(signin())["user"]
        assert (user["name"], user["domain"], user["email"]) == ("alice.nguyen", "example.com", "alice.nguyen@example.com")

    @pytest.mark.parametrize("user_id", [None, ""])
    def test_empty_user_id_dropped(self, user_id: object) -> None:
        """A null or empty userId gives no user.id."""
        assert "id" not in one(signin(userId=user_id))["user"]

    def test_service_principal_has_no_user(self) -> None:
        """A service principal sign-in never gets user.* fields, even with empty-string user fields."""
        props = signin(userPrincipalName="", userId="", userDisplayName="", servicePrincipalId="sp-1",
                       servicePrincipalName="confluence-sync")
        event = one(eventhub("ServicePrincipalSignInLogs", props))
        assert "user" not in event
        assert event["service"]["name"] == "confluence-sync"

    def test_service_principal_category_wins_over_filled_upn(self) -> None:
        """In a service principal category a filled UPN is not turned into a user."""
        assert "user" not in one(eventhub("ServicePrincipalSignInLogs", signin(servicePrincipalId="sp-1")))

    def test_graph_service_principal_by_event_type(self) -> None:
        """A Graph item with signInEventTypes [servicePrincipal] has no user and gets its category."""
        event = one(signin(userPrincipalName="", userId="", signInEventTypes=["servicePrincipal"]))
        assert "user" not in event
        assert event["azure"]["signinlogs"]["category"] == "ServicePrincipalSignInLogs"

    def test_empty_strings_dropped_from_properties(self) -> None:
        """Empty strings (servicePrincipalId for users) do not reach the namespace."""
        assert "service_principal_id" not in one(signin(servicePrincipalId=""))["azure"]["signinlogs"]["properties"]

    def test_audit_app_actor_is_not_a_user(self) -> None:
        """An app that acted stays under initiated_by.app and sets no user.*."""
        app = {"appId": "a-1", "displayName": "terraform-ci", "servicePrincipalId": "sp-9"}
        event = one(audit(initiatedBy={"app": app, "user": None}))
        assert "user" not in event
        assert event["azure"]["auditlogs"]["properties"]["initiated_by"]["app"]["app_id"] == "a-1"

    def test_audit_user_actor_maps_to_user(self) -> None:
        """A user who acted becomes user.* and the source address."""
        event = one(audit())
        assert (event["user"]["name"], event["source"]["ip"]) == ("bob.martin", "198.51.100.7")


class TestAddresses:
    @pytest.mark.parametrize(("raw", "expected"), [
        ("[2001:db8::5]:51234", ("2001:db8::5", 51234)),
        ("203.0.113.9:443", ("203.0.113.9", 443)),
        ("2001:db8:85a3::8a2e:370:7334", ("2001:db8:85a3::8a2e:370:7334", None)),
        ("203.0.113.9", ("203.0.113.9", None)),
        ("unknown", (None, None)),
    ])
    def test_caller_ip_forms(self, raw: str, expected: tuple) -> None:
        """callerIpAddress loses its port and brackets; a bare IPv6 is not cut at a colon."""
        assert parse_ip(raw) == expected

    def test_ip_address_preferred_over_caller_ip(self) -> None:
        """properties.ipAddress wins over the envelope callerIpAddress."""
        record = eventhub(props=signin(ipAddress="192.0.2.15"), callerIpAddress="198.51.100.99")
        assert one(record)["source"]["ip"] == "192.0.2.15"

    def test_caller_ip_used_without_ip_address(self) -> None:
        """Without properties.ipAddress the stripped callerIpAddress is the source."""
        record = eventhub(props=signin(ipAddress=""), callerIpAddress="[2001:db8::5]:51234")
        assert one(record)["related"]["ip"] == ["2001:db8::5"]


class TestTypesDrift:
    @pytest.mark.parametrize(("raw", "expected"), [(0, 0), ("0", 0), ("1250", 1_250_000_000), ("n/a", None), (None, None)])
    def test_duration_ms_to_ns(self, raw: object, expected: int | None) -> None:
        """durationMs as int or string becomes nanoseconds; junk is skipped."""
        assert duration_ns(raw) == expected

    @pytest.mark.parametrize(("envelope", "expected"), [({"Level": 4}, "4"), ({"level": "Informational"}, "Informational")])
    def test_level_either_case(self, envelope: dict, expected: str) -> None:
        """Both `Level` (int) and `level` (text) give log.level as text."""
        assert one(eventhub(**envelope))["log"]["level"] == expected

    def test_result_type_kept_as_text(self) -> None:
        """resultType is kept as text even when Azure sends a number."""
        assert one(eventhub(resultType=0))["azure"]["signinlogs"]["result_type"] == "0"


class TestProviderFields:
    def test_resource_ids_kept_apart(self) -> None:
        """The envelope resourceId and properties.resourceId go to different fields."""
        event = one(eventhub(props=signin(resourceId="00000003-0000-0000-c000-000000000000")))
        assert event["azure"]["resource"]["id"] == ARM_PATH
        assert event["azure"]["signinlogs"]["properties"]["resource_id"] == "00000003-0000-0000-c000-000000000000"

    def test_tenant_from_resource_id(self) -> None:
        """Without tenantId, the tenant comes from the envelope's ARM path."""
        record = eventhub()
        del record["tenantId"]
        assert one(record)["azure"]["tenant_id"] == TENANT

    def test_processing_details_become_a_map(self) -> None:
        """authenticationProcessingDetails turns into a map keyed by each item's key."""
        details = [{"key": "Is CAE Token", "value": "True"}, {"key": "Root Key Type", "value": ""}]
        props = one(signin(authenticationProcessingDetails=details))["azure"]["signinlogs"]["properties"]
        assert props["authentication_processing_details"] == {"Is CAE Token": "True"}

    def test_token_fields_kept_for_the_token_enricher(self) -> None:
        """Client and token facts stay under properties, snake_cased."""
        props = one(signin(uniqueTokenIdentifier="dGVzdA", incomingTokenType="refreshToken",
                           clientCredentialType="none", authenticationProtocol="oAuth2"))["azure"]["signinlogs"]["properties"]
        assert {k: props[k] for k in ("app_id", "unique_token_identifier", "incoming_token_type",
                                      "authentication_protocol")} == {
            "app_id": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "unique_token_identifier": "dGVzdA",
            "incoming_token_type": "refreshToken", "authentication_protocol": "oAuth2"}

    def test_elastic_renames(self) -> None:
        """createdDateTime, processingTimeInMilliseconds and riskLevelDuringSignIn take Elastic's names."""
        props = one(signin(processingTimeInMilliseconds=65, riskLevelDuringSignIn="low"))["azure"]["signinlogs"]["properties"]
        assert (props["created_at"], props["processing_time_ms"], props["risk_level_during_signin"]) == (
            "2025-03-04T08:15:02.123456Z", 65, "low")

    def test_odata_annotations_dropped(self) -> None:
        """Graph `@odata.type` annotations do not reach the event."""
        loc = {"city": "Berlin", "geoCoordinates": {"@odata.type": "#microsoft.graph.geoCoordinates", "latitude": 52.5}}
        event = one(signin(**{"@odata.type": "#microsoft.graph.signIn", "location": loc}))
        assert "@odata" not in str(event)

    def test_audit_targets_indexed_by_position(self) -> None:
        """targetResources and their modifiedProperties become maps keyed by position."""
        target = {"id": "u-2", "type": "User", "userPrincipalName": "carol.diaz@example.com",
                  "modifiedProperties": [{"displayName": "AccountEnabled", "oldValue": "[true]", "newValue": "[false]"}]}
        event = one(audit(targetResources=[target]))
        mod = event["azure"]["auditlogs"]["properties"]["target_resources"]["0"]["modified_properties"]["0"]
        assert mod == {"display_name": "AccountEnabled", "old_value": "[true]", "new_value": "[false]"}
        assert event["user"]["target"]["name"] == "carol.diaz"


class TestIds:
    def test_event_id_is_the_provider_id(self) -> None:
        """event.id is the sign-in's own id."""
        assert one(eventhub())["event"]["id"] == "1a2b3c4d-0001-4e5f-8a9b-000000000001"

    def test_natural_key_for_both_shapes(self) -> None:
        """natural_key reads properties.id for Event Hub records and id for Graph items."""
        assert SOURCE.natural_key(eventhub()) == SOURCE.natural_key(signin()) == "1a2b3c4d-0001-4e5f-8a9b-000000000001"

    def test_sourcetypes(self) -> None:
        """Both datasets use the Event Hub add-on's sourcetype."""
        assert SOURCE.sourcetypes == {SIGNINLOGS: "azure:monitor:aad", AUDITLOGS: "azure:monitor:aad"}
