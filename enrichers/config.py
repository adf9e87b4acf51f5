"""Config of the token-audit enrichers: `tokens:` (policy, trusted issuers) and `apps:` (registry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tokentrail.configtools import build, doc


@dataclass(frozen=True)
class IssuerConfig:
    issuer: str = doc("the `iss` claim this entry trusts, exactly")
    jwks_file: str | None = doc("a JWKS JSON file with the issuer's public keys", None)
    jwks_uri: str | None = doc("the issuer's JWKS URL (fetched with timeouts, cached)", None)
    algorithms: list[str] = doc("signature algorithms accepted for this issuer", default_factory=lambda: ["RS256"])
    audiences: list[str] = doc("accepted `aud` values; empty: audience not checked", default_factory=list)

    def validate(self) -> list[str]:
        problems = []
        if not (self.jwks_file or self.jwks_uri):
            problems.append("jwks_file: give jwks_file or jwks_uri")
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
    return t, out
