"""Credentials for API inputs: static header tokens and OAuth 2.0 access tokens, cached until expiry.

    auth kind               header sent                   how the token is obtained
    ssws                    Authorization: SSWS <token>   token_file / token_env (Okta API token)
    bearer                  Authorization: Bearer <token> token_file / token_env (API key, PAT)
    basic                   Authorization: Basic ...      username + password_file / password_env
    oauth_private_key_jwt   Authorization: Bearer <at>    client credentials, client assertion signed with
                                                          key_file (Okta service app, RFC 7523 §2.2)
    client_credentials      Authorization: Bearer <at>    client_secret_file, or certificate_file + key_file
                                                          (Microsoft identity platform)
    service_account         Authorization: Bearer <at>    JWT bearer grant (RFC 7523 §2.1) signed with a
                                                          Google service-account key, sub = subject

Secrets are read when a token is needed (`Secret.reveal()`), so a rotated file is picked up; they never
appear in errors or logs. Token endpoint refusals raise AuthError with the endpoint's `error` code and
description; 5xx and network errors raise Unavailable (the caller retries).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import jwt
import orjson

from tokentrail.clock import Clock
from tokentrail.configtools import doc
from tokentrail.errors import AuthError, ConfigError, Unavailable
from tokentrail.secrets import Secret

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
KINDS = ("ssws", "bearer", "basic", "oauth_private_key_jwt", "client_credentials", "service_account")


@dataclass(frozen=True)
class AuthConfig:
    """The `auth:` mapping of an API input. Which keys apply depends on `kind` (module docstring)."""

    kind: str = doc(f"one of: {', '.join(KINDS)} (each source accepts some of them)")
    token: Secret | None = doc("ssws / bearer: the token, from token_file or token_env", None)
    username: str | None = doc("basic: the user name (Confluence Cloud: the account e-mail)", None)
    password: Secret | None = doc("basic: password or API token, from password_file or password_env", None)
    client_id: str | None = doc("OAuth client id (Okta service app, Entra app registration)", None)
    client_secret: Secret | None = doc("client_credentials: the client secret, from client_secret_file/_env", None)
    key: Secret | None = doc("private key (PEM, or an Okta JWK JSON) or a Google service-account key JSON, "
                             "from key_file or key_env", None)
    key_id: str | None = doc("oauth_private_key_jwt: `kid` header of the client assertion", None)
    certificate_file: str | None = doc("client_credentials: PEM certificate whose key is key_file", None)
    token_url: str | None = doc("token endpoint (default: the provider's; required for client_credentials)", None)
    scopes: list[str] | None = doc("scopes to request (default: the provider's read-only audit scope)", None)
    subject: str | None = doc("service_account: the admin user to impersonate (domain-wide delegation)", None)

    def validate(self) -> list[str]:
        need = {
            "ssws": ["token"], "bearer": ["token"], "basic": ["username", "password"],
            "oauth_private_key_jwt": ["client_id", "key"], "client_credentials": ["client_id", "token_url"],
            "service_account": ["key", "subject"],
        }
        if self.kind not in need:
            return [f"kind: unknown auth kind {self.kind!r} (valid: {', '.join(KINDS)})"]
        problems = [f"{f}: required for kind {self.kind}" + (" (use a _file or _env key)" if
                    f in ("token", "password", "key") else "")
                    for f in need[self.kind] if getattr(self, f) is None]
        if self.kind == "client_credentials":
            if (self.client_secret is None) == (self.certificate_file is None and self.key is None):
                problems.append("client_secret_file: give client_secret_file, or certificate_file + key_file")
            elif self.client_secret is None and (self.certificate_file is None or self.key is None):
                problems.append("certificate_file: a certificate assertion needs certificate_file and key_file")
        return problems


class Auth(Protocol):
    """What the API client asks for before each request."""

    refreshable: bool

    def headers(self) -> dict[str, str]: ...
    def invalidate(self) -> None: ...


class StaticAuth:
    """A fixed header from a secret (SSWS, Bearer or Basic); re-read on each request."""

    refreshable = False

    def __init__(self, scheme: str, secret: Secret, username: str | None = None) -> None:
        self.scheme, self.secret, self.username = scheme, secret, username

    def headers(self) -> dict[str, str]:
        value = self.secret.reveal()
        if self.scheme == "Basic":
            value = base64.b64encode(f"{self.username}:{value}".encode()).decode()
        return {"Authorization": f"{self.scheme} {value}"}

    def invalidate(self) -> None:
        pass


class OAuthToken:
    """An access token from a token endpoint, cached until `expires_in` (less `skew`) runs out."""

    refreshable = True

    def __init__(self, token_url: str, form: Callable[[], dict[str, str]], *, http: httpx.Client,
                 clock: Clock, skew: float = 60.0, label: str = "token endpoint") -> None:
        self.token_url, self.form, self.http, self.clock, self.skew = token_url, form, http, clock, skew
        self.label = label
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0
        self.fetched = 0  # tokens obtained (tests check the cache)

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self.clock.time() >= self._expires - self.skew:
                self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> None:
        try:
            resp = self.http.post(self.token_url, data=self.form(), headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise Unavailable(f"{self.label}: {type(exc).__name__}") from exc
        body = _json(resp)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise Unavailable(f"{self.label}: HTTP {resp.status_code}")
        if resp.status_code != 200 or not isinstance(body.get("access_token"), str):
            code = str(body.get("error") or body.get("errorCode") or "no error code")[:80]
            desc = str(body.get("error_description") or body.get("errorSummary") or "")[:300]
            raise AuthError(f"{self.label} refused the credentials: HTTP {resp.status_code} {code}"
                            + (f": {desc}" if desc else ""))
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = body["access_token"]
        self._expires = self.clock.time() + lifetime
        self.fetched += 1


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def load_private_key(text: str, where: str) -> Any:
    """A private key from PEM text or a JWK (JSON) as Okta's admin console downloads it."""
    text = text.strip()
    try:
        if text.startswith("{"):
            jwk = orjson.loads(text)
            if jwk.get("kty") == "EC":
                return jwt.algorithms.ECAlgorithm.from_jwk(jwk)
            return jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        return load_pem_private_key(text.encode(), password=None)
    except Exception:  # the key's text must not reach the message
        raise ConfigError(f"{where}: not a usable private key (PEM or JWK expected)") from None


