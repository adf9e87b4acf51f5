"""Template installation against a fake Elasticsearch that has ILM (the noida-db tests cover the
server without it): what is written, when, and what a refusal means."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sinks.elasticsearch.templates import TemplateInstaller, default_templates
from tokentrail.errors import AuthError, SinkError


class FakeEs:
    """Stores PUT bodies and answers GETs the way Elasticsearch 8.x shapes them."""

    def __init__(self, ilm: bool = True, refuse: int | None = None) -> None:
        self.store: dict[str, Any] = {}
        self.puts: list[str] = []
        self.ilm, self.refuse = ilm, refuse

    def request(self, method: str, path: str, body: Any = None, **_: Any) -> tuple[int, Any]:
        kind, name = path.strip("/").split("/")[-2:] if "_ilm" not in path else ("_ilm", path.rsplit("/", 1)[1])
        if kind == "_ilm" and not self.ilm:
            return 400, {"error": f"no handler found for uri [{path}] and method [{method}]"}
        if method == "PUT":
            if self.refuse:
                return self.refuse, {"error": {"type": "security_exception", "reason": "unauthorized"}}
            self.puts.append(path)
            self.store[path] = copy.deepcopy(body)
            return 200, {"acknowledged": True}
        if path not in self.store:
            return 404, {"error": {"type": "resource_not_found_exception"}}
        body = self.store[path]
        if kind == "_ilm":
            return 200, {name: {"version": 1, "policy": body["policy"]}}
        key, inner = (("component_templates", "component_template") if kind == "_component_template"
                      else ("index_templates", "index_template"))
        return 200, {key: [{"name": name, inner: body}]}


def test_everything_is_installed_once_with_ilm():
    """ILM policy, component and index templates are written the first time and not again."""
    es = FakeEs()
    TemplateInstaller(es, default_templates("default", "400d")).run()
    assert es.puts[0] == "/_ilm/policy/tokentrail"
    assert "/_component_template/tokentrail@mappings" in es.puts and "/_index_template/logs-okta.system" in es.puts
    settings = es.store["/_component_template/tokentrail@settings"]["template"]["settings"]["index"]
    assert settings["lifecycle"] == {"name": "tokentrail"}
    first = len(es.puts)
    TemplateInstaller(es, default_templates("default", "400d")).run()
    assert len(es.puts) == first


def test_a_changed_template_is_rewritten_alone():
    """An upgrade that changes one body rewrites that resource only."""
    es = FakeEs()
    TemplateInstaller(es, default_templates("default", "400d")).run()
    es.puts.clear()
    changed = default_templates("default", "400d")
    changed["index_templates"]["logs-okta.system"]["priority"] = 250
    TemplateInstaller(es, changed).run()
    assert es.puts == ["/_index_template/logs-okta.system"]


def test_without_ilm_the_lifecycle_setting_is_left_out():
    """No ILM endpoint: no policy, no index.lifecycle setting; the data stream lifecycle stays."""
    es = FakeEs(ilm=False)
    inst = TemplateInstaller(es, default_templates("default", "90d"))
    inst.run()
    assert inst.ilm is False and not any("_ilm" in p for p in es.puts)
    assert "lifecycle" not in es.store["/_component_template/tokentrail@settings"]["template"]["settings"]["index"]
    assert es.store["/_index_template/logs-okta.system"]["template"]["lifecycle"] == {"data_retention": "90d"}


def test_refused_privileges_stop_with_a_hint():
    """A 403 on install says which privileges are missing, or to set manage_templates: false."""
    with pytest.raises(AuthError, match="manage_templates: false"):
        TemplateInstaller(FakeEs(refuse=403), default_templates("default", "400d")).run()


def test_an_overloaded_server_is_retried_later():
    """A 503 during setup is retryable (the batch waits), not fatal."""
    with pytest.raises(SinkError.Retryable):
        TemplateInstaller(FakeEs(refuse=503), default_templates("default", "400d")).run()
