"""Confluence audit (Cloud, Data Center file, Data Center REST): the gotchas of the mapping."""

from __future__ import annotations

import pytest

from collectors.confluence.envelopes import unwrap
from collectors.confluence.normalize import natural_key, normalize
from tokentrail.errors import RecordError


def cloud(**over) -> dict:
    record = {
        "author": {"type": "user", "displayName": "John Jacobs", "accountId": "5b10ac8d82e05b22cc7d4ef5",
                   "publicName": "Unknown user", "externalCollaborator": False},
        "remoteAddress": "203.0.113.50", "creationDate": 1643096679092, "summary": "Space created",
        "description": "", "category": "Spaces", "sysAdmin": False, "superAdmin": False,
        "affectedObject": {"name": "Service Catalogue", "objectType": "Space"},
        "changedValues": [], "associatedObjects": [],
    }
    record.update(over)
    return record


def dc_file(action: str = "audit.logging.summary.group.membership.added", **over) -> dict:
    record = {
        "affectedObjects": [{"id": "confluence-users", "name": "confluence-users", "type": "Group"},
                            {"id": "2c95", "name": "admin", "type": "User"}],
        "auditType": {"action": "User added to group", "actionI18nKey": action, "area": "USER_MANAGEMENT",
                      "category": "Users and groups", "categoryI18nKey": "audit.logging.category.user.management",
                      "level": "BASE"},
        "author": {"id": "-2", "name": "Anonymous", "type": "user"},
        "changedValues": [], "extraAttributes": [], "method": "Browser", "source": "198.51.100.20",
        "system": "http://confluence.internal:8090",
        "timestamp": {"epochSecond": 1637624602, "nano": 172000000}, "version": "1.0",
    }
    record.update(over)
    return record


def dc_rest(**over) -> dict:
    record = dc_file(**over)
    record["type"] = record.pop("auditType")
    record["timestamp"] = over.get("timestamp", "2021-11-23T00:39:37.904Z")
    return record


def one(record: dict) -> dict:
    (event,) = normalize(record)
    return event


class TestTimestamps:
    def test_nano_below_tenth_of_second(self):
        """nano 54000000 is .054 s (Elastic's string join reads it as .54 s)."""
        assert one(dc_file(timestamp={"epochSecond": 1637624602, "nano": 54000000}))["@timestamp"] == \
            "2021-11-22T23:43:22.054Z"

    def test_nano_truncated_to_microseconds(self):
        """nano 999999999 keeps microsecond precision without rounding up a second."""
        assert one(dc_file(timestamp={"epochSecond": 1637624602, "nano": 999999999}))["@timestamp"] == \
            "2021-11-22T23:43:22.999999Z"

    def test_nano_missing(self):
        """A timestamp object without nano is whole seconds."""
        assert one(dc_file(timestamp={"epochSecond": 1637624602}))["@timestamp"] == "2021-11-22T23:43:22.000Z"

    def test_nano_out_of_range(self):
        """nano of a full second or more is refused."""
        with pytest.raises(RecordError, match="nano out of range"):
            normalize(dc_file(timestamp={"epochSecond": 1637624602, "nano": 1_000_000_000}))

    def test_rest_iso_with_offset(self):
        """A Data Center REST ISO timestamp with an offset is converted to UTC."""
        assert one(dc_rest(timestamp="2021-11-23T01:39:37.904+01:00"))["@timestamp"] == "2021-11-23T00:39:37.904Z"

    def test_cloud_epoch_ms(self):
        """Cloud creationDate is epoch milliseconds."""
        assert one(cloud())["@timestamp"] == "2022-01-25T07:44:39.092Z"

    @pytest.mark.parametrize("make", [cloud, dc_file, dc_rest])
    def test_missing_timestamp(self, make):
        """A record of any shape without its timestamp is a RecordError."""
        record = make()
        record.pop("creationDate", None)
        record.pop("timestamp", None)
        with pytest.raises(RecordError, match="creationDate|timestamp"):
            normalize(record)


