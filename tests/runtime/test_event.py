"""The fast paths of tokentrail.event give exactly what the general paths give (or fail the same way)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokentrail.errors import RecordError
from tokentrail.event import (
    EPOCH,
    _ts_epoch,
    _ts_rfc3339_z,
    canonical_us,
    epoch_of,
    format_epoch_us,
    format_ts,
    from_epoch,
    is_empty,
    parse_ts,
    second_text,
    ts,
    ts_epoch_nanos,
)

DATES = st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2210, 12, 31), timezones=st.just(UTC))


def _general(value: object, unit: str = "auto") -> str | None:
    try:
        return format_ts(parse_ts(value, unit=unit))
    except RecordError:
        return None


def _strftime(dt: datetime) -> str:
    """format_ts as it was written before its table lookups."""
    us = dt.microsecond
    frac = f"{us // 1000:03d}Z" if us % 1000 == 0 else f"{us:06d}Z"
    return f"{dt.strftime('%Y-%m-%dT%H:%M:%S')}.{frac}"


@settings(max_examples=300)
@given(DATES)
def test_format_ts_matches_strftime(dt: datetime) -> None:
    assert format_ts(dt) == _strftime(dt)


EPOCHS = (st.integers(min_value=-(10**17), max_value=10**17) | st.floats(min_value=-1e17, max_value=1e17)
          | st.sampled_from([float("nan"), float("inf"), 1.5e9 + 0.0000005]))


@settings(max_examples=500)
@given(EPOCHS, st.sampled_from(["auto", "s", "ms", "us"]))
def test_epoch_numbers_match_the_general_path(value: float, unit: str) -> None:
    fast = _ts_epoch(value, unit)
    general = _general(value, unit)
    if fast is not None:
        assert fast == general
    else:
        assert general is None  # out of 1970-2200 or not finite: the general path words the error
    assert (ts(value, unit=unit) if general is not None else None) == general


def test_integer_epoch_out_of_range_raises_as_before() -> None:
    with pytest.raises(RecordError, match="unusable timestamp"):
        ts(-1, field="timestamp")
    with pytest.raises(RecordError, match="unusable timestamp"):
        ts(10**16, field="timestamp", unit="ms")


@settings(max_examples=300)
@given(st.integers(min_value=-(10**11), max_value=10**11), st.integers(min_value=-5, max_value=1_000_000_005))
def test_epoch_nanos_match_from_epoch_nanos(seconds: int, nanos: int) -> None:
    if not 0 <= nanos < 1_000_000_000:
        with pytest.raises(RecordError, match="nano out of range"):
            ts_epoch_nanos(seconds, nanos)
        return
    try:
        dt = EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)  # what the mapping did before
        expected = format_ts(dt) if 1970 <= dt.year <= 2200 else None
    except OverflowError:
        expected = None
    assert ts_epoch_nanos(seconds, nanos) == expected


@settings(max_examples=300)
@given(DATES, st.integers(min_value=0, max_value=9), st.sampled_from(["Z", "+00:00"]))
def test_rfc3339_text_matches_the_general_path(dt: datetime, digits: int, zone: str) -> None:
    fraction = f"{dt.microsecond:06d}{dt.microsecond % 7}{dt.microsecond % 3}{dt.microsecond % 5}"[:digits]
    text = dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "") + zone
    fast = _ts_rfc3339_z(text)
    general = _general(text)
    if fast is not None:
        assert fast == general
    else:
        assert general is None
    assert _ts_rfc3339_z(text) == fast  # the second time its head is known valid: the regex-free path


@settings(max_examples=600)
@given(DATES, st.integers(min_value=0, max_value=9), st.integers(min_value=19, max_value=35), st.characters(),
       st.sampled_from(["Z", "+00:00"]))
def test_rfc3339_text_one_character_off_after_its_head_is_known(dt: datetime, digits: int, pos: int, char: str,
                                                               zone: str) -> None:
    fraction = f"{dt.microsecond:06d}{dt.microsecond % 7}{dt.microsecond % 3}{dt.microsecond % 5}"[:digits]
    text = dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "") + zone
    _ts_rfc3339_z(text)  # its head now cached (when valid)
    for candidate in (text[:pos] + char + text[pos + 1:], text[:pos] + char + text[pos:], text[:pos]):
        fast = _ts_rfc3339_z(candidate)
        assert fast is None or fast == _general(candidate)


@settings(max_examples=300)
@given(DATES, st.integers(min_value=0, max_value=9), st.sampled_from(["Z", "+00:00", "+02:00", ""]))
def test_epoch_of_text_matches_parse_ts(dt: datetime, digits: int, zone: str) -> None:
    fraction = f"{dt.microsecond:06d}{dt.microsecond % 7}{dt.microsecond % 3}{dt.microsecond % 5}"[:digits]
    text = dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "") + zone
    try:
        expected: float | None = parse_ts(text).timestamp()
    except RecordError:
        expected = None
    try:
        got: float | None = epoch_of(text)
    except RecordError:
        got = None
    assert got == expected


@settings(max_examples=400)
@given(DATES, st.integers(min_value=0, max_value=23), st.characters())
def test_canonical_us_is_exact_or_declines(dt: datetime, pos: int, char: str) -> None:
    """The regex-free path: right for `format_ts`'s millisecond form, -1 for any one character off."""
    text = format_ts(dt.replace(microsecond=dt.microsecond // 1000 * 1000))
    for candidate in (text, text[:pos] + char + text[pos + 1:]):
        try:
            expected: datetime | None = parse_ts(candidate)
        except RecordError:
            expected = None
        us = canonical_us(candidate)
        if us >= 0:
            assert expected is not None and format_ts(expected) == candidate
            assert us == (expected - EPOCH) // timedelta(microseconds=1)
        else:
            assert expected is None or format_ts(expected) != candidate
        assert canonical_us(candidate) == us  # and the same once its second is cached


@pytest.mark.parametrize("text", ["2023-02-30T00:00:00Z", "2023-02-28T24:00:00Z", "1969-12-31T23:59:59Z",
                                  "2201-01-01T00:00:00.000Z", "2024-13-01T00:00:00Z"])
def test_invalid_rfc3339_text_is_left_to_the_general_path(text: str) -> None:
    assert _ts_rfc3339_z(text) is None
    assert _ts_rfc3339_z(text) is None  # and the answer is the same once cached
    with pytest.raises(RecordError):
        ts(text)


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=(datetime(2201, 1, 1, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1) - 1))
def test_epoch_microseconds(total: int) -> None:
    dt = EPOCH + timedelta(microseconds=total)
    assert format_epoch_us(total) == format_ts(dt)
    assert second_text(total // 1_000_000) == format_ts(dt)[:19]


def test_from_epoch_still_agrees_with_the_integer_path() -> None:
    for value in (0, 1, 1_700_000_000, 1_700_000_000_123, 1_700_000_000_123_456):
        assert ts(value) == format_ts(from_epoch(value))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner, max_size=2),
    max_leaves=4,
)


