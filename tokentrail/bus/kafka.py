"""Kafka bus (kafka-python): the distributed form of the bus between stages.

Producing: `acks=all`, idempotent; `on_done(None)` runs once the broker acknowledged the record (on a
callback thread, never the client's IO thread, so a callback may publish in turn). Publishing blocks
while more than `producer_buffer_bytes` are unacknowledged: inputs slow down instead of buffering.

Consuming (`KafkaConsumer` below): a consumer group with manual commits. A background poller thread
owns the kafka-python consumer (it is not thread-safe): it fetches into a bounded buffer, pauses every
partition while `max_in_flight` records are read but unfinished, and commits per partition only the
contiguous prefix of finished (`msg.ack()`) offsets. Because the poller keeps polling, a slow stage or a
sink that is down never makes the worker miss `max_poll_interval_ms` and leave its group.

Rebalances: on revocation the finished prefix of each revoked partition is committed and the rest is
dropped (the new owner reads it again: a duplicate, never a loss). A failed `msg.ack(error)` rewinds its
partition to the first unfinished offset after a backoff.

Recovery (`KafkaConsumer._watch`, once a second): a consumer that is not a stable group member for
`rejoin_timeout` while a broker accepts connections is replaced by a new kafka-python consumer (nothing
committed; unfinished records are read again), and a partition whose log restarted below the fetch
position (topic created again, broker data lost) is read again from its beginning.
"""

from __future__ import annotations

import collections
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from kafka import (
    AsyncConsumerRebalanceListener,
    KafkaAdminClient,
    KafkaProducer,
    OffsetAndMetadata,
    TopicPartition,
)
from kafka import KafkaConsumer as _KafkaConsumer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from tokentrail import metrics
from tokentrail.bus import OnDone, Topics
from tokentrail.retry import Backoff

log = structlog.get_logger("tokentrail.kafka")

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
COMPRESSION = ("gzip", "lz4", "snappy", "zstd", "none")
STATE_TABLES = ("checkpoints", "apps", "tokens", "token_ips")


def validate_config(cfg: Any) -> list[str]:
    """Problems of the Kafka part of a bus (or kafka input) config, by key."""
    problems = []
    if not cfg.bootstrap_servers:
        problems.append("bootstrap_servers: give at least one host:port")
    for i, hp in enumerate(cfg.bootstrap_servers or []):
        if not str(hp).rpartition(":")[2].isdigit():
            problems.append(f"bootstrap_servers[{i}]: expected host:port, got {hp!r}")
    if cfg.security_protocol not in SECURITY_PROTOCOLS:
        problems.append(f"security_protocol: one of {', '.join(SECURITY_PROTOCOLS)}")
    if cfg.security_protocol.startswith("SASL"):
        if cfg.sasl_mechanism not in SASL_MECHANISMS:
            problems.append(f"sasl_mechanism: one of {', '.join(SASL_MECHANISMS)} with {cfg.security_protocol}")
        if not cfg.sasl_username or cfg.sasl_password is None:
            problems.append("sasl_username and sasl_password_file (or _env) are required with SASL")
    for key in ("session_timeout_ms", "max_poll_interval_ms", "max_in_flight", "fetch_max_bytes"):
        if getattr(cfg, key, 1) < 1:
            problems.append(f"{key}: must be positive")
    if getattr(cfg, "session_timeout_ms", 6000) < 1000:
        problems.append("session_timeout_ms: at least 1000")
    comp = getattr(cfg, "compression_type", None)
    if comp is not None and comp not in COMPRESSION:
        problems.append(f"compression_type: one of {', '.join(COMPRESSION)}")
    if getattr(cfg, "partitions", 1) < 1:
        problems.append("partitions: must be at least 1")
    return problems


def client_kwargs(cfg: Any) -> dict[str, Any]:
    """Connection settings shared by producers, consumers and the admin client (no secret is logged)."""
    kw: dict[str, Any] = {"bootstrap_servers": list(cfg.bootstrap_servers),
                          "security_protocol": cfg.security_protocol}
    if cfg.security_protocol in ("SSL", "SASL_SSL") and cfg.ca_file:
        kw["ssl_cafile"] = cfg.ca_file
    if cfg.security_protocol.startswith("SASL"):
        kw["sasl_mechanism"] = cfg.sasl_mechanism
        kw["sasl_plain_username"] = cfg.sasl_username
        kw["sasl_plain_password"] = cfg.sasl_password.reveal() if cfg.sasl_password is not None else None
    return kw


