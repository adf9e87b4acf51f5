"""Okta System Log polling against the Okta stand-in (httpx.MockTransport, fixed clock)."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs

import httpx
import orjson
import pytest
from conftest import Collector, make_input, pem, run_once
from standin_okta import OktaStandIn, okta_event

from tokentrail.checkpoint import MemoryStore
from tokentrail.errors import AuthError, FetchError, Unavailable


def events(n: int, start: int = 0, published: str = "2026-03-02T11:30:00.000Z") -> list[dict]:
    return [okta_event(i, published) for i in range(start, start + n)]


@pytest.fixture
def okta(clock):
    s = OktaStandIn(now=clock.time)
    return s


def cfg(secret, **kw):
    base = {"base_url": "https://standin.example", "auth": {"kind": "ssws", "token_file": secret("ssws-test-token")},
            "page_size": 100, "lookback_seconds": 3600}
    base.update(kw)
    return base


def params(req: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(req.url.query.decode()).items()}


def test_first_request_is_a_polling_query_since_the_lookback(okta, clock, secret):
    """The first call asks since = now - lookback, ASCENDING, no until."""
    okta.add(events(3), persisted_at=clock.time() - 60)
    run_once(make_input("okta", cfg(secret), okta, clock))
    p = params(okta.api_requests()[0])
    assert p["since"] == "2026-03-02T11:00:00.000Z"
    assert p["sortOrder"] == "ASCENDING" and p["limit"] == "100" and "until" not in p


def test_follows_next_links_until_a_short_page(okta, clock, secret):
    """Full pages are followed at once; the short last page ends the catch-up."""
    okta.add(events(250), persisted_at=clock.time() - 60)
    got = run_once(make_input("okta", cfg(secret), okta, clock))
    assert len(got.raws) == 250 and len(set(got.keys())) == 250
    assert len(okta.api_requests()) == 3
    assert all("after" in params(r) for r in okta.api_requests()[1:])


def test_one_raw_per_record_keyed_by_uuid(okta, clock, secret):
    """Each raw is one LogEvent as Okta sent it, with its uuid as the key."""
    okta.add(events(2), persisted_at=clock.time() - 60)
    got = run_once(make_input("okta", cfg(secret), okta, clock))
    first = orjson.loads(got.raws[0].data)
    assert first["uuid"] == got.raws[0].key.decode() == "00000000-0000-0000-0000-000000000001"
    assert got.raws[0].source == "okta" and got.raws[0].origin.startswith("api:t/logs:")


def test_empty_page_still_advances_to_its_next_link(okta, clock, secret):
    """An empty page's next link becomes the checkpoint, and the next poll asks that link."""
    store = MemoryStore()
    inp = make_input("okta", cfg(secret), okta, clock, store)
    run_once(inp)
    inp.close()
    saved = store.load("t")["streams"]["logs"]["cursor"]["next"]
    assert "after=" in saved
    okta.add(events(2), persisted_at=clock.time())
    again = make_input("okta", cfg(secret), okta, clock, store)
    got = run_once(again)
    assert str(okta.api_requests()[-1].url) == saved
    assert len(got.raws) == 2


def test_late_events_with_older_published_times_are_collected(okta, clock, secret):
    """A delayed event (published an hour ago, persisted now) arrives through the next link: no re-windowing."""
    okta.add(events(5), persisted_at=clock.time() - 60)
    store = MemoryStore()
    inp = make_input("okta", cfg(secret), okta, clock, store)
    run_once(inp)
    clock.advance(30)
    okta.add([okta_event(99, "2026-03-02T10:00:00.000Z")], persisted_at=clock.time())
    got = run_once(inp)
    assert got.keys() == [okta_event(99, "x")["uuid"]]
    assert "since" not in params(okta.api_requests()[-1])


def test_restart_after_a_crash_mid_page_has_no_gap_and_no_duplicate(okta, clock, secret):
    """Only acknowledged records count: a restart re-reads the page and skips what was already safe."""
    okta.add(events(150), persisted_at=clock.time() - 60)
    store = MemoryStore()
    held = Collector(ack=False)
    first = make_input("okta", cfg(secret), okta, clock, store)
    run_once(first, held)
    held.release(130)  # page 1 and 30 records of page 2 reach the sinks; then the process dies
    first.save(force=True)
    got = run_once(make_input("okta", cfg(secret), okta, clock, store))
    delivered = held.keys()[:130] + got.keys()
    assert sorted(delivered) == sorted(e["uuid"] for e in events(150))


