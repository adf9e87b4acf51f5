"""JWT parsing and claim normalization across issuer dialects (pure functions, no keys, no I/O).

Dialects (research notes, section 5):
- Okta: `cid` (client), `uid` (user id, absent for client credentials), `scp` (list), `jti` (`AT.…`).
- Entra ID v1 (`iss` https://sts.windows.net/<tid>/): `appid`; v2 (`…/v2.0`): `azp`. Both: `scp` as one
  space-separated string (delegated), `roles` (app permissions), `uti` (= the sign-in log's
  uniqueTokenIdentifier, preferred over `jti` as the id), `tid`, `oid`.
- Google ID tokens (`iss` accounts.google.com): `azp`, `aud` = the client id, `email`.
- Atlassian: 3LO tokens carry the client in `https://atlassian.com/oauthClientId` and `scope` as a
  string; Connect JWTs have `qsh` and the app's client key in `iss`.
- Generic / RFC 9068: `client_id`, `scope` (space-separated), `jti`, header `typ: at+jwt`.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, Final

import orjson

from tokentrail.event import format_epoch_us

MAX_TEXT: Final = 256
MAX_ITEMS: Final = 100
# Epoch seconds Tokentrail shows as a date (up to 2200); beyond, only the lifetime says it.
MAX_EPOCH: Final = 7_258_118_400
_PART: Final = re.compile(r"^[A-Za-z0-9_-]*$")
_ENTRA_HOSTS: Final[tuple[str, ...]] = ("https://sts.windows.net/", "https://login.microsoftonline.com/", "https://login.windows.net/")
_GOOGLE_ISS: Final = frozenset({"accounts.google.com", "https://accounts.google.com"})


@dataclass(frozen=True, slots=True)
class Jws:
    """A compact JWS split into its parts; header and claims are untrusted input."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def b64url(part: str) -> bytes:
    """base64url without padding to bytes; ValueError for anything else."""
    if not _PART.match(part):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


def parse(raw: str) -> Jws | None:
    """A compact JWS (three parts, JSON header and claims), or None for anything else (opaque)."""
    parts = raw.split(".")
    if len(parts) != 3 or not parts[0].startswith("eyJ"):
        return None
    try:
        header = orjson.loads(b64url(parts[0]))
        claims = orjson.loads(b64url(parts[1]))
        signature = b64url(parts[2])
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return Jws(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def text(value: Any) -> str | None:
    """A claim as a bounded string (numbers as text), None when empty or not scalar."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str) or not value:
        return None
    return value[:MAX_TEXT]


def strings(value: Any) -> list[str]:
    """A claim as a bounded list of strings (a single string becomes one item)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items[:MAX_ITEMS]:
        t = text(v)
        if t is not None and t not in out:
            out.append(t)
    return out


def scopes(value: Any) -> list[str]:
    """`scp`/`scope` as a list: Okta sends a list, Entra and RFC 8693 one space-separated string."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()  # as collectors.okta._debug.split_scopes: the same pieces as [\s,]+
    return strings(value)


def epoch(value: Any) -> float | None:
    """A NumericDate claim (seconds), None when missing, not a number or absurd."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not 0 <= value < 1e11:
        return None
    return float(value)


def when(seconds: float | None) -> str | None:
    if seconds is None or seconds >= MAX_EPOCH:
        return None
    return format_epoch_us(int(seconds) * 1_000_000)


def is_entra(issuer: str | None) -> bool:
    return issuer is not None and issuer.startswith(_ENTRA_HOSTS)


def dialect(issuer: str | None, claims: dict[str, Any]) -> str:
    """okta | entra_v1 | entra_v2 | google | atlassian | generic."""
    if is_entra(issuer) or ("tid" in claims and ("appid" in claims or "azp" in claims) and "uti" in claims):
        if claims.get("ver") == "1.0" or "appid" in claims:
            return "entra_v1"
        return "entra_v2"
    if "cid" in claims or (issuer and ".okta" in issuer) or (issuer and "okta.com" in issuer):
        return "okta"
    if issuer in _GOOGLE_ISS:
        return "google"
    if "qsh" in claims or (issuer and "atlassian" in issuer) or _atlassian_client(claims):
        return "atlassian"
    return "generic"


def _atlassian_client(claims: dict[str, Any]) -> str | None:
    for key, value in claims.items():
        if key.endswith("atlassian.com/oauthClientId"):
            return text(value)
    return None


def client_id(kind: str, issuer: str | None, claims: dict[str, Any], audience: list[str]) -> str | None:
    for name in ("client_id", "cid", "azp", "appid"):
        value = text(claims.get(name))
        if value:
            return value
    if kind == "atlassian":
        return _atlassian_client(claims) or (issuer if "qsh" in claims else None)
    if kind == "google" and audience:
        return audience[0]  # a Google ID token's audience is the client it was issued to
    return None


def token_type(header: dict[str, Any], claims: dict[str, Any], kind: str) -> str:
    """access | refresh | id | unknown, from the header `typ` and the claims a token kind carries."""
    typ = str(header.get("typ", "")).lower()
    if typ in ("at+jwt", "application/at+jwt"):
        return "access"
    use = str(claims.get("token_use") or claims.get("typ") or "").lower()  # Cognito token_use, Keycloak typ
    if use in ("access", "bearer"):
        return "access"
    if use in ("refresh", "offline"):
        return "refresh"
    if use in ("id",):
        return "id"
    if any(k in claims for k in ("scp", "scope", "roles", "cid")):
        return "access"
    if any(k in claims for k in ("at_hash", "c_hash", "nonce")) or kind == "google":
        return "id"
    return "unknown"


def normalize(header: dict[str, Any], claims: dict[str, Any]) -> tuple[dict[str, Any], float | None, float | None]:
    """`tokentrail.token` fields of a JWT (no fingerprint or signature yet), plus its exp and iat."""
    issuer = text(claims.get("iss"))
    kind = dialect(issuer, claims)
    audience = strings(claims.get("aud"))
    scope_list = scopes(claims.get("scp")) or scopes(claims.get("scope"))
    roles = strings(claims.get("roles"))
    exp, iat = epoch(claims.get("exp")), epoch(claims.get("iat"))
    user_id = None
    if kind == "okta":
        user_id = text(claims.get("uid"))
    elif kind.startswith("entra") and claims.get("idtyp") != "app" and "scp" in claims:
        user_id = text(claims.get("oid"))  # app-only tokens' oid is the service principal, not a user
    fields: dict[str, Any] = {
        "format": "jwt",
        "type": token_type(header, claims, kind),
        "dialect": kind,
        "id": text(claims.get("uti")) or text(claims.get("jti")),
        "issuer": issuer,
        "subject": text(claims.get("sub")),
        "audience": audience,
        "client_id": client_id(kind, issuer, claims, audience),
        "scopes": scope_list,
        "roles": roles,
        "tenant_id": text(claims.get("tid")) if kind.startswith("entra") else None,
        "user_id": user_id,
        "issued_at": when(iat),
        "expires_at": when(exp),
        "lifetime_seconds": int(exp - iat) if exp is not None and iat is not None else None,
        "alg": text(header.get("alg")),
        "kid": text(header.get("kid")),
    }
    return {k: v for k, v in fields.items() if v not in (None, "", [])}, exp, iat
