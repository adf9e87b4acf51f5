"""Fixtures for the API and HTTP-push input tests: a fixed clock shared by input and stand-in, secret
files, RSA keys, and helpers that build an input against a stand-in and run it."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).parent))  # the stand-in modules beside this file

from collectors.inputs import InputContext  # noqa: E402
from collectors.inputs.api import ApiInput, config_class  # noqa: E402
from tokentrail.checkpoint import MemoryStore  # noqa: E402
from tokentrail.clock import FixedClock  # noqa: E402
from tokentrail.configtools import build  # noqa: E402
from tokentrail.retry import Backoff  # noqa: E402


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock("2026-03-02T12:00:00Z")


@pytest.fixture
def secret(tmp_path: Path):
    """Write a secret to a file and return its path."""

    def write(value: str, name: str = "secret") -> str:
        p = tmp_path / name
        p.write_text(value + "\n")
        return str(p)

    return write


@pytest.fixture(scope="session")
def rsa_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class Collector:
    """An emit() that records raws and acknowledges them at once (or holds the acks)."""

    def __init__(self, ack: bool = True) -> None:
        self.raws: list[Any] = []
        self.held: list[Any] = []
        self.ack = ack
        self.lock = threading.Lock()

    def emit(self, raw: Any, on_done: Any) -> None:
        with self.lock:
            self.raws.append(raw)
        if self.ack:
            on_done(None)
        else:
            self.held.append(on_done)

    def release(self, n: int | None = None, error: BaseException | None = None) -> None:
        take = self.held[:n] if n is not None else list(self.held)
        del self.held[:len(take)]
        for cb in take:
            cb(error)

    def keys(self) -> list[str]:
        return [r.key.decode() for r in self.raws]


def make_config(source: str, data: dict[str, Any]) -> Any:
    problems: list[str] = []
    cfg = build(config_class(source), data, "input", problems)
    assert not problems, problems
    return cfg


def make_input(source: str, data: dict[str, Any], standin: Any, clock: Any, store: Any = None,
               name: str = "t") -> ApiInput:
    ctx = InputContext(store=store if store is not None else MemoryStore(), clock=clock)
    return ApiInput(name, source, make_config(source, data), ctx, transport=standin.transport(),
                    backoff=lambda: Backoff(base=0.01, cap=0.05))


def run_once(inp: ApiInput, collector: Collector | None = None) -> Collector:
    collector = collector or Collector()
    inp.run(collector.emit, threading.Event(), once=True)
    return collector
