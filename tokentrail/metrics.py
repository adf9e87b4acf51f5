"""Prometheus metrics (interfaces.md). Labels never carry ids, users or secrets: DLQ reasons are
reduced to a small set of classes."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS_IN = Counter("tokentrail_events_in", "Raw records read, per source", ["source"], registry=REGISTRY)
EVENTS_OUT = Counter("tokentrail_events_out", "Events delivered, per sink", ["sink"], registry=REGISTRY)
DUPLICATES = Counter("tokentrail_events_duplicate", "Events a sink already had (replays)", ["sink"],
                     registry=REGISTRY)
DLQ = Counter("tokentrail_dlq", "Dead-letter records, per stage and reason class", ["stage", "reason"],
              registry=REGISTRY)
RETRIES = Counter("tokentrail_sink_retries", "Events sent again after a retryable failure", ["sink"],
                  registry=REGISTRY)
BATCH_SECONDS = Histogram("tokentrail_batch_seconds", "Time to deliver one batch to one sink", ["sink"],
                          registry=REGISTRY)
LAG = Gauge("tokentrail_consumer_lag", "Records behind the end of the topic", ["topic"], registry=REGISTRY)
SINK_DEAD_LETTERS = Counter("tokentrail_sink_dead_letters", "Events a sink refused for good (to the DLQ), per sink",
                            ["sink"], registry=REGISTRY)
SINK_REQUESTS = Counter("tokentrail_sink_requests", "HTTP requests of sinks, per sink and response status "
                        "(`error`: no response)", ["sink", "status"], registry=REGISTRY)
SINK_PENDING_ACKS = Gauge("tokentrail_sink_pending_acks", "HEC requests waiting for indexer acknowledgement",
                          ["sink"], registry=REGISTRY)
FETCH_ERRORS = Counter("tokentrail_fetch_errors", "Failed API calls of inputs, per input and class",
                       ["input", "kind"], registry=REGISTRY)

_CLASSES = [
    ("malformed JSON", "malformed_json"),
    ("over the limit", "oversize"),
    ("nested too deeply", "too_deep"),
    ("unknown shape", "unknown_shape"),
    ("unknown source", "unknown_source"),
    ("no usable", "no_timestamp"),
    ("unusable", "bad_timestamp"),
    ("mapping raised", "mapping_error"),
    ("category", "unsupported_category"),
    ("application", "unsupported_application"),
]
_ENRICH = re.compile(r"^([a-z_]+): ")


def reason_class(stage: str, reason: str) -> str:
    """A bounded label for a DLQ reason."""
    for needle, label in _CLASSES:
        if needle in reason:
            return label
    if stage == "enrich":
        m = _ENRICH.match(reason)
        return f"enricher_{m.group(1)}" if m else "enricher_error"
    if stage == "ship":
        return "rejected_by_sink"
    return "invalid_record"
