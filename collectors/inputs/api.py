"""`kind: api` input: poll a provider's audit API, one raw record per provider record, with a checkpoint
that moves only after the records were accepted downstream.

Each source's `collectors/<source>/fetch.py` provides `Config` (a subclass of ApiConfig) and
`streams(config, client, clock) -> list[Stream]`: one stream per endpoint or query (Entra sign-ins per
event type, Google per application). A stream turns a cursor into a Page: the records, the cursor once
they are all safe, and whether more is available right away. This module runs the streams:

- one Raw per record: value = the record's JSON, key = its natural key (Okta uuid, Graph id...);
- a record's ack (`on_done(None)`) adds its key to the stream's `seen` set and, once every earlier
  record is acked too (Tracker), moves the saved cursor past its page. A restart resumes at the saved
  cursor and skips keys in `seen`: no gap, and no duplicate beyond what the provider itself repeats.
  `seen` is also the de-duplication of overlapping windows; it forgets keys older than the stream's
  horizon and is bounded by `max_seen`;
- `--once`: each stream catches up once (until a short or last page), then the input returns.

Time-windowed providers (Entra, Google, Confluence, Atlassian) share `WindowedStream`: windows
`[since, min(now, since + window_seconds)]`, paged newest-first by the provider, and the next window
starting `overlap_seconds` before the end of the last one (logs land late).
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import math
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import orjson
import structlog

from collectors import SOURCES
from collectors.inputs import InputContext, OnDone
from collectors.inputs.apiclient import ApiClient, HttpError, RateLimiter, RatePolicy, Stopped, make_http
from collectors.inputs.oauth import Auth, AuthConfig, build_auth
from tokentrail import metrics
from tokentrail.checkpoint import Tracker
from tokentrail.clock import Clock
from tokentrail.configtools import doc
from tokentrail.errors import AuthError, ConfigError, FetchError, RecordError
from tokentrail.event import parse_ts, stable_id
from tokentrail.pipeline import Raw
from tokentrail.retry import Backoff, sleep_until

log = structlog.get_logger("tokentrail")
DAY = 86400.0
_U32 = struct.Struct(">I")


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """Keys every `kind: api` input accepts. Sources override defaults and add their own keys."""

    SOURCE: ClassVar[str] = ""
    AUTH_KINDS: ClassVar[tuple[str, ...]] = ()
    MAX_LOOKBACK_DAYS: ClassVar[float] = 90.0
    MAX_PAGE_SIZE: ClassVar[int] = 1000

    base_url: str = doc("the provider's base URL (a test server, a national cloud...)")
    auth: AuthConfig = doc("credentials (see docs/api.md); secrets only from *_file or *_env keys")
    poll_interval_seconds: float = doc("pause between polls once caught up", 60.0)
    lookback_seconds: float = doc("first run (no checkpoint): start this far back", DAY)
    start_time: str | None = doc("first run: start here (RFC 3339) instead of the lookback", None)
    end_time: str | None = doc("stop at this time (RFC 3339); the input finishes there (backfills)", None)
    page_size: int = doc("records per request", 1000)
    timeout_seconds: float = doc("per-request timeout", 30.0)
    max_retries: int = doc("attempts per request on 429/5xx/network errors before giving up until the "
                           "next poll", 8)
    rate_limit_requests: int = doc("client-side limit: at most this many requests ...", 60)
    rate_limit_seconds: float = doc("... in any window of this many seconds (the provider's published limit)", 60.0)
    checkpoint_interval_seconds: float = doc("write the checkpoint at most this often", 1.0)
    max_seen: int = doc("at most this many record keys remembered for de-duplication (12 bytes each in the "
                        "checkpoint: 50,000 fit Kafka's default 1 MB message)", 50_000)
    ca_file: str | None = doc("CA bundle (PEM) to verify the provider's TLS certificate", None)

    def start_epoch(self, now: float) -> float:
        if self.start_time:
            return parse_ts(self.start_time, field="start_time").timestamp()
        return now - self.lookback_seconds

    def end_epoch(self) -> float | None:
        return parse_ts(self.end_time, field="end_time").timestamp() if self.end_time else None

    def placeholder(self) -> bool:
        """True when a required key was missing: build() reported it and filled every field with None."""
        return any(getattr(self, k) is None for k in ("page_size", "lookback_seconds", "rate_limit_requests"))

    def validate(self) -> list[str]:
        if self.placeholder():
            return []
        problems = []
        if not isinstance(self.base_url, str) or not self.base_url.startswith(("http://", "https://")):
            problems.append("base_url: an http:// or https:// URL")
        if isinstance(self.auth, AuthConfig) and self.AUTH_KINDS and self.auth.kind not in self.AUTH_KINDS:
            problems.append(f"auth.kind: {self.SOURCE} accepts {', '.join(self.AUTH_KINDS)}")
        if not 0 < self.lookback_seconds <= self.MAX_LOOKBACK_DAYS * DAY:
            problems.append(f"lookback_seconds: between 1 and {int(self.MAX_LOOKBACK_DAYS * DAY)} "
                            f"({self.MAX_LOOKBACK_DAYS:g} days, the provider's retention)")
        for key in ("start_time", "end_time"):
            value = getattr(self, key)
            if value:
                try:
                    parse_ts(value, field=key)
                except RecordError:
                    problems.append(f"{key}: not a timestamp (RFC 3339 expected)")
        if not 1 <= self.page_size <= self.MAX_PAGE_SIZE:
            problems.append(f"page_size: between 1 and {self.MAX_PAGE_SIZE}")
        if self.rate_limit_requests < 1 or self.rate_limit_seconds <= 0:
            problems.append("rate_limit_requests: at least 1 request in a positive rate_limit_seconds")
        for key in ("poll_interval_seconds", "timeout_seconds"):
            if getattr(self, key) <= 0:
                problems.append(f"{key}: must be positive")
        if self.max_retries < 0 or self.max_seen < 0:
            problems.append("max_retries/max_seen: must not be negative")
        return problems


@dataclass(frozen=True, kw_only=True)
class WindowedConfig(ApiConfig):
    overlap_seconds: float = doc("re-read this much before the last window's end (late events)", 900.0)
    window_seconds: float = doc("catching up: query at most this much time per window", 6 * 3600.0)

    def validate(self) -> list[str]:
        problems = super().validate()
        if self.overlap_seconds is None or self.window_seconds is None:
            return problems
        if self.overlap_seconds < 0:
            problems.append("overlap_seconds: must not be negative")
        if self.window_seconds <= self.overlap_seconds:
            problems.append("window_seconds: must be larger than overlap_seconds")
        return problems


@dataclass
class Page:
    """One response: its records, the cursor to resume from once they are all safe, and whether more is
    available right away (False: caught up, poll again later)."""

    records: list[dict[str, Any]]
    cursor: dict[str, Any]
    more: bool
    horizon: float | None = None  # keys of records older than this (epoch s) need no remembering


class Stream(Protocol):
    name: str

    def start(self, since: float) -> dict[str, Any]: ...
    def fetch(self, cursor: dict[str, Any]) -> Page: ...
    def time(self, record: dict[str, Any]) -> float | None: ...


class WindowedStream:
    """Polling of a time-filtered, paged query. Subclasses implement `request(start, end, page)`
    -> (records, next page token or None) and `time(record)`."""

    name = "events"

    def __init__(self, config: WindowedConfig, client: ApiClient, clock: Clock) -> None:
        self.config, self.client, self.clock = config, client, clock
        self.end_time = config.end_epoch()

    def start(self, since: float) -> dict[str, Any]:
        return {"since": since}

    def request(self, start: float, end: float, page: Any) -> tuple[list[dict[str, Any]], Any]:
        raise NotImplementedError

    def time(self, record: dict[str, Any]) -> float | None:
        return None

    def fetch(self, cursor: dict[str, Any]) -> Page:
        now = self.clock.time()
        since = float(cursor["since"])
        window, page, capped = cursor.get("window"), cursor.get("page"), cursor.get("capped", True)
        if window is None:
            end = min(now, since + self.config.window_seconds)
            if self.end_time is not None:
                end = min(end, self.end_time)
            # A window that reaches the present ends the catch-up, however long its pages take to read.
            window, page, capped = [since, max(since, end)], None, end < now
        try:
            records, next_page = self.request(window[0], window[1], page) if window[1] > window[0] else ([], None)
        except HttpError as exc:
            if page is None or exc.status not in (400, 404, 410):
                raise
            # A page token the provider no longer honours: read the window again; `seen` skips repeats.
            log.warning("stale page token; reading the window again", stream=self.name, status=exc.status)
            records, next_page = self.request(window[0], window[1], None)
        if next_page is not None:
            return Page(records, {"since": since, "window": window, "page": next_page, "capped": capped}, True,
                        window[0])
        nxt: dict[str, Any] = {"since": max(window[0], window[1] - self.config.overlap_seconds)}
        finished = self.end_time is not None and window[1] >= self.end_time
        if finished:
            nxt["finished"] = True
        return Page(records, nxt, more=not finished and capped, horizon=nxt["since"])


def epoch(value: Any, field: str) -> float | None:
    """A record's time as epoch seconds, or None when it has no usable one."""
    if value is None or value == "":
        return None
    try:
        return parse_ts(value, field=field).timestamp()
    except RecordError:
        return None