class TestShapes:
    def test_unknown_shape(self):
        """A record of no known shape is refused with a clear reason."""
        with pytest.raises(RecordError, match="unknown Confluence audit shape"):
            normalize({"foo": "bar"})

    def test_no_action(self):
        """A Data Center record without action key or text is refused."""
        record = dc_file()
        record["auditType"] = {"category": "Security"}
        with pytest.raises(RecordError, match="no action"):
            normalize(record)

    def test_rest_type_like_audit_type(self):
        """A REST entity's `type` maps like a file line's `auditType`."""
        a, b = one(dc_file()), one(dc_rest())
        assert a["confluence"]["audit"]["type"] == b["confluence"]["audit"]["type"]
        assert a["event"]["action"] == b["event"]["action"] == "audit.logging.summary.group.membership.added"

    def test_cloud_action_is_summary(self):
        """Cloud event.action is the English summary."""
        assert one(cloud())["event"]["action"] == "Space created"

    def test_envelopes(self):
        """results and entities pages unwrap; empty pages yield nothing."""
        assert len(list(unwrap({"results": [cloud(), cloud()], "start": 0}))) == 2
        assert len(list(unwrap({"entities": [dc_rest()], "pagingInfo": {}}))) == 1
        assert list(unwrap({"results": [], "size": 0})) == []

    def test_event_id_is_record_hash(self):
        """event.id is stable per record, differs between records and equals natural_key."""
        a, b = cloud(), cloud(creationDate=1643096679093)
        assert one(a)["event"]["id"] == one(a)["event"]["id"] == natural_key(a)
        assert one(a)["event"]["id"] != one(b)["event"]["id"]


class TestCategorisation:
    def test_both_spellings_agree(self):
        """The English summary and the i18n key of one action categorise alike."""
        a = one(cloud(summary="User added to group", category="Users and groups"))["event"]
        b = one(dc_file())["event"]
        assert (a["category"], a["type"]) == (b["category"], b["type"]) == (["iam"], ["group", "change"])

    def test_login_success(self):
        """login.success is authentication/start/success."""
        ev = one(dc_file("audit.logging.summary.login.success"))["event"]
        assert (ev["category"], ev["type"], ev["outcome"]) == (["authentication"], ["start"], "success")

    def test_login_failed(self):
        """login.failed is authentication/info/failure."""
        ev = one(dc_file("audit.logging.summary.login.failed"))["event"]
        assert (ev["category"], ev["type"], ev["outcome"]) == (["authentication"], ["info"], "failure")

    def test_personal_access_token_created(self):
        """A personal access token created is iam / admin+creation and names the owner as target."""
        ev = one(dc_file("personal.access.tokens.audit.log.summary.token.created",
                         affectedObjects=[{"id": "2c95", "name": "tuser", "type": "User"}]))
        assert (ev["event"]["category"], ev["event"]["type"]) == (["iam"], ["admin", "creation"])
        assert ev["user"]["target"] == {"name": "tuser", "id": "2c95"}

    def test_space_permission(self):
        """Space permission added is iam+configuration / admin+creation."""
        ev = one(dc_rest(action="audit.logging.summary.space.permission.added"))["event"]
        assert (ev["category"], ev["type"]) == (["iam", "configuration"], ["admin", "creation"])

    def test_fallback_by_area(self):
        """An unlisted user-management action is iam/info; anything else configuration/info."""
        assert one(cloud(summary="User deactivated", category="Users and groups"))["event"]["category"] == ["iam"]
        ev = one(cloud(summary="Space logo uploaded"))["event"]
        assert (ev["category"], ev["type"], ev["outcome"]) == (["configuration"], ["info"], "unknown")


