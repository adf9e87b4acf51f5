"""Typed Reports API parameters to plain values.

A parameter is `{name, <one typed value>}` where the value is one of `value`, `intValue`, `boolValue`,
`multiValue`, `multiIntValue`, `multiBoolValue`, `messageValue{parameter[]}` or
`multiMessageValue[{parameter[]}]`. Google encodes int64 as JSON strings ("1223"); some tools and
Elastic's fixtures send numbers, so both are accepted.
"""

from __future__ import annotations

from typing import Any

_SCALARS = ("value", "intValue", "boolValue")
_LISTS = ("multiValue", "multiIntValue", "multiBoolValue")


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
    if "messageValue" in param:
        return params_to_dict(_message_params(param["messageValue"]))
    if "multiMessageValue" in param:
        items = param["multiMessageValue"]
        if not isinstance(items, list):
            items = [items]
        out = [params_to_dict(_message_params(m)) for m in items]
        return [m for m in out if m]
    for key in _LISTS:
        if key in param:
            vals = param[key] if isinstance(param[key], list) else [param[key]]
            if key == "multiIntValue":
                vals = [to_int(v) for v in vals]
            elif key == "multiBoolValue":
                vals = [_to_bool(v) for v in vals]
            return vals
    for key in _SCALARS:
        if key in param:
            v = param[key]
            if key == "intValue":
                return to_int(v)
            if key == "boolValue":
                return _to_bool(v)
            return v
    return None


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
        if v is None or v == "" or v == [] or v == {}:
            continue
        out[name] = v
    return out
