"""Confluence Cloud and Data Center audit REST, and Atlassian organization events, against their stand-ins."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest
from conftest import Collector, make_input, run_once
from standin_atlassian import (
    ConfluenceCloudStandIn,
    ConfluenceDataCenterStandIn,
    OrgStandIn,
    cloud_record,
    dc_record,
    org_event,
)

from tokentrail.checkpoint import MemoryStore
from tokentrail.errors import AuthError


def q(req: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(req.url.query.decode()).items()}


def cloud_cfg(secret, **kw):
    base = {"base_url": "https://standin.example", "page_size": 100, "lookback_seconds": 3600,
            "auth": {"kind": "basic", "username": "bot@example.com", "password_file": secret("atlassian-api-token")}}
    base.update(kw)
    return base


def bearer(secret, **kw):
    base = {"base_url": "https://standin.example", "page_size": 100, "lookback_seconds": 3600,
            "auth": {"kind": "bearer", "token_file": secret("standin-token")}}
    base.update(kw)
    return base


# -- Confluence Cloud ---------------------------------------------------------------------------------

def test_cloud_asks_epoch_milliseconds_and_basic_auth(clock, secret):
    """startDate/endDate are epoch ms; the e-mail and API token go as HTTP basic."""
    s = ConfluenceCloudStandIn(now=clock.time)
    s.add([(clock.time() - 60, cloud_record(1, clock.time() - 60))])
    got = run_once(make_input("confluence", cloud_cfg(secret), s, clock))
    req = s.api_requests()[0]
    assert len(got.raws) == 1
    assert q(req)["startDate"] == str(int((clock.time() - 3600) * 1000)) and q(req)["endDate"] == str(int(clock.time() * 1000))
    assert base64.b64decode(req.headers["Authorization"].split()[1]) == b"bot@example.com:atlassian-api-token"


def test_cloud_pages_with_start_and_limit(clock, secret):
    """Offset paging: start grows by the page size until a short page."""
    s = ConfluenceCloudStandIn(now=clock.time)
    s.add([(clock.time() - 3000 + i, cloud_record(i, clock.time() - 3000 + i)) for i in range(230)])
    got = run_once(make_input("confluence", cloud_cfg(secret), s, clock))
    assert [q(r)["start"] for r in s.api_requests()] == ["0", "100", "200"]
    assert len(set(got.keys())) == 230


def test_cloud_records_are_keyed_by_content_and_not_repeated_by_the_overlap(clock, secret):
    """Records without an id are keyed by their hash; the overlapping next window repeats none."""
    s = ConfluenceCloudStandIn(now=clock.time)
    s.add([(clock.time() - 100, cloud_record(1, clock.time() - 100))])
    inp = make_input("confluence", cloud_cfg(secret), s, clock)
    first = run_once(inp)
    clock.advance(60)
    second = run_once(inp)
    assert len(first.raws) == 1 and second.raws == [] and len(first.keys()[0]) >= 16
    assert q(s.api_requests()[-1])["startDate"] == str(int((clock.time() - 60 - 300) * 1000))


def test_cloud_401_is_an_auth_error(clock, secret):
    """A wrong API token stops the input with Atlassian's message, not the token."""
    s = ConfluenceCloudStandIn(now=clock.time)
    conf = cloud_cfg(secret)
    conf["auth"]["password_file"] = secret("bad-token", "bad")
    with pytest.raises(AuthError, match="401.*Client must be authenticated") as err:
        run_once(make_input("confluence", conf, s, clock))
    assert "bad-token" not in str(err.value)


def test_cloud_429_waits_retry_after(clock, secret):
    """429 with Retry-After and X-RateLimit-Reset waits before trying again."""
    s = ConfluenceCloudStandIn(now=clock.time)
    s.add([(clock.time() - 60, cloud_record(1, clock.time() - 60))])
    s.faults.append(s.throttled(None, 29))
    start = clock.time()
    got = run_once(make_input("confluence", cloud_cfg(secret), s, clock))
    assert len(got.raws) == 1 and clock.time() - start >= 30


# -- Confluence Data Center ---------------------------------------------------------------------------