def reachable(servers: Iterable[str], timeout: float = 1.0) -> bool:
    """Whether any bootstrap server accepts a TCP connection (readiness probe)."""
    for hp in servers:
        host, _, port = str(hp).rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


class _Probe:
    """`reachable()` cached for a couple of seconds, so /readyz stays cheap."""

    def __init__(self, servers: list[str], ttl: float = 2.0) -> None:
        self.servers, self.ttl = servers, ttl
        self._at, self._ok = 0.0, False
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._at > self.ttl:
                self._ok, self._at = reachable(self.servers), now
            return self._ok


class KafkaBus:
    """The Bus protocol over Kafka. One idempotent producer per process; consumers made on demand."""

    def __init__(self, config: Any, *, client_id: str = "tokentrail") -> None:
        self.config = config
        self.client_id = client_id
        self.topics = Topics(config.topic_prefix)
        self.kw = client_kwargs(config)
        self._producer: KafkaProducer | None = None
        self._plock = threading.Lock()
        self._cond = threading.Condition()
        self._buffered = 0       # bytes produced and not yet acknowledged
        self._pending = 0        # records produced whose on_done has not run yet
        self._callbacks: collections.deque[tuple[OnDone, BaseException | None]] = collections.deque()
        self._cb_thread: threading.Thread | None = None
        self._closed = False
        self._consumers: list[KafkaConsumer] = []
        self._known: dict[str, tuple[bool, int]] = {}
        self._keeper: threading.Thread | None = None
        self.topic_check_seconds = 2.0
        self.failed = 0          # records the broker never acknowledged
        self.failed_raw = 0      # ... of them on raw topics (an input's checkpoint is stuck behind them)
        self._raw_prefix = self.topics.raw("")
        self._fail_logged, self._fail_count = 0.0, 0
        self.ready = _Probe(list(config.bootstrap_servers))

    # -- topics ---------------------------------------------------------------------------------
    def ensure_topics(self, names: Iterable[str], *, compact: bool = False, partitions: int | None = None) -> None:
        """Create missing topics (`partitions` from config; compacted for state) and keep them there."""
        wanted = {n: (compact, partitions or self.config.partitions) for n in names if n not in self._known}
        if not wanted:
            return
        self._create_missing(wanted)
        with self._plock:
            self._known.update(wanted)
            if self._keeper is None:
                self._keeper = threading.Thread(target=self._keep_topics, name="kafka-topics", daemon=True)
                self._keeper.start()

    def _create_missing(self, wanted: dict[str, tuple[bool, int]]) -> None:
        admin = KafkaAdminClient(client_id=f"{self.client_id}-admin", **self.kw)
        try:
            existing = set(admin.list_topics())
            for name, (compact, parts) in wanted.items():
                if name in existing:
                    continue
                configs = {"cleanup.policy": "compact"} if compact else {}
                try:
                    admin.create_topics([NewTopic(name, parts, self.config.replication_factor, topic_configs=configs)])
                    log.info("created topic", topic=name, partitions=parts, compacted=compact)
                except TopicAlreadyExistsError:
                    pass  # another worker was quicker
        finally:
            admin.close()

    def _keep_topics(self) -> None:
        # Topics are never auto-created (a broker would pick its own partitions and no compaction):
        # when one goes missing (deleted, a broker rebuilt), it is created again here.
        while not self._closed:
            time.sleep(self.topic_check_seconds)
            with self._plock:
                wanted = dict(self._known)
            try:
                self._create_missing(wanted)
            except Exception as exc:
                log.debug("topic check failed", error=f"{type(exc).__name__}: {exc}")

    def ensure_all_topics(self, sources: Iterable[str]) -> None:
        t = self.topics
        self.ensure_topics([t.raw(s) for s in sources] + [t.events, t.dlq])
        self.ensure_topics([t.state(n) for n in STATE_TABLES], compact=True, partitions=1)

    # -- producing ------------------------------------------------------------------------------
    @property
    def producer(self) -> KafkaProducer:
        with self._plock:
            if self._producer is None:
                c = self.config
                # Not idempotent: an idempotent producer turns fatal when a broker loses its producer
                # state (a restart of an in-memory broker, a cluster rebuilt) and never recovers; a
                # retried duplicate is harmless here (deterministic ids). acks=all, retries: unbounded.
                self._producer = KafkaProducer(
                    client_id=self.client_id, acks="all", enable_idempotence=False, linger_ms=c.linger_ms,
                    batch_size=256 * 1024, max_request_size=max(1 << 20, c.fetch_max_bytes // 2),
                    compression_type=None if c.compression_type in (None, "none") else c.compression_type,
                    delivery_timeout_ms=24 * 3600 * 1000, max_block_ms=60000, allow_auto_create_topics=False,
                    **self.kw)
                self._cb_thread = threading.Thread(target=self._run_callbacks, name="kafka-callbacks", daemon=True)
                self._cb_thread.start()
            return self._producer

    def publish(self, topic: str, value: bytes, *, key: bytes | None = None, on_done: OnDone | None = None,
                headers: dict[str, bytes] | None = None, origin: str = "") -> None:
        self._send(topic, value, key, headers, on_done, bounded=True)

    def publish_state(self, topic: str, key: bytes, value: bytes | None, on_done: OnDone | None = None) -> None:
        """Internal records (checkpoints, shared state): never blocked by the buffer bound."""
        self._send(topic, value, key, None, on_done, bounded=False)

    def _send(self, topic: str, value: bytes | None, key: bytes | None, headers: dict[str, bytes] | None,
              on_done: OnDone | None, bounded: bool) -> None:
        producer = self.producer
        size = (len(value) if value else 0) + (len(key) if key else 0) + 64
        with self._cond:
            if bounded:
                limit = self.config.producer_buffer_bytes
                while self._buffered and self._buffered + size > limit and not self._closed:
                    self._cond.wait(0.5)
            self._buffered += size
            self._pending += 1
        try:
            future = producer.send(topic, value=value, key=key,
                                   headers=[(k, v) for k, v in headers.items()] if headers else None)
        except Exception as exc:  # metadata timeout, record too large: report it like a failed ack
            self._done(size, on_done, topic, exc)
            return
        future.add_callback(self._done, size, on_done, topic)
        future.add_errback(self._done, size, on_done, topic)

    def _done(self, size: int, on_done: OnDone | None, topic: str, result: Any) -> None:
        # Runs on kafka-python's IO thread: only bookkeeping here, callbacks go to our own thread.
        error = result if isinstance(result, BaseException) else None
        with self._cond:
            self._buffered -= size
            if error is not None:
                self.failed += 1
                if topic.startswith(self._raw_prefix):
                    self.failed_raw += 1
            if on_done is not None:
                self._callbacks.append((on_done, error))
            else:
                self._pending -= 1
            self._cond.notify_all()
        if error is not None:
            self._log_failure(error)

    def _log_failure(self, error: BaseException) -> None:
        # One line per few seconds, not one per record, when a broker refuses many.
        now = time.monotonic()
        self._fail_count += 1
        if now - self._fail_logged >= 5.0:
            log.warning("broker did not acknowledge records", records=self._fail_count,
                        error=f"{type(error).__name__}: {error}"[:300])
            self._fail_logged, self._fail_count = now, 0

    def _run_callbacks(self) -> None:
        while True:
            with self._cond:
                while not self._callbacks:
                    if self._closed and not self._pending:
                        return
                    self._cond.wait(0.5)
                batch = list(self._callbacks)
                self._callbacks.clear()
            for fn, error in batch:
                try:
                    fn(error)
                except Exception:
                    log.exception("acknowledgement callback failed")
            with self._cond:
                self._pending -= len(batch)
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record produced so far is acknowledged and its on_done has run."""
        if self._producer is None:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            self._producer.flush(timeout=timeout)
        except KafkaError as exc:
            log.warning("flush did not complete", error=str(exc))
        with self._cond:
            while self._pending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cond.wait(min(0.2, left) if left is not None else 0.2)

    def unacknowledged(self) -> int:
        with self._cond:
            return self._pending

    # -- consuming ------------------------------------------------------------------------------
    def consumer(self, topics: list[str], group: str, **kw: Any) -> KafkaConsumer:
        c = KafkaConsumer(topics, group, self.config, self.kw, client_id=f"{self.client_id}-{group}", **kw)
        self._consumers.append(c)
        return c

    def end(self, topic: str) -> None:
        """No more records will be published to `topic` (a `--once` run): consumers finish at its end."""
        self.flush()
        for c in self._consumers:
            if topic in c.topics:
                c.end_topics([topic])

    def close(self, timeout: float | None = 10.0) -> None:
        """Flush (so finished work gets acknowledged), commit and leave the groups, close the producer."""
        self.flush(timeout)
        for c in self._consumers:
            c.close(timeout=timeout)
        if self._producer is not None:
            self.flush(timeout)
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            self._producer.close(timeout=timeout)


class _Track:
    """Offsets of one partition handed out and not yet committed, in order."""

    __slots__ = ("tp", "entries", "commit", "alive", "next", "hold_until")

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        self.entries: collections.deque[list[Any]] = collections.deque()  # [offset, state]: 0 open 1 done 2 failed
        self.commit: int | None = None  # the offset we may commit (next one to read after a restart)
        self.alive = True
        self.next: int | None = None    # offset after the last record received
        self.hold_until = 0.0


class KafkaMessage:
    __slots__ = ("topic", "key", "value", "headers", "origin", "partition", "offset", "_owner", "_track", "_entry")

    def __init__(self, owner: KafkaConsumer, track: _Track, entry: list[Any], rec: Any) -> None:
        self.topic, self.partition, self.offset = rec.topic, rec.partition, rec.offset
        self.key, self.value = rec.key, rec.value
        self.headers = dict(rec.headers) if rec.headers else {}
        origin = self.headers.get("origin")
        self.origin = origin.decode("utf-8", "replace") if origin else f"kafka:{rec.topic}/{rec.partition}/{rec.offset}"
        self._owner, self._track, self._entry = owner, track, entry

    def ack(self, error: BaseException | None = None) -> None:
        self._owner._ack(self._track, self._entry, error)


class _Listener(AsyncConsumerRebalanceListener):
    """Rebalance callbacks of one kafka-python consumer; silent once that consumer is retired."""

    def __init__(self, owner: KafkaConsumer) -> None:
        self.owner = owner
        self.kc: Any = None
        self.retired = False

    async def on_partitions_revoked(self, revoked: Any) -> None:
        if self.retired:
            return
        offsets = self.owner._release(revoked)
        if offsets:
            try:
                # Bounded: with the coordinator gone (a broker restart) an unbounded wait would block the
                # rejoin forever. kafka-python 3 has a timed commit coroutine; otherwise fire and forget.
                coordinator = self.kc._coordinator
                commit = getattr(coordinator, "_commit_offsets_sync_async", None)
                if commit is not None:
                    await commit(offsets, 3000)
                else:
                    self.kc.commit_async(offsets)
                log.info("committed finished work of revoked partitions", group=self.owner.group,
                         partitions=len(offsets))
            except Exception as exc:
                log.warning("commit on revocation failed; the next owner reads those records again",
                            group=self.owner.group, error=f"{type(exc).__name__}: {exc}")

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if self.retired:
            return
        self.owner.assigned = set(assigned)
        self.owner._stable_at = time.monotonic()
        log.info("partitions assigned", group=self.owner.group,
                 partitions=sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))

    async def on_partitions_lost(self, lost: Any) -> None:
        if not self.retired:
            self.owner._release(lost)  # no commit: the group already gave them to someone else


def _group_stable(kc: Any) -> bool | None:
    """Whether the kafka-python consumer is a stable member of its group (None: cannot tell).

    kafka-python 3.0.12 keeps the state as a string, `MemberState.STABLE == '<stable>'`; an enum
    named STABLE is accepted too. (Comparing the string with "STABLE" made every consumer look
    outside its group: each poll then waited the 3 s of a first join, and `_watch` replaced healthy
    consumers every `rejoin_timeout`.)
    """
    state = getattr(getattr(kc, "_coordinator", None), "state", None)
    if state is None:
        return None
    name = getattr(state, "name", None)
    return str(name if isinstance(name, str) else state).strip("<>").upper() == "STABLE"


def _fetch_position(kc: Any, tp: TopicPartition) -> int | None:
    """The next offset the consumer fetches, without a network call (kafka-python's position() may make one)."""
    try:
        state = kc._subscription.assignment.get(tp)
        pos = state.position if state is not None else None
    except Exception:
        return None
    return getattr(pos, "offset", pos) if pos is not None else None


class LogResetWatch:
    """Partitions whose log now ends below the consumer's fetch position.

    A fetch position beyond the high watermark means the log restarted under the consumer: the topic
    was deleted and created again, or the broker lost its data (an in-memory broker restarted).
    Kafka answers such a fetch with OFFSET_OUT_OF_RANGE and the client resets the position; some
    brokers (Tansu) answer with an empty fetch instead, and the consumer would skip every record
    below its old position. Reported once the condition held for `hold` seconds (a new leader's high
    watermark may lag for a moment).
    """

    def __init__(self, hold: float = 5.0) -> None:
        self.hold = hold
        self._since: dict[TopicPartition, float] = {}

    def check(self, kc: Any, now: float) -> list[tuple[TopicPartition, int, int]]:
        stale, seen = [], set()
        for tp in list(kc.assignment()):
            seen.add(tp)
            try:
                hw = kc.highwater(tp)
            except Exception:
                continue
            pos = _fetch_position(kc, tp)
            if hw is None or pos is None or pos <= hw:
                self._since.pop(tp, None)
                continue
            if now - self._since.setdefault(tp, now) >= self.hold:
                stale.append((tp, pos, hw))
                self._since.pop(tp, None)
        for tp in set(self._since) - seen:
            del self._since[tp]
        return stale

    def clear(self) -> None:
        self._since.clear()


class KafkaConsumer:
    """The Consumer protocol over a Kafka consumer group (see the module docstring)."""

    def __init__(self, topics: list[str], group: str, config: Any, kw: dict[str, Any], *,
                 client_id: str = "tokentrail", max_in_flight: int | None = None,
                 auto_offset_reset: str = "earliest", commit_interval: float = 0.5,
                 rejoin_timeout: float | None = None) -> None:
        self.topics = list(topics)
        self.group = group
        self.max_in_flight = max_in_flight or config.max_in_flight
        self.commit_interval = commit_interval
        self.assigned: set[TopicPartition] = set()
        self._servers = [str(s) for s in kw.get("bootstrap_servers") or ()]
        self._kc_args: dict[str, Any] = dict(
            client_id=client_id, group_id=group, enable_auto_commit=False, auto_offset_reset=auto_offset_reset,
            session_timeout_ms=config.session_timeout_ms, max_poll_interval_ms=config.max_poll_interval_ms,
            heartbeat_interval_ms=max(300, min(3000, config.session_timeout_ms // 3)),
            fetch_max_bytes=config.fetch_max_bytes,
            max_partition_fetch_bytes=max(1 << 16, min(1 << 20, config.fetch_max_bytes // 4)),
            max_poll_records=min(500, self.max_in_flight), allow_auto_create_topics=False, **kw)
        # Not a stable group member for this long while a broker accepts connections: the
        # kafka-python consumer is replaced (see _watch). One rebalance round takes at most about
        # max_poll_interval_ms (the broker waits that long for members), a lost member is noticed
        # within session_timeout_ms.
        self.rejoin_timeout = rejoin_timeout if rejoin_timeout is not None else max(
            10.0, (config.session_timeout_ms + config.max_poll_interval_ms) / 1000 + 2.0)
        self.recreated = 0               # how many times the kafka-python consumer was replaced
        self._joined = False             # this kafka-python consumer has been a stable member once
        self._stable_at = time.monotonic()
        self._log_resets = LogResetWatch()
        self._listener: _Listener
        self._kc = self._new_kc()
        self._lock = threading.Condition()
        self._tracks: dict[TopicPartition, _Track] = {}
        self._buffer: collections.deque[KafkaMessage] = collections.deque()
        self._outstanding = 0           # records received and not yet finished (acked)
        self._failed: list[_Track] = []
        self._stop = threading.Event()
        self._closed = threading.Event()
        self._end_request: list[str] = []
        self._ends: dict[TopicPartition, int] = {}
        self._ended_topics: set[str] = set()
        self._finished = False
        self._committed: dict[TopicPartition, int] = {}
        self._backoff = Backoff(base=0.5, cap=10.0)
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"poll:{group}", daemon=True)
        self._thread.start()

    def _new_kc(self) -> _KafkaConsumer:
        self._listener = _Listener(self)
        kc = _KafkaConsumer(**self._kc_args)
        self._listener.kc = kc
        kc.subscribe(self.topics, listener=self._listener)
        return kc

    # -- the stage's side -----------------------------------------------------------------------
    def poll(self, max_records: int, timeout: float) -> list[KafkaMessage]:
        out: list[KafkaMessage] = []
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                while self._buffer and len(out) < max_records:
                    msg = self._buffer.popleft()
                    if msg._track.alive:
                        out.append(msg)
                if out or self._closed.is_set():
                    return out
                left = deadline - time.monotonic()
                if left <= 0:
                    return out
                self._lock.wait(left)

    def finished(self) -> bool:
        return self._finished

    def alive(self) -> bool:
        return self._thread.is_alive() or self._closed.is_set()

    def closed(self) -> bool:
        """close() ran to the end: poll() returns at once from now on, with nothing."""
        return self._closed.is_set()

    def end_topics(self, topics: list[str]) -> None:
        """Finish once the group has committed everything now in `topics` (after `bus.end`)."""
        with self._lock:
            self._end_request += topics

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop fetching, commit what is finished, leave the group."""
        if self._closed.is_set():
            return
        self._stop.set()
        self._thread.join(timeout)

    # -- acks (any thread) ----------------------------------------------------------------------
    def _ack(self, track: _Track, entry: list[Any], error: BaseException | None) -> None:
        with self._lock:
            if not track.alive or entry[1]:
                return
            entry[1] = 1 if error is None else 2
            self._outstanding -= 1
            if error is not None:
                self._failed.append(track)

    def _release(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, OffsetAndMetadata]:
        """Forget revoked partitions; return the finished prefix of each to commit."""
        offsets = {}
        with self._lock:
            for tp in partitions:
                self.assigned.discard(tp)
                track = self._drop(tp)
                if track is not None and track.commit is not None and self._committed.get(tp) != track.commit:
                    offsets[tp] = OffsetAndMetadata(track.commit, "", -1)
                    self._committed[tp] = track.commit
            self._buffer = collections.deque(m for m in self._buffer if m._track.alive)
            self._lock.notify_all()
        return offsets

    def _drop(self, tp: TopicPartition) -> _Track | None:
        # Caller holds the lock and filters the buffer. Forget a partition's records: acks of its
        # unfinished ones are ignored from now on (they are read again). Returns the dropped track
        # with its finished prefix advanced.
        track = self._tracks.pop(tp, None)
        if track is not None:
            self._advance(track)
            track.alive = False
            self._outstanding -= sum(1 for e in track.entries if not e[1])
        return track

    def _advance(self, track: _Track) -> None:
        # Caller holds the lock. Pop the finished prefix; the commit point follows it.
        entries = track.entries
        while entries and entries[0][1] == 1:
            track.commit = entries.popleft()[0] + 1

    # -- the poller thread ----------------------------------------------------------------------
    def _run(self) -> None:
        last_commit = last_lag = last_end_check = 0.0
        last_watch = time.monotonic()
        paused = False
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now - last_watch >= 1.0:
                    self._watch(now)
                    last_watch = now
                kc = self._kc
                self._rewind_failed(now)
                with self._lock:
                    full = self._outstanding >= self.max_in_flight
                    held = {t.tp for t in self._tracks.values() if t.hold_until > now}
                assignment = kc.assignment()
                want_paused = set(assignment) if full else held & set(assignment)
                if want_paused or paused:
                    current = kc.paused()
                    if want_paused - current:
                        kc.pause(*(want_paused - current))
                    if current - want_paused:
                        kc.resume(*(current - want_paused))
                    paused = bool(want_paused)
                # Before its first join, one poll long enough for a whole join and sync: kafka-python
                # 3.0.12 starts a new JoinGroup when the previous one finished between two polls (its
                # result unread), so polled in 100 ms slices a new member can rejoin forever (seen with
                # Tansu in about a third of fresh groups). Nothing is assigned yet, nothing waits.
                joining = not self._joined and _group_stable(kc) is False
                try:
                    records = kc.poll(timeout_ms=3000 if joining else 100,
                                      max_records=max(1, min(500, self.max_in_flight)))
                except KafkaError as exc:
                    log.warning("poll failed; retrying", group=self.group, error=f"{type(exc).__name__}: {exc}")
                    self._stop.wait(self._backoff.next())
                    continue
                if _group_stable(kc):
                    self._stable_at = time.monotonic()
                    self._joined = True
                if records:
                    self._backoff.reset()
                    self._take(records)
                now = time.monotonic()
                if now - last_commit >= self.commit_interval:
                    self._commit(sync=False)
                    last_commit = now
                if now - last_lag >= 5.0:
                    self._report_lag()
                    last_lag = now
                if (self._end_request or self._ended_topics) and now - last_end_check >= 0.3:
                    self._check_end()
                    last_end_check = now
        except Exception as exc:  # the stage sees closed(); the worker reports it
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("consumer loop crashed", group=self.group)
        finally:
            try:
                self._commit(sync=True)
            except Exception as exc:
                log.warning("final commit failed", group=self.group, error=f"{type(exc).__name__}: {exc}")
            try:
                self._kc.close(autocommit=False, timeout_ms=5000)
            except Exception as exc:
                log.warning("consumer close failed", group=self.group, error=f"{type(exc).__name__}: {exc}")
            with self._lock:
                self._closed.set()
                self._lock.notify_all()

    # -- recovery (the poller thread) -----------------------------------------------------------
    def _watch(self, now: float) -> None:
        """Recover from states kafka-python does not leave by itself.

        1. Not a stable group member for `rejoin_timeout` while a broker accepts connections: the
           kafka-python consumer is closed (nothing committed) and a new one subscribes. kafka-python
           3.0.12 can stay out of its group for good when a rebalance starts because the partition
           count of a subscribed topic changed (a topic created again, e.g. by a broker that lost its
           data) and its short poll gives up while the JoinGroup is in flight: the leader's assignment
           refreshes the metadata snapshot, so `need_rejoin()` turns false before the SyncGroup
           answer is applied; nobody awaits that answer, no partition is ever assigned and heartbeats
           stay disabled.
        2. A partition whose log now ends below our fetch position (LogResetWatch): read again from
           its beginning.
        """
        kc = self._kc
        stable = _group_stable(kc)
        if stable is None or stable:
            self._stable_at = now
        elif now - self._stable_at >= self.rejoin_timeout:
            waited = now - self._stable_at
            self._stable_at = now  # the next attempt (or check) after another rejoin_timeout
            if reachable(self._servers):
                self._recreate(f"not a stable member of the group for {waited:.0f} s")
                return
            log.info("not a stable member of the group; the broker is not reachable yet", group=self.group,
                     seconds=round(waited))
        try:
            stale = self._log_resets.check(kc, now)
        except Exception as exc:  # never let the check stop consumption
            log.debug("log reset check failed", error=f"{type(exc).__name__}: {exc}")
            return
        if stale:
            self._restart_partitions(kc, stale)

    def _recreate(self, reason: str) -> None:
        """Replace the kafka-python consumer: no commit, unfinished records are read again."""
        old, listener = self._kc, self._listener
        listener.retired = True
        with self._lock:
            unfinished = self._outstanding
            for tp in list(self._tracks):
                self._drop(tp)
            self._buffer.clear()
            self._committed.clear()
            self.assigned = set()
            self._lock.notify_all()
        log.warning("recreating the Kafka consumer; its unfinished records will be read again", group=self.group,
                    reason=reason, unfinished=unfinished)
        try:
            old.close(autocommit=False, timeout_ms=3000)
        except Exception as exc:
            log.warning("closing the old consumer failed", group=self.group, error=f"{type(exc).__name__}: {exc}")
        self._log_resets.clear()
        self._kc = self._new_kc()
        self._joined = False
        self.recreated += 1
        self._stable_at = time.monotonic()

    def _restart_partitions(self, kc: Any, stale: list[tuple[TopicPartition, int, int]]) -> None:
        with self._lock:
            for tp, _, _ in stale:
                self._drop(tp)
                self._committed.pop(tp, None)
            self._buffer = collections.deque(m for m in self._buffer if m._track.alive)
            self._lock.notify_all()
        for tp, pos, hw in stale:
            log.warning("the partition's log restarted below this consumer's position (topic created again or "
                        "broker data lost); reading it again from its beginning", group=self.group, topic=tp.topic,
                        partition=tp.partition, position=pos, high_watermark=hw)
        try:
            kc.seek_to_beginning(*(tp for tp, _, _ in stale))
        except (KafkaError, AssertionError, ValueError) as exc:
            log.warning("rewind failed", group=self.group, error=f"{type(exc).__name__}: {exc}")

    def _take(self, records: dict[TopicPartition, list[Any]]) -> None:
        with self._lock:
            for tp, recs in records.items():
                track = self._tracks.get(tp)
                if track is None:
                    track = self._tracks[tp] = _Track(tp)
                for rec in recs:
                    entry = [rec.offset, 0]
                    track.entries.append(entry)
                    self._buffer.append(KafkaMessage(self, track, entry, rec))
                track.next = recs[-1].offset + 1
                self._outstanding += len(recs)
            self._lock.notify_all()

    def _commit(self, sync: bool) -> None:
        offsets = {}
        with self._lock:
            for tp, track in self._tracks.items():
                self._advance(track)
                if track.commit is not None and self._committed.get(tp) != track.commit:
                    offsets[tp] = OffsetAndMetadata(track.commit, "", -1)
        if not offsets:
            return
        try:
            if sync:
                self._kc.commit(offsets, timeout_ms=5000)
            else:
                self._kc.commit_async(offsets, callback=self._on_commit)
        except KafkaError as exc:
            log.warning("commit failed; will retry", group=self.group, error=f"{type(exc).__name__}: {exc}")
            return
        with self._lock:
            for tp, om in offsets.items():
                self._committed[tp] = om.offset

    def _on_commit(self, offsets: Any, result: Any) -> None:
        if isinstance(result, BaseException):
            log.warning("commit failed; will retry", group=self.group, error=f"{type(result).__name__}: {result}")
            with self._lock:
                for tp in offsets:
                    self._committed.pop(tp, None)

    def _rewind_failed(self, now: float) -> None:
        with self._lock:
            failed, self._failed = self._failed, []
        for old in failed:
            with self._lock:
                if not old.alive:
                    continue
                self._advance(old)
                if not old.entries:
                    continue
                start = old.entries[0][0]
                old.alive = False
                self._outstanding -= sum(1 for e in old.entries if not e[1])
                self._buffer = collections.deque(m for m in self._buffer if m._track.alive)
                fresh = self._tracks[old.tp] = _Track(old.tp)
                fresh.commit, fresh.hold_until = old.commit, now + self._backoff.next()
            log.warning("a record could not be finished; reading its partition again from there",
                        topic=old.tp.topic, partition=old.tp.partition, offset=start)
            try:
                self._kc.seek(old.tp, start)
            except (KafkaError, AssertionError, ValueError) as exc:
                log.warning("rewind failed", error=f"{type(exc).__name__}: {exc}")

    def _report_lag(self) -> None:
        lag: dict[str, int] = collections.defaultdict(int)
        with self._lock:
            tracks = dict(self._tracks)
        for tp in self._kc.assignment():
            hw = self._kc.highwater(tp)
            track = tracks.get(tp)
            if hw is None or track is None:
                continue
            with self._lock:
                done_to = track.entries[0][0] if track.entries else (track.next or track.commit or hw)
            lag[tp.topic] += max(0, hw - done_to)
        for topic in self.topics:
            metrics.LAG.labels(topic=topic).set(lag.get(topic, 0))

    def _check_end(self) -> None:
        kc = self._kc
        with self._lock:
            request, self._end_request = self._end_request, []
        if request:
            parts, unknown = [], []
            for topic in request:
                found = kc.partitions_for_topic(topic)
                if not found:
                    unknown.append(topic)  # no metadata yet: ask again next round
                    continue
                parts += [TopicPartition(topic, p) for p in found]
                self._ended_topics.add(topic)
            if parts:
                self._ends.update(kc.end_offsets(parts))
            with self._lock:
                self._end_request += unknown
        if not set(self.topics) <= self._ended_topics:
            return
        self._commit(sync=True)
        with self._lock:
            if self._buffer or self._outstanding:
                return
            mine = dict(self._committed)
        for tp, end in self._ends.items():
            if end == 0:
                continue
            pos = mine.get(tp)
            if pos is None:
                om = kc.committed(tp)
                pos = om if isinstance(om, int) else getattr(om, "offset", None)
            if pos is None or pos < end:
                return
        self._finished = True


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Poll `predicate` until it is true or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
