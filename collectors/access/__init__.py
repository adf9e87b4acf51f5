"""Access logs carrying bearer tokens: canonical JSON, NGINX, Envoy and Traefik JSON access logs."""

from __future__ import annotations

from collectors._source import Source
from collectors.access.envelopes import unwrap
from collectors.access.normalize import DATASET, natural_key, normalize

SOURCE = Source(
    name="access",
    datasets=(DATASET,),
    unwrap=unwrap,
    normalize=normalize,
    natural_key=natural_key,
    sourcetypes={DATASET: "tokentrail:access"},
)

__all__ = ["SOURCE", "normalize", "unwrap"]
