"""The HTTP side of API inputs: one httpx client per input with auth, pacing, retries and error mapping.

    response                     what happens
    2xx                          returned; the provider's rate-limit headers may ask for a pause first
    401                          an OAuth token is fetched again once; then AuthError (no retry storm)
    403                          AuthError with the provider's error code and summary
    429 (or provider's quota)    wait what the provider asked (Retry-After, X-Rate-Limit-Reset), then retry
    5xx, timeout, network error  capped jittered backoff (tokentrail.retry.Backoff), then retry
    other 4xx                    HttpError (a FetchError): the caller decides (e.g. a stale cursor)

After `max_retries` failed attempts the last error is raised (RateLimited or Unavailable); the input's
poll loop then tries again at the next poll. Every wait is cut short by `stop`.

The transport is injectable (httpx.MockTransport in unit tests), and so are the clock and the sleep.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import structlog

from collectors.inputs.oauth import Auth
from tokentrail import __version__
from tokentrail.clock import Clock
from tokentrail.errors import AuthError, FetchError, RateLimited, Unavailable
from tokentrail.retry import Backoff, sleep_until

USER_AGENT = f"tokentrail/{__version__}"
log = structlog.get_logger("tokentrail")


class HttpError(FetchError):
    """A 4xx other than 401/403/429: the request itself was refused."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Stopped(Exception):  # noqa: N818 - a signal, not an error
    """The input was asked to stop while waiting."""


class RateLimiter:
    """At most `limit` requests in any `per_seconds` sliding window (a log of recent request times),
    so a published "N requests a minute" limit holds for every window, not just on average."""

    def __init__(self, limit: int, per_seconds: float, clock: Clock) -> None:
        self.limit, self.per = limit, per_seconds
        # The provider counts arrivals, we count departures: keep a little margin for network jitter.
        self.span = per_seconds + min(1.0, 0.02 * per_seconds + 0.05)
        self.clock = clock
        self._times: deque[float] = deque()
        self.waited = 0.0

    def wait_needed(self) -> float:
        now = self.clock.monotonic()
        while self._times and now - self._times[0] >= self.span:
            self._times.popleft()
        if len(self._times) < self.limit:
            return 0.0
        return self._times[0] + self.span - now

    def record(self) -> None:
        self._times.append(self.clock.monotonic())


class RatePolicy:
    """How a provider signals its limits. The defaults cover `Retry-After` (seconds or an HTTP date);
    providers set the names of their remaining/reset headers and override `error_summary`."""

    remaining_header: str | None = None
    reset_header: str | None = None
    reset_format = "epoch"  # epoch seconds (Okta) or iso (Atlassian)
    reserve = 0  # pause when Remaining drops to this

    def reset_at(self, resp: httpx.Response) -> float | None:
        value = resp.headers.get(self.reset_header) if self.reset_header else None
        if not value:
            return None
        try:
            if self.reset_format == "epoch":
                return float(value)
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None

    def pause_until(self, resp: httpx.Response) -> float | None:
        """Epoch seconds to wait for before the next request (the window is used up), or None."""
        if not self.remaining_header:
            return None
        try:
            remaining = int(resp.headers.get(self.remaining_header, ""))
        except ValueError:
            return None
        return self.reset_at(resp) if remaining <= self.reserve else None

    def is_rate_limited(self, resp: httpx.Response) -> bool:
        return resp.status_code == 429

    def retry_after(self, resp: httpx.Response, now: float) -> float | None:
        """Seconds to wait after a rate-limited (or 503) response, if the provider said."""
        value = resp.headers.get("Retry-After")
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                try:
                    return max(0.0, parsedate_to_datetime(value).timestamp() - now)
                except (TypeError, ValueError):
                    pass
        reset = self.reset_at(resp)
        return max(0.0, reset - now) if reset is not None else None

    def error_summary(self, resp: httpx.Response) -> str:
        """A short reason from the provider's error body (codes and messages, never request data)."""
        body = parse_json(resp)
        if isinstance(body, dict):
            for code_key, msg_key in (("errorCode", "errorSummary"), ("error", "error_description"),
                                      ("code", "message"), ("statusCode", "message")):
                code, msg = body.get(code_key), body.get(msg_key)
                if isinstance(code, dict):  # Graph / Google: {"error": {"code":..., "message":...}}
                    code, msg = code.get("status") or code.get("code"), code.get("message")
                if code or msg:
                    return " ".join(str(p)[:200] for p in (code, msg) if p)
            errors = body.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                first = errors[0]
                return " ".join(str(first.get(k))[:200] for k in ("code", "title", "detail", "message")
                                if first.get(k))
            message = body.get("message")
            if message:
                return str(message)[:200]
        return resp.reason_phrase or ""


def parse_json(resp: httpx.Response) -> Any:
    try:
        return orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return None


