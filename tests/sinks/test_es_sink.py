"""The Elasticsearch sink against a real Elasticsearch-API server (noida-db), with faults injected by a
proxy: exactly-once documents, per-item retries, splitting, dead letters, outages, auth."""

from __future__ import annotations

import base64
import random
import threading
import time

import orjson
import pytest
from sinkkit import items_of, make_event, ship
from structlog.testing import capture_logs

from sinks._sink import Outcome
from sinks.elasticsearch import Config, ElasticsearchSink
from tokentrail import metrics
from tokentrail.errors import AuthError


def sink_for(url: str, namespace: str, name: str = "es-test", **kw) -> ElasticsearchSink:
    return ElasticsearchSink(Config(hosts=[url], namespace=namespace, **kw), name=name)


def events(n: int, start: int = 0, **kw) -> list:
    return items_of([make_event(i, **kw) for i in range(start, start + n)])


def test_replay_creates_no_documents(es_server, namespace):
    """Sending the same events twice leaves one document each; the second time they are duplicates."""
    sink = sink_for(es_server.url, namespace)
    batch = events(40)
    assert {r.outcome for r in sink.send(batch)} == {Outcome.DELIVERED}
    assert {r.outcome for r in sink.send(batch)} == {Outcome.DUPLICATE}
    assert es_server.count(f"logs-okta.system-{namespace}") == 40
    sink.close()


def test_documents_land_in_the_dataset_data_stream(es_server, namespace):
    """Each event goes to logs-<event.dataset>-<namespace> with `_id` = event.id."""
    sink = sink_for(es_server.url, namespace)
    sink.send(events(2, dataset="azure.signinlogs"))
    hits = es_server.search(f"logs-azure.signinlogs-{namespace}")
    assert sorted(h["_id"] for h in hits) == ["evt-azure.signinlogs-000000", "evt-azure.signinlogs-000001"]
    sink.close()


def test_mapping_conflict_goes_to_the_dlq_with_the_reason(es_server, namespace):
    """An event whose field breaks the template's mapping is dead-lettered alone; the others land."""
    bad = make_event(1, source={"ip": "not-an-ip"})
    run = ship([sink_for(es_server.url, namespace)], items_of([make_event(0), bad, make_event(2)]))
    assert run.acked == 3 and len(run.dlq) == 1
    d = run.dlq[0]["tokentrail"]["dlq"]
    assert d["stage"] == "ship" and "failed to parse field [source.ip] of type [ip]" in d["reason"]
    assert orjson.loads(run.dlq[0]["event"]["original"])["event"]["id"] == "evt-okta.system-000001"
    assert es_server.count(f"logs-okta.system-{namespace}") == 2


def test_item_429_and_503_are_retried_until_delivered(proxy, es_server, namespace):
    """Items rejected with 429/503 are sent again (only them) until Elasticsearch takes them."""
    batch = events(30)
    for i in (3, 17):
        proxy.state.item_faults[f"evt-okta.system-{i:06d}"] = [429, 503, 429]
    before = metrics.RETRIES.labels(sink="es-retry")._value.get()
    run = ship([sink_for(proxy.url, namespace, name="es-retry")], batch)
    assert run.acked == 30 and run.dlq == [] and run.fatal == []
    assert proxy.state.injected == 6
    assert metrics.RETRIES.labels(sink="es-retry")._value.get() - before == 6
    assert [r.items for r in proxy.state.requests[-3:]] == [2, 2, 2]  # retries carry only the rejected items
    assert es_server.count(f"logs-okta.system-{namespace}") == 30


def test_whole_request_429_and_503_are_retried(proxy, es_server, namespace):
    """A 429 or 503 for the whole request is retried until it goes through."""
    proxy.state.fail(503, 2)
    proxy.state.fail(429, 1)
    run = ship([sink_for(proxy.url, namespace)], events(10))
    assert run.acked == 10 and run.dlq == []
    assert es_server.count(f"logs-okta.system-{namespace}") == 10


def test_413_splits_the_batch_and_an_event_too_big_alone_is_dead_lettered(proxy, es_server, namespace):
    """A 413 halves the request until each part fits; a single event that never fits is a dead letter."""
    proxy.state.max_body = 2500  # gzipped bytes: about four events
    big = make_event(99)
    big["okta"]["display_message"] = base64.b64encode(random.Random(1).randbytes(6000)).decode()  # incompressible
    sink = sink_for(proxy.url, namespace)
    results = sink.send(events(16) + items_of([big]))
    assert [r.outcome for r in results[:16]] == [Outcome.DELIVERED] * 16
    assert results[16].outcome is Outcome.DEAD_LETTER and results[16].reason.startswith("413")
    assert len(proxy.state.requests) > 4
    assert es_server.count(f"logs-okta.system-{namespace}") == 16
    sink.close()