def test_unacknowledged_records_do_not_move_the_checkpoint(okta, clock, secret):
    """A record whose delivery failed keeps the checkpoint before it."""
    okta.add(events(5), persisted_at=clock.time() - 60)
    store = MemoryStore()
    held = Collector(ack=False)
    inp = make_input("okta", cfg(secret), okta, clock, store)
    run_once(inp, held)
    held.release(2)
    held.release(1, error=RuntimeError("sink down"))
    held.release()
    inp.save(force=True)
    assert "next" not in store.load("t")["streams"]["logs"]["cursor"]


def test_429_waits_until_x_rate_limit_reset(okta, clock, secret):
    """After a 429 the input sleeps until the epoch second in X-Rate-Limit-Reset, then goes on."""
    okta.add(events(3), persisted_at=clock.time() - 60)
    reset = int(clock.time()) + 42
    okta.faults.append(httpx.Response(429, json={"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit"},
                                      headers={"X-Rate-Limit-Limit": "60", "X-Rate-Limit-Remaining": "0",
                                               "X-Rate-Limit-Reset": str(reset)}))
    got = run_once(make_input("okta", cfg(secret), okta, clock))
    assert len(got.raws) == 3
    assert clock.time() >= reset


def test_remaining_zero_pauses_before_the_next_request(okta, clock, secret):
    """With X-Rate-Limit-Remaining at 0 the input waits for the reset instead of earning a 429."""
    okta.add(events(300), persisted_at=clock.time() - 60)
    okta.okta_limit = (2, 60.0)
    got = run_once(make_input("okta", cfg(secret), okta, clock))
    assert len(got.raws) == 300
    assert okta.too_many == 0 and len(okta.api_requests()) == 4


def test_client_side_limit_spreads_requests(okta, clock, secret):
    """No more than rate_limit_requests go out in any rate_limit_seconds window."""
    okta.add(events(1000), persisted_at=clock.time() - 60)
    okta.rate_limit = (3, 10.0)
    got = run_once(make_input("okta", cfg(secret, rate_limit_requests=3, rate_limit_seconds=10), okta, clock))
    assert len(got.raws) == 1000 and okta.too_many == 0
    assert okta.max_in_window(10.0) == 3


def test_401_stops_with_oktas_error_code(okta, clock, secret):
    """A refused token is an AuthError naming E0000011, without the token."""
    inp = make_input("okta", cfg(secret, auth={"kind": "ssws", "token_file": secret("wrong-token", "bad")}), okta, clock)
    with pytest.raises(AuthError, match="401.*E0000011 Invalid token provided") as err:
        run_once(inp)
    assert "wrong-token" not in str(err.value)


def test_5xx_is_retried_with_backoff(okta, clock, secret):
    """Two 500s, then the page: every record arrives."""
    okta.add(events(3), persisted_at=clock.time() - 60)
    okta.faults.extend([httpx.Response(500, json={"errorCode": "E0000009", "errorSummary": "Internal Server Error"}),
                        httpx.Response(503, text="upstream down")])
    got = run_once(make_input("okta", cfg(secret), okta, clock))
    assert len(got.raws) == 3 and len(okta.api_requests()) == 3


def test_network_errors_are_retried(okta, clock, secret):
    """A connection error counts as unavailable and is retried."""
    okta.add(events(1), persisted_at=clock.time() - 60)

    def boom(request):
        raise httpx.ConnectError("connection refused", request=request)

    okta.faults.append(boom)
    got = run_once(make_input("okta", cfg(secret), okta, clock))
    assert len(got.raws) == 1


def test_persistent_5xx_fails_a_once_run(okta, clock, secret):
    """After max_retries, --once gives up with Unavailable (the checkpoint is untouched)."""
    okta.faults.extend([httpx.Response(500, json={"errorCode": "E0000009", "errorSummary": "x"})] * 5)
    with pytest.raises(Unavailable, match="HTTP 500 E0000009"):
        run_once(make_input("okta", cfg(secret, max_retries=2), okta, clock))