class ApiClient:
    """GET JSON from one provider, politely. Counts requests, retries and waits (`stats`)."""

    def __init__(self, *, name: str, base_url: str, auth: Auth | None, policy: RatePolicy,
                 limiter: RateLimiter | None, clock: Clock, stop: threading.Event, timeout: float = 30.0,
                 max_retries: int = 8, http: httpx.Client | None = None,
                 sleep: Callable[[float], None] | None = None,
                 backoff: Callable[[], Backoff] = Backoff) -> None:
        self.name, self.base_url, self.auth, self.policy, self.limiter = name, base_url.rstrip("/"), auth, policy, limiter
        self.clock, self.stop, self.max_retries, self.backoff = clock, stop, max_retries, backoff
        self.sleep = sleep or clock.sleep
        self.http = http or make_http(timeout)
        self._origin = _origin(self.base_url)
        self._pause_until: float | None = None
        self.stats = {"requests": 0, "rate_limited": 0, "retries": 0, "waited_seconds": 0.0}
        self.request_times: deque[float] = deque(maxlen=100_000)  # monotonic; the bench checks pacing

    def url(self, path_or_url: str) -> str:
        """An absolute URL for a path, or a provider-given absolute URL checked to stay on base_url's
        origin (a next link must never send our credentials elsewhere)."""
        if path_or_url.startswith(("http://", "https://")):
            if _origin(path_or_url) != self._origin:
                raise FetchError(f"{self.name}: the provider's link points to {_origin(path_or_url)}, "
                                 f"not {self._origin}; refusing to send credentials there")
            return path_or_url
        return self.base_url + "/" + path_or_url.lstrip("/")

    def _retry(self, error: FetchError, seconds: float) -> None:
        log.warning("api request failed; retrying", input=self.name, reason=str(error), wait_seconds=round(seconds, 2))
        self._wait(seconds)

    def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.stats["waited_seconds"] += seconds
        if not sleep_until(self.stop.is_set, seconds, self.sleep):
            raise Stopped()

    def get(self, path_or_url: str, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> httpx.Response:
        url = self.url(path_or_url)
        backoff = self.backoff()
        refreshed = False
        last: FetchError | None = None
        for _attempt in range(self.max_retries + 1):
            if self.stop.is_set():
                raise Stopped()
            if self._pause_until is not None:
                pause = self._pause_until - self.clock.time()
                if pause > 0:
                    log.info("rate-limit window used up; pausing until it resets", input=self.name,
                             wait_seconds=round(pause, 2))
                self._wait(pause)
                self._pause_until = None
            if self.limiter is not None:
                self._wait(self.limiter.wait_needed())
            try:
                req_headers = dict(headers or {})
                if self.auth is not None:
                    req_headers.update(self.auth.headers())  # may fetch a token first
                if self.limiter is not None:
                    self.limiter.record()
                self.stats["requests"] += 1
                self.request_times.append(self.clock.monotonic())
                resp = self.http.get(url, params=params, headers=req_headers)
            except Unavailable as exc:  # the token endpoint is down: same treatment
                last = exc
                self.stats["retries"] += 1
                self._retry(exc, backoff.next())
                continue
            except httpx.HTTPError as exc:
                last = Unavailable(f"{self.name}: {type(exc).__name__} talking to {self._origin}")
                self.stats["retries"] += 1
                self._retry(last, backoff.next())
                continue
            status = resp.status_code
            if 200 <= status < 300:
                self._pause_until = self.policy.pause_until(resp)
                return resp
            summary = self.policy.error_summary(resp)
            if status == 401 and self.auth is not None and self.auth.refreshable and not refreshed:
                refreshed = True  # the cached token may have been revoked: get a new one, once
                self.auth.invalidate()
                continue
            if status in (401, 403) and not self.policy.is_rate_limited(resp):
                raise AuthError(f"{self.name}: HTTP {status} from {self._origin}: {summary}".rstrip(": "))
            if self.policy.is_rate_limited(resp):
                self.stats["rate_limited"] += 1
                wait = self.policy.retry_after(resp, self.clock.time())
                last = RateLimited(f"{self.name}: rate limited (HTTP {status}) {summary}".rstrip(), wait)
                # A reset already past (clocks disagree) or no hint at all: back off instead of hammering.
                self._retry(last, wait + 0.5 if wait is not None and wait > 0 else backoff.next())
                continue
            if status >= 500 or status == 408:
                last = Unavailable(f"{self.name}: HTTP {status} {summary}".rstrip())
                self.stats["retries"] += 1
                asked = self.policy.retry_after(resp, self.clock.time()) if status in (503, 504) else None
                self._retry(last, asked if asked is not None else backoff.next())
                continue
            raise HttpError(f"{self.name}: HTTP {status} {summary}".rstrip(), status)
        assert last is not None
        raise last

    def get_json(self, path_or_url: str, params: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> tuple[Any, httpx.Response]:
        resp = self.get(path_or_url, params, headers)
        body = parse_json(resp)
        if body is None:
            raise Unavailable(f"{self.name}: HTTP {resp.status_code} with a body that is not JSON")
        return body, resp

    def close(self) -> None:
        self.http.close()


def make_http(timeout: float, transport: httpx.BaseTransport | None = None,
              ca_file: str | None = None) -> httpx.Client:
    """The httpx client every API input uses (redirects are not followed: a next link is checked first)."""
    verify: Any = True
    if ca_file:
        import ssl

        verify = ssl.create_default_context(cafile=ca_file)
    return httpx.Client(transport=transport, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                        follow_redirects=False, verify=verify)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
