"""A fault-injecting HTTP proxy between the Elasticsearch sink and a real server (noida-db).

Forwards every request. For `_bulk` it can answer for the server:
- `fail(status, n)`: the next n bulk requests get that status (429, 503, 413, 401...) as a whole;
- `item_faults[_id] = [429, 503, ...]`: each time that `_id` comes, the next status in its list is
  answered for that item, and the item is NOT forwarded (a rejected item is not indexed, as in
  Elasticsearch); when the list is empty the item goes through;
- `max_body`: bulk bodies (as received) larger than this get 413.
It records each bulk request (`requests`) so tests can check gzip, filter_path and sizes.
"""

from __future__ import annotations

import gzip
import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import orjson

_REASONS = {
    429: {"type": "es_rejected_execution_exception",
          "reason": "rejected execution of coordinating operation [shard_detail=[logs][0][p]]"},
    503: {"type": "unavailable_shards_exception", "reason": "[logs][0] primary shard is not active Timeout: [1m]"},
    500: {"type": "exception", "reason": "injected"},
    400: {"type": "document_parsing_exception", "reason": "injected bad document"},
}


@dataclass
class BulkSeen:
    path: str
    headers: dict[str, str]
    body_bytes: int
    items: int


@dataclass
class ProxyState:
    upstream: str
    item_faults: dict[str, list[int]] = field(default_factory=dict)
    max_body: int | None = None
    requests: list[BulkSeen] = field(default_factory=list)
    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # every request: method, path, headers
    injected: int = 0
    _whole: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, status: int, n: int = 1) -> None:
        with self.lock:
            self._whole += [status] * n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive connections
    state: ProxyState

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _upstream(self, method: str, path: str, body: bytes | None, headers: dict[str, str]
                  ) -> tuple[int, dict[str, str], bytes]:
        u = urlsplit(self.state.upstream)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        fwd_headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "content-length", "connection", "content-encoding")}
        data = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" and raw else raw
        path = urlsplit(self.path).path
        with self.state.lock:
            self.state.calls.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.command == "POST" and path.endswith("/_bulk"):
            self._bulk(raw, data, fwd_headers)
            return
        try:
            status, headers, body = self._upstream(self.command, self.path, data or None, fwd_headers)
        except OSError:
            self._send(502, b'{"error":"upstream unreachable"}')
            return
        self._send(status, body, headers.get("Content-Type", "application/json"))

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle  # noqa: N815

    def _bulk(self, raw: bytes, data: bytes, headers: dict[str, str]) -> None:
        st = self.state
        lines = [x for x in data.split(b"\n") if x]
        pairs = list(zip(lines[0::2], lines[1::2], strict=True))
        with st.lock:
            st.requests.append(BulkSeen(self.path, {k.lower(): v for k, v in self.headers.items()}, len(raw),
                                        len(pairs)))
            whole = st._whole.pop(0) if st._whole else None
        if whole is None and st.max_body is not None and len(raw) > st.max_body:
            whole = 413
        if whole is not None:
            with st.lock:
                st.injected += 1
            err = {"error": {"type": "injected", "reason": f"injected {whole}"}, "status": whole}
            self._send(whole, orjson.dumps(err))
            return
        injected: dict[int, dict[str, Any]] = {}
        forward: list[bytes] = []
        with st.lock:
            for i, (action, source) in enumerate(pairs):
                meta = next(iter(orjson.loads(action).values()))
                faults = st.item_faults.get(meta.get("_id"))
                if faults:
                    status = faults.pop(0)
                    injected[i] = {"create": {"status": status, "error": _REASONS.get(status, _REASONS[500])}}
                    st.injected += 1
                else:
                    forward += [action, source]
        items: list[Any] = []
        errors = bool(injected)
        if forward:
            try:
                status, _, body = self._upstream("POST", self.path, b"\n".join(forward) + b"\n", headers)
            except OSError:
                self._send(502, b'{"error":"upstream unreachable"}')
                return
            if status != 200:
                self._send(status, body)
                return
            resp = orjson.loads(body)
            errors = errors or resp.get("errors", False)
            items = resp.get("items") or [{"create": {"status": 201}}] * (len(forward) // 2)
        upstream_items = iter(items)
        merged = [injected[i] if i in injected else next(upstream_items) for i in range(len(pairs))]
        self._send(200, orjson.dumps({"errors": errors, "items": merged}))


class Proxy:
    def __init__(self, upstream: str, ssl_context: Any = None) -> None:
        self.state = ProxyState(upstream)
        handler = type("BoundProxy", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        scheme = "http"
        if ssl_context is not None:  # TLS towards the sink; plain HTTP to the upstream server
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="es-proxy", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