def test_private_key_jwt_token_is_verified_and_cached(okta, clock, secret, rsa_key):
    """The stand-in verifies the client assertion with the public key; one token serves many pages."""
    okta.register_client("0oa1service", rsa_key.public_key())
    okta.add(events(250), persisted_at=clock.time() - 60)
    auth = {"kind": "oauth_private_key_jwt", "client_id": "0oa1service", "key_file": secret(pem(rsa_key), "key.pem"),
            "key_id": "kid-1", "token_url": "https://standin.example/oauth2/v1/token"}
    got = run_once(make_input("okta", cfg(secret, auth=auth), okta, clock))
    assert len(got.raws) == 250
    assert okta.token_requests == 1 and len(okta.api_requests()) == 3
    assert okta.api_requests()[0].headers["Authorization"].startswith("Bearer at-")


def test_private_key_jwt_token_is_renewed_after_expiry(okta, clock, secret, rsa_key):
    """Once the cached token is near expiry a new assertion is signed and exchanged."""
    okta.register_client("0oa1service", rsa_key.public_key())
    auth = {"kind": "oauth_private_key_jwt", "client_id": "0oa1service", "key_file": secret(pem(rsa_key), "key.pem")}
    inp = make_input("okta", cfg(secret, auth=auth), okta, clock)
    run_once(inp)
    clock.advance(3590)
    run_once(inp)
    assert okta.token_requests == 2 and okta.rejected == 0


def test_private_key_jwt_with_the_wrong_key_is_refused(okta, clock, secret, rsa_key):
    """An assertion signed with another key fails at the token endpoint with invalid_client."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    okta.register_client("0oa1service", rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    auth = {"kind": "oauth_private_key_jwt", "client_id": "0oa1service", "key_file": secret(pem(rsa_key), "key.pem")}
    with pytest.raises(AuthError, match="invalid_client: The client_assertion signature is invalid"):
        run_once(make_input("okta", cfg(secret, auth=auth), okta, clock))


def test_a_revoked_access_token_is_replaced_once(okta, clock, secret, rsa_key):
    """A 401 on a cached OAuth token fetches a new token once, then succeeds."""
    okta.register_client("0oa1service", rsa_key.public_key())
    okta.add(events(150), persisted_at=clock.time() - 60)
    auth = {"kind": "oauth_private_key_jwt", "client_id": "0oa1service", "key_file": secret(pem(rsa_key), "key.pem")}
    inp = make_input("okta", cfg(secret, auth=auth), okta, clock)
    held = Collector()
    original = okta._logs
    calls = {"n": 0}

    def revoke_after_first(request):
        calls["n"] += 1
        if calls["n"] == 2:
            okta.access_tokens.clear()
        return original(request)

    okta._logs = revoke_after_first
    run_once(inp, held)
    assert len(held.raws) == 150 and okta.token_requests == 2


def test_end_time_makes_a_bounded_query_that_finishes(okta, clock, secret):
    """A backfill window (start_time, end_time) asks since+until and finishes without a next link."""
    okta.add(events(120), persisted_at=clock.time() - 7200)
    okta.add(events(5, start=500), persisted_at=clock.time() - 60)
    inp = make_input("okta", cfg(secret, start_time="2026-03-02T09:00:00Z", end_time="2026-03-02T11:00:00Z"),
                     okta, clock)
    got = Collector()
    inp.run(got.emit, threading.Event(), once=False)  # returns by itself: the stream finished
    assert len(got.raws) == 120
    assert params(okta.api_requests()[0])["until"] == "2026-03-02T11:00:00.000Z"


def test_a_next_link_to_another_host_is_refused(okta, clock, secret):
    """Credentials never follow a link to a host other than base_url."""
    okta.add(events(100), persisted_at=clock.time() - 60)
    okta.faults.append(lambda req: httpx.Response(200, json=[], headers={
        "Link": '<https://attacker.example/api/v1/logs?after=x>; rel="next"'}))
    inp = make_input("okta", cfg(secret), okta, clock)
    run_once(inp)
    with pytest.raises(FetchError, match="attacker.example"):
        run_once(inp)


def test_429_with_a_reset_already_past_backs_off(okta, clock, secret):
    """Clocks disagree: a reset time in the past still gets a backoff wait, not an immediate retry."""
    okta.add(events(1), persisted_at=clock.time() - 60)
    okta.faults.append(httpx.Response(429, json={"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit"},
                                      headers={"X-Rate-Limit-Remaining": "0",
                                               "X-Rate-Limit-Reset": str(int(clock.time()) - 30)}))
    start = clock.time()
    got = run_once(make_input("okta", cfg(secret), okta, clock))
    assert len(got.raws) == 1 and clock.time() > start