def _alg(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    return "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"


def private_key_jwt(cfg: AuthConfig, token_url: str, scopes: list[str], *, http: httpx.Client,
                    clock: Clock) -> OAuthToken:
    """Okta service app: client credentials with a `private_key_jwt` client assertion."""
    assert cfg.key is not None and cfg.client_id is not None

    def form() -> dict[str, str]:
        key = load_private_key(cfg.key.reveal(), f"auth.key ({cfg.key.where()})")
        now = int(clock.time())
        claims = {"iss": cfg.client_id, "sub": cfg.client_id, "aud": token_url, "iat": now, "exp": now + 300,
                  "jti": uuid.uuid4().hex}
        headers = {"kid": cfg.key_id} if cfg.key_id else None
        assertion = jwt.encode(claims, key, algorithm=_alg(key), headers=headers)
        return {"grant_type": "client_credentials", "scope": " ".join(scopes),
                "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}

    return OAuthToken(token_url, form, http=http, clock=clock, label="Okta token endpoint")


def _thumbprints(cert_pem: bytes, where: str) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        der = x509.load_pem_x509_certificate(cert_pem).public_bytes(Encoding.DER)
    except ValueError:
        raise ConfigError(f"{where}: not a PEM certificate") from None

    def b64(d: bytes) -> str:
        return base64.urlsafe_b64encode(d).rstrip(b"=").decode()

    return b64(hashlib.sha1(der).digest()), b64(hashlib.sha256(der).digest())  # noqa: S324 - x5t is SHA-1


def client_credentials(cfg: AuthConfig, scopes: list[str], *, http: httpx.Client, clock: Clock) -> OAuthToken:
    """Microsoft identity platform: client credentials with a secret or a certificate assertion."""
    assert cfg.token_url is not None and cfg.client_id is not None
    token_url, client_id = cfg.token_url, cfg.client_id

    def form() -> dict[str, str]:
        data = {"grant_type": "client_credentials", "client_id": client_id, "scope": " ".join(scopes)}
        if cfg.client_secret is not None:
            data["client_secret"] = cfg.client_secret.reveal()
            return data
        assert cfg.key is not None and cfg.certificate_file is not None
        try:
            with open(cfg.certificate_file, "rb") as f:
                cert = f.read()
        except OSError as exc:
            raise ConfigError(f"cannot read certificate_file {cfg.certificate_file}: {exc.strerror}") from None
        x5t, x5t256 = _thumbprints(cert, f"auth.certificate_file {cfg.certificate_file}")
        key = load_private_key(cfg.key.reveal(), f"auth.key ({cfg.key.where()})")
        now = int(clock.time())
        claims = {"aud": token_url, "iss": client_id, "sub": client_id, "jti": uuid.uuid4().hex,
                  "nbf": now, "iat": now, "exp": now + 600}
        # RS256 with the SHA-1 `x5t` is what Entra has long accepted; `x5t#S256` is the newer form.
        assertion = jwt.encode(claims, key, algorithm="RS256", headers={"x5t": x5t, "x5t#S256": x5t256})
        data.update(client_assertion_type=ASSERTION_TYPE, client_assertion=assertion)
        return data

    return OAuthToken(token_url, form, http=http, clock=clock, label="Microsoft identity platform token endpoint")


def service_account(cfg: AuthConfig, scopes: list[str], *, http: httpx.Client, clock: Clock) -> OAuthToken:
    """Google: JWT bearer grant signed with a service-account key, impersonating `subject`."""
    assert cfg.key is not None and cfg.subject is not None
    where = f"auth.key ({cfg.key.where()})"

    def keyfile() -> dict[str, Any]:
        try:
            data = orjson.loads(cfg.key.reveal())
        except orjson.JSONDecodeError:
            raise ConfigError(f"{where}: not a service-account key JSON") from None
        if not isinstance(data, dict) or not data.get("client_email") or not data.get("private_key"):
            raise ConfigError(f"{where}: a service-account key needs client_email and private_key")
        return data

    token_url = cfg.token_url or str(keyfile().get("token_uri") or "https://oauth2.googleapis.com/token")

    def form() -> dict[str, str]:
        data = keyfile()
        key = load_private_key(data["private_key"], where)
        now = int(clock.time())
        claims = {"iss": data["client_email"], "sub": cfg.subject, "scope": " ".join(scopes), "aud": token_url,
                  "iat": now, "exp": now + 3600}
        headers = {"kid": data["private_key_id"]} if data.get("private_key_id") else None
        assertion = jwt.encode(claims, key, algorithm="RS256", headers=headers)
        return {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}

    return OAuthToken(token_url, form, http=http, clock=clock, label="Google token endpoint")


def build_auth(cfg: AuthConfig, *, http: httpx.Client, clock: Clock, default_token_url: str | None,
               default_scopes: list[str]) -> Auth:
    """The Auth for a validated AuthConfig."""
    scopes = list(cfg.scopes or default_scopes)
    if cfg.kind == "ssws":
        assert cfg.token is not None
        return StaticAuth("SSWS", cfg.token)
    if cfg.kind == "bearer":
        assert cfg.token is not None
        return StaticAuth("Bearer", cfg.token)
    if cfg.kind == "basic":
        assert cfg.password is not None
        return StaticAuth("Basic", cfg.password, cfg.username)
    if cfg.kind == "oauth_private_key_jwt":
        url = cfg.token_url or default_token_url
        if not url:
            raise ConfigError("auth.token_url: required")
        return private_key_jwt(cfg, url, scopes, http=http, clock=clock)
    if cfg.kind == "client_credentials":
        return client_credentials(cfg, scopes, http=http, clock=clock)
    if cfg.kind == "service_account":
        return service_account(cfg, scopes, http=http, clock=clock)
    raise ConfigError(f"auth.kind: unknown auth kind {cfg.kind!r}")
