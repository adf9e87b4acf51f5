"""API inputs against local vendor stand-ins (tests/api/standin_*.py, each served from its own process).

A. collector only: `kind: api` input -> one raw JSON line per record in a file, acknowledged at once,
   with the file checkpoint store. Pages of 1,000 records, client-side limit lifted: events per second
   and CPU seconds (this process: HTTP, JSON, keys, de-duplication, checkpoints) per 1,000 events.
B. the whole pipeline (`tokentrail run --once` in-process: collect, normalize, enrich, file sink): CPU
   seconds per 1,000 events.
C. published rate limits: every provider's stand-in enforces its vendor's limit (429 with the vendor's
   headers when broken) while the collector runs with its default pacing for --seconds, all providers in
   parallel: requests made, the most in any limit window, 429s received.

    .venv/bin/python bench/api_bench.py [--pages 30] [--seconds 20] [--only okta,entra]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STANDINS = REPO / "tests" / "api"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(STANDINS))

PROVIDERS = ("okta", "entra", "google", "confluence", "atlassian")
# (requests, seconds) each vendor publishes, enforced by the stand-in in part C; and the page size used
# there (the limit is about requests; smaller pages keep the stand-in's memory small).
PUBLISHED = {"okta": ((120, 60.0), 100), "entra": ((5, 10.0), 100), "google": ((2400, 60.0), 10),
             "confluence": ((100, 60.0), 100), "atlassian": ((10, 60.0), 100)}


def _rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _build(provider: str, n: int, page: int, key_pem: str) -> Any:
    """A stand-in holding `n` records of the last 50 minutes."""
    now = time.time()
    times = [now - 3000 + 2900 * i / max(n, 1) for i in range(n)]
    if provider == "okta":
        from standin_okta import OktaStandIn, okta_event

        s = OktaStandIn()
        s.add([okta_event(i, "2026-03-02T11:30:00.000Z") for i in range(n)], persisted_at=now - 60)
    elif provider == "entra":
        from standin_graph import GraphStandIn, signin

        s = GraphStandIn()
        s.add("signIns", [signin(i, t) for i, t in enumerate(times)], visible_at=now - 60)
    elif provider == "google":
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        from standin_google import GoogleStandIn, activity

        s = GoogleStandIn()
        s.public_key = load_pem_private_key(key_pem.encode(), None).public_key()
        s.add("login", [activity(i, t) for i, t in enumerate(times)], visible_at=now - 60)
    elif provider == "confluence":
        from standin_atlassian import ConfluenceCloudStandIn, cloud_record

        s = ConfluenceCloudStandIn()
        s.add([(t, cloud_record(i, t)) for i, t in enumerate(times)], visible_at=now - 60)
    else:
        from standin_atlassian import OrgStandIn, org_event

        s = OrgStandIn()
        s.page_size = page
        s.add([(t, org_event(i, t)) for i, t in enumerate(times)], visible_at=now - 60)
    return s


def _serve(provider: str, n: int, page: int, key_pem: str, limit: tuple[int, float] | None, conn: Any) -> None:
    s = _build(provider, n, page, key_pem)
    if limit and provider == "okta":
        s.okta_limit = limit  # Okta's own headers: X-Rate-Limit-Remaining/Reset, fixed window
    elif limit:
        s.rate_limit = limit
    conn.send(s.serve())
    while True:
        msg = conn.recv()
        if msg == "stats":
            per = limit[1] if limit else 60.0
            conn.send({"requests": len(s.api_requests()), "too_many": s.too_many, "max_in_window": s.max_in_window(per)})
        else:
            s.shutdown()
            return


class Server:
    def __init__(self, provider: str, n: int, page: int, key_pem: str, limit: tuple[int, float] | None = None):
        self.conn, child = mp.Pipe()
        self.proc = mp.Process(target=_serve, args=(provider, n, page, key_pem, limit, child), daemon=True)
        self.proc.start()
        self.url = self.conn.recv()

    def stats(self) -> dict[str, Any]:
        self.conn.send("stats")
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send("stop")
        self.proc.join(10)


def _input_config(provider: str, url: str, tmp: Path, key_pem: str, page: int, unlimited: bool) -> dict[str, Any]:
    import orjson

    def secret(name: str, value: str) -> str:
        p = tmp / name
        p.write_text(value)
        return str(p)

    cfg: dict[str, Any] = {"source": provider, "kind": "api", "name": f"bench-{provider}", "base_url": url,
                           "page_size": page, "lookback_seconds": 3600, "poll_interval_seconds": 1.0}
    if provider == "okta":
        cfg["auth"] = {"kind": "ssws", "token_file": secret("okta", "ssws-test-token")}
    elif provider == "entra":
        cfg.update(event_types=["interactiveUser"], directory_audits=False)
        cfg["auth"] = {"kind": "client_credentials", "client_id": "11111111-2222-3333-4444-555555555555",
                       "token_url": f"{url}/tenant-1/oauth2/v2.0/token",
                       "client_secret_file": secret("graph", "graph-client-secret")}
    elif provider == "google":
        from standin_google import GoogleStandIn

        g = GoogleStandIn()
        g.base_url = url
        cfg.update(applications=["login"])
        cfg["auth"] = {"kind": "service_account", "subject": "admin@example.com",
                       "key_file": secret("sa.json", orjson.dumps(g.key_json(key_pem)).decode())}
    elif provider == "confluence":
        cfg["auth"] = {"kind": "basic", "username": "bot@example.com",
                       "password_file": secret("conf", "atlassian-api-token")}
    else:
        cfg.update(org_id="org-1")
        cfg["auth"] = {"kind": "bearer", "token_file": secret("org", "standin-token")}
    if unlimited:
        cfg.update(rate_limit_requests=1_000_000, rate_limit_seconds=1.0)
    return cfg


def _load(inputs: list[dict[str, Any]], tmp: Path) -> Any:
    from tokentrail import config

    return config.from_dict({"inputs": inputs, "sinks": [{"kind": "file", "path": str(tmp / "events.ndjson")}],
                             "dlq": {"path": str(tmp / "dlq.ndjson")}, "state_dir": str(tmp / "state"),
                             "pipeline": {"batch_seconds": 0.2}, "logging": {"level": "error"}})


def collector_only(provider: str, url: str, key_pem: str, page: int) -> dict[str, float]:
    from collectors.inputs import InputContext, create_input
    from tokentrail.checkpoint import FileStore
    from tokentrail.clock import Clock

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cfg = _load([_input_config(provider, url, tmp, key_pem, page, unlimited=True)], tmp)
        inp = create_input(cfg.inputs[0], InputContext(store=FileStore(tmp / "state"), clock=Clock()))
        n = 0
        with open(tmp / "raw.ndjson", "wb") as out:
            def emit(raw: Any, on_done: Any) -> None:
                nonlocal n
                out.write(raw.data + b"\n")
                n += 1
                on_done(None)

            c0, t0 = time.process_time(), time.perf_counter()
            inp.run(emit, threading.Event(), once=True)
            inp.close()
            cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        return {"events": n, "wall": wall, "cpu": cpu, "requests": inp.client.stats["requests"]}


def whole_pipeline(provider: str, url: str, key_pem: str, page: int) -> dict[str, float]:
    from tokentrail.runtime import Embedded

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        runner = Embedded(_load([_input_config(provider, url, tmp, key_pem, page, unlimited=True)], tmp))
        c0, t0 = time.process_time(), time.perf_counter()
        code = runner.run(once=True)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        return {"events": _lines(tmp / "events.ndjson"), "dlq": _lines(tmp / "dlq.ndjson"), "wall": wall,
                "cpu": cpu, "code": code}


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def paced(providers: list[str], seconds: float, key_pem: str) -> dict[str, dict[str, Any]]:
    from collectors.inputs import InputContext, create_input
    from tokentrail.checkpoint import MemoryStore
    from tokentrail.clock import Clock

    servers, threads, results = {}, [], {}
    stop = threading.Event()
    tmp = Path(tempfile.mkdtemp())
    for p in providers:
        (limit, page) = PUBLISHED[p]
        pages_needed = 2 * limit[0] * max(1.0, seconds / limit[1]) if p != "okta" else 2 * 60 * max(1.0, seconds / 60)
        n = int(min(pages_needed * page, 30_000))
        servers[p] = Server(p, n, page, key_pem, limit)
        (tmp / p).mkdir(parents=True, exist_ok=True)
        cfg = _load([_input_config(p, servers[p].url, tmp / p, key_pem, page, unlimited=False)], tmp / p)
        inp = create_input(cfg.inputs[0], InputContext(store=MemoryStore(), clock=Clock()))
        counter = {"events": 0}

        def emit(raw: Any, on_done: Any, counter: dict = counter) -> None:
            counter["events"] += 1
            on_done(None)

        t = threading.Thread(target=inp.run, args=(emit, stop, False), daemon=True)
        results[p] = {"counter": counter, "input": inp, "limit": limit}
        threads.append(t)
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(15)
    out = {}
    for p in providers:
        stats = servers[p].stats()
        servers[p].stop()
        out[p] = {**stats, "events": results[p]["counter"]["events"], "limit": results[p]["limit"],
                  "client": (results[p]["input"].config.rate_limit_requests, results[p]["input"].config.rate_limit_seconds)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=30, help="pages of 1,000 records per provider (A, B)")
    ap.add_argument("--seconds", type=float, default=20.0, help="duration of the rate-limit run (C)")
    ap.add_argument("--only", default=",".join(PROVIDERS), help="comma-separated providers")
    args = ap.parse_args()
    providers = [p for p in args.only.split(",") if p]
    key_pem = _rsa_pem()

    print(f"A/B: pages of 1,000 records, {args.pages} pages per provider; CPU = this process (the stand-in "
          "runs in another)")
    print(f"{'provider':<11} {'events':>7} {'req':>4} | {'A ev/s':>8} {'A CPU s/1k':>10} | {'B ev/s':>8} "
          f"{'B CPU s/1k':>10} {'dlq':>4}")
    for p in providers:
        server = Server(p, args.pages * 1000, 1000, key_pem)
        try:
            a = collector_only(p, server.url, key_pem, 1000)
            b = whole_pipeline(p, server.url, key_pem, 1000)
        finally:
            server.stop()
        print(f"{p:<11} {a['events']:>7} {a['requests']:>4} | {a['events'] / a['wall']:>8.0f} "
              f"{1000 * a['cpu'] / max(a['events'], 1):>10.4f} | {b['events'] / b['wall']:>8.0f} "
              f"{1000 * b['cpu'] / max(b['events'], 1):>10.4f} {b['dlq']:>4}")

    print(f"\nC: published limits enforced by the stand-ins, default client pacing, {args.seconds:g} s in parallel")
    print(f"{'provider':<11} {'published':>13} {'client':>13} {'requests':>8} {'most in window':>14} "
          f"{'429s':>5} {'events':>7}")
    for p, r in paced(providers, args.seconds, key_pem).items():
        lim, cl = r["limit"], r["client"]
        print(f"{p:<11} {f'{lim[0]}/{lim[1]:g}s':>13} {f'{cl[0]}/{cl[1]:g}s':>13} {r['requests']:>8} "
              f"{r['max_in_window']:>14} {r['too_many']:>5} {r['events']:>7}")


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
