"""Entra ID records to ECS: route each record to its dataset, then map the envelope and the body.

The envelope (Azure Monitor fields of an Event Hub record) maps the same way for both datasets
(`_common.map_envelope`); `_signin` and `_audit` map the Graph-like body. The order follows
Elastic's azure pipelines: timestamp, ids, source address, duration and level, outcome, users,
then the provider's fields under `azure.<dataset>.*`.
"""

from __future__ import annotations

from collectors._source import Event, Record
from collectors.entra import _audit, _signin
from collectors.entra.envelopes import SIGNINLOGS, route
from tokentrail.event import new_event, put


def normalize(record: Record) -> list[Event]:
    """One Event Hub record or Graph item to one ECS event (sign-in or directory audit)."""
    dataset, props, enveloped = route(record)
    envelope = record if enveloped else {}  # only its top-level scalars are read
    event = new_event(dataset)
    if dataset == SIGNINLOGS:
        _signin.map_signin(event, props, envelope)
    else:
        _audit.map_audit(event, props, envelope)
    put(event, "cloud.provider", "azure")
    return [event]
