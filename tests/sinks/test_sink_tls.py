"""TLS is verified by default; `ca_file` trusts a private CA; basic auth comes from a password file."""

from __future__ import annotations

import base64
import copy

import pytest
from es_proxy import Proxy
from hec_receiver import Receiver
from sinkkit import HEC_TOKENS, PLAIN_TOKEN, items_of, make_event, make_tls

from sinks._sink import Outcome
from sinks.elasticsearch import Config as EsConfig
from sinks.elasticsearch import ElasticsearchSink
from sinks.splunk_hec import Config as HecConfig
from sinks.splunk_hec import SplunkHecSink


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_proxy(es_server, tls):
    p = Proxy(es_server.url, ssl_context=tls.server)
    yield p
    p.close()


@pytest.fixture
def tls_hec(tls):
    r = Receiver(copy.deepcopy(HEC_TOKENS), ssl_context=tls.server)
    yield r
    r.close()


def test_es_refuses_an_unknown_ca_and_retries(tls_proxy, namespace):
    """Without ca_file the private CA is not trusted: nothing is sent, the events wait (RETRY)."""
    sink = ElasticsearchSink(EsConfig(hosts=[tls_proxy.url], namespace=namespace))
    results = sink.send(items_of([make_event(1)]))
    assert results[0].outcome is Outcome.RETRY and "Tls" in results[0].reason
    assert tls_proxy.state.requests == []
    sink.close()


def test_es_trusts_ca_file_and_sends_basic_auth(tls_proxy, tls, namespace, secret_file):
    """With ca_file the TLS server is trusted; username + password_file becomes Basic auth."""
    cfg = EsConfig(hosts=[tls_proxy.url], namespace=namespace, ca_file=tls.ca_file, username="shipper",
                   password=secret_file("s3cret-pw"))
    sink = ElasticsearchSink(cfg)
    assert sink.send(items_of([make_event(1)]))[0].outcome is Outcome.DELIVERED
    expected = "Basic " + base64.b64encode(b"shipper:s3cret-pw").decode()
    assert tls_proxy.state.requests[-1].headers["authorization"] == expected
    sink.close()


def test_hec_refuses_an_unknown_ca_and_retries(tls_hec, secret_file):
    """The HEC sink verifies the certificate too: an untrusted server gets nothing."""
    sink = SplunkHecSink(HecConfig(url=tls_hec.url, token=secret_file(PLAIN_TOKEN)))
    assert sink.send(items_of([make_event(1)]))[0].outcome is Outcome.RETRY
    assert tls_hec.state.requests == []
    sink.close()


def test_hec_trusts_ca_file(tls_hec, tls, secret_file):
    """With ca_file the HEC sink delivers over TLS."""
    sink = SplunkHecSink(HecConfig(url=tls_hec.url, token=secret_file(PLAIN_TOKEN), ca_file=tls.ca_file))
    assert sink.send(items_of([make_event(1)]))[0].outcome is Outcome.DELIVERED
    sink.close()
