"""The `access` source: dialect reading, client-address rule, outcome, and the Authorization header."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from collectors.access import SOURCE
from collectors.access._addr import choose_client, is_internal, split_address
from collectors.access.envelopes import unwrap
from collectors.access.formats import nginx_local_time
from collectors.access.normalize import authorization_scheme, natural_key, normalize
from enrichers import build_chain
from tokentrail.clock import FixedClock
from tokentrail.errors import RecordError
from tokentrail.pipeline import Processor, Raw

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "access"
DEMO = ROOT / "tokentrail" / "demo" / "access.ndjson"

# A syntactically real JWT (header.payload.signature) used only in these tests.
JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InQxIn0.eyJpc3MiOiJodHRwczovL3Qub2t0YS5leGFtcGxlIiwiY2lkIjoiMG9hVCJ9."
    "c2lnbmF0dXJlLW5vdC1yZWFsLWJ1dC1sb25nLWVub3VnaA"
)
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Credentials in raw input: after a scheme, in a token-like query parameter, or bare in a header field.
CREDENTIAL = re.compile(
    r"(?i)(?:bearer|basic|ssws|dpop|x-custom-scheme)\s+([^\"\s&\\]{8,})"
    r"|(?:access_token|token)=([^&\"\s\\]{8,})"
    r"|authorization\"\s*:\s*\"([^\"\s]{8,})\""
)


def canonical(**extra):
    record = {"timestamp": "2026-03-02T09:00:00Z", "client_ip": "203.0.113.1", "method": "GET",
              "url": "/wiki/rest/api/space", "status": 200}
    record.update(extra)
    return record


def one(record):
    (event,) = normalize(record)
    return event


def shipped(event):
    """The event as a sink would see it, bar the scrubber: everything but the `_tt` working keys."""
    return orjson.dumps({k: v for k, v in event.items() if k != "_tt"}).decode()


class TestOutcome:
    @pytest.mark.parametrize(("status", "outcome"), [(200, "success"), (304, "success"), ("201", "success"),
                                                     (400, "failure"), (401, "failure"), ("503", "failure")])
    def test_status_sets_outcome(self, status, outcome):
        """A status below 400 is success, 400 and above failure."""
        assert one(canonical(status=status))["event"]["outcome"] == outcome

    def test_missing_status_is_unknown(self):
        """Without a status the outcome is unknown and no status code is set."""
        record = canonical()
        del record["status"]
        event = one(record)
        assert event["event"]["outcome"] == "unknown"
        assert "response" not in event.get("http", {})

    def test_envoy_status_zero_is_no_response(self):
        """Envoy's response_code 0 (nothing sent) is unknown, not a success below 400."""
        event = one({"start_time": "2026-03-02T09:00:00.000Z", "method": "GET", "path": "/", "response_code": 0,
                     "response_flags": "DC"})
        assert event["event"]["outcome"] == "unknown"
        assert event["tokentrail"]["access"]["response_flags"] == "DC"

    def test_dash_status_is_unknown(self):
        """NGINX writes `-` for a missing value; it is not a status."""
        event = one({"time_iso8601": "2026-03-02T09:00:00+00:00", "remote_addr": "203.0.113.1", "status": "-"})
        assert event["event"]["outcome"] == "unknown"


