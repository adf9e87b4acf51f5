"""The Kafka bus, its state topics, the kafka input and the kafka sink, in process on a real broker."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import orjson
import pytest
from conftest import okta_record
from kafka import KafkaConsumer, TopicPartition

from collectors.inputs import InputContext
from tokentrail.checkpoint import MemoryStore
from tokentrail.clock import Clock
from tokentrail.config import BusConfig, from_dict
from tokentrail.errors import ConfigError
from tokentrail.pipeline import Raw
from tokentrail.secrets import Secret

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def bus_for(broker: Any, **kw: Any) -> Any:
    from tokentrail.bus.kafka import KafkaBus

    prefix = f"u{uuid.uuid4().hex[:8]}"
    cfg = BusConfig(kind="kafka", bootstrap_servers=[broker.addr], topic_prefix=prefix, group_id=prefix,
                    session_timeout_ms=6000, max_poll_interval_ms=6000, **kw)
    return KafkaBus(cfg, client_id=prefix)


def drain(consumer: Any, n: int, timeout: float = 30) -> list[Any]:
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        out += consumer.poll(500, 0.3)
    return out


def test_only_the_finished_prefix_is_committed(broker: Any) -> None:
    """An unfinished record holds back its partition's commit; a new consumer starts from it."""
    bus = bus_for(broker)
    topic = bus.topics.raw("okta")
    bus.ensure_topics([topic], partitions=1)
    acked: list[Any] = []
    for i in range(20):
        bus.publish(topic, b"%d" % i, on_done=acked.append)
    bus.flush()
    assert acked == [None] * 20, "on_done(None) once the broker acknowledged"
    c = bus.consumer([topic], bus.config.group_id)
    msgs = drain(c, 20)
    for m in msgs:
        if m.offset != 7:
            m.ack()
    time.sleep(0.8)
    c.close()
    again = bus.consumer([topic], bus.config.group_id)
    redelivered = drain(again, 13, timeout=20)
    assert min(m.offset for m in redelivered) == 7
    bus.close()


def test_failed_ack_rewinds_the_partition(broker: Any) -> None:
    """msg.ack(error) makes the consumer read its partition again from the first unfinished record."""
    bus = bus_for(broker)
    topic = bus.topics.raw("okta")
    bus.ensure_topics([topic], partitions=1)
    for i in range(5):
        bus.publish(topic, b"%d" % i)
    bus.flush()
    c = bus.consumer([topic], bus.config.group_id)
    first = drain(c, 5)
    first[0].ack()
    first[1].ack(RuntimeError("produce failed"))
    again = drain(c, 4, timeout=20)
    assert [m.offset for m in again][:4] == [1, 2, 3, 4]
    c.close()
    bus.close()


def test_consumer_stuck_out_of_its_group_is_recreated(broker: Any, monkeypatch: Any) -> None:
    """A consumer that stays out of its group is replaced; unfinished records come again, finished ones not."""
    import tokentrail.bus.kafka as kafka_bus

    bus = bus_for(broker)
    topic = bus.topics.raw("okta")
    bus.ensure_topics([topic], partitions=1)
    for i in range(20):
        bus.publish(topic, b"%d" % i)
    bus.flush()
    c = bus.consumer([topic], bus.config.group_id)
    first = drain(c, 20)
    assert len(first) == 20
    for m in first[:10]:
        m.ack()
    time.sleep(0.8)  # offsets 0-9 committed
    monkeypatch.setattr(kafka_bus, "_group_stable", lambda kc: False)  # as if kafka-python never rejoined
    c.rejoin_timeout = 2.0
    deadline = time.monotonic() + 15
    while not c.recreated and time.monotonic() < deadline:
        time.sleep(0.1)
    monkeypatch.undo()
    c.rejoin_timeout = 30.0  # the new consumer's join (about 3 s on Tansu) must not count as stuck
    assert c.recreated == 1
    first[10].ack()  # an ack for a record of the old consumer changes nothing
    again = drain(c, 10, timeout=20)
    assert sorted(m.offset for m in again) == list(range(10, 20))
    c.close()
    bus.close()


def test_a_healthy_member_is_seen_stable_and_kept(broker: Any) -> None:
    """kafka-python's own member state is read right: a consumer that joined is stable, so polls are
    short (throughput) and the stuck-consumer watch leaves it alone past `rejoin_timeout`."""
    from tokentrail.bus import kafka as kafka_bus

    bus = bus_for(broker)
    topic = bus.topics.raw("okta")
    bus.ensure_topics([topic], partitions=1)
    for i in range(5):
        bus.publish(topic, b"%d" % i)
    bus.flush()
    c = bus.consumer([topic], bus.config.group_id)
    assert len(drain(c, 5)) == 5
    assert kafka_bus._group_stable(c._kc) is True
    c.rejoin_timeout = 1.0
    time.sleep(2.5)
    assert c.recreated == 0
    c.close()
    bus.close()


