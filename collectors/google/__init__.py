"""Google Workspace Admin SDK Reports API: `login` and `token` activities."""

from __future__ import annotations

from collectors._source import Source
from collectors.google.envelopes import unwrap
from collectors.google.normalize import DATASETS, natural_key, normalize

SOURCE = Source(
    name="google",
    datasets=tuple(DATASETS.values()),
    unwrap=unwrap,
    normalize=normalize,
    natural_key=natural_key,
    sourcetypes={"google_workspace.login": "gws:reports:login", "google_workspace.token": "gws:reports:token"},
)

__all__ = ["SOURCE"]
