"""`debugContext.debugData`: every value is a string, some of them encoded documents.

- `risk` and `behaviors` are Java `Map.toString()` output: `{level=LOW, reasons=Anomalous Device,
  Anomalous Location}`. Values may hold ", " themselves, so a split on ", " (Elastic's kv processor)
  breaks them; we split only where the next piece starts a `key=`.
- `logOnlySecurityData` (and newer keys such as `tunnels`) are JSON documents inside a string.
- scopes (`grantedScopes`, `requestedScopes`) are one string, separated by spaces or ", ".
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Final

import orjson

from tokentrail.event import snake_key

# A key in a Java map: no '=', ',', braces; it may hold spaces and dashes ("New Geo-Location").
_KEY_AHEAD: Final = re.compile(r"\s*[^\s=,{}][^=,{}]*=")
_STRUCTURE: Final = re.compile(r"[{},]")
_REASONS_SPLIT: Final = re.compile(r",\s*")

# debugData keys copied to typed `okta.debug_context.debug_data.<snake>` fields (as Elastic does);
# the whole object is always in `.flattened`.
# Flat (raw, typed) pairs: a tuple walks faster than a dict's items.
TYPED_KEYS: Final[tuple[str, ...]] = (
    "authnRequestId", "authn_request_id",
    "clientAuthType", "client_auth_type",
    "deviceFingerprint", "device_fingerprint",
    "dtHash", "dt_hash",
    "factor", "factor",
    "grantType", "grant_type",
    "requestId", "request_id",
    "requestUri", "request_uri",
    "threatSuspected", "threat_suspected",
    "url", "url",
)
SCOPE_KEYS: Final = {"grantedScopes": "granted_scopes", "requestedScopes": "requested_scopes"}
_SCALARS: Final[tuple[type, ...]] = (int, float, bool)


def parse_java_map(text: str) -> dict[str, Any] | None:
    """`{a=1, b=x, y, c={d=2}}` to a dict of strings (nested maps too); None if it is not one."""
    s = text.strip()
    if len(s) < 2 or s[0] != "{" or s[-1] != "}":
        return None
    inner = s[1:-1]
    out: dict[str, Any] = {}
    for part in _split_top(inner):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or not key:
            return None
        value = value.strip()
        nested = parse_java_map(value) if value.startswith("{") else None
        out[key] = nested if nested is not None else value
    return out


def _split_top(inner: str) -> list[str]:
    """Split at ", " outside braces, and only where a `key=` follows."""
    parts, depth, start = [], 0, 0
    for m in _STRUCTURE.finditer(inner):  # only braces and commas matter
        c, i = m.group(), m.start()
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and _KEY_AHEAD.match(inner, i + 1):
            parts.append(inner[start:i])
            start = i + 1
    if inner[start:].strip():
        parts.append(inner[start:])
    return parts


def clean(obj: Any) -> Any:
    """Drop None, "", the string "null" and empty containers, recursively (Okta writes all four)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = clean(v)
            if not _empty(v):
                out[k] = v
        return out
    if isinstance(obj, list):
        items = []
        for v in obj:
            v = clean(v)
            if not _empty(v):
                items.append(v)
        return items
    return obj


def _empty(v: Any) -> bool:
    """`is_empty(v) or v == "null"`, by type (see tokentrail/compiled.py on `== ""`)."""
    if v is None:
        return True
    if isinstance(v, str):
        return not v or (len(v) == 4 and v == "null")
    if isinstance(v, dict) or isinstance(v, list):
        return not v
    return False


def present(v: Any) -> Any:
    """`v` as `clean` would leave it inside a record, or None where cleaning would drop it.

    Reading fields through this gives what reading the cleaned record gives, without cleaning
    the whole record first (most of it is never read).
    """
    if type(v) is str:
        return None if not v or (len(v) == 4 and v == "null") else v
    if isinstance(v, dict) or isinstance(v, list):
        return clean(v) or None
    return v