@given(JSON)
def test_is_empty_is_the_comparison_it_replaces(value: object) -> None:
    assert is_empty(value) == (value is None or value == "" or value == [] or value == {})


def test_snake_keys_drop_odata_annotations_at_any_depth_every_time() -> None:
    from tokentrail.event import snake_key, snake_keys

    doc = {"@odata.type": "#x", "userId": "u", "items": [{"@odata.id": "y", "appId": "a"}], "geo": {"@odata.etag": "z"}}
    snake_key("@odata.type")  # another caller naming the key must not make the walk keep it
    for _ in range(2):
        assert snake_keys(doc) == {"user_id": "u", "items": [{"app_id": "a"}]}


SKIPPABLE = st.sampled_from(["userId", "appId", "@odata.type", "", "location", "status", "ipAddress", "x"])


@settings(max_examples=200)
@given(st.dictionaries(SKIPPABLE, st.none() | st.text(max_size=3) | st.dictionaries(SKIPPABLE, st.text(max_size=2),
                                                                                    max_size=3), max_size=6),
       st.frozensets(SKIPPABLE, max_size=3), st.booleans())
def test_snake_keys_except_is_snake_keys_of_the_rest(doc: dict, skip: frozenset, as_set: bool) -> None:
    """Its per-`skip` cache of names changes nothing, on the first call or the next ones."""
    from tokentrail.event import snake_keys, snake_keys_except

    expected = snake_keys({k: v for k, v in doc.items() if k not in skip})
    for _ in range(2):
        assert snake_keys_except(doc, set(skip) if as_set else skip) == expected


KEYED = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.floats(allow_nan=False)
    | st.text(max_size=4) | st.datetimes(timezones=st.just(UTC)),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=3) | st.integers(max_value=9, min_value=0), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300)
@given(st.lists(KEYED, min_size=1, max_size=3))
def test_stable_id_is_the_hash_of_the_general_encoding(parts: list[object]) -> None:
    """The str-keys fast path gives the ids the general encoding gave (non-str keys, datetimes...)."""
    import hashlib

    import orjson

    from tokentrail.event import stable_id

    blob = orjson.dumps(tuple(parts), option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    assert stable_id(*parts) == hashlib.sha256(blob).hexdigest()[:32]


def test_event_ingested_is_now_in_whole_seconds() -> None:
    """As Elastic's Fleet final pipeline truncates it; from the system clock and an injected one alike."""
    import time

    from collectors import SOURCES
    from enrichers import build_chain
    from tokentrail.clock import Clock, FixedClock
    from tokentrail.pipeline import Processor, Raw

    line = b'{"uuid": "u-1", "published": "2026-01-01T00:00:00.000Z", "eventType": "user.session.start"}'
    before = int(time.time())
    stamp = Processor(SOURCES, build_chain(), Clock()).process(Raw("okta", line, "t")).events[0]["event"]["ingested"]
    assert stamp.endswith(".000Z")
    assert before <= parse_ts(stamp).timestamp() <= time.time()
    fixed = Processor(SOURCES, build_chain(), FixedClock("2026-03-02T12:00:00.654321Z"))
    assert fixed.process(Raw("okta", line, "t")).events[0]["event"]["ingested"] == "2026-03-02T12:00:00.000Z"
