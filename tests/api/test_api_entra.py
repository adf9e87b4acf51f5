"""Microsoft Graph sign-ins and directory audits against the Graph stand-in."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import httpx
import pytest
from conftest import Collector, make_input, pem, run_once
from standin_graph import GraphStandIn, audit, signin

from tokentrail.checkpoint import MemoryStore
from tokentrail.errors import AuthError

TYPES = ["interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity"]


@pytest.fixture
def graph(clock):
    return GraphStandIn(now=clock.time)


def cfg(secret, graph, **kw):
    base = {"base_url": "https://standin.example", "page_size": 50, "lookback_seconds": 3600,
            "auth": {"kind": "client_credentials", "client_id": graph.client_id,
                     "token_url": "https://standin.example/tenant-1/oauth2/v2.0/token",
                     "client_secret_file": secret(graph.client_secret)}}
    base.update(kw)
    return base


def q(req: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(req.url.query.decode()).items()}


def test_each_event_type_has_its_own_query(graph, clock, secret):
    """Interactive sign-ins come from v1.0; the other types from beta with a signInEventTypes filter."""
    now = clock.time()
    graph.add("signIns", [signin(i, now - 600, t) for i, t in enumerate(TYPES)])
    graph.add("directoryAudits", [audit(1, now - 600)])
    got = run_once(make_input("entra", cfg(secret, graph), graph, clock))
    assert len(got.raws) == 5
    reqs = graph.api_requests()
    assert [r.url.path for r in reqs] == ["/v1.0/auditLogs/signIns"] + ["/beta/auditLogs/signIns"] * 3 + [
        "/v1.0/auditLogs/directoryAudits"]
    assert "signInEventTypes/any(t: t eq 'servicePrincipal')" in q(reqs[2])["$filter"]
    assert reqs[1].headers["Prefer"] == "include-unknown-enum-members"
    assert q(reqs[4])["$filter"].startswith("activityDateTime ge ")


def test_window_filter_is_since_lookback_until_now(graph, clock, secret):
    """The first window is [now - lookback, now), in Graph's unquoted ISO form."""
    run_once(make_input("entra", cfg(secret, graph, event_types=["interactiveUser"], directory_audits=False),
                        graph, clock))
    assert q(graph.api_requests()[0])["$filter"] == (
        "createdDateTime ge 2026-03-02T11:00:00Z and createdDateTime lt 2026-03-02T12:00:00Z")
    assert q(graph.api_requests()[0])["$top"] == "50"


def test_follows_odata_next_links(graph, clock, secret):
    """Pages are followed through @odata.nextLink until it is absent."""
    now = clock.time()
    graph.add("signIns", [signin(i, now - 1000 + i) for i in range(120)])
    got = run_once(make_input("entra", cfg(secret, graph, event_types=["interactiveUser"], directory_audits=False),
                              graph, clock))
    assert len(set(got.keys())) == 120 and len(graph.api_requests()) == 3
    assert "$skiptoken" in str(graph.api_requests()[1].url)


def test_overlapping_windows_do_not_repeat_records(graph, clock, secret):
    """The next poll starts overlap_seconds before the last end, and records already sent are skipped."""
    now = clock.time()
    graph.add("signIns", [signin(i, now - 300 + i) for i in range(30)])
    inp = make_input("entra", cfg(secret, graph, event_types=["interactiveUser"], directory_audits=False), graph, clock)
    first = run_once(inp)
    clock.advance(60)
    graph.add("signIns", [signin(100, clock.time() - 5)])
    second = run_once(inp)
    assert len(first.raws) == 30 and second.keys() == [signin(100, 0)["id"]]
    assert q(graph.api_requests()[-1])["$filter"].startswith("createdDateTime ge 2026-03-02T11:45:00Z")


def test_late_sign_ins_inside_the_overlap_are_collected(graph, clock, secret):
    """A sign-in created 10 minutes ago that shows up only now is still read by the next window."""
    inp = make_input("entra", cfg(secret, graph, event_types=["servicePrincipal"], directory_audits=False), graph, clock)
    run_once(inp)
    clock.advance(60)
    graph.add("signIns", [signin(7, clock.time() - 600, "servicePrincipal")], visible_at=clock.time())
    got = run_once(inp)
    assert got.keys() == [signin(7, 0)["id"]]


def test_catch_up_is_split_into_windows(graph, clock, secret):
    """A long lookback is read in window_seconds slices, oldest first."""
    now = clock.time()
    graph.add("signIns", [signin(i, now - 86000 + i * 3600) for i in range(24)])
    inp = make_input("entra", cfg(secret, graph, lookback_seconds=86400, window_seconds=21600, overlap_seconds=900,
                                  event_types=["interactiveUser"], directory_audits=False), graph, clock)
    got = run_once(inp)
    assert len(set(got.keys())) == 24 and len(graph.api_requests()) == 5


