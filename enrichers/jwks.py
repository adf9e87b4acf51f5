"""Trusted signing keys per configured issuer, and the one signature check.

Keys come only from the issuer's config: a `jwks_file` (read once at start) or its `jwks_uri`
(fetched with timeouts and a size cap, no redirects, cached for `jwks_cache_seconds`, fetched again on
an unknown `kid` at most once per `jwks_min_refetch_seconds`). A URL or key inside a token (`jku`,
`x5u`, `jwk`, `x5c`) is never used: the token enricher only reports it.

Each key is bound to the algorithms of its own type (RSA: RS*/PS*, EC: ES* on its curve, OKP: EdDSA,
oct: HS*), and only to those configured for the issuer, which config validation keeps to one family:
an HS256 token can never be checked against an RSA public key used as an HMAC secret.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import structlog
from prometheus_client import Counter

from enrichers.config import IssuerConfig
from tokentrail.clock import Clock
from tokentrail.errors import ConfigError
from tokentrail.metrics import REGISTRY

log = structlog.get_logger("tokentrail.jwks")

MAX_JWKS_BYTES = 1 << 20
JWKS_FETCHES = Counter("tokentrail_jwks_fetches", "Fetches of configured issuers' jwks_uri, per outcome",
                       ["outcome"], registry=REGISTRY)

_KTY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "HS": "oct", "Ed": "OKP"}
_CURVE = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "ES256K": "secp256k1"}


def key_type(alg: str) -> str | None:
    """The JWK `kty` an algorithm needs (RS256 -> RSA), None for an unknown algorithm."""
    return _KTY.get(alg[:2])


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one signature check.

    signature: valid | invalid | unverified.
    final: False when a later try may differ (keys not fetched yet, `kid` unknown before a refetch),
        so the caller should not cache the verdict for long.
    """

    signature: str
    reason: str | None = None
    final: bool = True


