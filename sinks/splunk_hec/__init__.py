"""Splunk HTTP Event Collector sink: batched, gzipped events with CIM fields, optional indexer
acknowledgement and passthrough of raw provider records. See docs/sinks.md."""

from sinks.splunk_hec.config import Config
from sinks.splunk_hec.sink import SplunkHecSink, create

__all__ = ["Config", "SplunkHecSink", "create"]
