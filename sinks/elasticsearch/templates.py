"""Install Tokentrail's ILM policy, component templates and index templates (from `schemas`).

Idempotent: each body carries a hash of itself in `_meta.tokentrail_hash`; a resource is written only
when it is missing or its hash differs (an upgrade changed it), so a restart writes nothing.
A server without ILM (Elastic Serverless, noida-db: 400 "no handler found") is said once in the log;
the templates then go without the `index.lifecycle` setting and rely on the data stream lifecycle
(`template.lifecycle.data_retention`), which is the serverless way.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import orjson
import structlog

from sinks.elasticsearch.client import EsClient, body_text
from tokentrail.errors import AuthError, SinkError

log = structlog.get_logger("tokentrail.sinks.elasticsearch")

Templates = dict[str, dict[str, Any]]


def default_templates(namespace: str, retention: str) -> Templates:
    from schemas.elasticsearch import templates

    return templates(namespace, retention=retention)


def _hash(body: Any) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _with_hash(body: dict[str, Any], meta_in_policy: bool = False) -> dict[str, Any]:
    body = copy.deepcopy(body)
    digest = _hash(body)
    holder = body["policy"] if meta_in_policy else body
    holder.setdefault("_meta", {})["tokentrail_hash"] = digest
    return body


def _no_ilm(status: int, body: Any) -> bool:
    text = body_text(body).lower()
    return status in (400, 404, 405, 410) and ("no handler" in text or "not available" in text
                                               or "unrecognized" in text or "serverless" in text)


def _drop_lifecycle_setting(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    settings = body.get("template", {}).get("settings", {})
    index = settings.get("index", settings)
    if isinstance(index, dict):
        index.pop("lifecycle", None)
    settings.pop("index.lifecycle.name", None)
    return body


class TemplateInstaller:
    """Bring the server's templates in line with ours; `run()` raises AuthError or SinkError.Retryable."""

    def __init__(self, client: EsClient, templates: Templates | Callable[[], Templates], *,
                 sink: str = "elasticsearch") -> None:
        self.client = client
        self._templates = templates
        self.sink = sink
        self.ilm: bool | None = None
        self.written: list[str] = []

    def _check(self, status: int, body: Any, what: str) -> None:
        if status in (401, 403):
            raise AuthError(f"Elasticsearch refused to {what} ({status}); give the API key the manage_index_templates"
                            f" and manage_ilm cluster privileges, or set manage_templates: false")
        if status == 429 or status >= 500:
            raise SinkError.Retryable(f"{what}: HTTP {status} {body_text(body)}")
        if not 200 <= status < 300:
            # A template the server refuses is a bug or an incompatible server: say it loudly, go on.
            log.error("template refused", sink=self.sink, what=what, status=status, reason=body_text(body))

    def _current_hash(self, status: int, body: Any, key: str, name: str) -> str | None:
        if status != 200 or not isinstance(body, dict):
            return None
        try:
            if key == "ilm":
                return body[name]["policy"].get("_meta", {}).get("tokentrail_hash")
            entry = next(e for e in body[key] if e.get("name") == name)
            inner = entry["component_template" if key == "component_templates" else "index_template"]
            return inner.get("_meta", {}).get("tokentrail_hash")
        except (KeyError, StopIteration, TypeError, AttributeError):
            return None

    def run(self) -> None:
        t = self._templates() if callable(self._templates) else self._templates
        for name, body in t.get("ilm_policies", {}).items():
            if self.ilm is False:
                break
            status, current = self.client.request("GET", f"/_ilm/policy/{name}")
            if _no_ilm(status, current):
                self.ilm = False
                log.info("no ILM endpoint on this server: relying on the data stream lifecycle in the templates",
                         sink=self.sink)
                break
            self.ilm = True
            want = _with_hash(body, meta_in_policy=True)
            if self._current_hash(status, current, "ilm", name) != want["policy"]["_meta"]["tokentrail_hash"]:
                status, resp = self.client.request("PUT", f"/_ilm/policy/{name}", want)
                self._check(status, resp, f"install ILM policy {name}")
                self.written.append(f"ilm:{name}")
        for kind, path in (("component_templates", "_component_template"), ("index_templates", "_index_template")):
            for name, body in t.get(kind, {}).items():
                if self.ilm is False or not t.get("ilm_policies"):
                    body = _drop_lifecycle_setting(body)
                want = _with_hash(body)
                status, current = self.client.request("GET", f"/{path}/{name}")
                if status in (401, 403):
                    self._check(status, current, f"read {path} {name}")
                if self._current_hash(status, current, kind, name) == want["_meta"]["tokentrail_hash"]:
                    continue
                status, resp = self.client.request("PUT", f"/{path}/{name}", want)
                self._check(status, resp, f"install {path} {name}")
                self.written.append(f"{path}:{name}")
        if self.written:
            log.info("installed Elasticsearch templates", sink=self.sink, written=self.written)
