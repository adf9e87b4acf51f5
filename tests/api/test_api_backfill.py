"""`tokentrail backfill`: a bounded copy of an API input with its own checkpoint, and the progress bar."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import yaml
from standin_okta import OktaStandIn, okta_event

from tokentrail import config as configmod
from tokentrail.backfill import plan
from tokentrail.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def config(tmp: Path, base_url: str) -> Path:
    (tmp / "token").write_text("ssws-test-token")
    data = {
        "inputs": [
            {"source": "okta", "kind": "api", "name": "okta-api", "base_url": base_url, "page_size": 100,
             "auth": {"kind": "ssws", "token_file": str(tmp / "token")}},
            {"source": "okta", "kind": "file", "name": "okta-files", "path": str(tmp / "*.ndjson")},
        ],
        "sinks": [{"kind": "file", "path": str(tmp / "out" / "events.ndjson")}],
        "dlq": {"path": str(tmp / "out" / "dlq.ndjson")}, "state_dir": str(tmp / "state"),
        "pipeline": {"batch_seconds": 0.05}, "logging": {"level": "warning"},
    }
    p = tmp / "tokentrail.yml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_plan_bounds_a_copy_with_its_own_checkpoint(tmp_path):
    """The backfill runs only the named input, with start/end times and a separate checkpoint name."""
    cfg = configmod.load(config(tmp_path, "https://example.okta.com"))
    out = plan(cfg, "okta-api", 1_780_000_000.0, 1_780_086_400.0)
    (spec,) = out.inputs
    assert spec.name == "okta-api.backfill.20260528T202640Z"
    assert spec.config.start_time == "2026-05-28T20:26:40Z" and spec.config.end_time == "2026-05-29T20:26:40Z"


def test_plan_refuses_unknown_and_non_api_inputs(tmp_path):
    """Only a named `kind: api` input can be backfilled; the error lists the API inputs."""
    cfg = configmod.load(config(tmp_path, "https://example.okta.com"))
    with pytest.raises(ConfigError, match="no input named 'nope' \\(API inputs: okta-api\\)"):
        plan(cfg, "nope", 0, 1)
    with pytest.raises(ConfigError, match="is a file input"):
        plan(cfg, "okta-files", 0, 1)


def test_backfill_command_ships_the_window_and_shows_progress(tmp_path):
    """Events persisted inside [since, until) are shipped; the bar shows pages and events."""
    okta = OktaStandIn()
    okta.serve()
    try:
        now = time.time()
        okta.add([okta_event(i, "2026-03-02T10:00:00.000Z") for i in range(250)], persisted_at=now - 7200)
        okta.add([okta_event(i, "2026-03-02T11:50:00.000Z") for i in range(500, 510)], persisted_at=now - 60)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3 * 3600))
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600))
        proc = subprocess.run([sys.executable, "-m", "tokentrail.cli", "backfill", "--input", "okta-api",
                               "--since", since, "--until", until, "--config", str(config(tmp_path, okta.base_url)),
                               "--progress", "always"], cwd=REPO, capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        lines = (tmp_path / "out" / "events.ndjson").read_bytes().splitlines()
        assert len(lines) == 250 and len({orjson.loads(x)["event"]["id"] for x in lines}) == 250
        assert b"250 events in 3 pages" in proc.stdout
        assert b"pages=3" in proc.stderr and b"events" in proc.stderr
        assert not (tmp_path / "state" / "okta-api.json").exists()  # the live checkpoint is untouched
    finally:
        okta.shutdown()