def test_group_state_forms() -> None:
    """The state as kafka-python 3.0.12 keeps it (a string), as an enum would name it, or unknown."""
    from enum import Enum

    from tokentrail.bus.kafka import _group_stable

    class State(Enum):
        STABLE = 1
        REBALANCING = 2

    def kc(state: Any) -> Any:
        return type("KC", (), {"_coordinator": type("Coord", (), {"state": state})()})()

    assert _group_stable(kc("<stable>")) is True
    assert _group_stable(kc("<rebalancing>")) is False
    assert _group_stable(kc("<unjoined>")) is False
    assert _group_stable(kc(State.STABLE)) is True
    assert _group_stable(kc(State.REBALANCING)) is False
    assert _group_stable(object()) is None


def test_log_reset_watch_reports_a_position_beyond_the_log_end() -> None:
    """A fetch position above the high watermark for `hold` seconds means the log restarted."""
    from types import SimpleNamespace

    from tokentrail.bus.kafka import LogResetWatch

    tp, other = TopicPartition("t", 0), TopicPartition("t", 1)
    states = {tp: SimpleNamespace(position=SimpleNamespace(offset=22)),
              other: SimpleNamespace(position=SimpleNamespace(offset=5))}
    hws = {tp: 3, other: 5}
    kc = SimpleNamespace(assignment=lambda: set(states), highwater=hws.get,
                         _subscription=SimpleNamespace(assignment=states))
    watch = LogResetWatch(hold=2.0)
    assert watch.check(kc, 100.0) == []
    assert watch.check(kc, 101.0) == []
    assert watch.check(kc, 102.0) == [(tp, 22, 3)]
    hws[tp] = 30  # caught up: a high watermark that lagged for a moment is no reset
    assert watch.check(kc, 103.0) == [] and watch.check(kc, 110.0) == []


def test_kafka_store_resumes_checkpoints(broker: Any) -> None:
    """A new KafkaStore (a rescheduled pod) loads the last checkpoint saved in the compacted topic."""
    from tokentrail.bus.kafka_state import KafkaStore

    bus = bus_for(broker)
    store = KafkaStore(bus)
    store.save("okta-file", {"files": {"1:2": {"offset": 10}}})
    store.save("okta-file", {"files": {"1:2": {"offset": 20}}})
    bus.flush()
    assert KafkaStore(bus).load("okta-file") == {"files": {"1:2": {"offset": 20}}}
    assert KafkaStore(bus).load("other") is None
    bus.close()


def test_kafka_state_is_shared_between_workers(broker: Any) -> None:
    """A put in one worker's KafkaState reaches another's through the compacted topic, with its expiry."""
    from tokentrail.bus.kafka_state import KafkaState

    bus = bus_for(broker)
    a = KafkaState(bus)
    b = KafkaState(bus)
    a.put("apps", "0oa1", {"name": "Confluence Sync"}, None)
    a.put("tokens", "jti-1", {"event_id": "e1"}, 3600)
    a.put("tokens", "jti-old", {"event_id": "e0"}, 0)
    bus.flush()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b.get("tokens", "jti-1") is None:
        time.sleep(0.1)
    assert b.get("apps", "0oa1") == {"name": "Confluence Sync"}
    assert b.get("tokens", "jti-1") == {"event_id": "e1"}
    assert b.get("tokens", "jti-old") is None, "expired entries are not resurrected"
    a.close()
    b.close()
    bus.close()


def test_kafka_input_reads_an_external_topic(broker: Any) -> None:
    """The kafka input emits each message as a raw unit and commits it only once on_done(None) came."""
    from collectors.inputs.kafka import KafkaInput, KafkaInputConfig

    bus = bus_for(broker)
    ext = f"{bus.topics.prefix}-external"
    bus.ensure_topics([ext], partitions=2)
    for i in range(10):
        bus.publish(ext, orjson.dumps(okta_record(i, "ext")))
    bus.flush()
    cfg = KafkaInputConfig(bootstrap_servers=[broker.addr], topic=[ext], group_id=f"{ext}-g",
                           session_timeout_ms=6000, max_poll_interval_ms=6000)
    ctx = InputContext(store=MemoryStore(), clock=Clock())
    got: list[Raw] = []

    def emit(raw: Raw, on_done: Any) -> None:
        got.append(raw)
        on_done(None)

    inp = KafkaInput("ext", "okta", cfg, ctx)
    stop = threading.Event()
    t = threading.Thread(target=inp.run, args=(emit, stop, True), daemon=True)
    t.start()
    t.join(60)
    caught_up = not t.is_alive()
    stop.set()
    inp.close()
    t.join(15)
    assert not t.is_alive(), "a closed input's run() returns"
    assert caught_up, "--once: stops when caught up"
    assert len(got) == 10 and got[0].origin.startswith(f"kafka:{ext}/")
    kc = KafkaConsumer(bootstrap_servers=[broker.addr], group_id=f"{ext}-g")
    committed = sum(kc.committed(TopicPartition(ext, p)) or 0 for p in (0, 1))
    kc.close()
    assert committed == 10
    bus.close()


