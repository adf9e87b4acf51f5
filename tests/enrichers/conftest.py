"""Fixtures of the token-audit tests (helpers in tokenkit.py): keys, a JWKS file, the golden tokens and a
loopback listener that records connections.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tokenkit import GOLDEN, Keys, Listener


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="session")
def jwks_file(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps(keys.jwks()))
    return path


@pytest.fixture(scope="session")
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture(scope="session")
def token_specs() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((GOLDEN / "tokens.yml").read_text())


@pytest.fixture(scope="session")
def tokens(keys: Keys, token_specs: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Every named token of tokens.yml, raw (what goes into an Authorization header)."""
    out = {name: keys.make(spec) for name, spec in token_specs.items() if "raw" not in spec}
    out.update({name: spec["raw"] for name, spec in token_specs.items() if "raw" in spec})
    return out
