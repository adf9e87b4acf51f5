"""Config of the token-audit enrichers: `tokens:` (policy, trusted issuers) and `apps:` (registry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tokentrail.configtools import build, doc


@dataclass(frozen=True)
class IssuerConfig:
    issuer: str = doc("the `iss` claim this entry trusts, exactly")
    jwks_file: str | None = doc("a JWKS JSON file with the issuer's public keys", None)
    jwks_uri: str | None = doc("the issuer's JWKS URL (fetched with timeouts, cached)", None)
    algorithms: list[str] = doc("signature algorithms accepted for this issuer", default_factory=lambda: ["RS256"])
    audiences: list[str] = doc("accepted `aud` values; empty: audience not checked", default_factory=list)
    max_lifetime_seconds: int | None = doc(
        "this issuer's access-token lifetime limit; unset: tokens.max_lifetime_seconds (Entra ID issuers: "
        "at least 5400, as Entra gives tokens a random 60-90 minute lifetime)", None)

    def validate(self) -> list[str]:
        problems = []
        if not (self.jwks_file or self.jwks_uri):
            problems.append("jwks_file: give jwks_file or jwks_uri")
        if self.jwks_file and self.jwks_uri:
            problems.append("jwks_uri: give jwks_file or jwks_uri, not both")
        if self.jwks_uri:
            try:
                parts = urlsplit(self.jwks_uri)
                host = parts.hostname or ""
            except ValueError:
                parts, host = None, ""
            if parts is None or parts.scheme not in ("https", "http") or not host:
                problems.append("jwks_uri: expected an https:// URL")
            elif parts.scheme == "http" and host not in ("localhost", "127.0.0.1", "::1"):
                problems.append("jwks_uri: keys must come over https (http only for localhost)")
        if any(a.lower() == "none" for a in self.algorithms):
            problems.append("algorithms: 'none' is never accepted")
        families = {a[:2].upper() for a in self.algorithms}
        if "HS" in families and len(families) > 1:
            problems.append("algorithms: do not mix HMAC (HS*) with public-key algorithms")
        return problems


@dataclass(frozen=True)
class TokensConfig:
    max_lifetime_seconds: int = doc("access tokens living longer than this raise token.lifetime_over_policy", 3600)
    clock_skew_seconds: int = doc("leeway for exp/iat/nbf checks", 60)
    issuers: list[IssuerConfig] = doc("issuers whose signatures are verified", default_factory=list)
    verify_cache_size: int = doc("distinct tokens whose verification result is cached", 100_000)
    first_party_apps: bool = doc(
        "well-known Microsoft first-party client ids (and Okta's own `okta.*` clients) count as known: "
        "no app.unregistered for them", True)
    first_party_client_ids: list[str] = doc("more client ids to treat as first-party (known, not registered)",
                                            default_factory=list)
    dangerous_scopes: list[str] | None = doc(
        "scopes that raise app.dangerous_scope for apps without an allowed_scopes policy; unset: the built-in "
        "list (docs/tokens.md)", None)
    disabled_findings: list[str] = doc("finding codes never raised", default_factory=list)
    correlation_ttl_seconds: int = doc(
        "how long an issuance or a token's use addresses are kept when the token's lifetime is unknown", 7200)
    jwks_cache_seconds: int = doc("a jwks_uri key set is fetched again after this many seconds", 3600)
    jwks_min_refetch_seconds: int = doc("an unknown `kid` refetches a jwks_uri at most this often", 60)
    jwks_timeout_seconds: float = doc("connect and read timeout of a jwks_uri fetch", 5.0)

    def validate(self) -> list[str]:
        problems = []
        if self.max_lifetime_seconds < 1:
            problems.append("max_lifetime_seconds: must be at least 1")
        if self.verify_cache_size < 1:
            problems.append("verify_cache_size: must be at least 1")
        if self.jwks_min_refetch_seconds < 1:
            problems.append("jwks_min_refetch_seconds: must be at least 1")
        from enrichers.findings import CATALOG

        for code in self.disabled_findings:
            if code not in CATALOG:
                problems.append(f"disabled_findings: unknown code {code!r} (valid: {', '.join(sorted(CATALOG))})")
        seen = [i.issuer for i in self.issuers]
        for dup in sorted({i for i in seen if seen.count(i) > 1}):
            problems.append(f"issuers: {dup!r} is listed twice")
        return problems


@dataclass(frozen=True)
class AppConfig:
    id: str = doc("canonical app id used in tokentrail.app.id")
    name: str | None = doc("display name", None)
    owner: str | None = doc("who answers for this app", None)
    client_ids: list[str] = doc("OAuth client ids of this app across IdPs", default_factory=list)
    allowed_scopes: list[str] | None = doc("scopes the app may hold; unset: any", None)
    refresh_tokens: bool = doc("whether the app may use refresh tokens", True)
    read_only: bool = doc("a read-only integration: write scopes are findings", False)


@dataclass(frozen=True)
class AppsConfig:
    apps: list[AppConfig] = field(default_factory=list)


def parse_sections(tokens: Any, apps: Any, problems: list[str]) -> tuple[TokensConfig, list[AppConfig]]:
    """Validate the `tokens:` and `apps:` sections of the config."""
    t = build(TokensConfig, tokens if isinstance(tokens, dict) else {}, "tokens", problems)
    if tokens is not None and not isinstance(tokens, dict):
        problems.append("tokens: expected a mapping")
    out: list[AppConfig] = []
    if apps is not None and not isinstance(apps, list):
        problems.append("apps: expected a list")
    elif apps:
        for i, raw in enumerate(apps):
            if not isinstance(raw, dict):
                problems.append(f"apps[{i}]: expected a mapping")
                continue
            out.append(build(AppConfig, raw, f"apps[{i}]", problems))
    owners: dict[str, str] = {}
    for i, app in enumerate(out):
        for cid in app.client_ids or []:
            if cid in owners and owners[cid] != app.id:
                problems.append(f"apps[{i}].client_ids: {cid!r} is already listed by app {owners[cid]!r}")
            owners.setdefault(cid, app.id)
    ids = [a.id for a in out]
    for dup in sorted({i for i in ids if ids.count(i) > 1 and i}):
        problems.append(f"apps: id {dup!r} is used twice")
    return t, out


def sections(config: Any) -> tuple[TokensConfig, list[AppConfig]]:
    """The `tokens:` and `apps:` sections of a top-level Config (defaults when absent or None)."""
    tokens = getattr(config, "tokens", None)
    apps = getattr(config, "apps", None)
    return (tokens if isinstance(tokens, TokensConfig) else TokensConfig(),
            list(apps) if isinstance(apps, list) else [])
