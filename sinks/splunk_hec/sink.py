"""Splunk HEC sink: batched, gzipped JSON envelopes, optional indexer acknowledgement.

`send(batch)` cuts the batch into requests of at most `batch_max_bytes`, posting each as soon as it is
full (up to `max_pending_acks` of them, `max_concurrent_requests` at a time) on this worker's channel and, with
`ack: true`, polls `/services/collector/ack` until each request is acknowledged: only then are its
events DELIVERED. A request still unacknowledged after `ack_timeout_seconds` is RETRY (sent again: HEC
is at-least-once). `send` returning only when the batch is settled keeps the Shipper's outcomes, and so
every checkpoint and Kafka commit, truthful; the cost (one ack round trip per batch) is bounded by
polling fast at first (0.05 s, doubling up to `ack_poll_seconds`) and paid once per batch, not per
request. Nothing here sleeps for retries: the Shipper's backoff is the only one.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import structlog

from sinks import _gzip
from sinks._sink import DELIVERED, Item, Outcome, Result
from sinks.splunk_hec import retry
from sinks.splunk_hec.client import HecClient
from sinks.splunk_hec.config import Config
from sinks.splunk_hec.encoder import Encoder
from tokentrail import metrics
from tokentrail.errors import AuthError, SinkError

log = structlog.get_logger("tokentrail.sinks.splunk_hec")

FIRST_POLL_SECONDS = 0.05

Sent = tuple[list[int], int | None, str]  # event positions, ackId, channel


def addon_sourcetypes() -> dict[str, str]:
    """event.dataset -> the Splunk add-on sourcetype, from every source's `sourcetypes` map."""
    from collectors import SOURCES

    out: dict[str, str] = {}
    for name in SOURCES:
        out.update(SOURCES[name].sourcetypes)
    return out


def create(spec: Any, ctx: Any = None) -> SplunkHecSink:
    cfg = spec.config
    return SplunkHecSink(cfg, name=spec.name, addon=addon_sourcetypes() if cfg.passthrough else None)