class TestTimestamps:
    def test_nginx_time_local_offset(self):
        """`$time_local` with its offset becomes UTC."""
        event = one({"time_local": "02/Mar/2026:10:15:00 +0100", "remote_addr": "203.0.113.1", "status": "200"})
        assert event["@timestamp"] == "2026-03-02T09:15:00.000Z"

    def test_nginx_time_local_rejects_other_text(self):
        """A `$time_local` that is not one is refused, not guessed."""
        assert nginx_local_time("02/Foo/2026:10:15:00 +0100") is None

    def test_nginx_msec(self):
        """`$msec` (epoch seconds with milliseconds, as text) keeps its milliseconds."""
        event = one({"msec": "1772442000.123", "remote_addr": "203.0.113.1", "status": "200"})
        assert event["@timestamp"] == "2026-03-02T09:00:00.123Z"

    def test_nginx_prefers_msec_over_time_local(self):
        """Of NGINX's clocks the most precise wins."""
        event = one({"msec": "1772442000.500", "time_local": "02/Mar/2026:09:00:00 +0000", "remote_addr": "203.0.113.1"})
        assert event["@timestamp"] == "2026-03-02T09:00:00.500Z"

    def test_canonical_epoch_seconds(self):
        """A canonical timestamp may be epoch seconds as a number."""
        assert one(canonical(timestamp=1772442000))["@timestamp"] == "2026-03-02T09:00:00.000Z"

    def test_traefik_nanosecond_fraction(self):
        """Traefik's nine fraction digits are cut to microseconds."""
        event = one({"StartUTC": "2026-03-02T09:00:00.123456789Z", "ClientHost": "203.0.113.1", "DownstreamStatus": 200})
        assert event["@timestamp"] == "2026-03-02T09:00:00.123456Z"

    def test_traefik_start_wins_over_log_time(self):
        """Traefik's `StartUTC` (request start) wins over `time` (when the line was written)."""
        event = one({"StartUTC": "2026-03-02T09:00:00Z", "time": "2026-03-02T09:00:30Z", "ClientHost": "203.0.113.1"})
        assert event["@timestamp"] == "2026-03-02T09:00:00.000Z"

    def test_no_timestamp_names_the_fields(self):
        """A record without a timestamp is refused with the field names it looked for."""
        record = canonical()
        del record["timestamp"]
        with pytest.raises(RecordError, match="no timestamp .*timestamp"):
            normalize(record)


class TestDurations:
    @pytest.mark.parametrize(("record", "ns"), [
        ({"time_iso8601": "2026-03-02T09:00:00Z", "remote_addr": "203.0.113.1", "request_time": "0.031"}, 31_000_000),
        ({"start_time": "2026-03-02T09:00:00Z", "response_code": 200, "duration": 87}, 87_000_000),
        ({"StartUTC": "2026-03-02T09:00:00Z", "ClientHost": "203.0.113.1", "Duration": 54123456}, 54_123_456),
        ({"timestamp": "2026-03-02T09:00:00Z", "client_ip": "203.0.113.1", "duration_ms": 42}, 42_000_000),
    ], ids=["nginx-seconds", "envoy-ms", "traefik-ns", "canonical-ms"])
    def test_duration_units(self, record, ns):
        """Each dialect's duration unit becomes nanoseconds in event.duration."""
        assert one(record)["event"]["duration"] == ns


class TestClientAddress:
    def test_public_peer_ignores_forwarded_for(self):
        """A public peer is the client; X-Forwarded-For from it is the client's own claim."""
        event = one(canonical(client_ip="203.0.113.9", x_forwarded_for="192.0.2.99"))
        assert event["source"]["ip"] == "203.0.113.9"

    def test_internal_peer_takes_rightmost_public_hop(self):
        """Behind our own proxy the client is the right-most public hop, not a spoofable left-most one."""
        assert choose_client("10.0.0.1", ["1.2.3.4", "198.51.100.61", "172.16.0.9"]) == "198.51.100.61"

    def test_all_internal_takes_first_hop(self):
        """When every hop is internal the first hop is the original client."""
        assert choose_client("127.0.0.1", ["192.168.5.20", "10.0.0.3"]) == "192.168.5.20"

    def test_documentation_ranges_are_not_internal(self):
        """192.0.2/24, 198.51.100/24 and 203.0.113/24 count as public (unlike ipaddress.is_private)."""
        assert not any(is_internal(ip) for ip in ("192.0.2.1", "198.51.100.1", "203.0.113.1"))

    @pytest.mark.parametrize(("raw", "expected"), [
        ("203.0.113.5:51234", ("203.0.113.5", 51234)),
        ("[2001:db8::17]:443", ("2001:db8::17", 443)),
        ("2001:db8::17", ("2001:db8::17", None)),
        ("[::ffff:10.0.0.5]:8443", ("10.0.0.5", 8443)),
        ("unix:", (None, None)),
    ])
    def test_split_address(self, raw, expected):
        """Ports and brackets are stripped; an IPv4-mapped address becomes IPv4; a socket is not an IP."""
        assert split_address(raw) == expected

    def test_peer_port_goes_to_source_port(self):
        """Envoy's `ip:port` peer gives source.ip and source.port."""
        event = one({"start_time": "2026-03-02T09:00:00Z", "downstream_remote_address": "198.51.100.4:6000"})
        assert event["source"] == {"ip": "198.51.100.4", "port": 6000}

    def test_forwarded_client_keeps_the_peer(self):
        """When source.ip came from X-Forwarded-For the proxy's address is kept as peer_ip and in related.ip."""
        event = one({"remote_addr": "10.0.4.7", "http_x_forwarded_for": "198.51.100.77",
                     "time_iso8601": "2026-03-02T09:00:00Z"})
        assert event["tokentrail"]["access"]["peer_ip"] == "10.0.4.7"
        assert event["related"]["ip"] == ["198.51.100.77", "10.0.4.7"]


