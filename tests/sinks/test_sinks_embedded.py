"""Both sinks in the embedded mode (`tokentrail run` with a config listing them): documents land once,
HEC passthrough carries the raw records, and the file checkpoint follows the sinks' acknowledgements."""

from __future__ import annotations

from pathlib import Path

import orjson
import yaml
from sinkkit import ACK_TOKEN

from tokentrail.config import load
from tokentrail.runtime import Embedded


def okta_record(i: int) -> dict:
    return {
        "uuid": f"c0000000-0000-4000-8000-{i:012d}", "published": f"2024-05-02T09:00:{i:02d}.000Z",
        "eventType": "user.session.start", "displayMessage": "User login to Okta", "severity": "INFO",
        "version": "0", "legacyEventType": "core.user_auth.login_success",
        "actor": {"id": "00u1alice0000000001", "type": "User", "alternateId": "alice@example.com",
                  "displayName": "Alice Example"},
        "client": {"ipAddress": "203.0.113.10", "device": "Computer",
                   "userAgent": {"rawUserAgent": "Mozilla/5.0 (X11; Linux x86_64)", "browser": "FIREFOX",
                                 "os": "Linux"}},
        "outcome": {"result": "SUCCESS"},
        "authenticationContext": {"authenticationStep": 0, "credentialType": "PASSWORD",
                                  "externalSessionId": "idxAbC123sessionX"},
        "transaction": {"id": f"tx-{i}", "type": "WEB", "detail": {}},
    }


GOOGLE_TWO_EVENTS = {
    "kind": "admin#reports#activity",
    "id": {"time": "2025-01-15T12:01:00Z", "uniqueQualifier": "77", "applicationName": "login",
           "customerId": "C03az79cb"},
    "actor": {"callerType": "USER", "email": "bob@example.com", "profileId": "100000000000000000009"},
    "ipAddress": "198.51.100.7",
    "events": [{"type": "login", "name": "login_challenge", "parameters": [{"name": "login_type", "value": "saml"}]},
               {"type": "login", "name": "login_success", "parameters": [{"name": "login_type", "value": "saml"}]}],
}


def write_config(tmp_path: Path, es_url: str, namespace: str, hec_url: str, token_file: str) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "okta.ndjson").write_bytes(b"\n".join(orjson.dumps(okta_record(i)) for i in range(6)) + b"\n")
    (logs / "google.ndjson").write_bytes(orjson.dumps(GOOGLE_TWO_EVENTS) + b"\n")
    cfg = {
        "inputs": [{"source": "okta", "kind": "file", "path": str(logs / "okta.ndjson"), "name": "okta-file"},
                   {"source": "google", "kind": "file", "path": str(logs / "google.ndjson"), "name": "gws-file"}],
        "sinks": [{"kind": "elasticsearch", "name": "es", "hosts": [es_url], "namespace": namespace},
                  {"kind": "splunk_hec", "name": "splunk", "url": hec_url, "token_file": token_file, "ack": True,
                   "passthrough": True, "ack_poll_seconds": 0.1}],
        "dlq": {"path": str(tmp_path / "dlq.ndjson")},
        "state_dir": str(tmp_path / "state"),
        "pipeline": {"batch_seconds": 0.05},
    }
    path = tmp_path / "tokentrail.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_embedded_run_ships_to_both_sinks_and_moves_checkpoints(tmp_path, es_server, namespace, hec, secret_file):
    """6 Okta records and a 2-event Google activity: 8 documents in Elasticsearch, 7 raw records in Splunk."""
    token = secret_file(ACK_TOKEN, "hec-token")
    cfg = load(write_config(tmp_path, es_server.url, namespace, hec.url, token.file))
    assert Embedded(cfg).run(once=True) == 0
    assert es_server.count(f"logs-okta.system-{namespace}") == 6
    assert es_server.count(f"logs-google_workspace.login-{namespace}") == 2
    assert all("original" not in h["_source"]["event"] for h in es_server.search(f"logs-*-{namespace}"))
    by_st: dict[str, list] = {}
    for e in hec.state.events:
        by_st.setdefault(e["sourcetype"], []).append(e)
    assert len(by_st["OktaIM2:log"]) == 6 and len(by_st["gws:reports:login"]) == 1
    raw = orjson.loads(by_st["OktaIM2:log"][0]["event"])
    assert raw["uuid"].startswith("c0000000-") and raw["eventType"] == "user.session.start"
    assert by_st["gws:reports:login"][0]["fields"]["dataset"] == "google_workspace.login"
    state = {p.name for p in (tmp_path / "state").iterdir()}
    assert {"okta-file.json", "gws-file.json"} <= state


def test_replaying_the_files_adds_no_document(tmp_path, es_server, namespace, hec, secret_file):
    """Without checkpoints the same files are read again: Elasticsearch answers 409s, no new document."""
    token = secret_file(ACK_TOKEN, "hec-token")
    cfg = load(write_config(tmp_path, es_server.url, namespace, hec.url, token.file))
    assert Embedded(cfg).run(once=True) == 0
    for p in (tmp_path / "state").iterdir():
        p.unlink()
    assert Embedded(cfg).run(once=True) == 0
    assert es_server.count(f"logs-okta.system-{namespace}") == 6
    assert len(hec.state.events) == 14  # Splunk cannot deduplicate: at-least-once (docs/sinks.md)
