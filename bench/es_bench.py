"""Elasticsearch sink vs `elasticsearch.helpers.bulk` (at its defaults), side by side in one run.

    .venv/bin/python bench/es_bench.py [--events 200000] [--noida-events 40000] [--targets null,noida]

Events: the bundled demo records run through the real Processor (normalized and enriched), copied with
fresh `event.id`s. Targets, each on loopback in its own process:
- `null`: an endpoint that acknowledges `_bulk` without indexing (it answers as Elasticsearch would,
  honouring `filter_path`), so the figures are the clients' own;
- `noida`: the noida-db Elasticsearch-API server, which indexes (and is the bottleneck: it ingests a
  few hundred documents a second here, slower as it fills, so its throughput measures the server).
Figures: events per second (wall) and client CPU microseconds per event (this process, all threads).
Our sink gets `Item`s as the Shipper hands them over (parsed event + its JSON bytes); helpers.bulk gets
ready action dicts; building either input is outside the timings.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sinks._sink import Item, Outcome  # noqa: E402

# -- events -------------------------------------------------------------------------------------------

def normalized_events(n: int) -> list[dict]:
    """`n` normalized events from the bundled demo data, each with its own event.id."""
    from tokentrail.config import from_dict
    from tokentrail.demo import demo_dir
    from tokentrail.pipeline import Raw
    from tokentrail.runtime import build_processor

    proc = build_processor(from_dict({}))
    base = []
    for f in sorted(demo_dir().glob("*.ndjson")):
        for i, line in enumerate(f.read_bytes().splitlines()):
            base += proc.process(Raw(f.stem, line, f"{f}:{i}")).events
    base = [orjson.loads(orjson.dumps(e)) for e in base if (e.get("event") or {}).get("id")]
    out = []
    for i in range(n):
        e = orjson.loads(orjson.dumps(base[i % len(base)]))
        e["event"]["id"] = f"{e['event']['id']}-{i}"
        out.append(e)
    return out


# -- a _bulk endpoint that indexes nothing ------------------------------------------------------------

try:  # decompress in native code, as a real server does (ISA-L when installed)
    from isal.igzip import decompress as _gunzip
except ImportError:
    _gunzip = gzip.decompress

_ITEM_SHORT = b'{"create":{"status":201}}'
_ITEM_FULL = (b'{"create":{"_index":"logs-x-default","_id":"x","_version":1,"result":"created",'
              b'"_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}}')
_INFO = orjson.dumps({"name": "null", "cluster_name": "null", "version": {"number": "8.15.0"},
                      "tagline": "You Know, for Search"})


class NullHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive connections

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._send(200, _INFO)

    def do_POST(self) -> None:  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        if self.headers.get("Content-Encoding") == "gzip":
            data = _gunzip(data)
        ops = data.count(b"\n") // 2
        query = parse_qs(urlsplit(self.path).query)
        item = _ITEM_SHORT if "items.*.status" in ",".join(query.get("filter_path", [])) else _ITEM_FULL
        self._send(200, b'{"took":1,"errors":false,"items":[' + b",".join([item] * ops) + b"]}")

    do_PUT = do_POST  # noqa: N815 - the 9.x client sends PUT /_bulk


def serve_null(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), NullHandler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


# -- servers in their own processes -------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def start_null() -> tuple[str, subprocess.Popen]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve-null", str(port)], start_new_session=True)
    wait_port(port, proc)
    return f"http://127.0.0.1:{port}", proc


def start_noida(data_dir: str) -> tuple[str, subprocess.Popen]:
    port = free_port()
    exe = Path(sys.executable).parent / "noida-db"
    proc = subprocess.Popen([str(exe), "start", "--only", "elasticsearch", "--elasticsearch-port", str(port),
                             "--data-dir", data_dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    wait_port(port, proc)
    return f"http://127.0.0.1:{port}", proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
        proc.wait(60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- the two clients ----------------------------------------------------------------------------------

def measure(fn) -> tuple[float, float, object]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w0, time.process_time() - c0, out


def row(name: str, n: int, wall: float, cpu: float, ok: int) -> dict:
    r = {"name": name, "events": n, "ok": ok, "eps": n / wall, "cpu_us": cpu / n * 1e6}
    print(f"  {name:<38} {n:>8} events  {r['eps']:>10,.0f} ev/s  {r['cpu_us']:>7.1f} us CPU/event  ok={ok}",
          flush=True)
    return r


class HelpersClient:
    """`elasticsearch.helpers.bulk` at its defaults (chunk_size 500, no compression, one request at a time)."""

    name = "elasticsearch.helpers.bulk (defaults)"

    def __init__(self, url: str, namespace: str) -> None:
        from elasticsearch import Elasticsearch

        self.es = Elasticsearch(url, request_timeout=300)
        self.namespace = namespace

    def prepare(self, events: list[dict]) -> list[dict]:
        from sinks.elasticsearch.encoder import data_stream

        return [{"_op_type": "create", "_index": data_stream(e["event"].get("dataset"), self.namespace),
                 "_id": e["event"]["id"], "_source": e} for e in events]

    def run(self, actions: list[dict]) -> int:
        from elasticsearch import helpers

        ok, _ = helpers.bulk(self.es, actions, raise_on_error=False)
        return ok

    def close(self) -> None:
        self.es.close()


class SinkClient:
    """Tokentrail's sink at its defaults, fed Shipper-sized batches of Items (parsed event + JSON bytes)."""

    name = "tokentrail ElasticsearchSink"

    def __init__(self, url: str, namespace: str, batch: int, manage_templates: bool) -> None:
        from sinks.elasticsearch import Config, ElasticsearchSink

        self.sink = ElasticsearchSink(Config(hosts=[url], namespace=namespace, manage_templates=manage_templates),
                                      name="bench")
        self.batch = batch

    def prepare(self, events: list[dict]) -> list[Item]:
        return [Item(e, orjson.dumps(e)) for e in events]

    def run(self, items: list[Item]) -> int:
        ok = 0
        for i in range(0, len(items), self.batch):
            ok += sum(r.outcome is Outcome.DELIVERED for r in self.sink.send(items[i:i + self.batch]))
        return ok

    def close(self) -> None:
        self.sink.close()


