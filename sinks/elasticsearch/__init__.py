"""Elasticsearch sink: data streams `logs-<event.dataset>-<namespace>`, bulk `create` with `_id` from
`event.id` (a replay is a 409 duplicate), templates installed at start. See docs/sinks.md."""

from sinks.elasticsearch.config import Config
from sinks.elasticsearch.sink import ElasticsearchSink, create

__all__ = ["Config", "ElasticsearchSink", "create"]
