"""HEC envelopes: time, metadata, indexed fields, CIM Authentication fields, passthrough."""

from __future__ import annotations

import orjson
from sinkkit import items_of, make_event

from sinks.splunk_hec.encoder import Encoder, cim_fields, epoch_text


def enc(**kw) -> Encoder:
    return Encoder(host="ship-1", **kw)


def envelope(item, **kw) -> dict:
    return orjson.loads(enc(**kw).encode(item))


def test_time_is_epoch_seconds_with_milliseconds():
    """`time` is plain decimal text with three decimals, from @timestamp."""
    assert epoch_text("2024-05-03T02:00:00.123456Z") == b"1714701600.123"
    assert epoch_text("2024-05-03T02:00:00Z") == b"1714701600.000"
    assert epoch_text("2024-05-03T04:00:00.5+02:00") == b"1714701600.500"
    assert epoch_text("not a time") is None


def test_envelope_metadata_and_default_sourcetype():
    """host, source, index from config; sourcetype tokentrail:<event.dataset>."""
    env = envelope(items_of([make_event(1)])[0], source="tokentrail", index="security")
    assert env["host"] == "ship-1" and env["source"] == "tokentrail" and env["index"] == "security"
    assert env["sourcetype"] == "tokentrail:okta.system"
    assert env["time"] == 1714701601.001


def test_fixed_sourcetype_overrides_the_default():
    """A configured sourcetype is used for every event."""
    assert envelope(items_of([make_event(1)])[0], sourcetype="custom:st")["sourcetype"] == "custom:st"


def test_indexed_fields_are_flat_strings():
    """fields holds dataset, outcome, app and the CIM user, all strings."""
    env = envelope(items_of([make_event(1)])[0])
    assert env["fields"] == {"dataset": "okta.system", "outcome": "success", "app": "Confluence Sync",
                             "user": "alice@example.com"}


def test_cim_authentication_fields_are_added_to_the_event():
    """action, app, src, dest, signature, authentication_method sit at the top of the event."""
    ev = envelope(items_of([make_event(1)])[0])["event"]
    assert {k: ev[k] for k in ("action", "app", "src", "dest", "signature", "authentication_method")} == {
        "action": "success", "app": "Confluence Sync", "src": "198.51.100.20", "dest": "okta",
        "signature": "user.authentication.sso", "authentication_method": "PASSWORD"}
    assert ev["user"] == {"name": "alice@example.com", "email": "alice@example.com", "id": "00u1alice"}


def test_cim_action_for_failure_and_unknown():
    """event.outcome failure -> action failure; anything else -> unknown."""
    ev = make_event(1)
    ev["event"]["outcome"] = "failure"
    assert cim_fields(ev)["action"] == "failure"
    ev["event"]["outcome"] = "unknown"
    assert cim_fields(ev)["action"] == "unknown"


def test_cim_can_be_turned_off():
    """cim: false sends the normalized event untouched."""
    item = items_of([make_event(1)])[0]
    assert envelope(item, cim=False)["event"] == item.event


def test_passthrough_sends_the_raw_record_with_the_addon_sourcetype():
    """With passthrough, event.original goes as the event text under the add-on sourcetype."""
    ev = make_event(1)
    ev["event"]["original"] = '{"uuid":"d000","eventType":"user.session.start"}'
    env = envelope(items_of([ev])[0], passthrough=True, addon_sourcetypes={"okta.system": "OktaIM2:log"})
    assert env["sourcetype"] == "OktaIM2:log" and env["event"] == '{"uuid":"d000","eventType":"user.session.start"}'
    assert env["fields"]["dataset"] == "okta.system" and env["time"] == 1714701601.001


def test_passthrough_skips_the_later_events_of_one_record():
    """event.original == "" marks an event whose record already went with the first event."""
    ev = make_event(2)
    ev["event"]["original"] = ""
    assert enc(passthrough=True, addon_sourcetypes={"okta.system": "OktaIM2:log"}).encode(items_of([ev])[0]) is None


def test_passthrough_without_raw_record_sends_normalized_and_counts_it():
    """An event with no raw record is sent normalized (nothing lost), and the encoder counts it."""
    e = enc(passthrough=True, addon_sourcetypes={"okta.system": "OktaIM2:log"})
    env = orjson.loads(e.encode(items_of([make_event(3)])[0]))
    assert env["sourcetype"] == "tokentrail:okta.system" and e.missing_original == 1


def test_datasets_without_addon_are_sent_normalized_in_passthrough():
    """Findings have no add-on sourcetype: they go normalized, without the raw record."""
    ev = make_event(4, dataset="tokentrail.findings")
    ev["event"]["original"] = '{"x":1}'
    env = envelope(items_of([ev])[0], passthrough=True, addon_sourcetypes={"okta.system": "OktaIM2:log"})
    assert env["sourcetype"] == "tokentrail:tokentrail.findings" and "original" not in env["event"]["event"]
