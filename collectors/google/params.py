"""Typed Reports API parameters to plain values.

A parameter is `{name, <one typed value>}` where the value is one of `value`, `intValue`, `boolValue`,
`multiValue`, `multiIntValue`, `multiBoolValue`, `messageValue{parameter[]}` or
`multiMessageValue[{parameter[]}]`. Google encodes int64 as JSON strings ("1223"); some tools and
Elastic's fixtures send numbers, so both are accepted.
"""

from __future__ import annotations

from typing import Any, Final

from tokentrail.event import is_empty


def to_int(value: Any) -> Any:
    """An int64 that may come as a JSON string; anything unparseable is returned unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _to_bool(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def param_value(param: dict[str, Any]) -> Any:
    """The plain value of one typed parameter (None when it carries none)."""
    if len(param) == 2 and "name" in param:
        # The usual shape, `{name, one typed value}`: no precedence to settle, one lookup.
        for key, value in param.items():
            if key != "name":
                return _convert(key, value)
    for key in _TYPED:  # in order of precedence
        if key in param:
            return _convert(key, param[key])
    return None


def _convert(key: str, value: Any) -> Any:
    """The plain value of `value` typed by `key` (None for a key that is not a typed value). Tests
    in the order of frequency, not a table of functions: a call through a table costs more than
    these comparisons."""
    if key == "value":
        return value
    if key == "intValue":
        return to_int(value)
    if key == "boolValue":
        return _to_bool(value)
    if key == "multiValue":
        return _as_list(value)
    if key == "messageValue":
        return _message(value)
    if key == "multiMessageValue":
        return _multi_message(value)
    if key == "multiIntValue":
        return [to_int(x) for x in _as_list(value)]
    if key == "multiBoolValue":
        return [_to_bool(x) for x in _as_list(value)]
    return None


def _message(message: Any) -> dict[str, Any]:
    return params_to_dict(_message_params(message))


def _multi_message(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        items = [items]
    out = [params_to_dict(_message_params(m)) for m in items]
    return [m for m in out if m]


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


# Typed value keys, in the order of precedence should a parameter carry several.
_TYPED: Final[tuple[str, ...]] = ("messageValue", "multiMessageValue", "multiValue", "multiIntValue", "multiBoolValue",
                                  "value", "intValue", "boolValue")


def _message_params(message: Any) -> list:
    if isinstance(message, dict):
        inner = message.get("parameter")
        return inner if isinstance(inner, list) else []
    return []


def params_to_dict(parameters: Any) -> dict[str, Any]:
    """`parameters[]` to `{name: value}`, dropping nameless and empty parameters (later names win)."""
    out: dict[str, Any] = {}
    if not isinstance(parameters, list):
        return out
    for p in parameters:
        if not isinstance(p, dict):
            continue
        name = p.get("name")
        if not isinstance(name, str) or not name:
            continue
        v = param_value(p)
        if is_empty(v):
            continue
        out[name] = v
    return out