def test_429_waits_retry_after(graph, clock, secret):
    """Graph's 429 Retry-After (seconds) is honoured before the retry."""
    graph.add("signIns", [signin(1, clock.time() - 60)])
    graph.faults.append(httpx.Response(429, json={"error": {"code": "TooManyRequests", "message": "slow down"}},
                                       headers={"Retry-After": "41"}))
    start = clock.time()
    got = run_once(make_input("entra", cfg(secret, graph, event_types=["interactiveUser"], directory_audits=False),
                              graph, clock))
    assert len(got.raws) == 1 and clock.time() - start >= 41


def test_client_side_limit_is_five_requests_per_ten_seconds(graph, clock, secret):
    """The default pacing keeps Graph's 5 requests per 10 seconds (no 429 from the stand-in)."""
    graph.rate_limit = (5, 10.0)
    graph.add("signIns", [signin(i, clock.time() - 2000 + i) for i in range(400)])
    got = run_once(make_input("entra", cfg(secret, graph, page_size=20, event_types=["interactiveUser"],
                                          directory_audits=False), graph, clock))
    assert len(got.raws) == 400 and graph.too_many == 0 and graph.max_in_window(10.0) == 5


def test_client_secret_is_sent_to_the_token_endpoint_once(graph, clock, secret):
    """The token request carries client_id, the .default scope of base_url and the secret; it is cached."""
    graph.add("signIns", [signin(i, clock.time() - 60, t) for i, t in enumerate(TYPES)])
    run_once(make_input("entra", cfg(secret, graph), graph, clock))
    assert len(graph.token_requests) == 1
    form = graph.token_requests[0]
    assert form["scope"] == "https://standin.example/.default" and form["grant_type"] == "client_credentials"


def test_wrong_client_secret_is_an_auth_error_with_the_aadsts_code(graph, clock, secret):
    """The token endpoint's refusal names its error and AADSTS code, not the secret."""
    conf = cfg(secret, graph)
    conf["auth"]["client_secret_file"] = secret("not-the-secret", "bad")
    with pytest.raises(AuthError, match="invalid_client: AADSTS7000215") as err:
        run_once(make_input("entra", conf, graph, clock))
    assert "not-the-secret" not in str(err.value)


def test_certificate_assertion_is_verified(graph, clock, secret, rsa_key, tmp_path):
    """A client assertion signed with the certificate's key (x5t = its SHA-1 thumbprint) gets a token."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokentrail")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(rsa_key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=365))
            .sign(rsa_key, hashes.SHA256()))
    graph.certificate = cert
    cert_file = tmp_path / "cert.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    graph.add("signIns", [signin(1, clock.time() - 60)])
    conf = cfg(secret, graph, event_types=["interactiveUser"], directory_audits=False)
    conf["auth"] = {"kind": "client_credentials", "client_id": graph.client_id, "token_url": graph.token_url,
                    "certificate_file": str(cert_file), "key_file": secret(pem(rsa_key), "key.pem")}
    got = run_once(make_input("entra", conf, graph, clock))
    assert len(got.raws) == 1
    assert graph.token_requests[0]["client_assertion_type"].endswith("jwt-bearer")


def test_401_after_a_fresh_token_is_an_auth_error(graph, clock, secret):
    """An access token refused twice (fresh one included) stops the input with Graph's error code."""
    graph.faults.extend([httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken",
                                                             "message": "Access token validation failure."}})] * 2)
    with pytest.raises(AuthError, match="401.*InvalidAuthenticationToken"):
        run_once(make_input("entra", cfg(secret, graph), graph, clock))
    assert len(graph.token_requests) == 2


def test_restart_mid_window_resumes_at_the_next_link(graph, clock, secret):
    """A crash after some pages were acknowledged resumes at the saved nextLink: no gap, no repeat."""
    now = clock.time()
    graph.add("signIns", [signin(i, now - 3000 + i) for i in range(130)])
    conf = cfg(secret, graph, event_types=["interactiveUser"], directory_audits=False)
    store = MemoryStore()
    held = Collector(ack=False)
    first = make_input("entra", conf, graph, clock, store)
    run_once(first, held)
    held.release(75)  # page 1 and half of page 2
    first.save(force=True)
    cursor = store.load("t")["streams"]["interactiveUser"]["cursor"]
    assert "$skiptoken" in cursor["page"]
    got = run_once(make_input("entra", conf, graph, clock, store))
    assert sorted(held.keys()[:75] + got.keys()) == sorted(signin(i, 0)["id"] for i in range(130))


def test_a_stale_skiptoken_reads_the_window_again_without_repeats(graph, clock, secret):
    """If Graph refuses the saved skiptoken, the window is read from its start and seen ids are skipped."""
    now = clock.time()
    graph.add("signIns", [signin(i, now - 3000 + i) for i in range(130)])
    conf = cfg(secret, graph, event_types=["interactiveUser"], directory_audits=False)
    store = MemoryStore()
    held = Collector(ack=False)
    first = make_input("entra", conf, graph, clock, store)
    run_once(first, held)
    held.release(75)
    first.save(force=True)
    graph.faults.append(httpx.Response(400, json={"error": {"code": "Request_BadRequest",
                                                            "message": "Invalid skip token."}}))
    got = run_once(make_input("entra", conf, graph, clock, store))
    assert sorted(held.keys()[:75] + got.keys()) == sorted(signin(i, 0)["id"] for i in range(130))
