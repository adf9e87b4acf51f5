"""`kind: http` push input: providers POST records to us (webhooks, Okta Event Hooks).

    request                                            answer
    GET with X-Okta-Verification-Challenge             200 {"verification": <the challenge>} (one-time
                                                       Okta Event Hook verification)
    POST, JSON body                                    200 {"accepted": n} once every record is safe
                                                       (on the bus / delivered: on_done(None) for all)
    wrong or missing shared-secret header              401
    not safe within ack_timeout_seconds, or stopping   503 (the sender retries; ids make repeats harmless)
    body over max_body_bytes / no Content-Length       413 / 411
    not JSON (nor NDJSON) / wrong path                 400 / 404

Bodies: an Okta Event Hook (`{"data": {"events": [...]}}`) or a JSON array gives one raw record per
element; NDJSON one per line; any other object is one raw document, unwrapped by the source (a Graph
page, an Event Hub `{"records": [...]}`). The shared secret is compared in constant time.

There is nothing to catch up: with `--once` the input returns at once. It keeps no checkpoint (a sender
whose request was not answered 200 sends it again).
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import structlog

from collectors import SOURCES
from collectors.inputs import InputContext, OnDone
from tokentrail.configtools import doc
from tokentrail.pipeline import Raw
from tokentrail.secrets import Secret

log = structlog.get_logger("tokentrail")


@dataclass(frozen=True)
class HttpInputConfig:
    listen: str = doc("host:port to listen on (port 0: any free port)")
    secret: Secret | None = doc("the shared secret the sender puts in secret_header, from secret_file/_env")
    secret_header: str = doc("the header carrying the secret (Okta Event Hooks: the one you configured)",
                             "Authorization")
    path: str = doc("the URL path records are POSTed to", "/")
    max_body_bytes: int = doc("refuse larger bodies (413)", 10 << 20)
    ack_timeout_seconds: float = doc("answer 503 when the records are not safe within this time "
                                     "(Okta Event Hooks give up after 3 seconds)", 10.0)
    tls_cert_file: str | None = doc("serve HTTPS with this certificate (PEM) ...", None)
    tls_key_file: str | None = doc("... and this private key", None)

    def validate(self) -> list[str]:
        problems = []
        if self.path is None:
            return problems  # a required key was missing: build() reported it and filled placeholders
        host, sep, port = (self.listen or "").rpartition(":")
        if not sep or not port.isdigit():
            problems.append("listen: host:port expected")
        if not self.path.startswith("/"):
            problems.append("path: must start with /")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            problems.append("tls_cert_file: give tls_cert_file and tls_key_file together")
        if self.max_body_bytes < 1 or self.ack_timeout_seconds <= 0:
            problems.append("max_body_bytes/ack_timeout_seconds: must be positive")
        return problems


def config_class(source: str) -> type:
    return HttpInputConfig


def create(spec: Any, ctx: InputContext) -> HttpInput:
    return HttpInput(spec.name, spec.source, spec.config, ctx)


class _Waiter:
    """Counts on_done calls for one request; `wait()` is True when all were safe in time."""

    def __init__(self, n: int) -> None:
        self._left, self._error = n, False
        self._lock = threading.Lock()
        self._done = threading.Event()
        if n == 0:
            self._done.set()

    def on_done(self, error: BaseException | None) -> None:
        with self._lock:
            self._error = self._error or error is not None
            self._left -= 1
            if self._left <= 0:
                self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout) and not self._error


def split_body(body: bytes) -> tuple[list[bytes], bool] | None:
    """The raw units of a body and whether the single unit is a whole document; None if not JSON."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        lines = [ln for ln in body.splitlines() if ln.strip()]
        try:
            for ln in lines:
                orjson.loads(ln)
        except orjson.JSONDecodeError:
            return None
        return (lines, False) if lines else None
    if isinstance(doc, dict):
        events = (doc.get("data") or {}).get("events") if isinstance(doc.get("data"), dict) else None
        if isinstance(events, list) and ("eventType" in doc or "eventTypeVersion" in doc):
            return [orjson.dumps(e) for e in events], False  # an Okta Event Hook delivery
        return [body], True
    if isinstance(doc, list):
        return [orjson.dumps(e) for e in doc], False
    return [body], False


