"""Splunk HEC sink: batched requests vs one event per request, against the test HEC receiver.

    .venv/bin/python bench/hec_bench.py [--events 200000] [--single-events 20000]

The receiver (tests/sinks/hec_receiver.py, Splunk's protocol: token check, channel, gzip, every event
parsed and validated) runs in its own process on loopback. Modes, all through `SplunkHecSink.send`:
- batched: the sink at its defaults (gzip, requests up to 1 MB, 2 in flight), fed Shipper batches of 2000;
- batched + ack: the same with indexer acknowledgement (the receiver acks at once; one ack round per batch);
- one event per request: `send([event])` for each event, uncompressed, as a naive client does.
Figures: events per second (wall), client CPU microseconds per event, and the batched/single ratio.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from es_bench import free_port, normalized_events, wait_port  # noqa: E402

from sinks._sink import Item, Outcome  # noqa: E402
from sinks.splunk_hec import Config, SplunkHecSink  # noqa: E402
from tokentrail.secrets import Secret  # noqa: E402

TOKEN = "22222222-aaaa-4bbb-8ccc-000000000001"


def start_receiver(ack: bool) -> tuple[str, subprocess.Popen]:
    port = free_port()
    cmd = [sys.executable, str(ROOT / "tests" / "sinks" / "hec_receiver.py"), str(port), TOKEN]
    proc = subprocess.Popen(cmd + (["--ack"] if ack else []), stdout=subprocess.DEVNULL, start_new_session=True)
    wait_port(port, proc)
    return f"http://127.0.0.1:{port}", proc


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def run(label: str, items: list[Item], *, ack: bool, per_request: int | None, batch: int = 2000) -> dict:
    url, proc = start_receiver(ack)
    os.environ["BENCH_HEC_TOKEN"] = TOKEN
    try:
        cfg = Config(url=url, token=Secret(env="BENCH_HEC_TOKEN"), ack=ack, ack_poll_seconds=0.2,
                     gzip_level=0 if per_request else 1)
        sink = SplunkHecSink(cfg, name="bench")
        step = per_request or batch
        w0, c0 = time.perf_counter(), time.process_time()
        ok = 0
        for i in range(0, len(items), step):
            ok += sum(r.outcome is Outcome.DELIVERED for r in sink.send(items[i:i + step]))
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        sink.close()
        received = httpx.get(f"{url}/__receiver/count").json()["count"]
    finally:
        stop(proc)
    n = len(items)
    r = {"eps": n / wall, "cpu_us": cpu / n * 1e6}
    print(f"  {label:<34} {n:>8} events  {r['eps']:>10,.0f} ev/s  {r['cpu_us']:>7.1f} us CPU/event  "
          f"delivered={ok} received={received}", flush=True)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--single-events", type=int, default=20_000, help="events sent one per request")
    args = ap.parse_args()
    events = normalized_events(max(args.events, args.single_events))
    items = [Item(e, orjson.dumps(e)) for e in events]
    print(f"{len(items)} normalized events; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", flush=True)
    single = run("one event per request", items[:args.single_events], ack=False, per_request=1)
    batched = run("batched (defaults)", items[:args.events], ack=False, per_request=None)
    acked = run("batched + indexer acknowledgement", items[:args.events], ack=True, per_request=None)
    print(f"  => batched / one-per-request: {batched['eps'] / single['eps']:.1f}x events per second, "
          f"{single['cpu_us'] / batched['cpu_us']:.1f}x less client CPU per event; "
          f"with acks: {acked['eps'] / single['eps']:.1f}x", flush=True)


if __name__ == "__main__":
    main()
