"""What every vendor stand-in shares: a handler from httpx.Request to httpx.Response (used directly with
httpx.MockTransport in unit tests), a loopback HTTP server around the same handler (end-to-end tests and
the benchmark), scripted faults, a request log and a sliding-window rate limit.

Stand-ins are written from each vendor's documentation (see the module docstring of each) and never
read ../shared.
"""

from __future__ import annotations

import base64
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson


def b64(data: Any) -> str:
    """An opaque cursor for a JSON-able value."""
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def unb64(text: str) -> Any:
    return orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(body),
                          headers={"Content-Type": "application/json", **(headers or {})})


class StandIn:
    """Base: subclasses implement `route(request) -> httpx.Response`."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self.base_url = "https://standin.example"
        self.faults: deque[httpx.Response | Callable[[httpx.Request], httpx.Response | None]] = deque()
        self.requests: list[httpx.Request] = []
        self.request_times: list[float] = []
        self.rate_limit: tuple[int, float] | None = None  # (requests, per seconds), sliding window
        self.too_many = 0
        self.rejected = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.hold: Callable[[httpx.Request], None] | None = None  # called before answering (e2e pauses)

    # -- the handler ----------------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.hold is not None:
            self.hold(request)
        with self._lock:
            self.requests.append(request)
            self.request_times.append(self.now())
            if self.faults and not self._is_token_request(request):
                fault = self.faults.popleft()
                resp = fault(request) if callable(fault) else fault
                if resp is not None:
                    return resp
            limited = self._over_limit(request)
        if limited is not None:
            return limited
        return self.route(request)

    def _is_token_request(self, request: httpx.Request) -> bool:
        return request.method == "POST"

    def _over_limit(self, request: httpx.Request) -> httpx.Response | None:
        if self.rate_limit is None or self._is_token_request(request):
            return None
        limit, per = self.rate_limit
        now = self.now()
        recent = [t for r, t in zip(self.requests[:-1], self.request_times[:-1], strict=True)
                  if now - t < per and not self._is_token_request(r)]
        if len(recent) >= limit:
            self.too_many += 1
            oldest = min(recent)
            return self.throttled(request, max(0.0, oldest + per - now))
        return None

    def throttled(self, request: httpx.Request, wait: float) -> httpx.Response:
        """The vendor's 429 (subclasses add their headers and body)."""
        return json_response(429, {"error": "too many requests"}, {"Retry-After": str(int(wait) + 1)})

    def route(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if not self._is_token_request(r)]

    def max_in_window(self, per: float) -> int:
        """The most API requests seen in any window of `per` seconds (to show a limit was kept)."""
        times = sorted(t for r, t in zip(self.requests, self.request_times, strict=True)
                       if not self._is_token_request(r))
        best, j = 0, 0
        for i, t in enumerate(times):
            while t - times[j] >= per:
                j += 1
            best = max(best, i - j + 1)
        return best

    # -- a loopback server around the handler ------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = f"{standin.base_url}{self.path}"
                req = httpx.Request(self.command, url, headers=list(self.headers.items()), content=body)
                try:
                    resp = standin(req)
                except Exception as exc:  # a stand-in bug shows as a 500 with the reason
                    resp = json_response(500, {"error": f"stand-in failed: {type(exc).__name__}: {exc}"})
                data = resp.content
                self.send_response(resp.status_code)
                for k, v in resp.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _any  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        server.handle_error = lambda request, address: None  # a client killed mid-request is expected
        self._server = server
        self.base_url = f"http://{host}:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self.base_url

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