class IssuerKeys:
    """The keys of one configured issuer, by `kid`, each with the algorithms it may verify."""

    def __init__(
        self, cfg: IssuerConfig, *, http: httpx.Client | None = None, clock: Clock | None = None,
        cache_seconds: float = 3600, min_refetch_seconds: float = 60, timeout_seconds: float = 5.0,
    ) -> None:
        self.issuer = cfg.issuer
        self.algorithms = frozenset(cfg.algorithms)
        self.audiences = frozenset(cfg.audiences)
        self.max_lifetime_seconds = cfg.max_lifetime_seconds
        self.uri = cfg.jwks_uri
        self.clock = clock or Clock()
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.timeout_seconds = timeout_seconds
        self._http = http
        self._lock = threading.Lock()
        self._keys: dict[str | None, list[tuple[str, Any]]] = {}
        self._fetched_at: float | None = None
        self._attempt_at: float | None = None
        self.fetches = 0
        if cfg.jwks_file:
            try:
                data = orjson.loads(Path(cfg.jwks_file).read_bytes())
            except OSError as exc:
                raise ConfigError(f"tokens.issuers[{cfg.issuer}].jwks_file: cannot read: {exc.strerror}") from None
            except orjson.JSONDecodeError:
                raise ConfigError(f"tokens.issuers[{cfg.issuer}].jwks_file: not JSON") from None
            if not self._load(data):
                raise ConfigError(f"tokens.issuers[{cfg.issuer}].jwks_file: no key usable with "
                                  f"{', '.join(sorted(self.algorithms))}")

    # -- keys ---------------------------------------------------------------------------------------

    def _load(self, data: Any) -> bool:
        """Replace the key set from a JWKS document; False (keys kept) when it has no usable key."""
        items = data.get("keys") if isinstance(data, dict) else None
        keys: dict[str | None, list[tuple[str, Any]]] = {}
        for jwk in items if isinstance(items, list) else []:
            if not isinstance(jwk, dict) or jwk.get("use") == "enc":
                continue
            kid = jwk.get("kid") if isinstance(jwk.get("kid"), str) else None
            for alg in sorted(self.algorithms):
                if key_type(alg) != jwk.get("kty") or (jwk.get("alg") and jwk.get("alg") != alg):
                    continue
                if alg in _CURVE and jwk.get("crv") != _CURVE[alg]:
                    continue
                try:
                    key = jwt.PyJWK(jwk, algorithm=alg).key
                except Exception:  # a malformed key in the set: skip it, keep the others
                    continue
                keys.setdefault(kid, []).append((alg, key))
        if not keys:
            return False
        self._keys = keys
        return True

    def _candidates(self, alg: str, kid: str | None) -> list[Any]:
        if kid is not None:
            # A key published without a kid may sign tokens that name one.
            return [k for a, k in (*self._keys.get(kid, ()), *self._keys.get(None, ())) if a == alg]
        return [k for pairs in self._keys.values() for a, k in pairs if a == alg]

    def _may_fetch(self, now: float) -> bool:
        return self._attempt_at is None or now - self._attempt_at >= self.min_refetch_seconds

    def _fetch(self, now: float) -> None:
        self._attempt_at = now
        self.fetches += 1
        if self._http is None:
            self._http = httpx.Client(timeout=httpx.Timeout(self.timeout_seconds), follow_redirects=False)
        try:
            body = bytearray()
            with self._http.stream("GET", self.uri, headers={"Accept": "application/json"}) as resp:
                if resp.status_code != 200:
                    raise ValueError(f"HTTP {resp.status_code}")
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise ValueError(f"larger than {MAX_JWKS_BYTES} bytes")
            if not self._load(orjson.loads(body)):
                raise ValueError("no usable key in the set")
        except (httpx.HTTPError, ValueError, orjson.JSONDecodeError) as exc:
            JWKS_FETCHES.labels("error").inc()
            log.warning("jwks fetch failed", issuer=self.issuer, jwks_uri=self.uri,
                        error=f"{type(exc).__name__}: {exc}"[:200])
            return
        JWKS_FETCHES.labels("ok").inc()
        self._fetched_at = now

    # -- the check ----------------------------------------------------------------------------------

    def check(self, alg: str, kid: str | None, signing_input: bytes, signature: bytes) -> Check:
        """Verify one JWS signature with this issuer's keys, for an algorithm the issuer allows."""
        if alg not in self.algorithms:
            allowed = ", ".join(sorted(self.algorithms))
            return Check("invalid", f"alg {alg} is not allowed for this issuer (allowed: {allowed})")
        with self._lock:
            now = self.clock.time()
            if self.uri and (self._fetched_at is None or now - self._fetched_at >= self.cache_seconds) \
                    and self._may_fetch(now):
                self._fetch(now)
            candidates = self._candidates(alg, kid)
            if not candidates and kid is not None and self.uri and self._fetched_at is not None \
                    and self._may_fetch(now):
                self._fetch(now)  # key rotation: the issuer may have published a new kid
                candidates = self._candidates(alg, kid)
            if not candidates:
                if self.uri and not self._keys:
                    return Check("unverified", "the issuer's keys could not be fetched", final=False)
                what = f"kid {quote(kid)}" if kid is not None else "no kid"
                return Check("invalid", f"no {alg} key of the issuer matches ({what})", final=not self.uri)
        algorithm = _algorithm(alg)
        for key in candidates:
            try:
                if algorithm.verify(signing_input, key, signature):
                    return Check("valid")
            except Exception:  # a malformed signature for this key type is a failed check
                continue
        return Check("invalid", "the signature does not match the issuer's key")


_ALGORITHMS: dict[str, Any] = {}


def _algorithm(alg: str) -> Any:
    obj = _ALGORITHMS.get(alg)
    if obj is None:
        obj = _ALGORITHMS[alg] = jwt.get_algorithm_by_name(alg)
    return obj


def quote(value: Any, limit: int = 64) -> str:
    """A token-supplied string for a reason: repr, cut short (a `kid` is attacker input)."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "...")


class KeyRing:
    """The configured issuers by their exact `iss`."""

    def __init__(self, issuers: list[IssuerConfig], *, http: httpx.Client | None = None,
                 clock: Clock | None = None, cache_seconds: float = 3600, min_refetch_seconds: float = 60,
                 timeout_seconds: float = 5.0) -> None:
        self.issuers = {
            cfg.issuer: IssuerKeys(cfg, http=http, clock=clock, cache_seconds=cache_seconds,
                                   min_refetch_seconds=min_refetch_seconds, timeout_seconds=timeout_seconds)
            for cfg in issuers
        }

    def get(self, issuer: Any) -> IssuerKeys | None:
        return self.issuers.get(issuer) if isinstance(issuer, str) else None

    def __bool__(self) -> bool:
        return bool(self.issuers)
