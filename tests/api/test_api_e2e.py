"""End to end: `tokentrail run --config ...` as a subprocess against stand-ins on loopback ports, killed
with SIGKILL between pages and restarted: nothing missing, nothing twice. And the push input inside the
embedded pipeline: 200 only once the events are written."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest
import yaml
from standin_base import b64
from standin_graph import GraphStandIn, signin
from standin_okta import OktaStandIn, okta_event

from collectors.inputs.api import unpack_seen

REPO = Path(__file__).resolve().parents[2]


def wait_for(cond, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def write_config(tmp: Path, inp: dict) -> Path:
    cfg = {"inputs": [inp], "sinks": [{"kind": "file", "path": str(tmp / "events.ndjson")}],
           "dlq": {"path": str(tmp / "dlq.ndjson")}, "state_dir": str(tmp / "state"),
           "pipeline": {"batch_seconds": 0.05}, "logging": {"level": "warning"}}
    p = tmp / "tokentrail.yml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def start(config: Path, once: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "tokentrail.cli", "run", "--config", str(config)] + (["--once"] if once else [])
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def checkpoint(tmp: Path, name: str) -> dict:
    try:
        return orjson.loads((tmp / "state" / f"{name}.json").read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}


def shipped_ids(tmp: Path) -> list[str]:
    path = tmp / "events.ndjson"
    if not path.exists():
        return []
    return [orjson.loads(line)["event"]["id"] for line in path.read_bytes().splitlines() if line.strip()]


class Hold:
    """Blocks the first request matching `match` until released (the collector sits between pages)."""

    def __init__(self, match) -> None:
        self.match, self.released, self.reached = match, threading.Event(), threading.Event()

    def __call__(self, request: httpx.Request) -> None:
        if not self.released.is_set() and self.match(request):
            self.reached.set()
            self.released.wait(30)


def kill_and_restart(tmp: Path, config: Path, saved, hold: Hold) -> subprocess.CompletedProcess:
    proc = start(config, once=False)
    try:
        wait_for(hold.reached.is_set, what="the held page request")
        wait_for(saved, what="the checkpoint of the pages before")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    hold.released.set()
    again = start(config, once=True)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()[-2000:]
    return subprocess.CompletedProcess(again.args, again.returncode, out, err)


@pytest.fixture
def okta_server():
    s = OktaStandIn()
    s.serve()
    yield s
    s.shutdown()


def test_okta_kill_9_between_pages_loses_and_repeats_nothing(okta_server, tmp_path):
    """Pages 1-3 are shipped and checkpointed, the process dies waiting for page 4; a restart finishes."""
    okta_server.add([okta_event(i, "2026-03-02T11:30:00.000Z") for i in range(500)],
                    persisted_at=time.time() - 60)
    page4 = f"after={b64(300)}"
    hold = Hold(lambda req: page4 in str(req.url))
    okta_server.hold = hold
    config = write_config(tmp_path, {
        "source": "okta", "kind": "api", "name": "okta-api", "base_url": okta_server.base_url,
        "auth": {"kind": "ssws", "token_file": str(_secret(tmp_path, "ssws-test-token"))},
        "page_size": 100, "lookback_seconds": 3600, "poll_interval_seconds": 0.2,
        "checkpoint_interval_seconds": 0.1})
    kill_and_restart(tmp_path, config,
                     lambda: page4 in str(checkpoint(tmp_path, "okta-api").get("streams", {}).get("logs", {})),
                     hold)
    ids = shipped_ids(tmp_path)
    assert len(ids) == 500 and len(set(ids)) == 500
    assert not (tmp_path / "dlq.ndjson").exists() or (tmp_path / "dlq.ndjson").read_bytes() == b""


def test_graph_kill_9_mid_window_loses_and_repeats_nothing(tmp_path):
    """Killed before the last page of a window; the restart resumes at the nextLink and the overlapping
    window that follows repeats nothing (the seen ids survived in the checkpoint)."""
    graph = GraphStandIn()
    graph.serve()
    try:
        now = time.time()
        graph.add("signIns", [signin(i, now - 300 + i) for i in range(250)])
        hold = Hold(lambda req: "skiptoken" in str(req.url) and b64({"f": _filter(req), "o": 200}) in str(req.url))
        graph.hold = hold
        config = write_config(tmp_path, {
            "source": "entra", "kind": "api", "name": "graph", "base_url": graph.base_url,
            "auth": {"kind": "client_credentials", "client_id": graph.client_id, "token_url": graph.token_url,
                     "client_secret_file": str(_secret(tmp_path, graph.client_secret))},
            "event_types": ["interactiveUser"], "directory_audits": False, "page_size": 100,
            "lookback_seconds": 3600, "poll_interval_seconds": 0.2, "checkpoint_interval_seconds": 0.1,
            "rate_limit_requests": 100})

        def saved() -> bool:
            st = checkpoint(tmp_path, "graph").get("streams", {}).get("interactiveUser", {})
            return len(unpack_seen(st.get("seen"))) == 200
        kill_and_restart(tmp_path, config, saved, hold)
        ids = shipped_ids(tmp_path)
        assert len(ids) == 250 and len(set(ids)) == 250
    finally:
        graph.shutdown()


def _filter(req: httpx.Request) -> str:
    from standin_base import unb64

    token = dict(httpx.QueryParams(req.url.query)).get("$skiptoken")
    return unb64(token)["f"] if token else ""


def _secret(tmp: Path, value: str) -> Path:
    p = tmp / f"secret-{abs(hash(value))}"
    p.write_text(value)
    return p


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_push_answers_200_only_after_the_events_are_written(tmp_path):
    """In the embedded pipeline, the 200 comes after the file sink wrote the events."""
    from tokentrail import config as configmod
    from tokentrail.runtime import Embedded

    port = _free_port()
    cfg_path = write_config(tmp_path, {"source": "okta", "kind": "http", "name": "hook",
                                       "listen": f"127.0.0.1:{port}", "path": "/okta",
                                       "secret_file": str(_secret(tmp_path, "s3cret"))})
    runner = Embedded(configmod.load(cfg_path))
    t = threading.Thread(target=runner.run, args=(False,), daemon=True)
    t.start()
    body = orjson.dumps({"eventType": "com.okta.event_hook", "data": {
        "events": [okta_event(i, "2026-03-02T11:59:00.000Z") for i in range(3)]}})
    try:
        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/okta", headers={"Authorization": "s3cret",
                                 "X-Okta-Verification-Challenge": "c"}).status_code == 200
            except httpx.TransportError:
                return False
        wait_for(up, 10, "the push listener")
        r = httpx.post(f"http://127.0.0.1:{port}/okta", content=body, headers={"Authorization": "s3cret"}, timeout=15)
        assert r.status_code == 200
        assert sorted(shipped_ids(tmp_path)) == sorted(okta_event(i, "")["uuid"] for i in range(3))
    finally:
        runner.stop.set()
        t.join(30)
