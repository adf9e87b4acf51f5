"""Config of the two sinks: every key typed and documented, bad values reported with their position."""

from __future__ import annotations

import pytest

from sinks import SINK_KINDS
from sinks.elasticsearch import Config as EsConfig
from sinks.splunk_hec import Config as HecConfig
from tokentrail.config import from_dict
from tokentrail.configtools import describe
from tokentrail.errors import ConfigError
from tokentrail.secrets import Secret


def problems(sink: dict) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        from_dict({"sinks": [sink]})
    return exc.value.problems


def test_both_kinds_are_registered():
    """elasticsearch and splunk_hec are sink kinds."""
    assert {"elasticsearch", "splunk_hec"} <= set(SINK_KINDS)


def test_a_full_config_loads_into_the_dataclasses():
    """YAML keys map onto the frozen config dataclasses, secrets as file references."""
    cfg = from_dict({"sinks": [
        {"kind": "elasticsearch", "name": "es", "hosts": ["https://es:9200"], "api_key_file": "/run/es",
         "namespace": "prod", "ca_file": "/etc/ca.pem"},
        {"kind": "splunk_hec", "url": "https://splunk:8088", "token_file": "/run/hec", "index": "main", "ack": True}]})
    es, hec = cfg.sinks
    assert es.config == EsConfig(hosts=["https://es:9200"], api_key=Secret(file="/run/es"), namespace="prod",
                                 ca_file="/etc/ca.pem")
    assert hec.name == "splunk_hec-1"
    assert hec.config == HecConfig(url="https://splunk:8088", token=Secret(file="/run/hec"), index="main", ack=True)


def test_inline_secrets_are_refused():
    """An API key, password or HEC token written in the config is an error."""
    assert any("inline secret" in p for p in problems({"kind": "elasticsearch", "api_key": "abc"}))
    assert any("inline secret" in p for p in problems({"kind": "splunk_hec", "url": "http://h:8088", "token": "t"}))


def test_hec_token_is_required():
    """A HEC sink without token_file/token_env is reported."""
    assert "sinks[0].token: required (token_file or token_env)" in problems({"kind": "splunk_hec", "url": "http://h:1"})


def test_unknown_keys_name_the_valid_ones():
    """A typo is an error that lists the keys the sink knows."""
    p = problems({"kind": "elasticsearch", "hostz": ["http://x:9200"]})
    assert any(x.startswith("sinks[0].hostz: unknown key (valid: api_key_env, api_key_file,") for x in p)


@pytest.mark.parametrize("sink,needle", [
    ({"kind": "elasticsearch", "namespace": "My-NS"}, "namespace:"),
    ({"kind": "elasticsearch", "hosts": ["es:9200"]}, "hosts[0]: expected http://"),
    ({"kind": "elasticsearch", "hosts": ["https://u:p@es:9200"]}, "no credentials in URLs"),
    ({"kind": "elasticsearch", "username": "shipper"}, "password_file: required"),
    ({"kind": "elasticsearch", "gzip_level": 12}, "gzip_level: 0 to 9"),
    ({"kind": "splunk_hec", "url": "https://h:8088?token=x", "token_file": "/t"}, "url: no credentials or query"),
    ({"kind": "splunk_hec", "url": "https://h:8088", "token_file": "/t", "max_pending_acks": 0}, "max_pending_acks"),
])
def test_bad_values_are_reported(sink, needle):
    """Values a sink cannot work with are config errors, with their position."""
    assert any(needle in p and p.startswith("sinks[0].") for p in problems(sink))


def test_every_key_is_documented():
    """Each config field carries a docstring (docs/sinks.md and --help read them)."""
    for cls in (EsConfig, HecConfig):
        assert all(doc for _, _, doc in describe(cls))
