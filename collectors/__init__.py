"""Sources and generic inputs. `SOURCES` maps each source name to its `Source`.

A new provider is one folder here (envelopes, normalize, fields.yml, README) plus one name below.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from collectors._source import Source

SOURCE_NAMES = ("okta", "entra", "google", "confluence", "atlassian", "access")


class _Registry(Mapping[str, Source]):
    """Imports each source package on first use, so a CLI call pays only for what it touches."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = names
        self._loaded: dict[str, Source] = {}

    def __getitem__(self, name: str) -> Source:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._loaded:
            self._loaded[name] = importlib.import_module(f"collectors.{name}").SOURCE
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


SOURCES: Mapping[str, Source] = _Registry(SOURCE_NAMES)
