"""Microsoft Entra ID: sign-in logs (`azure.signinlogs`) and directory audit logs (`azure.auditlogs`).

Accepts Event Hub bodies (`{"records": [...]}`), Microsoft Graph pages (`{"value": [...]}`),
single records and JSON arrays. See README.md for the mapping.
"""

from __future__ import annotations

from collectors._source import Source
from collectors.entra.envelopes import AUDITLOGS, SIGNINLOGS, natural_key, unwrap
from collectors.entra.normalize import normalize

SOURCE = Source(
    name="entra",
    datasets=(SIGNINLOGS, AUDITLOGS),
    unwrap=unwrap,
    normalize=normalize,
    natural_key=natural_key,
    # Splunk Add-on for Microsoft Cloud Services, Event Hub input: one sourcetype for all AAD categories.
    sourcetypes={SIGNINLOGS: "azure:monitor:aad", AUDITLOGS: "azure:monitor:aad"},
)

__all__ = ["SOURCE", "normalize", "unwrap", "natural_key"]
