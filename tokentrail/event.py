"""Helpers shared by every source mapping: timestamps, ids, dotted puts, names.

Events are plain nested dicts in ECS shape. Working keys live under `_tt` and are stripped by the
final enricher step; nothing under `_tt` is ever shipped.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

import orjson

from tokentrail.errors import RecordError

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_FRACTION: Final = re.compile(r"(\.\d+)")
_US_LOCALE: Final = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?\s*([AaPp][Mm])?$"
)
# `2024-03-05T09:12:44.120Z` and its kin (0-9 fraction digits, Z or +00:00): the form `ts` fast-paths.
_RFC3339_Z: Final = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|\+00:00)\Z", re.ASCII
)
# Below this, a bare number is epoch seconds; above it, milliseconds; above the next, microseconds.
_MS_THRESHOLD: Final = 100_000_000_000
_US_THRESHOLD: Final = 100_000_000_000_000


def format_ts(dt: datetime) -> str:
    """RFC 3339 in UTC with `Z`, milliseconds unless the value carries finer precision."""
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    if dt.year < 1000:  # strftime does not pad such years; keep its output
        return f"{dt.strftime('%Y-%m-%dT%H:%M:%S')}{_fraction(dt.microsecond)}"
    return _clock_text(dt) + _fraction(dt.microsecond)


def _clock_text(dt: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS` of a UTC datetime from year 1000 on. Table lookups, not format specs:
    this runs for every event, and `:02d` costs a call each."""
    return f"{dt.year}-{_D2[dt.month]}-{_D2[dt.day]}T{_D2[dt.hour]}:{_D2[dt.minute]}:{_D2[dt.second]}"


