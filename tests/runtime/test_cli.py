"""The command line: process, run, check-config; exit codes and messages from interfaces.md."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

TT = [sys.executable, "-m", "tokentrail.cli"]
OKTA = orjson.dumps({
    "uuid": "9f1c2d3e-0000-4000-8000-000000000001", "published": "2026-03-01T10:00:00.123Z",
    "eventType": "user.session.start", "outcome": {"result": "SUCCESS"}, "severity": "INFO",
    "actor": {"id": "00u1", "type": "User", "alternateId": "alice@example.com", "displayName": "Alice"},
    "client": {"ipAddress": "203.0.113.7", "userAgent": {"rawUserAgent": "Mozilla/5.0"}},
})


def run(*args: str, stdin: bytes = b"", cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*TT, *args], input=stdin, capture_output=True, timeout=timeout, cwd=cwd)


def _line_within(stream: Any, seconds: float) -> bool:
    """Whether a whole line can be read from `stream` (a pipe) within `seconds`."""
    ready, _, _ = select.select([stream], [], [], seconds)
    return bool(ready) and stream.readline().endswith(b"\n")


class TestProcess:
    def test_stdin_to_stdout(self):
        """Records on stdin come out as one event per line; bad ones go to stderr; exit 0."""
        r = run("process", "--source", "okta", stdin=OKTA + b"\n{not json\n")
        assert r.returncode == 0
        events = [orjson.loads(x) for x in r.stdout.splitlines()]
        assert [e["event"]["id"] for e in events] == ["9f1c2d3e-0000-4000-8000-000000000001"]
        dlq = [orjson.loads(x) for x in r.stderr.splitlines()]
        assert dlq[0]["tokentrail"]["dlq"]["origin"] == "stdin:2"
        assert dlq[0]["tokentrail"]["dlq"]["stage"] == "normalize"

    def test_files_and_dlq_file(self, tmp_path: Path):
        """Several files are read in order; --dlq collects the failures."""
        a, b, dlq = tmp_path / "a.ndjson", tmp_path / "b.json", tmp_path / "dlq.ndjson"
        a.write_bytes(OKTA + b"\n")
        b.write_bytes(b"[" + OKTA + b"," + b'{"uuid": "x"}' + b"]")
        r = run("process", "--source", "okta", "--dlq", str(dlq), str(a), str(b))
        assert r.returncode == 0, r.stderr
        assert len(r.stdout.splitlines()) == 2
        rec = orjson.loads(dlq.read_bytes().splitlines()[0])
        assert rec["tokentrail"]["dlq"]["origin"].startswith(f"file:{b}:1")

    def test_unknown_source_is_usage_error(self):
        """An unknown --source exits 2 with a one-line reason."""
        r = run("process", "--source", "nope")
        assert r.returncode == 2
        assert len(r.stderr.decode().strip().splitlines()) == 1

    def test_missing_file_is_usage_error(self, tmp_path: Path):
        """A missing input file exits 2 naming it."""
        r = run("process", "--source", "okta", str(tmp_path / "missing.ndjson"))
        assert r.returncode == 2 and b"missing.ndjson" in r.stderr

    def test_directory_input_is_usage_error(self, tmp_path: Path):
        r = run("process", "--source", "okta", str(tmp_path))
        assert r.returncode == 2 and b"cannot read" in r.stderr and b"directory" in r.stderr

    def test_pipe_streams_events_as_records_arrive(self, tmp_path: Path):
        """`tail -f … | tokentrail process`: each event (and DLQ record) comes out when the input
        pauses, not when 1 MiB of output has piled up or the input ends."""
        dlq = tmp_path / "dlq.ndjson"
        p = subprocess.Popen([*TT, "process", "--source", "okta", "--dlq", str(dlq)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write(OKTA + b"\n")
            p.stdin.flush()
            assert _line_within(p.stdout, 30), "the event waited for the end of the input"
            p.stdin.write(b"{not json\n")
            p.stdin.flush()
            deadline = time.monotonic() + 30
            while not dlq.exists() or not dlq.read_bytes().endswith(b"\n"):
                assert time.monotonic() < deadline, "the DLQ record waited for the end of the input"
                time.sleep(0.05)
            p.stdin.close()
            assert p.wait(30) == 0
        finally:
            p.kill()

    def test_pipe_with_a_document_written_in_pieces(self, tmp_path: Path):
        """A pretty-printed array whose first write has no newline is still one document."""
        doc = orjson.dumps([orjson.loads(OKTA), orjson.loads(OKTA)], option=orjson.OPT_INDENT_2)
        p = subprocess.Popen([*TT, "process", "--source", "okta"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stdin is not None
        for piece in (doc[:1], doc[1:40], doc[40:]):
            p.stdin.write(piece)
            p.stdin.flush()
            time.sleep(0.3)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0 and err == b""
        assert len(out.splitlines()) == 2

    def test_named_pipe_input(self, tmp_path: Path):
        """An INPUT that is a FIFO (or `<(command)`) is read as it fills, like stdin."""
        fifo = tmp_path / "in.fifo"
        os.mkfifo(fifo)
        p = subprocess.Popen([*TT, "process", "--source", "okta", str(fifo)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            with open(fifo, "wb", buffering=0) as w:
                w.write(OKTA + b"\n")
                assert p.stdout is not None and _line_within(p.stdout, 30)
            assert p.wait(30) == 0
        finally:
            p.kill()

    def test_help_lists_sources(self):
        """--help names every source."""
        r = run("process", "--help")
        for s in ("okta", "entra", "google", "confluence", "atlassian", "access"):
            assert s.encode() in r.stdout


class TestCheckConfig:
    def test_valid(self, tmp_path: Path):
        """A valid config exits 0."""
        cfg = tmp_path / "c.yml"
        cfg.write_text("inputs:\n  - {source: okta, kind: file, path: /tmp/x.ndjson}\nsinks:\n"
                       "  - {kind: file, path: /tmp/out.ndjson}\n")
        r = run("check-config", str(cfg))
        assert r.returncode == 0, r.stderr

    def test_every_problem_listed_with_position(self, tmp_path: Path):
        """All problems are listed at once, each with its position."""
        cfg = tmp_path / "c.yml"
        cfg.write_text(
            "inputs:\n  - {source: okta, kind: file}\n  - {source: nope, kind: file, path: x}\n"
            "sinks:\n  - {kind: file, path: out.ndjson, colour: red}\n  - {kind: teletype}\n"
            "bogus: 1\n"
        )
        r = run("check-config", str(cfg))
        err = r.stderr.decode()
        assert r.returncode == 2
        for needle in ("inputs[0].path: required", "inputs[1].source: unknown source 'nope'",
                       "sinks[0].colour: unknown key", "sinks[1].kind: unknown sink kind 'teletype'",
                       "bogus: unknown key"):
            assert needle in err, err

    def test_inline_secret_refused(self, tmp_path: Path):
        """A secret written inline is a config error that names the _file/_env keys."""
        cfg = tmp_path / "c.yml"
        cfg.write_text("bus: {kind: kafka, sasl_password: hunter2}\n")
        r = run("check-config", str(cfg))
        assert r.returncode == 2
        assert b"sasl_password_file" in r.stderr and b"hunter2" not in r.stderr

    def test_invalid_yaml(self, tmp_path: Path):
        """Broken YAML names the line."""
        cfg = tmp_path / "c.yml"
        cfg.write_text("inputs: [\n")
        r = run("check-config", str(cfg))
        assert r.returncode == 2 and b"line" in r.stderr


class TestRun:
    def test_demo_runs_and_summarizes(self, tmp_path: Path):
        """`tokentrail run` with no config ships the bundled logs and prints a summary."""
        r = run("run", "--out", str(tmp_path / "out"), cwd=tmp_path, timeout=120)
        assert r.returncode == 0, r.stderr.decode()[-2000:]
        out = r.stdout.decode()
        assert "Events per dataset" in out and "okta.system" in out
        events = (tmp_path / "out" / "events.ndjson").read_bytes().splitlines()
        dlq = (tmp_path / "out" / "dlq.ndjson").read_bytes().splitlines()
        assert events and dlq

    def test_sigterm_drains_and_exits_zero(self, tmp_path: Path):
        """A tailing run serves health and metrics, stops on SIGTERM, ships what it read, and exits 0."""
        import socket

        import httpx

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        src = tmp_path / "okta.ndjson"
        src.write_bytes(OKTA + b"\n")
        out = tmp_path / "events.ndjson"
        cfg = tmp_path / "c.yml"
        cfg.write_text(f"inputs:\n  - {{source: okta, kind: file, path: {src}, poll_interval_seconds: 0.1}}\n"
                       f"sinks:\n  - {{kind: file, path: {out}}}\ndlq: {{path: {tmp_path / 'dlq.ndjson'}}}\n"
                       f"state_dir: {tmp_path / 'state'}\npipeline: {{batch_seconds: 0.05}}\n"
                       f"http: {{listen: '127.0.0.1:{port}'}}\n")
        p = subprocess.Popen([*TT, "run", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while time.time() < deadline and not (out.exists() and out.read_bytes()):
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/readyz").status_code == 200
        metrics = httpx.get(f"{base}/metrics").text
        assert 'tokentrail_events_in_total{source="okta"} 1.0' in metrics
        assert 'tokentrail_events_out_total{sink="file-0"} 1.0' in metrics
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 0
        assert len(out.read_bytes().splitlines()) == 1
        assert (tmp_path / "state").exists()

    def test_restart_resumes_from_checkpoint(self, tmp_path: Path):
        """A second --once run over the same state ships nothing twice."""
        src = tmp_path / "okta.ndjson"
        src.write_bytes(OKTA + b"\n")
        out = tmp_path / "events.ndjson"
        cfg = tmp_path / "c.yml"
        cfg.write_text(f"inputs:\n  - {{source: okta, kind: file, path: {src}}}\n"
                       f"sinks:\n  - {{kind: file, path: {out}}}\ndlq: {{path: {tmp_path / 'dlq.ndjson'}}}\n"
                       f"state_dir: {tmp_path / 'state'}\npipeline: {{batch_seconds: 0.05}}\n")
        assert run("run", "--config", str(cfg), "--once").returncode == 0
        assert run("run", "--config", str(cfg), "--once").returncode == 0
        assert len(out.read_bytes().splitlines()) == 1
