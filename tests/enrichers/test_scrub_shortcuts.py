"""The scrubber's shortcuts answer exactly as the full patterns would: RE2 called without its wrapper,
the literal pre-tests before a value scan, and the substitutions skipped for strings they cannot match."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.access.normalize import normalize
from enrichers import scrub
from enrichers.scrub import REDACTED, VALUE_PATTERNS, Scrubber, first_hint, has_secret_hint, hinted_outside

PIECES = ["Bearer ", "bearer\t", "Token ", "token issuance.", "Basic abc123==", "Mac OS X 10_15", "SSWS 00ab12",
          "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig", "eyJ", "-----BEGIN RSA PRIVATE KEY-----a\n-----END RSA "
          "PRIVATE KEY-----", "-----BEGIN", "https://user:pa55@host/x", "://", "@", "?access_token=abc123",
          "&code=xyz", "#id_token=q", "password=hunter2", "pwd: s3cret!", "api_key = k", "secret:", "=", ":", " ",
          "\n", "\r", "\f", "\x0b", "\x85", "\xa0", "\u2028", "\u3000", "ſecret=abc", "K", "x", "1", ".", "-",
          "_", "/", "[REDACTED]", "é", '"', "'", ";", "&", "\\u0065yJ", '"password": "x"']
texts = st.lists(st.sampled_from(PIECES), min_size=1, max_size=7).map("".join)


def _reference(s: str, path: str, found: list[tuple[str, str]]) -> str:
    """The walker's substitution as it was: every pattern applied, tokens collected by finditer."""
    tokens = [m.group(0) for m in VALUE_PATTERNS[2][0].finditer(s)]
    for m in VALUE_PATTERNS[1][0].finditer(s):
        if m.group(1) not in tokens:
            tokens.append(m.group(1))
    for m in VALUE_PATTERNS[3][0].finditer(s):
        name = m.group(1).lstrip("?&;#").rstrip("=").lower()
        if name in scrub._TOKEN_PARAMS and m.group(2) not in tokens and m.group(2) != REDACTED:
            tokens.append(m.group(2))
    found.extend((path, t) for t in tokens)
    for pattern, repl in VALUE_PATTERNS:
        s = pattern.sub(scrub._sub_scheme if repl is None else repl, s)
    return s


@settings(max_examples=400, deadline=None)
@given(texts)
def test_value_hint_pre_test(text: str):
    """A string is tested for a value hint exactly as RE2's search over all of it would."""
    assert scrub._value_hint(text) == (scrub._VALUE_HINT.search(text) is not None)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_raw_match_is_search(text: str):
    """has_secret_hint on bytes (RE2 called directly) answers as the wrapper's search."""
    data = text.encode()
    assert scrub._ANY_MATCH is not None
    assert scrub.has_secret_hint(data) == (scrub._ANY_HINT.search(data) is not None)
    assert scrub.has_secret_hint(text) == (scrub._ANY_HINT.search(text) is not None)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_skipped_substitutions(text: str):
    """Skipping the patterns whose literal a string lacks changes neither the string nor the tokens found."""
    mine: list[tuple[str, str]] = []
    theirs: list[tuple[str, str]] = []
    assert Scrubber._scrub_found(text, "p", mine) == _reference(text, "p", theirs)
    assert mine == theirs


AUTH = st.sampled_from(["Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig", "Basic dXNlcjpwYXNz", "Bearer x",
                        "  Bearer eyJhbGciOiJIUzI1NiJ9.e30.s  ", "SSWS 00ab12cd34", "Token abc123", "bearer\tq1",
                        'Bearer a"password": "b', "Bearer eyJ\u00e9.x1", "Negotiate YII=", ""])


@settings(max_examples=600, deadline=None)
@given(auth=AUTH, url=texts, agent=texts, extra=texts, auth_first=st.booleans(), escape=st.booleans())
def test_hint_outside_the_authorization_header(auth: str, url: str, agent: str, extra: str, auth_first: bool,
                                               escape: bool):
    """When the runtime finds the record's only hints inside the Authorization header (which the
    access source takes out of the event), the event itself holds none: skipping its walk is safe."""
    fields = {"timestamp": "2026-03-02T09:00:00Z", "client_ip": "198.51.100.7", "method": "GET",
              "url": "/wiki/" + url, "status": 200, "user_agent": agent, "request_id": extra}
    record = {"authorization": auth, **fields} if auth_first else {**fields, "authorization": auth}
    data = orjson.dumps(record)
    if escape:  # another writer's escaping of the same record: the header may not be found as is
        data = data.replace(b"/", b"\\/")
    first = first_hint(data)
    assert (first >= 0) == has_secret_hint(data)
    for event in normalize(orjson.loads(data)):
        moved = event.get("_tt", {}).get("authorization")
        if first >= 0 and isinstance(moved, str) and not hinted_outside(data, first, moved):
            proper = {k: v for k, v in event.items() if k != "_tt"}
            assert not has_secret_hint(orjson.dumps(proper)), (data, proper)


def test_hint_outside_examples():
    header = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig"
    alone = orjson.dumps({"url": "/wiki/x", "authorization": header})
    assert not hinted_outside(alone, first_hint(alone), header)
    for other in ({"url": "/x?access_token=abc123"}, {"note": header}, {"password": "hunter2"}):
        data = orjson.dumps({"authorization": header, **other})
        assert hinted_outside(data, first_hint(data), header), other
        data = orjson.dumps({**other, "authorization": header})
        assert hinted_outside(data, first_hint(data), header), other