_D2: Final = tuple(f"{i:02d}" for i in range(100))
_D3: Final = tuple(f"{i:03d}" for i in range(1000))
_D3_VALUES: Final = {text: i for i, text in enumerate(_D3)}
# Every run of 1 to 3 ASCII digits (`str.isdigit` also takes other scripts' digits).
_DIGIT_RUNS: Final = frozenset(f"{i:0{w}d}" for w in (1, 2, 3) for i in range(10 ** w))
# The last microsecond `ts` accepts (years 1970 to 2200, as parse_ts checks), from the epoch.
_MAX_US: Final = (datetime(2201, 1, 1, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
# Epoch second -> `YYYY-MM-DDTHH:MM:SS`. Logs arrive in time order, so seconds repeat record after
# record; bounded, and cleared whole when full (a plain dict: safe to share between threads).
_SECONDS: Final[dict[int, str]] = {}


def _micros(frac: str | None) -> int:
    """Microseconds of the digits after a seconds' dot (none: 0); finer digits are cut, not rounded."""
    return int(frac[:6].ljust(6, "0")) if frac else 0


def _fraction(us: int) -> str:
    """`.mmmZ`, or `.uuuuuuZ` when the microseconds are not whole milliseconds."""
    ms, rest = divmod(us, 1000)
    return f".{_D3[ms]}Z" if rest == 0 else f".{_D3[ms]}{_D3[rest]}Z"


def second_text(second: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS` (UTC) of an epoch second from 1970 to 2200."""
    text = _SECONDS.get(second)
    if text is None:
        text = _clock_text(EPOCH + timedelta(seconds=second))
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        _SECONDS[second] = text
    return text


def format_epoch_us(total: int) -> str:
    """`format_ts` of microseconds since the epoch (0 to `_MAX_US`), with integers only."""
    second, us = divmod(total, 1_000_000)
    return second_text(second) + _fraction(us)


def from_epoch(value: float | int, unit: str = "auto") -> datetime:
    """Epoch number to UTC datetime. `unit`: s, ms, us or auto (guess by magnitude)."""
    return EPOCH + timedelta(microseconds=_epoch_us(value, unit))


def _epoch_us(value: Any, unit: str) -> int:
    """Microseconds since the epoch of an epoch number in `unit` (auto: guessed by magnitude).
    Integer arithmetic for the fraction avoids float rounding in the microseconds. `value` is Any:
    compiled, a `float` parameter would turn ints into floats and lose digits. Raises ValueError
    (unknown unit, nan) or OverflowError (inf)."""
    if unit == "auto":
        a = abs(value)
        unit = "s" if a < _MS_THRESHOLD else "ms" if a < _US_THRESHOLD else "us"
    whole = int(value)
    if unit == "s":
        return whole * 1_000_000 + round((value - whole) * 1_000_000)
    if unit == "ms":
        return whole * 1000 + round((value - whole) * 1000)
    if unit == "us":
        return whole
    raise ValueError(f"unknown epoch unit {unit!r}")


def ts_epoch_nanos(seconds: int, nanos: int) -> str | None:
    """Epoch seconds plus a nanosecond part (Confluence DC `timestamp`), truncated to microseconds,
    as `format_ts` writes it; None when the year is not 1970 to 2200. Raises RecordError for a nano
    part out of range."""
    if not 0 <= nanos < 1_000_000_000:
        raise RecordError(f"timestamp nano out of range: {nanos}")
    total = seconds * 1_000_000 + nanos // 1000
    return format_epoch_us(total) if 0 <= total < _MAX_US else None


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> datetime:
    s = text.strip()
    if not s:
        raise ValueError("empty")
    if s.lstrip("-").replace(".", "", 1).isdigit():
        return from_epoch(float(s) if "." in s else int(s))
    m = _US_LOCALE.match(s)
    if m:
        month, day, year, hour, minute, sec, frac, ampm = m.groups()
        h = int(hour)
        if ampm:
            h = h % 12 + (12 if ampm.lower() == "pm" else 0)
        us = _micros(frac)
        return datetime(int(year), int(month), int(day), h, int(minute), int(sec or 0), us, tzinfo=UTC)
    s = s.replace(" ", "T", 1) if "T" not in s and len(s) > 10 and s[10] == " " else s
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    # fromisoformat takes at most 6 fraction digits in a robust way: cut Entra's 7 and Go's 9.
    s = _FRACTION.sub(lambda m: m.group(1)[:7], s, count=1)
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_ts(value: Any, *, field: str = "timestamp", unit: str = "auto") -> datetime:
    """Parse the timestamp forms providers send; raise RecordError naming `field` if unusable."""
    if isinstance(value, bool) or value is None:
        raise RecordError(f"no usable {field}")
    try:
        if isinstance(value, (int, float)):
            dt = from_epoch(value, unit)
        elif isinstance(value, str):
            dt = _parse_text(value)
        else:
            raise ValueError(type(value).__name__)
        if not 1970 <= dt.year <= 2200:
            raise ValueError("out of range")
        return dt
    except (ValueError, OverflowError, OSError) as exc:
        # Not cut short: a value cut in the middle of `https://u:secret@host` would keep the secret
        # and lose the `@` by which the DLQ's scrubbing knows it.
        text = str(value)
        shown = value if isinstance(value, (int, float)) else (repr(text) if len(text) <= 40 else f"{len(text)} characters")
        raise RecordError(f"unusable {field}: {shown} ({exc})") from None


def ts(value: Any, *, field: str = "timestamp", unit: str = "auto") -> str:
    """`parse_ts` then `format_ts`."""
    if type(value) is str:
        fast = _ts_rfc3339_z(value)
        if fast is not None:
            return fast
    elif type(value) is int or type(value) is float:
        fast = _ts_epoch(value, unit)
        if fast is not None:
            return fast
    return format_ts(parse_ts(value, field=field, unit=unit))


def _ts_epoch(value: Any, unit: str) -> str | None:
    """`ts` of an epoch number, read as `from_epoch` reads it, with integers only; None (the general
    path, which words the error) when the year is not 1970 to 2200, the number is not finite or the
    unit unknown."""
    try:
        total = _epoch_us(value, unit)
    except (ValueError, OverflowError):  # nan, inf, an unknown unit
        return None
    return format_epoch_us(total) if 0 <= total < _MAX_US else None


def _ts_rfc3339_z(text: str) -> str | None:
    """`ts` of text already in RFC 3339 UTC (`Z` or `+00:00`), without the general path's rewriting.

    Most providers send exactly this; it is the output form too, so only the fraction may need
    reshaping. None (use the general path, which also words the errors) for anything else,
    including invalid dates and years out of range.
    """
    if canonical_us(text) >= 0:
        return text
    # `Z` or `+00:00` after no fraction or 1 to 9 digits (Entra writes 7) and a head seen valid: no
    # regex either.
    n = len(text)
    if 20 <= n <= 35 and _HEADS.get(text[:19], -1) >= 0:
        end = n - 1 if text[n - 1] == "Z" else n - 6 if n >= 25 and text[n - 6:] == "+00:00" else -1
        if end == 19:
            return text[:19] + ".000Z"
        if 26 <= end <= 29 and text[19] == ".":  # 6 to 9 digits (Entra 7, Go 9): digits by lookup
            rest = _D3_VALUES.get(text[23:26])
            if _D3_VALUES.get(text[20:23]) is not None and rest is not None \
                    and (end == 26 or text[26:end] in _DIGIT_RUNS):
                return text[:23] + "Z" if rest == 0 else text[:26] + "Z"  # what `_fraction` writes
        digits = text[20:end]  # not `frac`: compiled, a name keeps the type it is first given
        if 21 <= end <= 29 and text[19] == "." and digits.isdigit() and digits.isascii():
            return text[:19] + _fraction(_micros(digits))
    m = _RFC3339_Z.match(text)
    if m is None:
        return None
    head = text[:19]
    if _head_second(head) < 0:
        return None
    frac, zone = m.group(7, 8)
    if frac is None:
        return head + ".000Z"
    if len(frac) == 3:
        return text if zone == "Z" else f"{head}.{frac}Z"
    return head + _fraction(_micros(frac))


def _head_second(head: str) -> int:
    """The epoch second of `YYYY-MM-DDTHH:MM:SS` (UTC, shape checked by the caller's regex), -1 when it
    is no real time from 1970 to 2200 (day of month, 24:00 and the like: fromisoformat), once per second."""
    second = _HEADS.get(head)
    if second is None:
        try:
            dt = datetime.fromisoformat(head)
            second = (dt.replace(tzinfo=UTC) - EPOCH) // timedelta(seconds=1) if 1970 <= dt.year <= 2200 else -1
        except ValueError:
            second = -1
        if len(_HEADS) >= 4096:
            _HEADS.clear()
        _HEADS[head] = second
    return second


# `YYYY-MM-DDTHH:MM:SS` -> its epoch second, -1 when invalid (bounded like _SECONDS). Only heads of
# texts that matched _RFC3339_Z get here: the regex-free paths take a cached second as proof of shape.
_HEADS: Final[dict[str, int]] = {}


def epoch_of(value: Any, field: str = "timestamp") -> float:
    """`parse_ts(value).timestamp()`; RFC 3339 UTC text (what `ts` writes) without building a datetime."""
    if type(value) is str:
        us = canonical_us(value)
        if us >= 0:
            return us / 1_000_000  # as timedelta.total_seconds() divides
        m = _RFC3339_Z.match(value)
        if m is not None:
            second = _head_second(value[:19])
            if second >= 0:
                return (second * 1_000_000 + _micros(m.group(7))) / 1_000_000
    return parse_ts(value, field=field).timestamp()


def canonical_us(text: str) -> int:
    """Microseconds since the epoch of `text` when it is exactly what `format_ts` writes for whole
    milliseconds (`YYYY-MM-DDTHH:MM:SS.mmmZ`, most timestamps in and out), else -1.

    A shape check and two dict lookups, no regex: `_HEADS` only holds heads that passed the full
    check once, and `_D3_VALUES` only three ASCII digits."""
    if len(text) != 24 or text[23] != "Z" or text[19] != ".":
        return -1
    ms = _D3_VALUES.get(text[20:23])
    if ms is None:
        return -1
    head = text[:19]
    second = _HEADS.get(head)
    if second is None:
        second = _head_second(head) if _RFC3339_Z.match(text) is not None else -1
    return second * 1_000_000 + ms * 1000 if second >= 0 else -1


def stable_id(*parts: Any) -> str:
    """A deterministic id from canonical JSON of `parts` (sha256, 128 bits of hex)."""
    try:
        # Parsed JSON has only str keys and JSON values: the same bytes as below, a third cheaper.
        blob = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError included
        blob = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return sha256_hex(blob)[:32]


def sha256_hex(data: bytes) -> str:
    """`hashlib.sha256(data).hexdigest()`, from a copy of one hash object: `hashlib.sha256()` looks
    the algorithm up in OpenSSL 3's provider tables each time, about half the cost of hashing a
    record (a copy shares nothing with the original)."""
    h = _SHA256.copy()
    h.update(data)
    return h.hexdigest()


_SHA256: Final = hashlib.sha256()


# `put` paths split once: callers use a few hundred literal paths over and over.
_PATHS: Final[dict[str, tuple[tuple[str, ...], str]]] = {}


def _split_path(path: str) -> tuple[tuple[str, ...], str]:
    keys = path.split(".")
    split = (tuple(keys[:-1]), keys[-1])
    if len(_PATHS) < 8192:  # bounded, should a caller build paths from data
        _PATHS[path] = split
    return split


def is_empty(value: Any) -> bool:
    """None, "" or an empty array or object: what the mappings leave out. (Type checks, not
    `value == []`: compiled, each such comparison builds the empty list or dict it compares with.)"""
    if value is None:
        return True
    if isinstance(value, str) or isinstance(value, list) or isinstance(value, dict):
        return not value
    return False


def put(d: dict, path: str, value: Any) -> None:
    """Set `a.b.c` in nested dicts, skipping None, empty strings and empty containers."""
    if is_empty(value):
        return
    parents, last = _PATHS.get(path) or _split_path(path)
    for k in parents:
        nxt = d.get(k)
        if not isinstance(nxt, dict):
            nxt = d[k] = {}
        d = nxt
    d[last] = value


def obj(d: dict[str, Any], key: str) -> dict[str, Any]:
    """`d[key]` when it is an object, else {}: a malformed part is skipped, not fatal."""
    v = d.get(key)
    return v if isinstance(v, dict) else {}


def get_in(d: Any, *keys: str) -> Any:
    """`get(d, "a.b.c")` with the path already split (no split per call on hot paths); None when
    any step is missing or not a dict."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
        if d is None:
            return None
    return d


def get(d: Any, path: str, default: Any = None) -> Any:
    """Read `a.b.c` from nested dicts; `default` when any step is missing or not a dict."""
    v = get_in(d, *path.split("."))
    return default if v is None else v


def add_related(event: dict, kind: str, *values: Any) -> None:
    """Append unique non-empty values to `related.<kind>` (ip, user, hosts, hash)."""
    bucket: list[Any] | None = None
    for v in values:
        if v is None or (isinstance(v, str) and not v):
            continue
        if bucket is None:
            related = event.get("related")
            if not isinstance(related, dict):
                related = event["related"] = {}
            found = related.get(kind)
            bucket = found if isinstance(found, list) else related.setdefault(kind, [])
        if v not in bucket:
            bucket.append(v)


_CAMEL1: Final = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL2: Final = re.compile(r"([a-z0-9])([A-Z])")


@lru_cache(maxsize=8192)
def snake(name: str) -> str:
    """camelCase or PascalCase to snake_case, as Elastic's pipelines rename provider keys."""
    s = _CAMEL2.sub(r"\1_\2", _CAMEL1.sub(r"\1_\2", name))
    return s.replace("-", "_").replace(" ", "_").lower()


def snake_keys(obj: Any) -> Any:
    """Recursively rename keys to snake_case, dropping None, "" and empty containers (and Graph's
    OData annotations: see `_snake_drop`)."""
    return _snake_drop(obj)


def snake_keys_except(obj: dict, skip: frozenset[str] | set[str]) -> dict:
    """`snake_keys({k: v for k, v in obj.items() if k not in skip})` without the copy."""
    if not skip:
        return _snake_drop(obj)
    names = _EXCEPT.get(skip) if type(skip) is frozenset else None
    if names is None:
        names = {}
        if type(skip) is frozenset and len(_EXCEPT) < 64:  # module constants, in practice: a few
            _EXCEPT[skip] = names
    return _snake_drop(obj, skip, names)


def _snake_drop(obj: Any, skip: frozenset[str] | set[str] | None = None, names: dict[Any, Any] | None = None) -> Any:
    """`snake_keys`, and `snake_keys_except` with `skip` (top-level keys left out) and `names`, the
    snake names of this `skip`'s keys (`_SKIPPED` for the keys left out: one lookup says both).

    Hot (Entra copies whole records through it): exact type checks first, snake names from a dict.
    OData annotations (`@odata.type`, `@odata.context`: Graph's metadata, not data, and dotted keys
    that break field paths) are dropped here, where every key is looked at anyway; `_snake_cached`
    never caches them in `_SNAKE`, so they always take the miss branch there.
    """
    if isinstance(obj, dict):
        if names is None:
            names = _SNAKE
        out = {}
        for k, v in obj.items():
            if v is None:
                continue
            name = names.get(k)
            if name is None:
                name = _name_of(k, skip, names)
            if name is _SKIPPED:
                continue
            t = type(v)
            if t is str:
                if not v:
                    continue
            elif t is dict or t is list or isinstance(v, dict) or isinstance(v, list):
                v = _snake_drop(v)
                if not v:
                    continue
            elif isinstance(v, str) and not v:  # a str subclass: `v == ""` by type
                continue
            out[name] = v
        return out
    if isinstance(obj, list):
        items = []
        for v in obj:
            if isinstance(v, dict) or isinstance(v, list):
                v = _snake_drop(v)
                if not v:
                    continue
            elif v is None or (isinstance(v, str) and not v):
                continue
            items.append(v)
        return items
    return obj


def _name_of(key: Any, skip: frozenset[str] | set[str] | None, names: dict[Any, Any]) -> Any:
    """The snake name of `key`, or `_SKIPPED` (in `skip`, or an OData annotation); remembered in
    `names` when that is a `skip` set's own (`_SNAKE` is filled by `_snake_cached`, OData never)."""
    if (skip is not None and key in skip) or (type(key) is str and key.startswith("@odata")):
        name: Any = _SKIPPED
    else:
        name = _snake_cached(key)
    if names is not _SNAKE and type(key) is str and len(names) < 8192:
        names[key] = name
    return name


# A key that `_snake_drop` leaves out: an object no data can be equal to (not a string: "" is a key).
_SKIPPED: Final[Any] = object()
# snake_keys_except: per `skip` set, the names of the keys seen (`_SKIPPED` for those left out).
_EXCEPT: Final[dict[frozenset[str], dict[Any, Any]]] = {}
_SNAKE: Final[dict[Any, str]] = {}


def drop_empty(obj: Any) -> Any:
    """Drop None, "" and empty containers recursively, keys unchanged (Elastic's last script)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(v, dict) or isinstance(v, list):
                v = drop_empty(v)
                if not v:
                    continue
            elif v is None or (isinstance(v, str) and not v):  # not `v == ""`: see compiled.py
                continue
            out[k] = v
        return out
    if isinstance(obj, list):
        items = []
        for v in obj:
            if isinstance(v, dict) or isinstance(v, list):
                v = drop_empty(v)
                if not v:
                    continue
            elif v is None or (isinstance(v, str) and not v):
                continue
            items.append(v)
        return items
    return obj


def snake_key(key: Any) -> str:
    """`snake(str(key))`, from a plain dict for keys seen before (cheaper than the lru_cache call)."""
    name = _SNAKE.get(key) if type(key) is str else None
    return name if name is not None else _snake_cached(key)


def _snake_cached(key: Any) -> str:
    if type(key) is not str:
        return snake(str(key))  # never cached: 1 and True would share an entry
    name = snake(key)
    if len(_SNAKE) < 8192 and not key.startswith("@odata"):  # bounded: keys come from data
        _SNAKE[key] = name
    return name


def split_email(value: str | None) -> tuple[str | None, str | None]:
    """`user@domain` to (`user`, `domain`); anything else to (value, None).

    Only what looks like an address is split: no blank anywhere, no `/` or `:` in the domain. Split,
    `x https://u:secret@host/` would lose the `@` the scrubber recognises a URL password by.
    """
    if not value or not isinstance(value, str):
        return None, None
    name, at, domain = value.rpartition("@")
    if at and name and domain and "/" not in domain and ":" not in domain and value.split() == [value]:
        return name, domain
    return value, None


def as_list(value: Any) -> list:
    """None to [], a scalar to [scalar], a list unchanged."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def new_event(dataset: str, *, kind: str = "event") -> dict:
    """The skeleton every source starts from."""
    module = _MODULES.get(dataset)
    if module is None:
        module = dataset.split(".", 1)[0]
        if len(_MODULES) < 1024:  # datasets are the sources' constants: a dozen
            _MODULES[dataset] = module
    return {"event": {"kind": kind, "dataset": dataset, "module": module}}


_MODULES: Final[dict[str, str]] = {}


@lru_cache(maxsize=2048)
def _ua(original: str) -> tuple[tuple[str, str], ...]:
    from ua_parser import parse

    r = parse(original)
    out: dict[str, str] = {}
    if r.user_agent and r.user_agent.family != "Other":
        out["name"] = r.user_agent.family
        parts = (r.user_agent.major, r.user_agent.minor, r.user_agent.patch, r.user_agent.patch_minor)
        version = ".".join(p for p in parts if p)
        if version:
            out["version"] = version
    if r.os and r.os.family != "Other":
        out["os.name"] = r.os.family
        version = ".".join(p for p in (r.os.major, r.os.minor, r.os.patch) if p)
        if version:
            out["os.version"] = version
            out["os.full"] = f"{r.os.family} {version}"
    if r.device and r.device.family != "Other":
        out["device.name"] = r.device.family
    return tuple(out.items())


def put_user_agent(event: dict, original: Any) -> None:
    """`user_agent.original` plus name, version, os and device parsed by ua-parser (cached)."""
    if not original or not isinstance(original, str):
        return
    ua = event.get("user_agent")
    if not isinstance(ua, dict):
        ua = event["user_agent"] = {}
    ua["original"] = original
    for parent, leaf, value in _ua_parts(original):  # what `put` of each dotted key would do
        if parent is None:
            ua[leaf] = value
        else:
            sub = ua.get(parent)
            if not isinstance(sub, dict):
                sub = ua[parent] = {}
            sub[leaf] = value


@lru_cache(maxsize=2048)
def _ua_parts(original: str) -> tuple[tuple[str | None, str, str], ...]:
    """`_ua` as (parent, leaf, value) under `user_agent`, empties dropped: split once per agent."""
    out = []
    for key, value in _ua(original):
        if value:
            parent, _, leaf = key.rpartition(".")
            out.append((parent or None, leaf, value))
    return tuple(out)