def snake_clean(obj: Any) -> Any:
    """`snake_keys(clean(obj))` in one pass: snake_case keys, empties (and "null") dropped."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if type(v) is str:  # the common leaf: skip the call and the generic test
                if not v or (len(v) == 4 and v == "null"):
                    continue
            else:
                v = snake_clean(v)
                if _empty(v):
                    continue
            out[snake_key(k)] = v
        return out
    if isinstance(obj, list):
        items = []
        for v in obj:
            v = snake_clean(v)
            if not _empty(v):
                items.append(v)
        return items
    return obj


def decode_value(value: Any) -> Any:
    """A debugData value with its encoded document decoded: JSON first, then a Java map.

    None for an empty document; the string unchanged when it is neither.
    """
    if not isinstance(value, str) or not value.startswith(("{", "[")):
        return value
    parsed = parse_json_string(value) if _may_be_json(value) else value
    if isinstance(parsed, dict) or isinstance(parsed, list):
        return clean(parsed) or None  # "{}" / "[]" say nothing: dropped like any empty value
    if len(value) > 1024:  # too big to keep in the cache
        return _java_map_value(value)
    frozen = _java_map_cached(value)
    return frozen if frozen is None or isinstance(frozen, str) else _thaw(frozen)


def _java_map_value(value: str) -> Any:
    """A Java map string decoded and cleaned: a dict, None when empty, `value` when not a map."""
    parsed = parse_java_map(value)
    if parsed is None:
        return value
    return clean(parsed) or None


Frozen = tuple[tuple[str, "str | Frozen"], ...]


@lru_cache(maxsize=2048)
def _java_map_cached(value: str) -> str | Frozen | None:
    # `risk` and `behaviors` strings take a few dozen forms in all, and parsing one costs more
    # than the rest of the record. Cached frozen: every event gets its own objects (`_thaw`).
    decoded = _java_map_value(value)
    return _freeze(decoded) if isinstance(decoded, dict) else decoded


def _freeze(d: dict[str, Any]) -> Frozen:
    return tuple((k, _freeze(v) if isinstance(v, dict) else v) for k, v in d.items())


def _thaw(frozen: Frozen) -> dict[str, Any]:
    return {k: _thaw(v) if type(v) is tuple else v for k, v in frozen}


def _may_be_json(text: str) -> bool:
    """False when `text` cannot be a JSON object: a Java map (`{level=LOW}`) is told apart without
    paying for a failed parse. A JSON object opens with `{` then a quoted key or `}`."""
    return text[0] != "{" or text[1:].lstrip()[:1] in ('"', "}")


def parse_json_string(text: str) -> Any:
    """A JSON document inside a string, or the string itself when it is not one."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def split_scopes(value: Any) -> list[str]:
    """`"openid, profile email"` to `["openid", "profile", "email"]`."""
    if isinstance(value, list):
        return [str(v) for v in value if v not in (None, "")]
    if not isinstance(value, str):
        return []
    # str.split() splits at runs of what re's \s matches (str.isspace), without a regex per call.
    return value.replace(",", " ").split()


def _risk_fields(risk: Any, behaviors: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(risk, dict):
        if risk.get("level"):
            out["risk_level"] = str(risk["level"])
        reasons = risk.get("reasons")
        if isinstance(reasons, str):
            out["risk_reasons"] = [r for r in _REASONS_SPLIT.split(reasons) if r]
        elif isinstance(reasons, list):
            out["risk_reasons"] = [str(r) for r in reasons]
    if isinstance(behaviors, dict):
        positive = [k for k, v in behaviors.items() if str(v).upper() == "POSITIVE"]
        if positive:
            out["risk_behaviors"] = positive
    return out


def debug_data(raw: dict[str, Any]) -> dict[str, Any]:
    """The `okta.debug_context.debug_data` object: typed fields plus `flattened` (parsed copy)."""
    flat = {}
    for key, value in raw.items():  # `raw` may be uncleaned: `present` first
        if type(value) is str:
            if not value or (len(value) == 4 and value == "null"):
                continue
            v = decode_value(value) if value[0] in "{[" else value
        else:
            v = present(value)
            if v is not None:
                v = decode_value(v)
        if v is not None:
            flat[key] = v
    out: dict[str, Any] = {}
    for i in range(0, len(TYPED_KEYS), 2):
        value = flat.get(TYPED_KEYS[i])
        if value is None:  # most of them: no isinstance against a tuple for these
            continue
        if isinstance(value, str):
            out[TYPED_KEYS[i + 1]] = value
        elif isinstance(value, _SCALARS):
            out[TYPED_KEYS[i + 1]] = str(value)
    for key, name in SCOPE_KEYS.items():
        if key in flat:
            scopes = split_scopes(flat[key])
            if scopes:
                out[name] = scopes
    # logOnlySecurityData is the newer, richer source; the Java-map fields fill what it lacks.
    sec = flat.get("logOnlySecurityData")
    sec = sec if isinstance(sec, dict) else {}
    risk = _risk_fields(sec.get("risk"), sec.get("behaviors")) if sec else {}
    if "risk" in flat or "behaviors" in flat:
        for k, v in _risk_fields(flat.get("risk"), flat.get("behaviors")).items():
            risk.setdefault(k, v)
    out.update(risk)
    if flat:
        out["flattened"] = flat
    return out
