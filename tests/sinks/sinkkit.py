"""Helpers for the sink tests: realistic events, the noida-db server process, HEC tokens, and a run of
the real Shipper over the memory bus."""

from __future__ import annotations

import copy
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from hec_receiver import Token

from sinks._sink import Item
from tokentrail.bus import Topics
from tokentrail.bus.memory import MemoryBus
from tokentrail.retry import Backoff
from tokentrail.stages import Shipper

# The wheel's launcher sits next to the interpreter running the tests (.venv/bin).
NOIDA = Path(sys.executable).parent / "noida-db"

OKTA_EVENT: dict[str, Any] = {
    "@timestamp": "2024-05-03T02:00:00.123Z",
    "event": {"action": "user.authentication.sso", "category": ["authentication"], "dataset": "okta.system",
              "id": "d0000000-0000-4000-8000-000000000001", "ingested": "2026-01-01T00:00:00.000Z",
              "kind": "event", "module": "okta", "outcome": "success", "provider": "okta", "type": ["start"]},
    "source": {"ip": "198.51.100.20"},
    "user": {"name": "alice@example.com", "email": "alice@example.com", "id": "00u1alice"},
    "user_agent": {"original": "Mozilla/5.0 (X11; Linux x86_64)"},
    "related": {"ip": ["198.51.100.20"], "user": ["alice@example.com"]},
    "okta": {"authentication_context": {"credential_type": "PASSWORD", "external_session_id": "idxAbC123"},
             "display_message": "User single sign on to app", "event_type": "user.authentication.sso",
             "outcome": {"result": "SUCCESS"}},
    "tokentrail": {"app": {"id": "confluence-sync", "name": "Confluence Sync", "client_id": "0oa1abcd2EFGH3ijk4l5",
                           "registered": True}},
}


def make_event(i: int, dataset: str = "okta.system", **changes: Any) -> dict[str, Any]:
    ev = copy.deepcopy(OKTA_EVENT)
    ev["event"]["id"] = f"evt-{dataset}-{i:06d}"
    ev["event"]["dataset"] = dataset
    ev["@timestamp"] = f"2024-05-03T02:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"
    ev.update(changes)
    return ev


def items_of(events: list[dict[str, Any]]) -> list[Item]:
    return [Item(e, orjson.dumps(e)) for e in events]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Noida:
    """noida-db with only Elasticsearch, in its own process group (stopped by signalling that group)."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        log = open(self.data_dir.parent / f"noida-{self.port}.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [str(NOIDA), "start", "--only", "elasticsearch", "--elasticsearch-port", str(self.port),
             "--data-dir", str(self.data_dir)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        # noida-db prints "press Ctrl-C to stop" once listening; polling the port is the sure sign.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"noida-db exited with {self.proc.returncode}; see {log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("noida-db did not start in time")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the group: noida-db saves its data and exits (the wrapper does not forward signals)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        # The server itself is the wrapper's child; wait until the port is free again.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    time.sleep(0.1)
            except OSError:
                break
        self.proc = None

    def count(self, index: str) -> int:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/{index}/_refresh", method="POST")).read()
        with urllib.request.urlopen(f"{self.url}/{index}/_count") as resp:
            return orjson.loads(resp.read())["count"]

    def search(self, index: str, size: int = 1000) -> list[dict[str, Any]]:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/{index}/_refresh", method="POST")).read()
        with urllib.request.urlopen(f"{self.url}/{index}/_search?size={size}") as resp:
            return orjson.loads(resp.read())["hits"]["hits"]


HEC_TOKENS = {"11111111-aaaa-4bbb-8ccc-000000000001": Token(ack=True),
              "11111111-aaaa-4bbb-8ccc-000000000002": Token(ack=False),
              "11111111-aaaa-4bbb-8ccc-000000000003": Token(disabled=True),
              "11111111-aaaa-4bbb-8ccc-000000000004": Token(ack=False, indexes=["main"])}
ACK_TOKEN, PLAIN_TOKEN, DISABLED_TOKEN, MAIN_ONLY_TOKEN = list(HEC_TOKENS)



@dataclass
class ShipRun:
    acked: int
    dlq: list[dict[str, Any]]
    fatal: list[str]


def ship(sinks: list[Any], items: list[Item], *, timeout: float = 60.0, batch_size: int = 2000,
         stop_after: float | None = None) -> ShipRun:
    """Publish `items` on a memory bus and run the real Shipper over them until all are acked (or timeout)."""
    bus, topics = MemoryBus(100_000), Topics("t")
    acked = []
    lock = threading.Lock()

    def done(err: BaseException | None) -> None:
        with lock:
            acked.append(err)

    for it in items:
        bus.publish(topics.events, it.data, on_done=done)
    bus.end(topics.events)
    stop = threading.Event()
    fatal: list[str] = []
    shipper = Shipper(sinks, bus, topics, stop, backoff=lambda: Backoff(base=0.01, cap=0.1),
                      on_fatal=fatal.append)
    t = threading.Thread(target=shipper.run, args=(bus.consumer([topics.events], "ship"), batch_size, 0.05),
                         daemon=True)
    t.start()
    t.join(stop_after if stop_after is not None else timeout)
    stop.set()
    t.join(10)
    bus.end(topics.dlq)
    dlq_consumer = bus.consumer([topics.dlq], "dlq")
    dlq = []
    while True:
        msgs = dlq_consumer.poll(1000, 0)
        if not msgs:
            break
        for m in msgs:
            dlq.append(orjson.loads(m.value))
            m.ack()
    return ShipRun(len(acked), dlq, fatal)


@dataclass
class Tls:
    ca_file: str
    server: ssl.SSLContext


def make_tls(folder: Path) -> Tls:
    """A private CA and a server certificate for 127.0.0.1 signed by it (for TLS tests)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def cert(subject: str, key, issuer_name, issuer_key, ca: bool):
        b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    ca_key, srv_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tokentrail test CA")])
    ca_cert = cert("Tokentrail test CA", ca_key, ca_name, ca_key, True)
    srv_cert = cert("127.0.0.1", srv_key, ca_name, ca_key, False)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (folder / "server.pem").write_bytes(srv_cert.public_bytes(pem))
    (folder / "server.key").write_bytes(srv_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(folder / "server.pem", folder / "server.key")
    return Tls(str(folder / "ca.pem"), ctx)