class TestAuthorization:
    def test_raw_header_only_in_working_key(self):
        """The header value is in `_tt.authorization` and nowhere else in the event."""
        event = one(canonical(authorization=f"Bearer {JWT}"))
        assert event["_tt"]["authorization"] == f"Bearer {JWT}"
        assert JWT not in shipped(event)
        assert event["tokentrail"]["access"]["authorization_scheme"] == "Bearer"

    @pytest.mark.parametrize(("value", "scheme"), [
        ("bearer abc.def.ghi", "Bearer"), ("SSWS 00abcdef", "SSWS"), ("Basic Ym90OnB3", "Basic"),
        ("DPoP eyJabc", "DPoP"), ("Negotiate YIIabc", "Negotiate"), ("X-Custom abcdef", "other"),
        ("abcdef0123456789", "bare"), ("REDACTED", "redacted"), ("Bearer", "Bearer"),
    ])
    def test_scheme_names(self, value, scheme):
        """Known schemes get their usual spelling; others are `other`, `bare` or `redacted`."""
        assert authorization_scheme(value) == scheme

    def test_bare_credential_is_not_the_scheme(self):
        """A header without a scheme does not leak its credential as the scheme."""
        event = one(canonical(authorization="g0ldenBareCredentialNoScheme_0123456789"))
        assert "g0ldenBare" not in shipped(event)
        assert event["tokentrail"]["access"]["authorization_scheme"] == "bare"

    def test_traefik_redacted_header(self):
        """Traefik's REDACTED header gives scheme `redacted` and no working key."""
        event = one({"StartUTC": "2026-03-02T09:00:00Z", "ClientHost": "203.0.113.1", "request_Authorization": "REDACTED"})
        assert event["tokentrail"]["access"]["authorization_scheme"] == "redacted"
        assert "_tt" not in event

    def test_no_header(self):
        """Without a header there is neither a scheme nor a working key."""
        event = one(canonical())
        assert "_tt" not in event
        assert "authorization_scheme" not in event["tokentrail"]["access"]

    @pytest.mark.parametrize("record", [
        {"time_iso8601": "2026-03-02T09:00:00Z", "remote_addr": "203.0.113.1", "http_authorization": f"Bearer {JWT}"},
        {"start_time": "2026-03-02T09:00:00Z", "response_code": 200, "authorization": f"Bearer {JWT}"},
        {"StartUTC": "2026-03-02T09:00:00Z", "ClientHost": "203.0.113.1", "request_Authorization": f"Bearer {JWT}"},
    ], ids=["nginx", "envoy", "traefik"])
    def test_every_dialect_fills_the_working_key(self, record):
        """NGINX, Envoy and Traefik header fields all land in `_tt.authorization`."""
        assert one(record)["_tt"]["authorization"] == f"Bearer {JWT}"

    def test_chain_strips_working_key_and_redacts_query_token(self):
        """After the enricher chain no raw token is left, in the header or in the query string."""
        record = canonical(authorization=f"Bearer {JWT}", url=f"/wiki/rest/api/space?access_token={JWT}&limit=5")
        processor = Processor({"access": SOURCE}, build_chain(), FixedClock())
        (event,) = processor.process(Raw("access", orjson.dumps(record), "test")).events
        text = orjson.dumps(event).decode()
        assert JWT not in text and "_tt" not in event
        assert event["url"]["original"] == "/wiki/rest/api/space?access_token=[REDACTED]&limit=5"