def test_datacenter_uses_iso_times_and_page_cursors(clock, secret):
    """from/to are ISO 8601; pages follow pagingInfo.nextPageCursor; the PAT goes as bearer."""
    s = ConfluenceDataCenterStandIn(now=clock.time)
    s.add([(clock.time() - 3000 + i, dc_record(i, clock.time() - 3000 + i)) for i in range(150)])
    got = run_once(make_input("confluence", bearer(secret, deployment="datacenter"), s, clock))
    reqs = s.api_requests()
    assert len(set(got.keys())) == 150 and len(reqs) == 2
    assert q(reqs[0])["from"] == "2026-03-02T11:00:00.000Z" and "pageCursor" in q(reqs[1])
    assert reqs[0].headers["Authorization"] == "Bearer standin-token"


def test_datacenter_401_names_the_exception(clock, secret):
    """Data Center's error list is summarised in the AuthError."""
    s = ConfluenceDataCenterStandIn(now=clock.time)
    conf = bearer(secret, deployment="datacenter")
    conf["auth"]["token_file"] = secret("nope", "bad")
    with pytest.raises(AuthError, match="Client must be authenticated"):
        run_once(make_input("confluence", conf, s, clock))


# -- Atlassian organization ---------------------------------------------------------------------------

def org_cfg(secret, **kw):
    return bearer(secret, org_id="org-1", **kw)


def test_org_events_window_in_milliseconds_and_cursor_paging(clock, secret):
    """from/to in epoch ms; the next page follows links.next (a cursor) on the same host."""
    s = OrgStandIn(now=clock.time)
    s.add([(clock.time() - 3000 + i, org_event(i, clock.time() - 3000 + i)) for i in range(250)])
    got = run_once(make_input("atlassian", org_cfg(secret), s, clock))
    reqs = s.api_requests()
    assert len(set(got.keys())) == 250 and len(reqs) == 3
    assert q(reqs[0])["from"] == str(int((clock.time() - 3600) * 1000)) and "cursor" in q(reqs[1])
    assert got.keys()[0] == org_event(249, 0)["id"]


def test_org_events_keep_ten_requests_a_minute(clock, secret):
    """Even when many pages are waiting, no 60-second window sees more than 10 requests."""
    s = OrgStandIn(now=clock.time)
    s.page_size = 10
    s.rate_limit = (10, 60.0)
    s.add([(clock.time() - 3000 + i, org_event(i, clock.time() - 3000 + i)) for i in range(300)])
    got = run_once(make_input("atlassian", org_cfg(secret), s, clock))
    assert len(set(got.keys())) == 300 and s.too_many == 0 and s.max_in_window(60.0) == 10


def test_org_events_429_waits(clock, secret):
    """The org API's 429 (Retry-After, X-RateLimit-Reset) is waited out."""
    s = OrgStandIn(now=clock.time)
    s.add([(clock.time() - 60, org_event(1, clock.time() - 60))])
    s.faults.append(s.throttled(None, 59))
    start = clock.time()
    got = run_once(make_input("atlassian", org_cfg(secret), s, clock))
    assert len(got.raws) == 1 and clock.time() - start >= 60


def test_org_events_401_names_the_title(clock, secret):
    """An invalid API key is an AuthError with the error's code and detail."""
    s = OrgStandIn(now=clock.time)
    conf = org_cfg(secret)
    conf["auth"]["token_file"] = secret("expired", "bad")
    with pytest.raises(AuthError, match="unauthorized Unauthorized The API key is invalid"):
        run_once(make_input("atlassian", conf, s, clock))


def test_org_events_resume_after_a_crash(clock, secret):
    """Acknowledged events are not sent again after a restart; the rest are."""
    s = OrgStandIn(now=clock.time)
    s.add([(clock.time() - 3000 + i, org_event(i, clock.time() - 3000 + i)) for i in range(250)])
    store = MemoryStore()
    held = Collector(ack=False)
    first = make_input("atlassian", org_cfg(secret), s, clock, store)
    run_once(first, held)
    held.release(140)
    first.save(force=True)
    got = run_once(make_input("atlassian", org_cfg(secret), s, clock, store))
    assert sorted(held.keys()[:140] + got.keys()) == sorted(org_event(i, 0)["id"] for i in range(250))
