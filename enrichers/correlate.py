"""The correlator: link a token's use to its issuance, and notice a token used from a new address.

Issuance (an Okta grant, an Entra sign-in: `tokentrail.token.activity: issue`, success) is remembered in
the SharedState table `tokens` by token id, for the token's lifetime when the event tells it, else
`tokens.correlation_ttl_seconds`. A later use (an access-log line whose JWT carries that `jti`/`uti`)
gets `tokentrail.token.issuance.*`: the issuing event's id, dataset, time and source address. Both
sides always carry `tokentrail.token.id`, so analysts can join them in the SIEM even when this worker
did not see the issuance (another worker's state not yet replicated, or the issuance arrived later).

Every use is also recorded by token id (or fingerprint, for opaque tokens) in the table `token_ips`
with the addresses it came from; a use from an address not seen before raises `token.replay_new_ip`.
"""

from __future__ import annotations

from typing import Any, Final

from enrichers.config import TokensConfig
from enrichers.findings import raise_finding
from enrichers.state import LocalState, SharedState

MAX_IPS: Final = 16


class Correlator:
    """Enricher: issuance <-> use links and the replay-from-a-new-IP finding.

    tokens: the `tokens:` config (`correlation_ttl_seconds`).
    state: tables `tokens` and `token_ips`, shared between workers.
    """

    plain_datasets: frozenset[str] = frozenset()  # enrichers.Chain: a plain event has no token

    def __init__(self, tokens: TokensConfig | None = None, state: SharedState | None = None) -> None:
        self.cfg = tokens or TokensConfig()
        self.state = state if state is not None else LocalState()
        self.default_ttl = float(self.cfg.correlation_ttl_seconds)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        tt = event.get("tokentrail")
        token = tt.get("token") if isinstance(tt, dict) else None
        if not token or not isinstance(token, dict):
            return event
        activity = token.get("activity")
        if activity == "issue":
            self._issued(event, token)
        elif activity == "use" and token.get("location"):
            self._used(event, token)
        return event

    def _ttl(self, event: dict[str, Any]) -> float:
        tt = event.get("_tt")
        work = tt.get("token") if isinstance(tt, dict) else None
        lifetime = work.get("lifetime") if isinstance(work, dict) else None
        return float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 else self.default_ttl

    def _issued(self, event: dict[str, Any], token: dict[str, Any]) -> None:
        ev = event.get("event") or {}
        if ev.get("outcome") == "failure" or not token.get("id"):
            return
        record = {"event_id": ev.get("id"), "dataset": ev.get("dataset"), "timestamp": event.get("@timestamp"),
                  "source_ip": _source_ip(event), "client_id": token.get("client_id")}
        if None in record.values():
            record = {k: v for k, v in record.items() if v is not None}
        ttl = self._ttl(event)
        self.state.put("tokens", str(token["id"]), record, ttl)
        for other in token.get("related_ids") or []:
            self.state.put("tokens", str(other), record, self.default_ttl)

    def _used(self, event: dict[str, Any], token: dict[str, Any]) -> None:
        token_id = token.get("id")
        if token_id:
            issued = self.state.get("tokens", str(token_id))
            if issued:
                token["issuance"] = {k: issued[k] for k in ("event_id", "dataset", "timestamp", "source_ip")
                                     if issued.get(k) is not None}
        key = token_id or token.get("fingerprint")
        ip = _source_ip(event)
        if not key or not isinstance(ip, str):
            return
        seen = self.state.get("token_ips", str(key))
        if seen is None:
            self.state.put("token_ips", str(key), {"ips": [ip]}, self._ttl(event))
            return
        ips = list(seen.get("ips") or [])
        if ip in ips:
            return
        # "Token <id>" would read like a credential scheme to the scrubber: name the id as such.
        shown = f"The token with id {token_id}" if token_id else f"The token with fingerprint {str(key)[:12]}…"
        raise_finding(event, "token.replay_new_ip",
                      f"{shown} was used before from {', '.join(ips[:3])}{' and others' if len(ips) > 3 else ''}"
                      f" and now from {ip}: a copied token, or a client behind several addresses.")
        self.state.put("token_ips", str(key), {"ips": (ips + [ip])[-MAX_IPS:]}, self._ttl(event))


def _source_ip(event: dict[str, Any]) -> Any:
    """`get(event, "source.ip")`, read directly."""
    source = event.get("source")
    return source.get("ip") if isinstance(source, dict) else None