def test_kafka_input_closed_from_another_thread_returns(broker: Any) -> None:
    """Tailing (no --once), then closed at shutdown: run() returns instead of polling a closed consumer."""
    from collectors.inputs.kafka import KafkaInput, KafkaInputConfig

    bus = bus_for(broker)
    ext = f"{bus.topics.prefix}-idle"
    bus.ensure_topics([ext], partitions=1)
    cfg = KafkaInputConfig(bootstrap_servers=[broker.addr], topic=[ext], group_id=f"{ext}-g",
                           session_timeout_ms=6000, max_poll_interval_ms=6000)
    inp = KafkaInput("idle", "okta", cfg, InputContext(store=MemoryStore(), clock=Clock()))
    t = threading.Thread(target=inp.run, args=(lambda raw, on_done: None, threading.Event(), False), daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while inp._consumer is None and time.monotonic() < deadline:
        time.sleep(0.05)
    inp.close()
    t.join(15)
    assert not t.is_alive()
    bus.close()


def test_kafka_sink_writes_events_keyed_by_id(broker: Any) -> None:
    """The kafka sink produces each event keyed by event.id and reports them delivered."""
    from sinks import Item, Outcome
    from sinks.kafka import Config, KafkaSink

    topic = f"sink-{uuid.uuid4().hex[:8]}"
    bus = bus_for(broker)
    bus.ensure_topics([topic], partitions=1)
    sink = KafkaSink(Config(bootstrap_servers=[broker.addr], topic=topic))
    events = [{"event": {"id": f"e{i}"}, "message": "x"} for i in range(5)]
    results = sink.send([Item(e, orjson.dumps(e)) for e in events])
    sink.close()
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 5
    kc = KafkaConsumer(topic, bootstrap_servers=[broker.addr], group_id=None, auto_offset_reset="earliest",
                       consumer_timeout_ms=5000)
    keys = [m.key for m in kc]
    kc.close()
    assert keys == [b"e0", b"e1", b"e2", b"e3", b"e4"]
    bus.close()


def test_sink_classifies_too_large_as_dead_letter() -> None:
    """A record the broker can never take is dead-lettered; a connection problem is retried."""
    from kafka.errors import KafkaConnectionError, MessageSizeTooLargeError

    from sinks import Outcome
    from sinks.kafka import classify

    assert classify(MessageSizeTooLargeError("big")).outcome is Outcome.DEAD_LETTER
    assert classify(KafkaConnectionError("down")).outcome is Outcome.RETRY


def test_natural_key_only_for_a_single_record() -> None:
    """Raw units are keyed by the provider's id when they hold one record, not when they are envelopes."""
    from tokentrail.worker import natural_key

    one = orjson.dumps(okta_record(1))
    assert natural_key(Raw("okta", one, "t")) == b"r-000001"
    many = orjson.dumps([okta_record(1), okta_record(2)])
    assert natural_key(Raw("okta", many, "t")) is None
    assert natural_key(Raw("okta", b"{not json", "t")) is None


def test_event_hubs_settings_become_sasl_ssl_client_settings(tmp_path: Any) -> None:
    """SASL_SSL PLAIN with $ConnectionString and a CA file map to kafka-python's settings."""
    from collectors.inputs.kafka import KafkaInputConfig
    from tokentrail.bus.kafka import client_kwargs

    secret = tmp_path / "eh"
    secret.write_text("Endpoint=sb://example-ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s\n")
    cfg = KafkaInputConfig(bootstrap_servers=["example-ns.servicebus.windows.net:9093"], topic=["signins"],
                           security_protocol="SASL_SSL", sasl_mechanism="PLAIN", sasl_username="$ConnectionString",
                           sasl_password=Secret(file=str(secret)), ca_file="/etc/ssl/certs/ca.pem")
    assert cfg.validate() == []
    kw = client_kwargs(cfg)
    assert kw["security_protocol"] == "SASL_SSL" and kw["sasl_mechanism"] == "PLAIN"
    assert kw["sasl_plain_username"] == "$ConnectionString" and kw["ssl_cafile"] == "/etc/ssl/certs/ca.pem"
    assert kw["sasl_plain_password"].startswith("Endpoint=sb://")
    assert "SharedAccessKey" not in repr(cfg)


def test_kafka_config_problems_are_listed() -> None:
    """A kafka bus or input with bad settings is a config error naming each key."""
    with pytest.raises(ConfigError) as err:
        from_dict({"bus": {"kind": "kafka", "bootstrap_servers": ["nohost"], "security_protocol": "SASL_SSL"},
                   "inputs": [{"source": "entra", "kind": "kafka", "bootstrap_servers": ["h:9093"], "topic": [],
                               "sasl_password": "inline"}]})
    text = "\n".join(err.value.problems)
    assert "bus.bootstrap_servers[0]" in text and "bus.sasl_mechanism" in text
    assert "inputs[0].sasl_password: inline secret" in text and "inputs[0].topic" in text
