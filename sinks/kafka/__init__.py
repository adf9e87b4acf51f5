"""Kafka sink: events to a topic (another cluster, a SIEM's Kafka ingest), keyed by `event.id`."""

from sinks.kafka.config import Config
from sinks.kafka.sink import KafkaSink, classify, create

__all__ = ["Config", "KafkaSink", "classify", "create"]