def compare(label: str, url: str, events: list[dict], batch: int, segments: int, manage_templates: bool) -> None:
    """Both clients in turns over the same segments of events (alternating who goes first), so a noisy
    machine or a server that slows as it fills weighs on both alike."""
    print(f"\n{label}: {len(events)} events per client, Shipper batch {batch}, {segments} alternating turns",
          flush=True)
    ns = f"b{os.getpid()}{'t' if manage_templates else 'n'}"
    if manage_templates:  # templates in place for both clients before the clock starts
        setup = SinkClient(url, ns + "x", batch, True)
        setup.run(setup.prepare(events[:1]))
        setup.close()
    clients = [HelpersClient(url, ns + "h"), SinkClient(url, ns + "s", batch, False)]
    totals = {c.name: [0.0, 0.0, 0] for c in clients}
    step = -(-len(events) // segments)
    for k in range(segments):
        part = events[k * step:(k + 1) * step]
        order = clients if k % 2 == 0 else clients[::-1]
        turn = []
        for c in order:
            prepared = c.prepare(part)
            wall, cpu, ok = measure(lambda c=c, p=prepared: c.run(p))
            t = totals[c.name]
            t[0] += wall
            t[1] += cpu
            t[2] += ok
            turn.append(f"{c.name.split()[0]} {len(part) / wall:,.0f} ev/s")
        print(f"    turn {k + 1}/{segments}: " + ", ".join(turn), flush=True)
    for c in clients:
        c.close()
    rows = {name: row(name, len(events), *t) for name, t in totals.items()}
    h, s = rows[clients[0].name], rows[clients[1].name]
    print(f"  => throughput ratio sink/helpers: {s['eps'] / h['eps']:.2f}x   client CPU per event: "
          f"{s['cpu_us']:.1f} us vs {h['cpu_us']:.1f} us ({h['cpu_us'] / s['cpu_us']:.1f}x less)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--noida-events", type=int, default=40_000,
                    help="events per client for noida-db, which slows as it fills (200,000 take over an hour here)")
    ap.add_argument("--targets", default="null,noida")
    ap.add_argument("--batch", type=int, default=2000, help="events per send(), as the Shipper batches them")
    ap.add_argument("--segments", type=int, default=10, help="alternating turns of the two clients")
    ap.add_argument("--serve-null", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_null:
        serve_null(args.serve_null)
        return
    targets = args.targets.split(",")
    n_noida = args.noida_events
    t0 = time.perf_counter()
    events = normalized_events(max(args.events, n_noida if "noida" in targets else 0))
    size = sum(len(orjson.dumps(e)) for e in events[:1000]) / 1000
    print(f"{len(events)} normalized events (mean {size:.0f} bytes of JSON), built in {time.perf_counter() - t0:.1f} s;"
          f" {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    if "null" in targets:
        url, proc = start_null()
        try:
            compare("null _bulk endpoint (acknowledges without indexing)", url, events[:args.events], args.batch,
                    args.segments, manage_templates=False)
        finally:
            stop(proc)
    if "noida" in targets:
        tmp = tempfile.mkdtemp(prefix="es-bench-")
        url, proc = start_noida(os.path.join(tmp, "data"))
        try:
            compare("noida-db (indexes every document)", url, events[:n_noida], args.batch, args.segments,
                    manage_templates=True)
        finally:
            stop(proc, signal.SIGKILL)  # its data is not wanted: no save on exit
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