class TestUsers:
    def test_cloud_system_author(self):
        """The Cloud system author is user.full_name System, with no user.id."""
        ev = one(cloud(author={"type": "user", "displayName": "System", "publicName": "Unknown user"}))
        assert ev["user"] == {"full_name": "System"}

    def test_dc_anonymous_author(self):
        """The Data Center anonymous author keeps id -2 and stays out of related.user."""
        ev = one(dc_file())
        assert (ev["user"]["id"], ev["user"]["full_name"]) == ("-2", "Anonymous")
        assert "name" not in ev["user"] and "Anonymous" not in ev["related"].get("user", [])

    def test_author_uri_username(self):
        """The author uri ?username= gives user.name, URL-decoded."""
        ev = one(dc_file(author={"id": "2c95", "name": "T User",
                                 "uri": "http://c:8090/admin/users/viewuser.action?username=t%2Euser"}))
        assert ev["user"]["name"] == "t.user" and "t.user" in ev["related"]["user"]

    def test_login_user_from_affected_object(self):
        """A login event's user comes from its affected User, not the anonymous author."""
        ev = one(dc_file("audit.logging.summary.login.success", affectedObjects=[
            {"id": "2c95", "name": "Test User", "type": "User",
             "uri": "http://c:8090/admin/users/viewuser.action?username=tuser"}]))
        assert ev["user"] == {"id": "2c95", "full_name": "Test User", "name": "tuser"}

    def test_membership_targets(self):
        """Group membership fills user.target and user.target.group."""
        ev = one(dc_file())
        assert ev["user"]["target"] == {"group": {"name": "confluence-users", "id": "confluence-users"},
                                        "name": "admin", "id": "2c95"}

    def test_cloud_group_uuid_split(self):
        """A Cloud group name `name:uuid` splits into group.name and group.id."""
        ev = one(cloud(summary="Group created", category="Users and groups", affectedObject={
            "name": "Change Approvals:12e51e32-77ee-45ef-a643-55d4c7f6327c", "objectType": "Group"}))
        assert ev["group"] == {"name": "Change Approvals", "id": "12e51e32-77ee-45ef-a643-55d4c7f6327c"}

    def test_renamed_user(self):
        """User renamed: the old name is the target, the new one the change."""
        ev = one(dc_file("audit.logging.summary.user.renamed", affectedObjects=[], changedValues=[
            {"i18nKey": "audit.logging.changed.value.username", "key": "Username", "from": "bob", "to": "rob"}]))
        assert (ev["user"]["target"]["name"], ev["user"]["changes"]["name"]) == ("bob", "rob")


class TestCloudObjects:
    def test_changed_values_dc_shape(self):
        """Cloud changedValues become {i18nKey, key, from, to}, empty values dropped."""
        ev = one(cloud(changedValues=[{"name": "Space key", "oldValue": "", "newValue": "SC",
                                       "hiddenOldValue": "", "hiddenNewValue": ""}]))
        assert ev["confluence"]["audit"]["changed_values"] == [{"i18nKey": "Space key", "key": "Space key",
                                                                "to": "SC"}]

    def test_affected_objects_merged(self):
        """associatedObjects and affectedObject merge once each, objectType renamed type."""
        ev = one(cloud(affectedObject={"name": "Page A", "objectType": "Page"},
                       associatedObjects=[{"name": "Page A", "objectType": "Page"},
                                          {"name": "Topics", "objectType": "Space"}]))
        assert ev["confluence"]["audit"]["affected_objects"] == [{"name": "Page A", "type": "Page"},
                                                                 {"name": "Topics", "type": "Space"}]

    def test_empty_affected_object_dropped(self):
        """An affectedObject with empty name and type is dropped."""
        ev = one(cloud(affectedObject={"name": "", "objectType": ""}))
        assert "affected_objects" not in ev["confluence"]["audit"]

    def test_service_address_host(self):
        """Data Center `system` is service.address and its host goes to related.hosts."""
        ev = one(dc_file())
        assert ev["service"]["address"] == "http://confluence.internal:8090"
        assert ev["related"]["hosts"] == ["confluence.internal"]
