"""Golden cases of the token audit: records of several sources in, events and findings out.

Each tests/enrichers/golden/<case>.ndjson line is `{"source": ..., "record": ...}`; `{{token:NAME}}` is
replaced by token NAME of tokens.yml (signed at test time with seeded keys, see tokenkit.py). All
lines of a case go through one Processor (one chain, one state) with the config of golden/config.yml.
The expected files name fingerprints (`<fingerprint:NAME>`) so they read as what they are. `pytest --update-golden` rewrites the expected files; review the diff.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from collectors import SOURCES
from enrichers import build_chain
from enrichers.tokens import fingerprint
from schemas import undeclared
from tokentrail import config
from tokentrail.clock import FixedClock
from tokentrail.pipeline import Processor, Raw

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*.ndjson"))
_PLACEHOLDER = re.compile(r"\{\{token:([a-z0-9-]+)\}\}")


def golden_config(jwks_file: Path) -> config.Config:
    text = (GOLDEN / "config.yml").read_text().replace("${JWKS}", str(jwks_file))
    return config.from_dict(yaml.safe_load(text), "golden config")


def run_case(path: Path, tokens: dict[str, str], jwks_file: Path) -> dict[str, Any]:
    """Every line of the case through one processor; raw outputs (events, dlq) as parsed JSON."""
    processor = Processor(SOURCES, build_chain(golden_config(jwks_file)), FixedClock("2026-03-02T12:00:00Z"))
    events: list[dict[str, Any]] = []
    dlq: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        line = _PLACEHOLDER.sub(lambda m: tokens[m.group(1)], line)
        item = orjson.loads(line)
        raw = Raw(item["source"], orjson.dumps(item["record"]), f"golden:{path.name}:{n}")
        result = processor.process(raw)
        events += [orjson.loads(processor.encode(e, result.clean)) for e in result.events]
        dlq += result.dlq
    return {"events": events, "dlq": dlq}


def named(output: dict[str, Any], tokens: dict[str, str]) -> dict[str, Any]:
    """The output with each known token's fingerprint replaced by `<fingerprint:NAME>`."""
    text = orjson.dumps(output).decode()
    for name, raw in tokens.items():
        text = text.replace(fingerprint(raw), f"<fingerprint:{name}>")
    return orjson.loads(text)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_token_golden(path: Path, tokens: dict[str, str], jwks_file: Path, request: pytest.FixtureRequest) -> None:
    """The case's output equals its expected file and holds no raw token."""
    output = run_case(path, tokens, jwks_file)
    text = orjson.dumps(output).decode()
    for name, raw in tokens.items():
        assert raw not in text, f"raw token {name} in the output"
    got = named(output, tokens)
    expected_path = path.with_name(path.stem + "-expected.json")
    if request.config.getoption("--update-golden"):
        expected_path.write_bytes(orjson.dumps(got, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    if not expected_path.exists():
        pytest.fail(f"{expected_path.name} is missing: run pytest --update-golden and review it")
    assert got == orjson.loads(expected_path.read_bytes())
    for event in got["events"]:
        for finding in (event.get("tokentrail") or {}).get("findings") or []:
            assert "[REDACTED]" not in finding["reason"], finding


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_token_golden_fields_declared(path: Path, tokens: dict[str, str], jwks_file: Path) -> None:
    """Every field of the case's events and alert documents is declared in a fields.yml."""
    for event in run_case(path, tokens, jwks_file)["events"]:
        assert undeclared(event) == [], event["event"].get("id")