def iso(t: float, ms: bool = False) -> str:
    """Epoch seconds to RFC 3339 UTC with Z (whole seconds unless `ms`)."""
    dt = datetime.fromtimestamp(t, UTC)
    if ms:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def digest(key: str) -> bytes:
    """8 bytes standing for a record key in the seen set (collisions: ~1e-10 at 100,000 keys)."""
    return hashlib.blake2b(key.encode(), digest_size=8).digest()


def pack_seen(seen: dict[bytes, float]) -> str:
    """The seen set as base64 of (8-byte digest, 4-byte time rounded up) pairs: compact for Kafka."""
    parts = [d + _U32.pack(min(max(math.ceil(t), 0), 0xFFFFFFFF)) for d, t in seen.items()]
    return base64.b64encode(b"".join(parts)).decode()


def unpack_seen(value: Any) -> dict[bytes, float]:
    if isinstance(value, dict):  # keys in clear (hand-written or older state)
        return {digest(str(k)): float(v) for k, v in value.items()}
    if not value:
        return {}
    raw = base64.b64decode(value)
    return {raw[i:i + 8]: float(_U32.unpack_from(raw, i + 8)[0]) for i in range(0, len(raw) - 11, 12)}


# ---------------------------------------------------------------------------------------------------
# the input

def _fetch_module(source: str) -> Any:
    try:
        return importlib.import_module(f"collectors.{source}.fetch")
    except ModuleNotFoundError as exc:
        if exc.name != f"collectors.{source}.fetch":
            raise
        return None