class TestShapes:
    def test_envoy_original_path_wins(self):
        """Envoy's x-envoy-original-path (before a rewrite) wins over :path."""
        event = one({"start_time": "2026-03-02T09:00:00Z", ":method": "PUT", ":path": "/rest/api/content/1",
                     "x-envoy-original-path": "/wiki/rest/api/content/1"})
        assert event["url"]["original"] == "/wiki/rest/api/content/1"
        assert event["http"]["request"]["method"] == "PUT"

    def test_nginx_request_line(self):
        """NGINX `$request` gives method, target and version when the split variables are absent."""
        event = one({"time_iso8601": "2026-03-02T09:00:00Z", "remote_addr": "203.0.113.1",
                     "request": "POST /wiki/rest/api/content?x=1 HTTP/2.0"})
        assert event["http"]["request"]["method"] == "POST"
        assert event["http"]["version"] == "2.0"
        assert event["url"] == {"original": "/wiki/rest/api/content?x=1", "path": "/wiki/rest/api/content"}

    def test_host_with_port(self):
        """A Host with a port gives destination.domain, destination.port and url.domain."""
        event = one(canonical(host="Wiki.Example.com:8443"))
        assert event["destination"] == {"domain": "wiki.example.com", "port": 8443}
        assert event["url"]["domain"] == "wiki.example.com"

    def test_unknown_shape(self):
        """An object with no access-log field is refused as an unknown shape."""
        with pytest.raises(RecordError, match="unknown shape"):
            normalize({"level": "info", "msg": "started"})

    def test_docker_wrapper_is_opened(self):
        """Docker's json-file wrapper `{"log": "<json line>"}` yields the proxy's record."""
        inner = {"StartUTC": "2026-03-02T09:00:00Z", "ClientHost": "203.0.113.1"}
        assert list(unwrap({"log": orjson.dumps(inner).decode() + "\n", "stream": "stdout"})) == [inner]

    def test_record_with_plain_message_is_left_alone(self):
        """A canonical record whose `message` is text is not mistaken for a wrapper."""
        record = canonical(message="{not json")
        assert list(unwrap(record)) == [record]


class TestIds:
    def test_request_id_is_not_the_event_id(self):
        """A client-supplied request id cannot collide two requests: it is http.request.id, not event.id."""
        first, second = one(canonical(request_id="abc-123")), one(canonical(request_id="abc-123", status=500))
        assert first["http"]["request"]["id"] == "abc-123"
        assert first["event"]["id"] != second["event"]["id"]
        assert natural_key(canonical(request_id="abc-123")) == "abc-123"

    def test_stable_id_without_request_id(self):
        """Without a request id the id is a hash of the record: the same twice, different for another."""
        assert one(canonical())["event"]["id"] == one(canonical())["event"]["id"]
        assert one(canonical())["event"]["id"] != one(canonical(status=404))["event"]["id"]


def _raw_credentials(text: str) -> set[str]:
    found = set(JWT_SHAPE.findall(text))
    for match in CREDENTIAL.finditer(text):
        found.update(g for g in match.groups() if g and g != "[REDACTED]")
    return found


class TestNoRawTokens:
    @pytest.mark.parametrize("case", sorted(GOLDEN.glob("*.ndjson")), ids=lambda p: p.stem)
    def test_golden_output_has_no_raw_token(self, case):
        """No expected golden output holds a JWT or any credential its input carried."""
        expected = case.with_name(case.stem + "-expected.json").read_text()
        assert not JWT_SHAPE.search(expected)
        leaked = [c for c in _raw_credentials(case.read_text()) if c in expected]
        assert leaked == []

    def test_golden_inputs_do_carry_tokens(self):
        """The golden inputs hold the tokens the test above looks for (the test is not vacuous)."""
        text = "".join(p.read_text() for p in GOLDEN.glob("*.ndjson"))
        assert len(_raw_credentials(text)) >= 8

    def test_demo_output_has_no_raw_token(self):
        """The bundled demo, run through the pipeline, ships no raw credential in events or DLQ records."""
        processor = Processor({"access": SOURCE}, build_chain(), FixedClock())
        results = [processor.process(Raw("access", line, f"demo:{n}"))
                   for n, line in enumerate(DEMO.read_bytes().splitlines(), 1) if line.strip()]
        out = orjson.dumps([r.events + r.dlq for r in results]).decode()
        assert not JWT_SHAPE.search(out)
        assert [c for c in _raw_credentials(DEMO.read_text()) if c in out] == []

    def test_demo_covers_every_dialect_and_the_dlq(self):
        """The demo has 15-40 lines in all four dialects and at least one line for the DLQ."""
        processor = Processor({"access": SOURCE}, build_chain(), FixedClock())
        lines = [line for line in DEMO.read_bytes().splitlines() if line.strip()]
        results = [processor.process(Raw("access", line, "demo")) for line in lines]
        formats = {e["tokentrail"]["access"]["format"] for r in results for e in r.events
                   if e["event"]["dataset"] == "tokentrail.access"}
        assert 15 <= len(lines) <= 40
        assert formats == {"canonical", "nginx", "envoy", "traefik"}
        assert sum(len(r.dlq) for r in results) >= 1
