"""Google Reports API activities against the Google stand-in."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import orjson
import pytest
from conftest import make_input, pem, run_once
from standin_google import SCOPE, GoogleStandIn, activity

from tokentrail.errors import AuthError


@pytest.fixture
def google(clock, rsa_key):
    g = GoogleStandIn(now=clock.time)
    g.public_key = rsa_key.public_key()
    return g


def cfg(secret, google, rsa_key, **kw):
    key_file = secret(orjson.dumps(google.key_json(pem(rsa_key))).decode(), "sa.json")
    base = {"base_url": "https://standin.example", "page_size": 100, "lookback_seconds": 7200,
            "auth": {"kind": "service_account", "key_file": key_file, "subject": "admin@example.com"}}
    base.update(kw)
    return base


def q(req: httpx.Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(req.url.query.decode()).items()}


def test_one_stream_per_application(google, clock, secret, rsa_key):
    """login and token are asked separately, each with startTime/endTime of the window."""
    google.add("login", [activity(i, clock.time() - 600) for i in range(3)])
    google.add("token", [activity(10, clock.time() - 600, "token")])
    got = run_once(make_input("google", cfg(secret, google, rsa_key), google, clock))
    assert len(got.raws) == 4
    paths = [r.url.path for r in google.api_requests()]
    assert paths == ["/admin/reports/v1/activity/users/all/applications/login",
                     "/admin/reports/v1/activity/users/all/applications/token"]
    assert q(google.api_requests()[0])["startTime"] == "2026-03-02T10:00:00.000Z"
    assert q(google.api_requests()[0])["endTime"] == "2026-03-02T12:00:00.000Z"


def test_jwt_bearer_assertion_is_verified_by_the_stand_in(google, clock, secret, rsa_key):
    """The assertion names the service account, the admin as sub and the read-only audit scope."""
    run_once(make_input("google", cfg(secret, google, rsa_key, applications=["login"]), google, clock))
    (claims,) = google.assertions
    assert claims["sub"] == "admin@example.com" and claims["scope"] == SCOPE
    assert claims["exp"] - claims["iat"] <= 3600


def test_a_subject_without_delegation_is_refused(google, clock, secret, rsa_key):
    """unauthorized_client from the token endpoint stops the input with Google's reason."""
    conf = cfg(secret, google, rsa_key)
    conf["auth"]["subject"] = "someone@example.com"
    with pytest.raises(AuthError, match="unauthorized_client: Client is unauthorized"):
        run_once(make_input("google", conf, google, clock))


def test_page_tokens_are_followed_and_empty_pages_have_no_items(google, clock, secret, rsa_key):
    """nextPageToken is passed back as pageToken; a page without `items` is simply empty."""
    google.add("login", [activity(i, clock.time() - 3000 + i) for i in range(250)])
    got = run_once(make_input("google", cfg(secret, google, rsa_key), google, clock))
    reqs = google.api_requests()
    assert len(set(got.keys())) == 250
    assert "pageToken" in q(reqs[1]) and "pageToken" in q(reqs[2])
    assert reqs[-1].url.path.endswith("/token")  # the token application had an empty page


def test_late_activities_within_the_overlap_are_collected_once(google, clock, secret, rsa_key):
    """An activity that shows up an hour after it happened is read by the next, overlapping window."""
    google.add("login", [activity(i, clock.time() - 900 + i) for i in range(5)])
    inp = make_input("google", cfg(secret, google, rsa_key, applications=["login"]), google, clock)
    first = run_once(inp)
    clock.advance(300)
    google.add("login", [activity(77, clock.time() - 3600)], visible_at=clock.time())
    second = run_once(inp)
    assert len(first.raws) == 5
    assert second.keys() == [f"{activity(77, clock.time() - 3600)['id']['time']}/{-(10**18) + 77}"]


def test_quota_403_is_retried_with_backoff(google, clock, secret, rsa_key):
    """A 403 rateLimitExceeded is a quota error, not a permission error: retried."""
    google.add("login", [activity(1, clock.time() - 60)])
    google.faults.append(google.throttled(None, 0))
    google.faults.append(httpx.Response(503, json={"error": {"code": 503, "message": "The service is currently "
                                                             "unavailable.", "status": "UNAVAILABLE"}}))
    got = run_once(make_input("google", cfg(secret, google, rsa_key, applications=["login"]), google, clock))
    assert len(got.raws) == 1


def test_401_is_an_auth_error(google, clock, secret, rsa_key):
    """A token the Reports API keeps refusing stops the input with UNAUTHENTICATED."""
    original = google._token

    def token_that_does_not_work(request):
        resp = original(request)
        google.tokens.clear()
        return resp

    google._token = token_that_does_not_work
    with pytest.raises(AuthError, match="401.*UNAUTHENTICATED"):
        run_once(make_input("google", cfg(secret, google, rsa_key), google, clock))
