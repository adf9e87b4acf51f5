"""`tokentrail backfill --input NAME --since DATE [--until DATE] [--config FILE]`: fetch an API input's
history between two times through the whole pipeline (enrichers, sinks), then exit.

The backfill is a copy of the named input with `start_time`/`end_time` set and its own checkpoint
(`<name>.backfill.<since>`), so the live input's checkpoint is untouched and an interrupted backfill
resumes where it stopped when run again with the same --since. On a terminal a progress bar shows
pages, events and the rate; otherwise one summary line is printed at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from typing import Any

from tokentrail.errors import ConfigError, RecordError


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "backfill", help="fetch an API input's history from --since (progress bar on a terminal)",
        description="Fetch the records of one `kind: api` input between --since and --until (default: now) "
        "through enrichers and sinks, then exit. Uses its own checkpoint: run it again with the same --since "
        "to resume.")
    p.add_argument("--input", "-i", required=True, metavar="NAME", help="the input's name in the config")
    p.add_argument("--since", required=True, metavar="DATE", help="start time (RFC 3339, or a date: 2026-01-31)")
    p.add_argument("--until", metavar="DATE", help="end time (default: now)")
    p.add_argument("--config", "-c", metavar="FILE", default=os.environ.get("TOKENTRAIL_CONFIG", "tokentrail.yml"),
                   help="YAML config (default: $TOKENTRAIL_CONFIG or ./tokentrail.yml)")
    p.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="progress bar: on a terminal (auto), always, never")
    p.set_defaults(handler=cmd_backfill)


def _when(value: str, what: str) -> float:
    from tokentrail.event import parse_ts

    text = value.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        text += "T00:00:00Z"
    try:
        return parse_ts(text, field=what).timestamp()
    except RecordError:
        raise ConfigError(f"--{what}: not a date or RFC 3339 time: {value!r}") from None


def plan(cfg: Any, name: str, since: float, until: float) -> Any:
    """The config to run: only a copy of input `name`, bounded to [since, until), with its own checkpoint."""
    from collectors.inputs.api import ApiConfig, iso
    from tokentrail import config as configmod
    from tokentrail.config import InputSpec

    spec = next((s for s in cfg.inputs if s.name == name), None)
    api_names = [s.name for s in cfg.inputs if s.kind == "api"]
    if spec is None:
        raise ConfigError(f"--input: no input named {name!r} (API inputs: {', '.join(api_names) or 'none'})")
    if spec.kind != "api" or not isinstance(spec.config, ApiConfig):
        raise ConfigError(f"--input: {name!r} is a {spec.kind} input; backfill works on kind api")
    if not since < until:
        raise ConfigError("--since must be before --until")
    oldest = time.time() - spec.config.MAX_LOOKBACK_DAYS * 86400
    if since < oldest:
        print(f"tokentrail: note: {spec.source} keeps about {spec.config.MAX_LOOKBACK_DAYS:g} days; "
              "older records will not be returned", file=sys.stderr)
    bounded = dataclasses.replace(spec.config, start_time=iso(since), end_time=iso(until))
    stamp = iso(since).replace("-", "").replace(":", "")
    copy = InputSpec(name=f"{spec.name}.backfill.{stamp}", source=spec.source, kind="api", config=bounded)
    return configmod.replace(cfg, inputs=[copy])


class _Progress:
    """A tqdm bar of events with pages, requests and the rate; or nothing (counters only)."""

    def __init__(self, enabled: bool) -> None:
        self.pages = self.events = self.requests = 0
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(unit=" events", unit_scale=True, dynamic_ncols=True, file=sys.stderr,
                            desc="backfill", smoothing=0.1)

    def __call__(self, kind: str, info: dict[str, Any]) -> None:
        if kind != "page":
            return
        self.pages += 1
        self.events += info.get("emitted", 0)
        self.requests = info.get("requests", self.requests)
        if self.bar is not None:
            self.bar.update(info.get("emitted", 0))
            self.bar.set_postfix(pages=self.pages, requests=self.requests, stream=info.get("stream"), refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_backfill(args: argparse.Namespace) -> int:
    from collectors.inputs import api
    from tokentrail import config as configmod
    from tokentrail import logging
    from tokentrail.cli import _install_signals
    from tokentrail.runtime import Embedded

    cfg = configmod.load(args.config)
    since = _when(args.since, "since")
    until = _when(args.until, "until") if args.until else time.time()
    run_cfg = plan(cfg, args.input, since, until)
    if run_cfg.bus.kind != "memory":
        # A backfill ships in-process (it must not compete with the collect worker for the checkpoint).
        run_cfg = configmod.replace(run_cfg, bus=dataclasses.replace(run_cfg.bus, kind="memory"))
    logging.configure(cfg.logging.level, cfg.logging.format, role="backfill")
    enabled = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    progress = _Progress(enabled)
    api.progress_hook = progress
    runner = Embedded(run_cfg)
    _install_signals(runner.stop)
    started = time.monotonic()
    try:
        code = runner.run(once=True)
    finally:
        api.progress_hook = None
        progress.close()
    took = max(time.monotonic() - started, 1e-9)
    name = run_cfg.inputs[0].name
    print(f"backfill {args.input}: {progress.events} events in {progress.pages} pages ({progress.requests} "
          f"requests) in {took:.1f} s, {progress.events / took:.0f} events/s; checkpoint {name}")
    for f in runner.fatal:
        print(f"tokentrail: error: {f}", file=sys.stderr)
    return code
