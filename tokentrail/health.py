"""/healthz, /readyz and /metrics on a small threaded HTTP server (stdlib; Prometheus exposition)."""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tokentrail.metrics import REGISTRY


def serve(listen: str, ready: Callable[[], bool], alive: Callable[[], bool] = lambda: True) -> ThreadingHTTPServer:
    """Start serving on `host:port` in a daemon thread; `.shutdown()` stops it."""
    host, _, port = listen.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, ctype, code = generate_latest(REGISTRY), CONTENT_TYPE_LATEST, 200
            elif path == "/healthz":
                ok = alive()
                body, ctype, code = (b"ok\n" if ok else b"dead\n"), "text/plain", 200 if ok else 503
            elif path == "/readyz":
                ok = ready()
                body, ctype, code = (b"ready\n" if ok else b"not ready\n"), "text/plain", 200 if ok else 503
            else:
                body, ctype, code = b"not found\n", "text/plain", 404
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler)
    server.daemon_threads = True
    Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
