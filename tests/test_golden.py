"""Golden tests: raw records in (tests/golden/<source>/<case>.ndjson), expected ECS out.

Each line of a case goes through the same Processor as `tokentrail process`, with a fixed clock.
`pytest --update-golden` rewrites the expected files; review the diff before committing.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from collectors import SOURCES
from enrichers import build_chain
from schemas import undeclared
from tokentrail.clock import FixedClock
from tokentrail.pipeline import Processor, Raw

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*/*.ndjson"))


def run_case(path: Path) -> dict:
    source = path.parent.name
    processor = Processor(SOURCES, build_chain(), FixedClock("2026-01-01T00:00:00Z"))
    events, dlq = [], []
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        result = processor.process(Raw(source, line, f"golden:{source}/{path.name}:{n}"))
        # Through encode, as the CLI and the enrich stage ship them: the final scan is part of the output.
        events += [orjson.loads(processor.encode(e, result.clean)) for e in result.events]
        dlq += result.dlq
    return {"events": events, "dlq": dlq}


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_golden(path: Path, request: pytest.FixtureRequest) -> None:
    """The case's output equals its expected file."""
    got = run_case(path)
    expected_path = path.with_name(path.stem + "-expected.json")
    if request.config.getoption("--update-golden"):
        expected_path.write_bytes(orjson.dumps(got, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    if not expected_path.exists():
        pytest.fail(f"{expected_path.name} is missing: run pytest --update-golden and review it")
    expected = orjson.loads(expected_path.read_bytes())
    assert got == expected


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_golden_fields_declared(path: Path) -> None:
    """Every field a golden event carries is declared in a fields.yml."""
    for event in run_case(path)["events"]:
        assert undeclared(event) == [], event["event"].get("id")
