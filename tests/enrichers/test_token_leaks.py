"""No output carries token material: events, alert documents, DLQ records, logs, metrics, errors.

Token material: the raw token and each of its dot-separated parts of 16 characters or more (a JWT's
header, claims and signature). Every golden token goes through the pipeline in every way it can leave
it; then the embedded demo runs and its outputs are scanned for the demo's tokens.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import structlog
from prometheus_client import generate_latest
from test_token_golden import CASES, golden_config, run_case

from collectors import SOURCES
from enrichers import build_chain
from enrichers.config import IssuerConfig, TokensConfig
from enrichers.tokens import TokenEnricher
from tokentrail import logging as tt_logging
from tokentrail.clock import FixedClock
from tokentrail.demo import demo_dir
from tokentrail.metrics import REGISTRY
from tokentrail.pipeline import Processor, Raw

REPO = Path(__file__).resolve().parents[2]


def material(raw: str) -> list[str]:
    return [raw, *(p for p in raw.split(".") if len(p) >= 16)]


def leaks(text: str, tokens: dict[str, str]) -> list[str]:
    return [f"{name}: {piece[:12]}…" for name, raw in tokens.items() for piece in material(raw) if piece in text]


@pytest.fixture
def captured_logs() -> Any:
    buf = io.BytesIO()
    tt_logging.configure("debug", "json", stream=buf)
    yield buf
    structlog.reset_defaults()


class TestTokenLeaks:
    def test_golden_outputs_logs_metrics_and_errors(self, tokens: dict[str, str], jwks_file: Path,
                                                    captured_logs: io.BytesIO):
        """Every golden case, a DLQ'd record, a failing step and a JWKS outage leave no token material."""
        out: list[str] = []
        for path in CASES:
            out.append(orjson.dumps(run_case(path, tokens, jwks_file)).decode())
        processor = Processor(SOURCES, build_chain(golden_config(jwks_file)), FixedClock("2026-03-02T12:00:00Z"))
        for name, raw in tokens.items():
            # No timestamp: the record goes to the DLQ with its original (scrubbed).
            bad = {"client_ip": "203.0.113.1", "method": "GET", "url": f"/x?access_token={raw}",
                   "authorization": f"Bearer {raw}", "status": 200}
            result = processor.process(Raw("access", orjson.dumps(bad), f"leak:{name}"))
            assert result.dlq, name
            out.append(orjson.dumps(result.dlq).decode())

        # A bug in a later step whose exception message carries the credential: the DLQ reason is scrubbed.
        def buggy(event: dict[str, Any]) -> dict[str, Any]:
            raise RuntimeError(f"request failed: Authorization: Bearer {tokens['okta-valid']}")

        chain = build_chain(golden_config(jwks_file))
        chain.steps.insert(2, ("buggy", buggy))
        broken = Processor(SOURCES, chain, FixedClock("2026-03-02T12:00:00Z"))
        rec = {"timestamp": "2026-03-02T09:00:00Z", "client_ip": "203.0.113.1", "method": "GET", "url": "/",
               "status": 200, "authorization": f"Bearer {tokens['okta-valid']}"}
        result = broken.process(Raw("access", orjson.dumps(rec), "leak:bug"))
        assert result.dlq and "buggy" in result.dlq[0]["tokentrail"]["dlq"]["reason"]
        out.append(orjson.dumps(result.dlq).decode())

        # A JWKS outage logs a warning (issuer and URL, never the token).
        outage = TokenEnricher(TokensConfig(issuers=[IssuerConfig(
            issuer="https://golden.okta.example/oauth2/default", jwks_uri="https://keys.example/jwks")]),
            http=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500))))
        for raw in tokens.values():
            outage({"@timestamp": "2026-03-02T09:00:00.000Z", "_tt": {"authorization": f"Bearer {raw}"}})
        logs = captured_logs.getvalue().decode()
        assert "jwks fetch failed" in logs
        out += [logs, generate_latest(REGISTRY).decode()]
        assert leaks("\n".join(out), tokens) == []

    def test_demo_run(self, tmp_path: Path):
        """The embedded demo's events, DLQ, summary and logs hold none of the demo's tokens."""
        text = (demo_dir() / "access.ndjson").read_text()
        found = re.findall(r"(?:Bearer|SSWS|Basic|DPoP) ([A-Za-z0-9._~+/=-]{8,})|access_token=([^&\"]+)", text)
        demo_tokens = {f"demo-{n}": a or b for n, (a, b) in enumerate(dict.fromkeys(found))}
        assert len(demo_tokens) >= 10
        proc = subprocess.run([sys.executable, "-m", "tokentrail.cli", "run", "--out", str(tmp_path)],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "Findings per code:" in proc.stdout
        outputs = [proc.stdout, proc.stderr] + [p.read_text() for p in tmp_path.glob("*.ndjson")]
        assert leaks("\n".join(outputs), demo_tokens) == []
