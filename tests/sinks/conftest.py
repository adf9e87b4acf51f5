"""Fixtures for the sink tests: a real Elasticsearch-API server (noida-db), a fault-injecting proxy in
front of it, a Splunk HEC receiver (helpers in sinkkit.py)."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from es_proxy import Proxy
from hec_receiver import Receiver
from sinkkit import HEC_TOKENS, Noida

from tokentrail.secrets import Secret


@pytest.fixture(scope="session")
def es_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Noida]:
    server = Noida(tmp_path_factory.mktemp("noida") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_es(tmp_path: Path) -> Iterator[Noida]:
    """A server of this test's own, for tests that stop and restart it."""
    server = Noida(tmp_path / "data")
    server.start()
    yield server
    server.stop()


_NS = iter(range(1, 1_000_000))


@pytest.fixture
def namespace() -> str:
    """A fresh data stream namespace per test: tests share the server, not their documents."""
    return f"t{next(_NS)}x{os.getpid()}"


@pytest.fixture
def proxy(es_server: Noida) -> Iterator[Proxy]:
    p = Proxy(es_server.url)
    yield p
    p.close()


@pytest.fixture
def hec() -> Iterator[Receiver]:
    r = Receiver({k: copy.deepcopy(v) for k, v in HEC_TOKENS.items()})
    yield r
    r.close()


@pytest.fixture
def secret_file(tmp_path: Path):
    """`secret_file(value)` -> a Secret read from a 0600 file holding `value`."""
    def make(value: str, name: str = "secret") -> Secret:
        p = tmp_path / name
        p.write_text(value + "\n")
        p.chmod(0o600)
        return Secret(file=str(p))
    return make


