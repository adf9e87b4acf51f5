"""Config of the Splunk HTTP Event Collector sink (`sinks[].kind: splunk_hec`)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sinks._checks import request_problems
from tokentrail.configtools import doc
from tokentrail.secrets import Secret


@dataclass(frozen=True)
class Config:
    url: str = doc("HEC base URL, e.g. https://splunk.example.com:8088 (the path is added)")
    token: Secret = doc("HEC token, from token_file or token_env; sent as `Authorization: Splunk <token>`")
    path: str = doc("event endpoint path", "/services/collector/event")
    index: str | None = doc("Splunk index; unset: the token's default index", None)
    host: str | None = doc("`host` of every event; unset: this machine's host name", None)
    source: str = doc("`source` of every event", "tokentrail")
    sourcetype: str | None = doc("`sourcetype` of every event; unset: tokentrail:<event.dataset>", None)
    cim: bool = doc("add the Splunk CIM Authentication fields (action, app, src, user, dest, signature, "
                    "authentication_method) to each event", True)
    passthrough: bool = doc("send the provider's raw record with the Splunk add-on's sourcetype (OktaIM2:log, "
                            "azure:monitor:aad, gws:reports:login...) instead of the normalized event", False)
    ack: bool = doc("use indexer acknowledgement: a batch counts as delivered only once Splunk says it is "
                    "indexed (the token must have it enabled)", False)
    ack_timeout_seconds: float = doc("resend a request whose acknowledgement has not come after this long", 300.0)
    ack_poll_seconds: float = doc("longest wait between two polls of /services/collector/ack", 1.0)
    max_pending_acks: int = doc("requests sent and not yet acknowledged, at most", 64)
    batch_max_bytes: int = doc("a request carries at most this many bytes of events (before gzip)", 1_000_000)
    max_concurrent_requests: int = doc("requests in flight at once for one batch", 2)
    gzip_level: int = doc("gzip level of request bodies, 1 (fast) to 9; 0 sends them uncompressed", 1)
    timeout_seconds: float = doc("timeout of one HTTP request", 30.0)
    ca_file: str | None = doc("PEM bundle of the CA that signed the HEC certificate (private CAs)", None)
    tls_verify: bool = doc("verify the server certificate and host name; turn off only for tests", True)

    def validate(self) -> list[str]:
        if self.token is None or self.ack_timeout_seconds is None:
            return []  # a required key is missing (reported already); the rest are placeholders
        problems = []
        parts = urlsplit(self.url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append("url: expected http(s)://host:port")
        elif parts.username or parts.password or parts.query:
            problems.append("url: no credentials or query in the URL; the token comes from token_file")
        if not (self.path or "").startswith("/"):
            problems.append("path: must start with /")
        if self.ack_timeout_seconds <= 0 or self.ack_poll_seconds <= 0:
            problems.append("ack_timeout_seconds: ack timings must be positive")
        if self.max_pending_acks < 1:
            problems.append("max_pending_acks: at least 1")
        problems += request_problems(self.batch_max_bytes, self.max_concurrent_requests, self.gzip_level,
                                     "timeout_seconds", self.timeout_seconds)
        return problems