def test_requests_are_gzipped_and_filtered(proxy, namespace):
    """Bulk bodies go gzipped, as compat-8 NDJSON, asking only for errors and item statuses."""
    sink = sink_for(proxy.url, namespace)
    sink.send(events(3))
    req = proxy.state.requests[-1]
    assert req.headers["content-encoding"] == "gzip"
    assert req.headers["content-type"] == "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
    assert "filter_path=errors%2Citems.%2A.error%2Citems.%2A.status" in req.path or "filter_path=errors," in req.path
    sink.close()


def test_large_batches_are_shared_over_concurrent_requests(proxy, namespace):
    """A batch over batch_max_bytes goes as several bulk requests, none over the limit."""
    sink = sink_for(proxy.url, namespace, batch_max_bytes=20_000, gzip_level=0)
    results = sink.send(events(60))
    assert {r.outcome for r in results} == {Outcome.DELIVERED}
    sizes = [r.body_bytes for r in proxy.state.requests]
    assert len(sizes) >= 3 and max(sizes) <= 20_000
    sink.close()


def test_server_going_away_and_coming_back_loses_nothing(private_es, namespace):
    """While the server is down events wait (retried with backoff); when it is back, all land once."""
    sink = sink_for(private_es.url, namespace)
    assert ship([sink], events(20)).acked == 20
    private_es.stop()
    result: dict = {}
    t = threading.Thread(target=lambda: result.update(run=ship([sink], events(30, start=10), timeout=90)))
    t.start()
    time.sleep(1.5)
    private_es.start()
    t.join(100)
    run = result["run"]
    assert run.acked == 30 and run.dlq == [] and run.fatal == []
    assert private_es.count(f"logs-okta.system-{namespace}") == 40  # 10 overlapping events were duplicates
    sink.close()


def test_refused_credentials_stop_the_worker_and_ack_nothing(proxy, namespace, secret_file):
    """A 401 raises AuthError: the Shipper stops, nothing is acknowledged (so nothing is lost)."""
    key = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
    sink = ElasticsearchSink(Config(hosts=[proxy.url], namespace=namespace, api_key=secret_file(key)), name="es-auth")
    proxy.state.fail(401, 1)
    with capture_logs() as logs:
        run = ship([sink], events(5), timeout=10)
    assert run.acked == 0 and run.fatal and "401" in run.fatal[0]
    assert key not in repr(logs) and key not in run.fatal[0]
    with pytest.raises(AuthError):
        proxy.state.fail(401, 1)
        sink.send(events(1))
    sink.close()


def test_api_key_from_file_is_sent_as_apikey_header(proxy, namespace, secret_file):
    """`id:key` in api_key_file becomes `Authorization: ApiKey base64(id:key)`."""
    sink = ElasticsearchSink(Config(hosts=[proxy.url], namespace=namespace, api_key=secret_file("kid:ksecret")))
    sink.send(events(1))
    assert proxy.state.calls[-1][2]["authorization"] == "ApiKey " + base64.b64encode(b"kid:ksecret").decode()
    sink.close()


def test_templates_are_installed_once_and_missing_ilm_is_said_once(es_server, namespace):
    """Templates are written when missing or changed, not again; the absent ILM endpoint is logged once."""
    def templates():
        return {"component_templates": {f"tt-{namespace}@c": {"template": {"mappings": {"properties": {
                    "x": {"type": "keyword"}}}}}},
                "index_templates": {f"tt-{namespace}": {"index_patterns": [f"tt-{namespace}-*"], "data_stream": {},
                                                        "composed_of": [f"tt-{namespace}@c"], "priority": 300}},
                "ilm_policies": {f"tt-{namespace}": {"policy": {"phases": {"hot": {"actions": {}}}}}}}
    with capture_logs() as logs:
        sink = ElasticsearchSink(Config(hosts=[es_server.url], namespace=namespace), templates=templates)
        sink.send(events(1))
        assert sink.installer.written == [f"_component_template:tt-{namespace}@c", f"_index_template:tt-{namespace}"]
        sink.installer.written.clear()
        sink.installer.run()
        assert sink.installer.written == []
    assert sum("no ILM endpoint" in e["event"] for e in logs) == 1
    sink.close()


def test_manage_templates_false_touches_no_template(proxy, namespace):
    """With manage_templates: false the sink only sends bulk requests (least-privilege keys)."""
    sink = sink_for(proxy.url, namespace, manage_templates=False)
    sink.send(events(2))
    assert {path.split("?")[0] for _, path, _ in proxy.state.calls} == {"/_bulk"}
    sink.close()


def test_ready_follows_the_server(proxy, namespace):
    """ready() is true when the server answers and false when it cannot be reached."""
    sink = sink_for(proxy.url, namespace)
    assert sink.ready()
    sink.close()
    assert not sink_for("http://127.0.0.1:9", namespace).ready()
