"""Elasticsearch sink: bulk `create` into data streams, one outcome per event.

`send(batch)` encodes each event once, cuts the batch into bulk requests of at most `batch_max_bytes`
(and into up to `max_concurrent_requests` requests when it is large enough to share), sends them at
once, gzipped, and classifies every item (retry.py). It never sleeps: events marked RETRY go back to
the Shipper, whose backoff is the only one. A 413 or a whole-request 400 splits the request in halves
until the offending event stands alone and is dead-lettered with the server's reason.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog

from sinks import _gzip
from sinks._sink import Item, Outcome, Result
from sinks.elasticsearch import retry
from sinks.elasticsearch.client import EsClient, build
from sinks.elasticsearch.config import Config
from sinks.elasticsearch.encoder import Encoder
from sinks.elasticsearch.templates import TemplateInstaller, default_templates
from tokentrail import metrics
from tokentrail.errors import AuthError, SinkError

log = structlog.get_logger("tokentrail.sinks.elasticsearch")

# A batch is shared out over concurrent requests only in pieces at least this large: fewer, fuller
# requests cost the server less per document (it splits each by shard itself), while two or more let
# the next piece be encoded while the first is indexed.
MIN_SHARED_BYTES = 2 * 1024 * 1024


def create(spec: Any, ctx: Any = None) -> ElasticsearchSink:
    return ElasticsearchSink(spec.config, name=spec.name)


class ElasticsearchSink:
    def __init__(self, cfg: Config, *, name: str = "elasticsearch", client: EsClient | None = None,
                 templates: Any = None) -> None:
        self.name = name
        self.cfg = cfg
        self.client = client or EsClient(build(cfg))
        self.encoder = Encoder(cfg.namespace, keep_original=cfg.keep_original)
        self.installer = None
        if cfg.manage_templates:
            self.installer = TemplateInstaller(
                self.client, templates or (lambda: default_templates(cfg.namespace, cfg.retention)), sink=name)
        self._set_up = not cfg.manage_templates
        self._setup_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=cfg.max_concurrent_requests, thread_name_prefix=f"sink-{name}")
        self._ready: tuple[float, bool] = (0.0, False)
        self._requests = metrics.SINK_REQUESTS

    # -- the Sink protocol -------------------------------------------------------------------------

    def send(self, batch: list[Item]) -> list[Result]:
        if not batch:
            return []
        if not self._set_up:
            problem = self._setup()
            if problem:
                return [Result(Outcome.RETRY, problem)] * len(batch)
        results: list[Result | None] = [None] * len(batch)
        lines: list[bytes] = [b""] * len(batch)
        ranges = self._ranges(batch)
        futures = []
        # Encode range by range and hand each to the pool at once: the server works on the first
        # request while the next ones are encoded.
        for lo, hi in ranges:
            encode = self.encoder.encode
            lines[lo:hi] = [encode(batch[i]) for i in range(lo, hi)]
            if len(ranges) == 1:
                self._send_range(lines, lo, hi, results)
            else:
                futures.append(self._pool.submit(self._send_range, lines, lo, hi, results))
        errors = [f.exception() for f in futures]
        for exc in errors:
            if exc is not None:
                raise exc
        return results  # type: ignore[return-value] - every slot is filled

    def ready(self) -> bool:
        at, ok = self._ready
        now = time.monotonic()
        if now - at > 5.0:
            ok = self.client.ping()
            self._ready = (now, ok)
        return ok

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.client.close()

    # -- internals ---------------------------------------------------------------------------------

    def _setup(self) -> str | None:
        """Install templates once; a reason to retry when the server cannot be reached yet."""
        with self._setup_lock:
            if self._set_up:
                return None
            try:
                assert self.installer is not None
                self.installer.run()
            except SinkError.Retryable as exc:
                return f"template setup: {exc}"
            self._set_up = True
            return None

    @staticmethod
    def _size(item: Item) -> int:
        # The event's bytes plus a bound on its action line (index name and _id): never less than the
        # encoded size, so a request stays under batch_max_bytes without encoding twice.
        return len(item.data) + 256

    def _ranges(self, batch: list[Item]) -> list[tuple[int, int]]:
        """Contiguous [lo, hi) slices: each under batch_max_bytes, shared out when the batch is large."""
        sizes = [self._size(item) for item in batch]
        total = sum(sizes)
        pieces = max(-(-total // self.cfg.batch_max_bytes),
                     min(self.cfg.max_concurrent_requests, total // MIN_SHARED_BYTES))
        target = min(self.cfg.batch_max_bytes, -(-total // max(pieces, 1)))
        ranges, lo, size = [], 0, 0
        for i, n in enumerate(sizes):
            if size and size + n > target:
                ranges.append((lo, i))
                lo, size = i, 0
            size += n
        ranges.append((lo, len(batch)))
        return ranges

    def _send_range(self, lines: list[bytes], lo: int, hi: int, results: list[Result | None]) -> None:
        body = b"".join(lines[lo:hi])
        level = self.cfg.gzip_level
        payload = _gzip.compress(body, level) if level else body
        try:
            status, resp = self.client.bulk(payload, gzipped=bool(level))
        except SinkError.Retryable as exc:
            self._requests.labels(sink=self.name, status="error").inc()
            results[lo:hi] = [Result(Outcome.RETRY, str(exc))] * (hi - lo)
            return
        self._requests.labels(sink=self.name, status=str(status)).inc()
        verdict = retry.classify_bulk(status, resp, hi - lo)
        if verdict.action == retry.ITEMS:
            assert verdict.results is not None
            results[lo:hi] = verdict.results
        elif verdict.action == retry.RETRY:
            results[lo:hi] = [Result(Outcome.RETRY, verdict.reason)] * (hi - lo)
        elif verdict.action == retry.AUTH:
            raise AuthError(f"Elasticsearch refused the request: {verdict.reason}")
        elif hi - lo == 1:
            results[lo] = Result(Outcome.DEAD_LETTER, verdict.reason)
        else:
            mid = (lo + hi) // 2
            log.info("splitting a bulk request", sink=self.name, events=hi - lo, reason=verdict.reason)
            self._send_range(lines, lo, mid, results)
            self._send_range(lines, mid, hi, results)