class SplunkHecSink:
    def __init__(self, cfg: Config, *, name: str = "splunk_hec", client: HecClient | None = None,
                 addon: dict[str, str] | None = None, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.cfg = cfg
        self.client = client or HecClient(cfg)
        self.encoder = Encoder(host=cfg.host or socket.gethostname(), source=cfg.source, index=cfg.index,
                               sourcetype=cfg.sourcetype, cim=cfg.cim, passthrough=cfg.passthrough,
                               addon_sourcetypes=addon)
        self.channel = str(uuid.uuid4())  # one channel per worker; ackIds are per channel
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=cfg.max_concurrent_requests, thread_name_prefix=f"sink-{name}")
        self._sleep, self._monotonic = sleep, monotonic
        self._said: set[str] = set()
        self._ready: tuple[float, bool] = (-1e9, False)
        self._requests = metrics.SINK_REQUESTS
        self._pending_gauge = metrics.SINK_PENDING_ACKS.labels(sink=name)

    # -- the Sink protocol -------------------------------------------------------------------------

    def send(self, batch: list[Item]) -> list[Result]:
        results: list[Result | None] = [None] * len(batch)
        envelopes: list[bytes | None] = [None] * len(batch)
        missing_before = self.encoder.missing_original
        inflight: list[Future[list[Sent]]] = []
        cur: list[int] = []
        size = 0
        # Requests go to the pool as soon as they are full: HEC parses one while the next is encoded.
        for i, item in enumerate(batch):
            env = self.encoder.encode(item)
            if env is None:
                results[i] = DELIVERED  # its raw record went out with the record's first event
                continue
            envelopes[i] = env
            n = len(env) + 1
            if cur and size + n > self.cfg.batch_max_bytes:
                if len(inflight) >= self.cfg.max_pending_acks:
                    self._settle(inflight, results)
                inflight.append(self._pool.submit(self._post, cur, envelopes, results))
                cur, size = [], 0
            cur.append(i)
            size += n
        if cur:
            if len(inflight) >= self.cfg.max_pending_acks:
                self._settle(inflight, results)
            if inflight:
                inflight.append(self._pool.submit(self._post, cur, envelopes, results))
            else:  # the whole batch is one request: no hand-off to a pool thread
                done: Future[list[Sent]] = Future()
                try:
                    done.set_result(self._post(cur, envelopes, results))
                except Exception as exc:
                    done.set_exception(exc)
                inflight.append(done)
        self._settle(inflight, results)
        if self.encoder.missing_original > missing_before:
            self._say_once("no_original", "passthrough: events arrive without the raw record (event.original); "
                           "sending them normalized. The enrich stage keeps raw records only when its config "
                           "lists a passthrough sink")
        return results  # type: ignore[return-value] - every slot is filled

    def _settle(self, inflight: list[Future[list[Sent]]], results: list[Result | None]) -> None:
        """Wait for the posted requests, then (with acks) for their acknowledgements; empties `inflight`."""
        sent: list[Sent] = []
        errors = []
        for f in inflight:
            exc = f.exception()
            if exc is not None:
                errors.append(exc)
            else:
                sent.extend(f.result())
        inflight.clear()
        if errors:
            raise errors[0]
        if self.cfg.ack:
            self._await_acks(sent, results)
        else:
            for positions, _, _ in sent:
                self._mark(results, positions, DELIVERED)

    def ready(self) -> bool:
        at, ok = self._ready
        now = self._monotonic()
        if now - at > 5.0:
            try:
                status, body = self.client.health()
                ok = status == 200
            except SinkError.Retryable:
                ok = False
            self._ready = (now, ok)
        return ok

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.client.close()

    # -- internals ---------------------------------------------------------------------------------

    def _say_once(self, key: str, message: str, **kw: Any) -> None:
        if key not in self._said:
            self._said.add(key)
            log.warning(message, sink=self.name, **kw)

    def _new_channel(self, old: str) -> None:
        with self._lock:
            if self.channel == old:
                self.channel = str(uuid.uuid4())
                log.warning("HEC refused our channel; using a new one", sink=self.name)

    def _post(self, positions: list[int], envelopes: list[bytes | None], results: list[Result | None]) -> list[Sent]:
        """Post one request; fill results for what is settled now; return what waits for an ack."""
        body = b"\n".join(envelopes[i] for i in positions)  # type: ignore[misc]
        level = self.cfg.gzip_level
        payload = _gzip.compress(body, level) if level else body
        channel = self.channel
        try:
            status, resp = self.client.post_events(payload, channel, gzipped=bool(level))
        except SinkError.Retryable as exc:
            self._requests.labels(sink=self.name, status="error").inc()
            self._mark(results, positions, Result(Outcome.RETRY, str(exc)))
            return []
        self._requests.labels(sink=self.name, status=str(status)).inc()
        verdict = retry.classify(status, resp)
        if verdict.action == retry.OK:
            if self.cfg.ack and verdict.ack_id is None:
                self._say_once("no_ack_id", "ack: true but HEC returned no ackId (indexer acknowledgement is off "
                               "for this token): a 200 now means accepted, not indexed")
            return [(positions, verdict.ack_id, channel)]
        if verdict.action == retry.AUTH:
            raise AuthError(f"Splunk HEC refused the request: {verdict.reason}")
        if verdict.action == retry.NEW_CHANNEL:
            self._new_channel(channel)
            self._mark(results, positions, Result(Outcome.RETRY, verdict.reason))
            return []
        if verdict.action == retry.RETRY:
            self._mark(results, positions, Result(Outcome.RETRY, verdict.reason))
            return []
        # SPLIT: isolate the bad event (HEC names the first one) and dead-letter it alone.
        if len(positions) == 1:
            results[positions[0]] = Result(Outcome.DEAD_LETTER, verdict.reason)
            return []
        k = verdict.invalid_event
        if k is not None and k < len(positions):
            parts = [positions[:k], positions[k:k + 1], positions[k + 1:]]
        else:
            mid = len(positions) // 2
            parts = [positions[:mid], positions[mid:]]
        log.info("splitting a HEC request to find a bad event", sink=self.name, events=len(positions),
                 reason=verdict.reason)
        out: list[Sent] = []
        for part in parts:
            if part:
                out += self._post(part, envelopes, results)
        return out

    @staticmethod
    def _mark(results: list[Result | None], positions: list[int], res: Result) -> None:
        for i in positions:
            results[i] = res

    def _await_acks(self, sent: list[Sent], results: list[Result | None]) -> None:
        pending: dict[tuple[str, int], list[int]] = {}
        for positions, ack_id, channel in sent:
            if ack_id is None:
                self._mark(results, positions, DELIVERED)
            else:
                pending[(channel, ack_id)] = positions
        if not pending:
            return
        self._pending_gauge.inc(len(pending))
        deadline = self._monotonic() + self.cfg.ack_timeout_seconds
        delay = FIRST_POLL_SECONDS
        try:
            while pending:
                left = deadline - self._monotonic()
                if left <= 0:
                    for (_, ack_id), positions in pending.items():
                        log.warning("no indexer acknowledgement in time; sending the request again",
                                    sink=self.name, ack_id=ack_id, events=len(positions),
                                    timeout_seconds=self.cfg.ack_timeout_seconds)
                        self._mark(results, positions, Result(
                            Outcome.RETRY, f"no indexer acknowledgement within {self.cfg.ack_timeout_seconds:g} s"))
                    self._pending_gauge.dec(len(pending))
                    pending.clear()
                    return
                self._sleep(min(delay, left))
                delay = min(delay * 2, self.cfg.ack_poll_seconds)
                for channel in {ch for ch, _ in pending}:
                    ids = [a for ch, a in pending if ch == channel]
                    self._poll(channel, ids, pending, results)
        finally:
            self._pending_gauge.dec(len(pending))

    def _poll(self, channel: str, ids: list[int], pending: dict[tuple[str, int], list[int]],
              results: list[Result | None]) -> None:
        try:
            status, body = self.client.query_acks(ids, channel)
        except SinkError.Retryable as exc:
            log.info("ack query failed; polling again", sink=self.name, reason=str(exc))
            return
        self._requests.labels(sink=self.name, status=str(status)).inc()
        verdict = retry.classify_ack(status, body)
        done: list[int] = []
        if verdict.action == retry.OK:
            acks = body["acks"]
            done = [a for a in ids if acks.get(str(a)) is True]
            for a in done:
                self._mark(results, pending[(channel, a)], DELIVERED)
        elif verdict.action == retry.AUTH:
            raise AuthError(f"Splunk HEC refused the ack query: {verdict.reason}")
        elif verdict.action == retry.ACK_DISABLED:
            log.error("HEC says indexer acknowledgement is disabled for this token; counting accepted requests as "
                      "delivered (set ack: false to silence this)", sink=self.name, requests=len(ids))
            done = ids
            for a in done:
                self._mark(results, pending[(channel, a)], DELIVERED)
        elif verdict.action == retry.NEW_CHANNEL:
            # The server forgot the channel (restart, idle cleanup): these acks can never come.
            self._new_channel(channel)
            done = ids
            for a in done:
                self._mark(results, pending[(channel, a)], Result(Outcome.RETRY, verdict.reason))
        for a in done:
            del pending[(channel, a)]
            self._pending_gauge.dec()
