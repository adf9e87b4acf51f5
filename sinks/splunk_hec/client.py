"""HTTP to HEC over one pooled `httpx.Client` (thread-safe; keep-alive). Transport failures become
`SinkError.Retryable` here, the one boundary; messages name the URL, never the token."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import orjson

from sinks.splunk_hec.config import Config
from tokentrail.errors import SinkError

ACK_PATH = "/services/collector/ack"
HEALTH_PATH = "/services/collector/health"


def _verify(cfg: Config) -> Any:
    if not cfg.tls_verify:
        return False
    if cfg.ca_file:
        return ssl.create_default_context(cafile=cfg.ca_file)
    return True


def _parse(resp: httpx.Response) -> Any:
    try:
        return orjson.loads(resp.content) if resp.content else None
    except orjson.JSONDecodeError:
        return resp.content[:300]


class HecClient:
    def __init__(self, cfg: Config, *, transport: httpx.BaseTransport | None = None) -> None:
        self.cfg = cfg
        self._token = cfg.token.reveal()
        self.http = httpx.Client(
            base_url=cfg.url.rstrip("/"),
            verify=_verify(cfg),
            timeout=cfg.timeout_seconds,
            limits=httpx.Limits(max_connections=cfg.max_concurrent_requests + 2,
                                max_keepalive_connections=cfg.max_concurrent_requests + 2),
            transport=transport,
        )

    def _headers(self, channel: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"Authorization": f"Splunk {self._token}", "X-Splunk-Request-Channel": channel,
             "Content-Type": "application/json"}
        if extra:
            h.update(extra)
        return h

    def _post(self, path: str, body: bytes, headers: dict[str, str], params: dict[str, str] | None = None,
              ) -> tuple[int, Any]:
        try:
            resp = self.http.post(path, content=body, headers=headers, params=params)
        except httpx.HTTPError as exc:
            raise SinkError.Retryable(f"HEC at {self.cfg.url} unreachable: {type(exc).__name__}: {exc}") from exc
        return resp.status_code, _parse(resp)

    def post_events(self, body: bytes, channel: str, *, gzipped: bool) -> tuple[int, Any]:
        extra = {"Content-Encoding": "gzip"} if gzipped else None
        return self._post(self.cfg.path, body, self._headers(channel, extra))

    def query_acks(self, ack_ids: list[int], channel: str) -> tuple[int, Any]:
        return self._post(ACK_PATH, orjson.dumps({"acks": ack_ids}), self._headers(channel),
                          params={"channel": channel})

    def health(self) -> tuple[int, Any]:
        try:
            resp = self.http.get(HEALTH_PATH)
        except httpx.HTTPError as exc:
            raise SinkError.Retryable(f"HEC at {self.cfg.url} unreachable: {type(exc).__name__}") from exc
        return resp.status_code, _parse(resp)

    def close(self) -> None:
        self.http.close()
