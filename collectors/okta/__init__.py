"""Okta System Log (`GET /api/v1/logs`, Event Hooks, log streams) as `okta.system` events."""

from __future__ import annotations

from collectors._source import Source
from collectors.okta.envelopes import unwrap
from collectors.okta.normalize import DATASET, natural_key, normalize

SOURCE = Source(
    name="okta",
    datasets=(DATASET,),
    unwrap=unwrap,
    normalize=normalize,
    natural_key=natural_key,
    sourcetypes={DATASET: "OktaIM2:log"},
)

__all__ = ["SOURCE", "normalize", "unwrap"]
