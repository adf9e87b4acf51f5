"""The token enricher proper: see the package docstring (enrichers/tokens/__init__.py)."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

import httpx
from prometheus_client import Counter

from enrichers.config import TokensConfig
from enrichers.findings import raise_finding
from enrichers.jwks import KeyRing, quote
from enrichers.tokens import _claims
from enrichers.tokens._idp import DATASETS, Facts, facts
from tokentrail.clock import Clock
from tokentrail.errors import RecordError
from tokentrail.event import add_related, epoch_of, second_text, sha256_hex
from tokentrail.metrics import REGISTRY

__all__ = ["TokenEnricher", "Verdict"]

TOKEN_CHECKS: Final = Counter("tokentrail_token_checks", "Distinct tokens decoded and verified, per signature result",
                       ["signature"], registry=REGISTRY)

ENTRA_MIN_LIFETIME: Final = 5400  # Entra gives access tokens a random lifetime of 60-90 minutes
_PRESENTED: Final = {"bearer": "access", "dpop": "access"}
_OPAQUE_SCHEMES: Final = frozenset({"ssws", "token", "apikey", "api-key", "sharedaccesssignature"})
_TOKEN_KEYS: Final = {"accesstoken": "access", "refreshtoken": "refresh", "idtoken": "id", "bearertoken": "access",
               "token": None, "oauthtoken": None, "authtoken": None, "apitoken": None, "jwt": None}
_JWT: Final = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$")
_URL_PATHS: Final[tuple[str, ...]] = ("url.", "http.request.referrer")
_UNTRUSTED_HEADERS: Final[tuple[str, ...]] = ("jku", "x5u", "jwk", "x5c")
_RANK: Final = {"authorization": 0, "url": 2, "field": 3}
_LOCATIONS: Final = {"authorization": "authorization_header", "url": "url", "field": "field"}


@dataclass(slots=True)
class Verdict:
    """What one distinct token is, independent of when and where it is used."""

    fields: dict[str, Any]                 # tokentrail.token, without activity and location
    findings: tuple[tuple[str, str], ...]  # the findings of every use of this token
    exp: float | None
    work: dict[str, Any] | None = None     # `_tt.token` for later steps: lifetime, refresh (read-only)
    recheck_at: float | None = None        # verify again after this time (keys were unavailable)


def credential(header: str) -> tuple[str, str | None] | None:
    """(token, type hint) of an Authorization value; None for passwords and handshakes."""
    value = header.strip()
    scheme, sep, rest = value.partition(" ")
    if not sep:
        # A bare value: an API key without a scheme, unless it is a scheme alone or a placeholder ("-").
        if len(value) < 8 or value.lower() in _PRESENTED or value.lower() in _OPAQUE_SCHEMES:
            return None
        return value, None
    scheme, rest = scheme.lower(), rest.strip()
    if not rest:
        return None
    if scheme in _PRESENTED:
        return rest, _PRESENTED[scheme]
    if scheme in _OPAQUE_SCHEMES or _JWT.match(rest):
        return rest, None
    return None


def from_secret(path: str, raw: str) -> tuple[str, str, str | None] | None:
    """(token, where, type hint) of a value the scrubber collected, None when it is no token."""
    where = "url" if path.startswith(_URL_PATHS) else "field"
    key = re.sub(r"[\s_.\-]", "", path.rsplit(".", 1)[-1].lower())
    hint = _TOKEN_KEYS.get(key)
    if _JWT.match(raw):
        return raw, where, hint
    if where == "url" and len(raw) >= 8:
        return raw, where, hint  # the scrubber collects only token parameters from URLs (access_token=…)
    if key == "authorization":
        found = credential(raw)
        return (found[0], where, found[1]) if found else None
    if key in _TOKEN_KEYS and len(raw) >= 8:
        return raw, where, hint
    return None


def fingerprint(raw: str) -> str:
    return sha256_hex(raw.encode("utf-8", "surrogatepass"))


def _human(seconds: float) -> str:
    """A duration for a reason: `24 h`, `1 h 30 min`, `13 min 20 s`."""
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes) + [f"{secs} s"] * bool(secs)
    return " ".join(parts) or "0 s"


class TokenEnricher:
    """Enricher: decode, verify and describe tokens; raise the token findings.

    tokens: the `tokens:` config (issuers, lifetime policy, cache size).
    http: the client for jwks_uri fetches (tests inject one with a MockTransport).
    clock: for JWKS cache and refetch timing (tests inject a FixedClock).
    """

    # enrichers.Chain: a plain event has no raw token; only provider events can describe one.
    plain_datasets = DATASETS

    def __init__(self, tokens: TokensConfig | None = None, *, http: httpx.Client | None = None,
                 clock: Clock | None = None) -> None:
        self.cfg = tokens or TokensConfig()
        self.clock = clock or Clock()
        self.keys = KeyRing(self.cfg.issuers, http=http, clock=self.clock,
                            cache_seconds=self.cfg.jwks_cache_seconds,
                            min_refetch_seconds=self.cfg.jwks_min_refetch_seconds,
                            timeout_seconds=self.cfg.jwks_timeout_seconds)
        self.max_lifetime = self.cfg.max_lifetime_seconds
        self.skew = self.cfg.clock_skew_seconds
        self.cache_size = self.cfg.verify_cache_size
        self._cache: OrderedDict[str, Verdict] = OrderedDict()
        self._lock = threading.Lock()
        self.checks = 0  # distinct verifications done (cache misses), for tests and benchmarks

    # -- per event ----------------------------------------------------------------------------------

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        tt: Any = event.get("_tt")
        token: dict[str, Any] | None
        auth: Any = None
        secrets: Any = None
        if type(tt) is dict:  # `in` first: dict.pop is a method call even compiled
            if "authorization" in tt:
                auth = tt.pop("authorization")
            if "secrets" in tt:
                secrets = tt.pop("secrets")
        provider = facts(event)
        if not secrets:
            if provider is None:
                # The common case, an access-log line with one Authorization header.
                cred = credential(auth) if isinstance(auth, str) else None
                if cred is None:
                    return event
                fp = fingerprint(cred[0])
                token = self._presented(event, cred[0], "authorization", cred[1], fp)
                add_related(event, "hash", fp)
                event.setdefault("tokentrail", {})["token"] = token
                # The record's only secret was this header, kept in `_tt` and now gone; the scrubber found
                # nothing in the event itself. The last walk can be skipped: what this step added (claims)
                # is still checked by the final scan of the encoded bytes (Processor.encode).
                tt["scan"] = False
                return event
            if auth is None:
                # A provider event and no raw token at all (Okta grants, Entra sign-ins): what the
                # general path below comes to, without collecting and ranking nothing.
                token = self._provider(event, provider)
                add_related(event, "hash", token.get("fingerprint"))
                event.setdefault("tokentrail", {})["token"] = token
                return event
        seen = self._collect(auth, secrets)  # fingerprint -> (raw, where, hint), best first
        del auth, secrets
        first = next(iter(seen.items()), None)
        primary_fp = None
        if first is not None and (provider is None or first[1][1] == "authorization"):
            primary_fp = first[0]
        token = None
        if primary_fp is not None:
            token = self._presented(event, *seen[primary_fp], primary_fp)
        elif provider is not None:
            token = self._provider(event, provider)
        in_url = [fp for fp, (_, where, _) in seen.items() if where == "url"]
        others = [fp for fp in seen if fp != primary_fp]
        seen.clear()  # the raw values end here
        if in_url:
            kind = token.get("type", "unknown") if token and token.get("fingerprint") in in_url else "bearer"
            raise_finding(event, "token.in_url",
                          f"A token ({kind}) was sent in the URL query, where proxies, browsers and Referer "
                          "headers keep it (RFC 6750 section 5.3).")
        if token is None:
            if not others:
                return event
            token = {}
        if others:
            token["related_fingerprints"] = others
        add_related(event, "hash", token.get("fingerprint"), *others)
        event.setdefault("tokentrail", {})["token"] = token
        return event

    @staticmethod
    def _collect(auth: Any, secrets: Any) -> dict[str, tuple[str, str, str | None]]:
        found: list[tuple[int, str, str, str | None]] = []
        if isinstance(auth, str):
            cred = credential(auth)
            if cred:
                found.append((0, cred[0], "authorization", cred[1]))
        for item in secrets or ():
            try:
                path, raw = item
            except (TypeError, ValueError):
                continue
            if isinstance(path, str) and isinstance(raw, str) and (hit := from_secret(path, raw)):
                found.append((_RANK[hit[1]], *hit))
        if len(found) > 1:
            found.sort(key=lambda f: f[0])
        seen: dict[str, tuple[str, str, str | None]] = {}
        for _, raw, where, hint in found:
            seen.setdefault(fingerprint(raw), (raw, where, hint))
        return seen

    def _presented(self, event: dict[str, Any], raw: str, where: str, hint: str | None, fp: str) -> dict[str, Any]:
        verdict = self.verdict(raw, fp, hint)
        # A shallow copy: later steps add keys (issuance) but never change the cached lists in place.
        token = verdict.fields.copy()
        token["activity"] = "use"
        token["location"] = _LOCATIONS[where]
        for code, reason in verdict.findings:
            raise_finding(event, code, reason)
        if verdict.work:
            event.setdefault("_tt", {})["token"] = verdict.work
        if verdict.exp is not None and self._expired(event.get("@timestamp"), verdict.exp):
            used = _event_time(event)
            if used is not None:
                raise_finding(event, "token.expired_at_use",
                              f"Used at {event['@timestamp']}, {_human(used - verdict.exp)} after it expired "
                              f"at {token.get('expires_at', 'exp')} (allowing {self.skew} s of clock skew).")
        return token

    def _expired(self, stamp: Any, exp: float) -> bool:
        """Whether the event time is past exp + skew; compares the RFC 3339 text to the second first."""
        cutoff = exp + self.skew
        if cutoff >= _claims.MAX_EPOCH:
            return False
        if isinstance(stamp, str) and len(stamp) >= 19 and stamp[10] == "T":
            head, limit = stamp[:19], _second(cutoff)
            if head != limit:
                return head > limit
        used = _event_time({"@timestamp": stamp})
        return used is not None and used > cutoff

    def _provider(self, event: dict[str, Any], provider: Facts) -> dict[str, Any]:
        # Drop None, "" and []; truthy values first: comparing a list with "" (or a str with []) is slow.
        token = {k: v for k, v in provider.fields.items() if v or not (v is None or v == "" or (isinstance(v, list) and not v))}
        if provider.related_ids:
            token["related_ids"] = provider.related_ids
        work: dict[str, Any] = {}
        if provider.refresh:
            work["refresh"] = provider.refresh
        if provider.lifetime is not None:
            work["lifetime"] = provider.lifetime
            limit = self.max_lifetime
            if token.get("type") == "access" and provider.lifetime > limit:
                raise_finding(event, "token.lifetime_over_policy",
                              f"The access token was issued for {_human(provider.lifetime)}, over the policy of "
                              f"{_human(limit)} (tokens.max_lifetime_seconds).")
        if work:
            event.setdefault("_tt", {})["token"] = work
        if provider.reuse:
            client = token.get("client_id")
            raise_finding(event, "token.refresh_reuse",
                          "The identity provider saw a rotated refresh token used again"
                          + (f" by client {client}" if client else "")
                          + ": a copy of the token is in someone else's hands, or the client mishandles rotation.")
        return token

    # -- per distinct token -------------------------------------------------------------------------

    def verdict(self, raw: str, fp: str, hint: str | None = None) -> Verdict:
        """The cached verdict of one token, computed on first sight (or when its recheck is due)."""
        with self._lock:
            cached = self._cache.get(fp)
            if cached is not None:
                self._cache.move_to_end(fp)
        if cached is not None and (cached.recheck_at is None or self.clock.time() < cached.recheck_at):
            return cached
        verdict = self._examine(raw, fp, hint)
        with self._lock:
            self._cache[fp] = verdict
            self._cache.move_to_end(fp)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return verdict

    def _examine(self, raw: str, fp: str, hint: str | None) -> Verdict:
        self.checks += 1
        jws = _claims.parse(raw)
        if jws is None:
            fields: dict[str, Any] = {"format": "opaque", "fingerprint": fp, "type": hint or "unknown"}
            return Verdict(fields, (), None, {"refresh": "used"} if hint == "refresh" else None)
        fields, exp, _ = _claims.normalize(jws.header, jws.claims)
        fields["fingerprint"] = fp
        if fields["type"] == "unknown" and hint:
            fields["type"] = hint
        findings: list[tuple[str, str]] = []
        alg = fields.get("alg") or ""
        issuer = fields.get("issuer")
        keys = self.keys.get(issuer)
        named = [h for h in _UNTRUSTED_HEADERS if h in jws.header]
        if named:
            findings.append(("token.untrusted_key_reference",
                             f"The JWT header names {', '.join(named)}: a key location chosen by whoever made the "
                             "token. Tokentrail never fetches or uses it; a verifier that does can be made to "
                             "trust an attacker's key."))
        recheck = None
        if alg.lower() == "none" or not alg:
            fields["signature"] = "none"
            findings.append(("token.alg_none",
                             f"The JWT header says alg {quote(alg or 'missing')}: it carries no signature, so "
                             "anyone can write its claims. It must never be accepted."))
        elif keys is None:
            fields["signature"] = "unverified"
        elif "crit" in jws.header:
            fields["signature"] = "invalid"
            findings.append(("token.signature_invalid",
                             f"Issuer {issuer}: the JWT requires header extensions ({quote(jws.header['crit'])}) "
                             "that no verifier here understands (RFC 7515 section 4.1.11)."))
        elif "nonce" in jws.header and _claims.is_entra(issuer):
            fields["signature"] = "unverified"  # Microsoft Graph tokens: only Graph can validate them
        else:
            check = keys.check(alg, fields.get("kid"), jws.signing_input, jws.signature)
            fields["signature"] = check.signature
            if check.signature == "invalid":
                findings.append(("token.signature_invalid", f"Issuer {issuer}: {check.reason}."))
            if not check.final:
                recheck = self.clock.time() + self.cfg.jwks_min_refetch_seconds
        TOKEN_CHECKS.labels(fields["signature"]).inc()
        if keys is not None and keys.audiences:
            audience: Any = fields.get("audience") or []
            if not set(audience) & keys.audiences:
                shown = ", ".join(quote(a) for a in audience[:5]) or "none"
                findings.append(("token.audience_mismatch",
                                 f"Audience {shown} is not among the audiences configured for issuer {issuer} "
                                 f"({', '.join(sorted(keys.audiences))}): the token was meant for another API."))
        lifetime: Any = fields.get("lifetime_seconds")
        if lifetime is not None and fields["type"] != "refresh":
            limit = self._limit(issuer, keys)
            if lifetime > limit:
                findings.append(("token.lifetime_over_policy",
                                 f"The token lives {_human(lifetime)} (iat to exp), over the policy of "
                                 f"{_human(limit)}."))
        # This verdict is only used for tokens presented to an API: the findings of such a use.
        if fields["type"] == "id":
            findings.append(("token.id_token_as_bearer",
                             "An ID token (proof of a sign-in, meant for the client) was presented to an API as "
                             "an access token; its audience is the client, not this API."))
        if self.keys and keys is None and fields["signature"] != "none":
            findings.append(("token.issuer_untrusted",
                             f"Issuer {quote(issuer)} is not in tokens.issuers: the signature cannot be checked."
                             if issuer else "The JWT has no iss claim: no configured issuer can vouch for it."))
        work = {k: v for k, v in (("lifetime", lifetime),
                                  ("refresh", "used" if fields["type"] == "refresh" else None)) if v is not None}
        return Verdict(fields, tuple(findings), exp, work or None, recheck)

    def _limit(self, issuer: str | None, keys: Any) -> int:
        if keys is not None and keys.max_lifetime_seconds is not None:
            return keys.max_lifetime_seconds
        if _claims.is_entra(issuer):
            return max(self.max_lifetime, ENTRA_MIN_LIFETIME)
        return self.max_lifetime


def _second(epoch: float) -> str:
    """`YYYY-MM-DDTHH:MM:SS` of an epoch, as the first 19 characters of an RFC 3339 @timestamp."""
    return second_text(int(epoch))


def _event_time(event: dict[str, Any]) -> float | None:
    try:
        return epoch_of(event.get("@timestamp"), field="@timestamp")
    except RecordError:
        return None
