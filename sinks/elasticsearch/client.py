"""The official `elasticsearch` client, set up for shipping: one boundary where its errors are mapped.

- REST compatibility headers for 8: accepted by Elasticsearch 8.x and 9.x alike (a 9.x client sends
  `compatible-with=9` by default, which 8.x servers refuse with `media_type_header_exception`).
- No retries inside the client: the Shipper retries what `retry.py` marks RETRY, with one backoff.
- Bulk bodies go out as the bytes the sink built (already gzipped): a pass-through serializer, so the
  transport neither re-encodes them nor gzips them again at level 9.
"""

from __future__ import annotations

from typing import Any

import orjson
from elastic_transport import Serializer as _Serializer
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer

from sinks.elasticsearch.config import Config
from tokentrail.errors import SinkError

JSON = "application/vnd.elasticsearch+json; compatible-with=8"
NDJSON = "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
# Enough to classify every item, nothing more (Filebeat sends the same).
BULK_FILTER = "errors,items.*.error,items.*.status"


class _RawNdjson(_Serializer):
    """Request bodies are finished bytes; responses (if ever NDJSON) parse as usual."""

    mimetype = "application/x-ndjson"

    def dumps(self, data: Any) -> bytes:
        if isinstance(data, bytes | bytearray | memoryview):
            return bytes(data)
        return NdjsonSerializer().dumps(data)

    def loads(self, data: bytes) -> Any:
        return NdjsonSerializer().loads(data)


def _auth(cfg: Config) -> dict[str, Any]:
    if cfg.api_key is not None:
        key = cfg.api_key.reveal()
        if ":" in key:
            key_id, _, secret = key.partition(":")
            return {"api_key": (key_id, secret)}
        return {"api_key": key}
    if cfg.username and cfg.password is not None:
        return {"basic_auth": (cfg.username, cfg.password.reveal())}
    return {}


def build(cfg: Config) -> Elasticsearch:
    """An `Elasticsearch` client for `cfg`. Reads the secret files now (a rotated key needs a restart)."""
    tls: dict[str, Any] = {}
    if any(h.startswith("https:") for h in cfg.hosts):
        tls["verify_certs"] = cfg.tls_verify
        if not cfg.tls_verify:
            tls["ssl_show_warn"] = False
        if cfg.ca_file:
            tls["ca_certs"] = cfg.ca_file
    return Elasticsearch(
        cfg.hosts,
        **_auth(cfg),
        **tls,
        headers={"accept": JSON, "content-type": JSON},
        serializers={"application/json": OrjsonSerializer(), "application/x-ndjson": _RawNdjson()},
        request_timeout=cfg.request_timeout_seconds,
        max_retries=0,
        retry_on_status=(),
        retry_on_timeout=False,
        http_compress=False,
        connections_per_node=max(10, cfg.max_concurrent_requests + 2),
    )


class EsClient:
    """The few calls the sink makes, returning `(status, parsed body)`; transport failures raise
    `SinkError.Retryable` with a reason that names no secret."""

    def __init__(self, es: Elasticsearch) -> None:
        self.es = es

    def request(self, method: str, path: str, body: Any = None, *, params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
        hdrs = {"accept": JSON}
        if body is not None:
            hdrs["content-type"] = JSON
        hdrs.update(headers or {})
        try:
            resp = self.es.perform_request(method, path, params=params, headers=hdrs, body=body)
            return resp.meta.status, resp.body
        except ApiError as exc:
            return exc.meta.status, exc.body
        except TransportError as exc:
            raise SinkError.Retryable(f"Elasticsearch unreachable: {type(exc).__name__}: {exc.message}") from exc

    def bulk(self, body: bytes, *, gzipped: bool) -> tuple[int, Any]:
        headers = {"content-type": NDJSON}
        if gzipped:
            headers["content-encoding"] = "gzip"
        return self.request("POST", "/_bulk", body, params={"filter_path": BULK_FILTER}, headers=headers)

    def ping(self) -> bool:
        try:
            status, _ = self.request("GET", "/")
        except SinkError.Retryable:
            return False
        return status == 200

    def close(self) -> None:
        self.es.close()


def body_text(body: Any) -> str:
    """A short printable form of a response body, for logs and reasons."""
    if isinstance(body, dict | list):
        return orjson.dumps(body).decode()[:300]
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")[:300]
    return str(body)[:300]