@dataclass(frozen=True)
class NoApiConfig:
    """Placeholder config for a source without an API: reports the problem."""

    SOURCE: ClassVar[str] = ""

    def validate(self) -> list[str]:
        return ["kind: this source has no API input; use kind file, kafka or http"]


def config_class(source: str) -> type:
    mod = _fetch_module(source)
    return mod.Config if mod is not None else NoApiConfig


def create(spec: Any, ctx: InputContext) -> ApiInput:
    return ApiInput(spec.name, spec.source, spec.config, ctx)


# A process-wide progress listener (the backfill command's progress bar), used when ctx.progress is unset.
progress_hook: Callable[[str, dict[str, Any]], None] | None = None


@dataclass
class _State:
    """One stream's position: the cursor safe to resume from, the keys acknowledged, what is in flight."""

    stream: Any
    cursor: dict[str, Any] | None
    horizon: float | None
    seen: dict[bytes, float]  # digest of the record key -> the record's time (epoch s)
    safe_cursor: dict[str, Any] | None = None
    safe_horizon: float | None = None
    tracker: Tracker = field(default_factory=Tracker)
    pending: set[bytes] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.safe_cursor, self.safe_horizon = self.cursor, self.horizon


class ApiInput:
    """Runs a source's streams; see the module docstring."""

    def __init__(self, name: str, source: str, config: Any, ctx: InputContext, *,
                 transport: Any = None, sleep: Callable[[float], None] | None = None,
                 backoff: Callable[[], Backoff] = Backoff) -> None:
        mod = _fetch_module(source)
        if mod is None or not isinstance(config, ApiConfig):
            raise ConfigError(f"input {name}: source {source} has no API input")
        self.name, self.source, self.config, self.ctx = name, source, config, ctx
        self.clock = ctx.clock
        self.sleep = sleep or self.clock.sleep
        self.natural_key = SOURCES[source].natural_key
        self.http = make_http(config.timeout_seconds, transport, config.ca_file)
        self.stop = threading.Event()
        auth = self._auth(mod)
        limiter = RateLimiter(config.rate_limit_requests, config.rate_limit_seconds, self.clock)
        policy: RatePolicy = getattr(mod, "POLICY", None) or RatePolicy()
        self.client = ApiClient(name=name, base_url=config.base_url, auth=auth, policy=policy, limiter=limiter,
                                clock=self.clock, stop=self.stop, max_retries=config.max_retries, http=self.http,
                                sleep=self.sleep, backoff=backoff)
        saved = (ctx.store.load(name) or {}).get("streams", {})
        self.states: list[_State] = []
        for stream in mod.streams(config, self.client, self.clock):
            s = saved.get(stream.name) or {}
            self.states.append(_State(stream, s.get("cursor"), s.get("horizon"), unpack_seen(s.get("seen"))))
        self._lock = threading.RLock()
        self._dirty = False
        self._last_save = 0.0
        self._timer: threading.Timer | None = None
        self.pages = 0
        self.records = 0
        self.skipped = 0

    def _auth(self, mod: Any) -> Auth:
        token_url = mod.default_token_url(self.config) if hasattr(mod, "default_token_url") else None
        scopes = mod.scopes(self.config) if hasattr(mod, "scopes") else []
        return build_auth(self.config.auth, http=self.http, clock=self.clock, default_token_url=token_url,
                          default_scopes=scopes)

    # -- running ------------------------------------------------------------------------------------

    def run(self, emit: Callable[[Raw, OnDone], None], stop: threading.Event, once: bool) -> None:
        self.stop.clear()
        relay = threading.Thread(target=self._relay_stop, args=(stop,), daemon=True, name=f"stop:{self.name}")
        relay.start()
        try:
            while not stop.is_set():
                active = [st for st in self.states if not self._finished(st)]
                if not active:
                    log.info("api input finished (end_time reached)", input=self.name)
                    return
                for st in active:
                    if stop.is_set():
                        return
                    self._catch_up(st, emit, stop, once)
                if once:
                    return
                if not sleep_until(stop.is_set, self.config.poll_interval_seconds, self.sleep):
                    return
        except Stopped:
            return
        finally:
            self.stop.set()

    def _finished(self, st: _State) -> bool:
        return bool((st.cursor or {}).get("finished")) and self.config.end_time is not None

    def _relay_stop(self, stop: threading.Event) -> None:
        # The client's waits watch self.stop; mirror the runtime's stop into it.
        while not self.stop.is_set():
            if stop.wait(0.2):
                self.stop.set()

    def _catch_up(self, st: _State, emit: Callable[[Raw, OnDone], None], stop: threading.Event,
                  once: bool) -> None:
        backoff = Backoff(base=1.0, cap=60.0)
        while not stop.is_set():
            cursor = st.cursor if st.cursor is not None else st.stream.start(
                self.config.start_epoch(self.clock.time()))
            if cursor.get("finished"):  # a finished backfill cursor, but end_time was removed since: go on
                cursor = {k: v for k, v in cursor.items() if k != "finished"}
                if not cursor.keys() & {"since", "next"}:
                    cursor = st.stream.start(self.config.start_epoch(self.clock.time()))
            try:
                page = st.stream.fetch(cursor)
            except (AuthError, ConfigError):
                metrics.FETCH_ERRORS.labels(input=self.name, kind="auth").inc()
                raise
            except FetchError as exc:
                metrics.FETCH_ERRORS.labels(input=self.name, kind=type(exc).__name__.lower()).inc()
                if once:
                    raise
                log.warning("api poll failed; trying again later", input=self.name, stream=st.stream.name,
                            error=str(exc))
                sleep_until(stop.is_set, backoff.next(), self.sleep)
                return
            backoff.reset()
            self.pages += 1
            emitted = self._emit_page(st, cursor, page, emit)
            self._report(st, page, emitted)
            if (page.cursor or {}).get("finished") or not page.more:
                return

    def _emit_page(self, st: _State, cursor: dict[str, Any], page: Page,
                   emit: Callable[[Raw, OnDone], None]) -> int:
        now = self.clock.time()
        fresh: list[tuple[str, bytes, dict[str, Any]]] = []
        with self._lock:
            for rec in page.records:
                key = self._key(rec)
                d = digest(key)
                if d in st.seen or d in st.pending:
                    self.skipped += 1
                    continue
                st.pending.add(d)
                fresh.append((key, d, rec))
            before = (cursor, st.horizon)
            tickets = [st.tracker.add(before) for _ in fresh[:-1]]
            last = st.tracker.add((page.cursor, page.horizon))
            st.cursor, st.horizon = page.cursor, page.horizon
        if not fresh:
            self._acked(st, last, None, 0.0)
            return 0
        tickets.append(last)
        origin = f"api:{self.name}/{st.stream.name}:page {self.pages}"
        for (key, d, rec), seq in zip(fresh, tickets, strict=True):
            t = st.stream.time(rec)
            raw = Raw(self.source, orjson.dumps(rec), origin, key=key.encode())
            self.records += 1
            emit(raw, self._on_done(st, seq, d, t if t is not None else now))
        return len(fresh)

    def _key(self, rec: dict[str, Any]) -> str:
        try:
            key = self.natural_key(rec)
        except Exception:  # advisory: a record the source cannot key is keyed by its content
            key = None
        return key or stable_id(rec)

    def _on_done(self, st: _State, seq: int, key: bytes, t: float) -> OnDone:
        def done(error: BaseException | None) -> None:
            if error is not None:
                return  # not safe: the cursor stays before this record; a restart fetches it again
            self._acked(st, seq, key, t)

        return done

    def _acked(self, st: _State, seq: int, key: bytes | None, t: float) -> None:
        with self._lock:
            if key is not None:
                st.pending.discard(key)
                st.seen[key] = t
            st.tracker.ack(seq)
            safe = st.tracker.safe()
            if safe is not None:
                st.safe_cursor, st.safe_horizon = safe
            self._dirty = True
        self.save(force=False)

    def _report(self, st: _State, page: Page, emitted: int) -> None:
        hook = self.ctx.progress or progress_hook
        if hook is not None:
            hook("page", {"input": self.name, "stream": st.stream.name, "records": len(page.records),
                          "emitted": emitted, "requests": self.client.stats["requests"]})

    # -- checkpoint ---------------------------------------------------------------------------------

    def _snapshot(self) -> dict[str, Any]:
        keep = max(2 * self.config.page_size, 2000)
        streams = {}
        for st in self.states:
            horizon = st.safe_horizon
            items = list(st.seen.items())
            recent = len(items) - keep
            # Keep the last pages' keys (a resumed page is read again) and those the next windows may repeat.
            kept = {k: t for i, (k, t) in enumerate(items) if i >= recent or (horizon is not None and t >= horizon)}
            if len(kept) > self.config.max_seen:
                kept = dict(list(kept.items())[-self.config.max_seen:])
            st.seen = kept
            streams[st.stream.name] = {"cursor": st.safe_cursor, "horizon": horizon, "seen": pack_seen(kept)}
        return {"v": 1, "streams": streams}

    def save(self, force: bool = True) -> None:
        """Write the checkpoint (at most once per checkpoint_interval_seconds unless forced)."""
        with self._lock:
            if not self._dirty:
                return
            now = self.clock.monotonic()
            wait = self.config.checkpoint_interval_seconds - (now - self._last_save)
            if not force and wait > 0:
                if self._timer is None:  # make sure a quiet period still gets its last acks saved
                    self._timer = threading.Timer(wait, self._flush)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self.ctx.store.save(self.name, self._snapshot())
            self._dirty, self._last_save = False, now

    def _flush(self) -> None:
        with self._lock:
            self._timer = None
        self.save(force=True)

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self.save(force=True)
        self.http.close()
