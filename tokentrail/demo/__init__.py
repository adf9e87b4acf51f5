"""Bundled sample logs of every source, for the embedded default (`tokentrail run` with no config)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# Identity providers first, access logs last: the demo then shows token uses linked to their issuance.
DEMO_ORDER = ("okta", "entra", "google", "atlassian", "confluence", "access")


def demo_dir() -> Path:
    return Path(str(resources.files("tokentrail.demo")))


def demo_config(out_dir: str = "./tokentrail-out") -> dict:
    """The embedded default as a config dict: bundled logs -> enrichers -> NDJSON files."""
    d = demo_dir()
    inputs = [{"source": s, "kind": "file", "path": str(d / f"{s}.ndjson"), "name": f"demo-{s}"}
              for s in DEMO_ORDER if (d / f"{s}.ndjson").exists()]
    cfg: dict = {
        "inputs": inputs,
        "sinks": [{"kind": "file", "path": f"{out_dir}/events.ndjson"}],
        "dlq": {"path": f"{out_dir}/dlq.ndjson"},
        "pipeline": {"batch_seconds": 0.05},
    }
    extra = d / "config.yml"
    if extra.exists():
        import yaml

        more = yaml.safe_load(extra.read_text().replace("${DEMO_DIR}", str(d))) or {}
        cfg.update(more)
    return cfg
