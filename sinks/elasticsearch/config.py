"""Config of the Elasticsearch sink (`sinks[].kind: elasticsearch`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sinks._checks import request_problems
from tokentrail.configtools import doc
from tokentrail.secrets import Secret

# Elastic's data stream naming scheme: lowercase, no '-', none of \/*?"<>|,#: or spaces, at most 100 bytes.
_NAMESPACE = re.compile(r"^[a-z0-9_.]{1,100}$")


@dataclass(frozen=True)
class Config:
    hosts: list[str] = doc("Elasticsearch URLs (http:// or https://); requests are spread over them",
                           default_factory=lambda: ["http://127.0.0.1:9200"])
    api_key: Secret | None = doc("API key from api_key_file or api_key_env: the base64 `encoded` value or "
                                 "`id:api_key`", None)
    username: str | None = doc("user for basic authentication (with password_file or password_env)", None)
    password: Secret | None = doc("password for `username`, from password_file or password_env", None)
    ca_file: str | None = doc("PEM bundle of the CA that signed the server certificate (private CAs)", None)
    tls_verify: bool = doc("verify the server certificate and host name; turn off only for tests", True)
    namespace: str = doc("data streams are logs-<event.dataset>-<namespace>", "default")
    manage_templates: bool = doc("install the index templates, component templates and ILM policy at start "
                                 "when missing or changed; false for least-privilege API keys", True)
    retention: str = doc("how long data streams keep data (ILM delete phase and data stream lifecycle)", "400d")
    batch_max_bytes: int = doc("a bulk request carries at most this many bytes of NDJSON (before gzip)",
                               5_000_000)
    max_concurrent_requests: int = doc("bulk requests in flight at once for one batch", 4)
    gzip_level: int = doc("gzip level of request bodies, 1 (fast) to 9; 0 sends them uncompressed", 1)
    request_timeout_seconds: float = doc("timeout of one request; a timed-out bulk is retried", 60.0)
    keep_original: bool = doc("keep `event.original` in documents (it is set only when a HEC sink runs in "
                              "passthrough mode); false drops it here", False)

    def validate(self) -> list[str]:
        problems = []
        if not self.hosts:
            problems.append("hosts: give at least one URL")
        for i, host in enumerate(self.hosts):
            parts = urlsplit(host)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problems.append(f"hosts[{i}]: expected http://host:port or https://host:port")
            elif parts.username or parts.password:
                problems.append(f"hosts[{i}]: no credentials in URLs; use username + password_file or api_key_file")
        if self.api_key and (self.username or self.password):
            problems.append("api_key_file: give an API key or username + password, not both")
        if self.password and not self.username:
            problems.append("username: required with password_file")
        if self.username and not self.password:
            problems.append("password_file: required with username (or password_env)")
        if not _NAMESPACE.match(self.namespace or ""):
            problems.append("namespace: lowercase letters, digits, '_' and '.', at most 100 (no '-')")
        problems += request_problems(self.batch_max_bytes, self.max_concurrent_requests, self.gzip_level,
                                     "request_timeout_seconds", self.request_timeout_seconds)
        if not re.match(r"^\d+[dhms]$", self.retention or ""):
            problems.append("retention: a duration such as 400d, 720h")
        return problems
