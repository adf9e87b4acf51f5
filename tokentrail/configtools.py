"""Typed config from YAML dicts: dataclasses, unknown keys refused, every problem with its position.

A component's config is a dataclass whose fields carry docstrings in `metadata["doc"]`. `build(cls,
data, path, problems)` fills it from a dict, appending readable problems (`sinks[1].url: required`)
instead of raising at the first one, so `check-config` can list them all.

Secret fields are typed `Secret | None` and read from `<name>_file` or `<name>_env` keys; an inline
`<name>` is a problem ("inline secret").
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from tokentrail.secrets import Secret

T = TypeVar("T")
MISSING = dataclasses.MISSING


def doc(text: str, default: Any = MISSING, **kw: Any) -> Any:
    """A dataclass field with a docstring (and optional default / default_factory)."""
    meta = {"doc": text}
    if "default_factory" in kw:
        return dataclasses.field(default_factory=kw["default_factory"], metadata=meta)
    if default is MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _check(value: Any, tp: Any, where: str, problems: list[str]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        if len(args) == 1:
            return _check(value, args[0], where, problems)
        for a in args:
            sub: list[str] = []
            v = _check(value, a, where, sub)
            if not sub:
                return v
        problems.append(f"{where}: expected {' or '.join(_type_name(a) for a in args)}")
        return value
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        if isinstance(value, str | int) and item is str:
            value = [str(value)]
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list")
            return value
        return [_check(v, item, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a mapping")
        return value
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a mapping")
            return value
        return build(tp, value, where, problems)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is bool and not isinstance(value, bool):
        problems.append(f"{where}: expected true or false")
        return value
    if tp in (int, float) and isinstance(value, bool):
        problems.append(f"{where}: expected a number")
        return value
    if isinstance(tp, type) and not isinstance(value, tp):
        problems.append(f"{where}: expected {_type_name(tp)}, got {type(value).__name__}")
    return value


def build(cls: type[T], data: dict[str, Any] | None, path: str, problems: list[str]) -> T:
    """Instantiate dataclass `cls` from `data`; append problems; return a best-effort instance."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = hints[f.name]
        where = f"{path}.{f.name}" if path else f.name
        is_secret = Secret in (typing.get_args(tp) or (tp,))
        if is_secret:
            file_key, env_key = f"{f.name}_file", f"{f.name}_env"
            if f.name in data:
                data.pop(f.name)
                problems.append(f"{where}: inline secret; use {file_key} (a file) or {env_key} (a variable name)")
            file_v, env_v = data.pop(file_key, None), data.pop(env_key, None)
            if file_v and env_v:
                problems.append(f"{where}: give {file_key} or {env_key}, not both")
            if file_v or env_v:
                kwargs[f.name] = Secret(file=str(file_v) if file_v else None, env=str(env_v) if env_v else None)
            elif f.default is MISSING and f.default_factory is MISSING:
                problems.append(f"{where}: required ({file_key} or {env_key})")
            continue
        if f.name in data:
            kwargs[f.name] = _check(data.pop(f.name), tp, where, problems)
        elif f.default is MISSING and f.default_factory is MISSING:
            problems.append(f"{where}: required")
    for key in data:
        valid = ", ".join(sorted(_keys(cls)))
        problems.append(f"{path + '.' if path else ''}{key}: unknown key (valid: {valid})")
    try:
        obj = cls(**kwargs)
    except TypeError:
        # Missing required values were reported above; fill placeholders so callers can go on.
        filled = {f.name: kwargs.get(f.name) for f in dataclasses.fields(cls) if f.init}
        obj = cls(**filled)
    check = getattr(obj, "validate", None)
    if callable(check):
        for p in check() or []:
            problems.append(f"{path}.{p}" if path else p)
    return obj


def _keys(cls: type) -> list[str]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if Secret in (typing.get_args(hints[f.name]) or (hints[f.name],)):
            out += [f"{f.name}_file", f"{f.name}_env"]
        else:
            out.append(f.name)
    return out


def describe(cls: type) -> list[tuple[str, str, str]]:
    """(key, default, doc) per field, for documentation and `--help` text."""
    rows = []
    for f in dataclasses.fields(cls):
        default = "" if f.default is MISSING else repr(f.default)
        rows.append((f.name, default, f.metadata.get("doc", "")))
    return rows