class HttpInput:
    def __init__(self, name: str, source: str, config: HttpInputConfig, ctx: InputContext) -> None:
        self.name, self.source, self.config, self.ctx = name, source, config, ctx
        self.natural_key = SOURCES[source].natural_key
        self.address: tuple[str, int] | None = None
        self.ready = threading.Event()
        self.accepted = 0
        self._server: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()

    def run(self, emit: Any, stop: threading.Event, once: bool) -> None:
        if once:
            log.info("http input has nothing to catch up with --once", input=self.name)
            return
        host, _, port = self.config.listen.rpartition(":")
        server = ThreadingHTTPServer((host or "0.0.0.0", int(port)), self._handler(emit))
        server.daemon_threads = True
        if self.config.tls_cert_file:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.config.tls_cert_file, self.config.tls_key_file)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.address = server.server_address[:2]  # type: ignore[assignment]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                  name=f"http:{self.name}", daemon=True)
        thread.start()
        self.ready.set()
        log.info("http input listening", input=self.name, address=f"{self.address[0]}:{self.address[1]}")
        try:
            stop.wait()
        finally:
            self._stopping.set()
            server.shutdown()
            server.server_close()

    def _key(self, data: bytes) -> bytes | None:
        try:
            key = self.natural_key(orjson.loads(data))
        except Exception:
            return None
        return key.encode() if key else None

    def _handler(self, emit: Any) -> type[BaseHTTPRequestHandler]:
        inp, cfg = self, self.config
        secret_header = cfg.secret_header

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, code: int, body: dict[str, Any]) -> None:
                data = orjson.dumps(body)
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                given = self.headers.get(secret_header)
                if cfg.secret is None:
                    return True
                if given is None:
                    return False
                return hmac.compare_digest(given.encode(), cfg.secret.reveal().encode())

            def _path_ok(self) -> bool:
                return self.path.split("?", 1)[0] == cfg.path

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                challenge = self.headers.get("X-Okta-Verification-Challenge")
                if not self._path_ok():
                    return self._answer(404, {"error": "not found"})
                if not self._authorized():
                    return self._answer(401, {"error": "missing or wrong shared secret"})
                if challenge is None:
                    return self._answer(405, {"error": "POST records here"})
                log.info("answered the Okta Event Hook verification challenge", input=inp.name)
                self._answer(200, {"verification": challenge})

            def do_POST(self) -> None:  # noqa: N802
                if not self._path_ok():
                    return self._answer(404, {"error": "not found"})
                if not self._authorized():
                    return self._answer(401, {"error": "missing or wrong shared secret"})
                length = self.headers.get("Content-Length")
                if length is None or not length.isdigit():
                    return self._answer(411, {"error": "Content-Length required"})
                if int(length) > cfg.max_body_bytes:
                    self.close_connection = True
                    return self._answer(413, {"error": f"body over {cfg.max_body_bytes} bytes"})
                body = self.rfile.read(int(length))
                if inp._stopping.is_set():
                    return self._answer(503, {"error": "shutting down"})
                split = split_body(body)
                if split is None:
                    return self._answer(400, {"error": "the body is not JSON or NDJSON"})
                units, document = split
                waiter = _Waiter(len(units))
                origin = f"http:{self.client_address[0]}{cfg.path}"
                for unit in units:
                    raw = Raw(inp.source, unit, origin, None, document, key=inp._key(unit))
                    on_done: OnDone = waiter.on_done
                    emit(raw, on_done)
                if not waiter.wait(cfg.ack_timeout_seconds):
                    return self._answer(503, {"error": "records not safe in time; send again"})
                inp.accepted += len(units)
                self._answer(200, {"accepted": len(units)})

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
