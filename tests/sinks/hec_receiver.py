"""A Splunk HTTP Event Collector for tests and benchmarks, following Splunk's documented protocol.

- Endpoints: POST /services/collector, /services/collector/event, /services/collector/event/1.0;
  POST /services/collector/ack; GET /services/collector/health.
- Auth: `Authorization: Splunk <token>` (or Basic with the token as password); missing -> 401 code 2,
  another scheme -> 401 code 3, unknown -> 403 code 4, disabled -> 403 code 1; `?token=` -> 400 code 16.
- Channel: required when the token has indexer acknowledgement (`X-Splunk-Request-Channel` or
  `?channel=`): missing -> 400 code 10, not a GUID -> 400 code 11.
- Body: concatenated JSON objects (any whitespace between), gzip when `Content-Encoding: gzip`.
  Empty -> 400 code 5; unparsable or not an object -> 400 code 6; no `event` -> code 12; blank
  `event` -> code 13; `fields` not flat strings / `time` not a number -> code 15; an index outside the
  token's list -> code 7. Errors name the first bad event (`invalid-event-number`); such a request is
  refused whole (nothing indexed).
- Acks: each accepted request on an ack token gets the channel's next `ackId`; `/ack` with
  `{"acks": [...]}` answers `{"acks": {"<id>": true|false}}`; an id reported true is forgotten.
  Token without acks -> 400 code 14.

Injectable faults: `busy(n)` (503 code 9), `fail(n, status, code)`, `poison` (events containing a
marker are invalid, code 6), `ack_delay` (late acks), `lose_acks(n)` (acks that never come),
`forget_channels()` (a restart: ack queries then get code 11), `unhealthy` (health code 18).

Run standalone for benchmarks: `python tests/sinks/hec_receiver.py PORT TOKEN [--ack]`; GET
`/__receiver/count` (not Splunk) tells how many events it accepted.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

try:  # native gunzip (ISA-L) when installed, as a C server would decompress
    from isal.igzip import decompress as _gunzip
except ImportError:
    _gunzip = gzip.decompress

CODES: dict[int, tuple[int, str]] = {
    0: (200, "Success"),
    1: (403, "Token disabled"),
    2: (401, "Token is required"),
    3: (401, "Invalid authorization"),
    4: (403, "Invalid token"),
    5: (400, "No data"),
    6: (400, "Invalid data format"),
    7: (400, "Incorrect index"),
    8: (500, "Internal server error"),
    9: (503, "Server is busy"),
    10: (400, "Data channel is missing"),
    11: (400, "Invalid data channel"),
    12: (400, "Event field is required"),
    13: (400, "Event field cannot be blank"),
    14: (400, "ACK is disabled"),
    15: (400, "Error in handling indexed fields"),
    16: (400, "Query string authorization is not enabled"),
    17: (200, "HEC is healthy"),
    18: (503, "HEC is unhealthy, queues are full"),
}
EVENT_PATHS = {"/services/collector", "/services/collector/event", "/services/collector/event/1.0"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_WS = b" \t\r\n"


class HecError(Exception):
    def __init__(self, code: int, event: int | None = None) -> None:
        super().__init__(CODES[code][1])
        self.code, self.event = code, event


@dataclass
class Token:
    ack: bool = False
    disabled: bool = False
    indexes: list[str] | None = None  # None: any index


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    events: int
    status: int
    code: int


@dataclass
class State:
    tokens: dict[str, Token]
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    poison: str | None = None
    ack_delay: float = 0.0
    unhealthy: bool = False
    keep_events: bool = True
    count: int = 0
    _faults: list[tuple[int, int]] = field(default_factory=list)  # (http status, code) for the next requests
    _lose: int = 0
    _channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- fault injection -----------------------------------------------------------------------
    def busy(self, n: int = 1) -> None:
        self.fail(n, 503, 9)

    def fail(self, n: int, status: int, code: int) -> None:
        with self.lock:
            self._faults += [(status, code)] * n

    def lose_acks(self, n: int = 1) -> None:
        with self.lock:
            self._lose += n

    def forget_channels(self) -> None:
        with self.lock:
            self._channels.clear()

    # -- views -----------------------------------------------------------------------------------
    def pending_acks(self) -> int:
        with self.lock:
            return sum(len(c["acks"]) for c in self._channels.values())

    def max_pending(self) -> int:
        with self.lock:
            return max((c["max_pending"] for c in self._channels.values()), default=0)


def parse_events(body: bytes) -> list[Any]:
    """Concatenated JSON values; HecError(6, i) at the first one that does not parse."""
    # Fast path: one object per line (what most clients send); exact fallback otherwise.
    if b"\n" in body:
        try:
            return [orjson.loads(line) for line in body.split(b"\n") if line and not line.isspace()]
        except orjson.JSONDecodeError:
            pass
    text = body.decode("utf-8", "replace")
    dec = json.JSONDecoder()
    out, pos, n = [], 0, len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if pos >= n:
            return out
        try:
            value, pos = dec.raw_decode(text, pos)
        except ValueError:
            raise HecError(6, len(out)) from None
        out.append(value)


def check_event(i: int, ev: Any, token: Token) -> None:
    if not isinstance(ev, dict):
        raise HecError(6, i)
    if "event" not in ev:
        raise HecError(12, i)
    if ev["event"] in (None, "", {}):
        raise HecError(13, i)
    if "time" in ev and (isinstance(ev["time"], bool) or not isinstance(ev["time"], int | float | str)):
        raise HecError(15, i)
    if isinstance(ev.get("time"), str):
        try:
            float(ev["time"])
        except ValueError:
            raise HecError(15, i) from None
    fields = ev.get("fields")
    if fields is not None:
        if not isinstance(fields, dict):
            raise HecError(15, i)
        for v in fields.values():
            if not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))):
                raise HecError(15, i)
    if token.indexes is not None and ev.get("index") is not None and ev["index"] not in token.indexes:
        raise HecError(7, i)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive connections
    state: State

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = orjson.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def _error(exc: HecError) -> tuple[int, dict[str, Any]]:
        status, text = CODES[exc.code]
        body: dict[str, Any] = {"text": text, "code": exc.code}
        if exc.event is not None:
            body["invalid-event-number"] = exc.event
        return status, body

    def _token(self, query: dict[str, list[str]]) -> Token:
        if "token" in query:
            raise HecError(16)
        auth = self.headers.get("Authorization")
        if not auth:
            raise HecError(2)
        scheme, _, value = auth.partition(" ")
        if scheme == "Basic":
            try:
                value = base64.b64decode(value).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                raise HecError(3) from None
        elif scheme != "Splunk":
            raise HecError(3)
        token = self.state.tokens.get(value.strip())
        if token is None:
            raise HecError(4)
        if token.disabled:
            raise HecError(1)
        return token

    def _channel(self, query: dict[str, list[str]], required: bool) -> str | None:
        ch = self.headers.get("X-Splunk-Request-Channel") or (query.get("channel") or [None])[0]
        if ch is None:
            if required:
                raise HecError(10)
            return None
        if not _GUID.match(ch):
            raise HecError(11)
        return ch

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            try:
                data = _gunzip(data)
            except (OSError, EOFError, zlib.error):
                raise HecError(6) from None
        return data

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        if path == "/__receiver/count":  # not Splunk: lets a benchmark check that nothing was lost
            self._reply(200, {"count": self.state.count})
            return
        if path == "/services/collector/health":
            code = 18 if self.state.unhealthy else 17
            self._reply(CODES[code][0], {"text": CODES[code][1], "code": code})
            return
        self._reply(404, {"text": "The requested URL was not found on this server.", "code": 404})

    def do_POST(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        st = self.state
        count = 0
        try:
            status, reply = self._post(parts, parse_qs(parts.query))
            count = reply.pop("_count", 0)
        except HecError as exc:
            status, reply = self._error(exc)
        # Record before answering, so a client that got its answer finds its request in `requests`.
        with st.lock:
            hdrs = {k.lower(): v for k, v in self.headers.items()}
            st.requests.append(Request(parts.path, hdrs, count, status, reply.get("code", 0)))
        self._reply(status, reply)

    def _post(self, parts: Any, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        st = self.state
        body = self._body()  # read it first, so keep-alive stays in step whatever we answer
        token = self._token(query)
        if parts.path == "/services/collector/ack":
            return 200, self._ack(token, query, body)
        if parts.path not in EVENT_PATHS:
            return 404, {"text": "The requested URL was not found on this server.", "code": 404}
        channel = self._channel(query, required=token.ack)
        with st.lock:
            fault = st._faults.pop(0) if st._faults else None
        if fault:
            status, code = fault
            return status, {"text": CODES[code][1], "code": code}
        if not body.strip(_WS):
            raise HecError(5)
        events = parse_events(body)
        poison = st.poison.encode() if st.poison else None
        for i, ev in enumerate(events):
            check_event(i, ev, token)
            if poison is not None and poison in orjson.dumps(ev):
                raise HecError(6, i)
        reply: dict[str, Any] = {"text": "Success", "code": 0}
        with st.lock:
            if st.keep_events:
                st.events.extend(events)
            st.count += len(events)
            if token.ack and channel is not None:
                ch = st._channels.setdefault(channel, {"next": 0, "acks": {}, "max_pending": 0})
                ack_id = ch["next"]
                ch["next"] += 1
                lost = st._lose > 0
                st._lose -= 1 if lost else 0
                ch["acks"][ack_id] = float("inf") if lost else time.monotonic() + st.ack_delay
                ch["max_pending"] = max(ch["max_pending"], len(ch["acks"]))
                reply["ackId"] = ack_id
        return 200, {**reply, "_count": len(events)}

    def _ack(self, token: Token, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        if not token.ack:
            raise HecError(14)
        channel = self._channel(query, required=True)
        try:
            ids = orjson.loads(body)["acks"]
            assert isinstance(ids, list)
        except (orjson.JSONDecodeError, KeyError, TypeError, AssertionError):
            raise HecError(6) from None
        now = time.monotonic()
        with self.state.lock:
            ch = self.state._channels.get(channel)
            if ch is None:
                raise HecError(11)
            out = {}
            for a in ids:
                ready = ch["acks"].get(a)
                ok = ready is not None and ready <= now
                if ok:
                    del ch["acks"][a]
                out[str(a)] = ok
        return {"acks": out}


class Receiver:
    """A HEC server on a free loopback port (HTTPS with `ssl_context`); `.url`, `.state`, `.close()`."""

    def __init__(self, tokens: dict[str, Token], port: int = 0, ssl_context: Any = None) -> None:
        self.state = State(tokens=tokens)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        scheme = "http"
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="hec-receiver", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    import sys

    port, token = int(sys.argv[1]), sys.argv[2]
    r = Receiver({token: Token(ack="--ack" in sys.argv)}, port)
    r.state.keep_events = False
    print(f"ready {r.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        r.close()
