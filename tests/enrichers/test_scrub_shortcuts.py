"""The scrubber's shortcuts answer exactly as the full patterns would: RE2 called without its wrapper,
the literal pre-tests before a value scan, and the substitutions skipped for strings they cannot match."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from enrichers import scrub
from enrichers.scrub import REDACTED, VALUE_PATTERNS, Scrubber

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
