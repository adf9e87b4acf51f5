"""Atlassian Confluence audit log: Cloud REST, Data Center audit files and Data Center REST."""

from __future__ import annotations

from collectors._source import Source
from collectors.confluence.envelopes import unwrap
from collectors.confluence.normalize import DATASET, natural_key, normalize

SOURCE = Source(
    name="confluence",
    datasets=(DATASET,),
    unwrap=unwrap,
    normalize=normalize,
    natural_key=natural_key,
    # No Splunk add-on defines a Confluence sourcetype; this one is Tokentrail's own.
    sourcetypes={DATASET: "atlassian:confluence:audit"},
)

__all__ = ["SOURCE"]
