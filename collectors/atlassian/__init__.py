"""Atlassian organization audit log (`GET /admin/v1/orgs/{orgId}/events`) as `atlassian.org_audit` events."""

from __future__ import annotations

from collectors._source import Source
from collectors.atlassian.envelopes import unwrap
from collectors.atlassian.normalize import DATASET, natural_key, normalize

# No Splunk add-on for this log exists, so no sourcetype is claimed (the HEC sink falls back).
SOURCE = Source(
    name="atlassian",
    datasets=(DATASET,),
    unwrap=unwrap,
    normalize=normalize,
    natural_key=natural_key,
)

__all__ = ["SOURCE", "normalize", "unwrap"]
