"""The token enricher: claims, dialects, signatures and the token findings, never a raw token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
from tokenkit import Keys, b64json

from enrichers.config import IssuerConfig, TokensConfig
from enrichers.tokens import TokenEnricher, credential, fingerprint, from_secret
from enrichers.tokens._claims import normalize, parse
from tokentrail.clock import FixedClock

OKTA = "https://unit.okta.example/oauth2/default"
ENTRA_V2 = "https://login.microsoftonline.com/11111111-2222-4333-8444-555555555555/v2.0"
ENTRA_V1 = "https://sts.windows.net/11111111-2222-4333-8444-555555555555/"
T0 = 1772442000  # 2026-03-02T09:00:00Z


def okta_claims(**over: Any) -> dict[str, Any]:
    return {"jti": "AT.unit-1", "iss": OKTA, "aud": "api://confluence", "iat": T0, "exp": T0 + 3600,
            "cid": "0oaunit1", "uid": "00uunit1", "scp": ["read:confluence-content.all"], "sub": "ana@example.com",
            **over}


def access_event(auth: str | None, at: str = "2026-03-02T09:30:00.000Z") -> dict[str, Any]:
    ev: dict[str, Any] = {"@timestamp": at, "event": {"id": "e1", "dataset": "tokentrail.access", "outcome": "success"}}
    if auth is not None:
        ev["_tt"] = {"authorization": auth}
    return ev


def codes(event: dict[str, Any]) -> list[str]:
    return [c for c, _ in (event.get("_tt") or {}).get("findings", [])]


@pytest.fixture
def enricher(jwks_file: Path) -> TokenEnricher:
    cfg = TokensConfig(issuers=[
        IssuerConfig(issuer=OKTA, jwks_file=str(jwks_file), audiences=["api://confluence"]),
        IssuerConfig(issuer=ENTRA_V2, jwks_file=str(jwks_file)),
    ])
    return TokenEnricher(cfg, clock=FixedClock("2026-03-02T09:30:00Z"))


class TestTokenEnricher:
    def test_field_absent_event_untouched(self, enricher: TokenEnricher):
        """An event with no Authorization, no collected secret and no token facts comes back equal."""
        ev = {"@timestamp": "2026-03-02T09:30:00.000Z", "event": {"id": "x", "dataset": "okta.system",
                                                                   "action": "user.session.start"}}
        assert enricher(dict(ev)) == ev

    def test_valid_okta_token(self, enricher: TokenEnricher, keys: Keys):
        """A JWT signed by a configured issuer's key is decoded, verified and fingerprinted."""
        raw = jwt.encode(okta_claims(), keys.good, "RS256", {"kid": "test-1"})
        ev = enricher(access_event(f"Bearer {raw}"))
        tok = ev["tokentrail"]["token"]
        assert tok["signature"] == "valid"
        assert tok["fingerprint"] == fingerprint(raw)
        assert (tok["id"], tok["client_id"], tok["user_id"], tok["dialect"]) == ("AT.unit-1", "0oaunit1", "00uunit1", "okta")
        assert tok["scopes"] == ["read:confluence-content.all"]
        assert (tok["issued_at"], tok["expires_at"], tok["lifetime_seconds"]) == (
            "2026-03-02T09:00:00.000Z", "2026-03-02T10:00:00.000Z", 3600)
        assert ev["related"]["hash"] == [fingerprint(raw)]
        assert codes(ev) == []

    def test_raw_token_gone_from_working_keys(self, enricher: TokenEnricher, keys: Keys):
        """After the enricher neither `_tt.authorization` nor `_tt.secrets` is left."""
        raw = jwt.encode(okta_claims(), keys.good, "RS256", {"kid": "test-1"})
        ev = access_event(f"Bearer {raw}")
        ev["_tt"]["secrets"] = [("url.original", raw)]
        ev = enricher(ev)
        assert "authorization" not in ev["_tt"] and "secrets" not in ev["_tt"]
        assert raw not in repr(ev)

    def test_opaque_keeps_only_fingerprint(self, enricher: TokenEnricher):
        """An opaque bearer token gets its fingerprint, format and type, nothing else."""
        ev = enricher(access_event("Bearer opaque-token-0123456789abcdef"))
        assert ev["tokentrail"]["token"] == {"format": "opaque", "type": "access", "activity": "use",
                                             "location": "authorization_header",
                                             "fingerprint": fingerprint("opaque-token-0123456789abcdef")}

    def test_basic_is_never_fingerprinted(self, enricher: TokenEnricher):
        """Basic credentials are passwords: no token fields, no hash."""
        ev = enricher(access_event("Basic Ym90OnNlY3JldC1wYXNzd29yZA=="))
        assert "tokentrail" not in ev and "related" not in ev

    def test_each_token_verified_once(self, enricher: TokenEnricher, keys: Keys):
        """A hundred uses of one token cost one decode and one signature check."""
        raw = jwt.encode(okta_claims(), keys.good, "RS256", {"kid": "test-1"})
        for _ in range(100):
            enricher(access_event(f"Bearer {raw}"))
        assert enricher.checks == 1

    def test_cache_is_bounded(self, jwks_file: Path, keys: Keys):
        """The verdict cache keeps at most verify_cache_size tokens."""
        enricher = TokenEnricher(TokensConfig(verify_cache_size=3))
        for i in range(10):
            enricher(access_event(f"Bearer opaque-token-{i:04d}-abcdef"))
        assert len(enricher._cache) == 3

    def test_authorization_token_wins_others_fingerprinted(self, enricher: TokenEnricher, keys: Keys):
        """With a header token and a URL token, the header one is described and the other only fingerprinted."""
        header = jwt.encode(okta_claims(), keys.good, "RS256", {"kid": "test-1"})
        url = jwt.encode(okta_claims(jti="AT.unit-2"), keys.good, "RS256", {"kid": "test-1"})
        ev = access_event(f"Bearer {header}")
        ev["_tt"]["secrets"] = [("url.original", url)]
        ev = enricher(ev)
        tok = ev["tokentrail"]["token"]
        assert tok["id"] == "AT.unit-1" and tok["related_fingerprints"] == [fingerprint(url)]
        assert ev["related"]["hash"] == [fingerprint(header), fingerprint(url)]
        assert "token.in_url" in codes(ev)

    @pytest.mark.parametrize("alg", ["none", "None", "NONE"])
    def test_alg_none_any_spelling(self, enricher: TokenEnricher, alg: str):
        """alg none in any letter case is signature `none` and a finding."""
        raw = f"{b64json({'alg': alg})}.{b64json(okta_claims())}."
        ev = enricher(access_event(f"Bearer {raw}"))
        assert ev["tokentrail"]["token"]["signature"] == "none"
        assert codes(ev) == ["token.alg_none"]

    def test_hs256_with_rsa_public_key_is_invalid(self, enricher: TokenEnricher, keys: Keys):
        """HS256 signed with the issuer's RSA public key never verifies (the algorithm is not allowed)."""
        raw = keys.make({"key": "hs256-rsa-public", "claims": okta_claims()})
        ev = enricher(access_event(f"Bearer {raw}"))
        assert ev["tokentrail"]["token"]["signature"] == "invalid"
        assert codes(ev) == ["token.signature_invalid"]

    def test_wrong_key_is_invalid(self, enricher: TokenEnricher, keys: Keys):
        """A token signed by another key under the issuer's kid fails."""
        raw = jwt.encode(okta_claims(), keys.outsider, "RS256", {"kid": "test-1"})
        ev = enricher(access_event(f"Bearer {raw}"))
        assert ev["tokentrail"]["token"]["signature"] == "invalid"

    def test_tampered_claims_are_invalid(self, enricher: TokenEnricher, keys: Keys):
        """Claims changed after signing make the signature fail."""
        head, _, sig = jwt.encode(okta_claims(), keys.good, "RS256", {"kid": "test-1"}).split(".")
        raw = f"{head}.{b64json(okta_claims(scp=['admin']))}.{sig}"
        assert enricher(access_event(f"Bearer {raw}"))["tokentrail"]["token"]["signature"] == "invalid"

    def test_crit_header_is_invalid(self, enricher: TokenEnricher, keys: Keys):
        """A header with `crit` extensions fails: no verifier here understands them."""
        raw = jwt.encode(okta_claims(), keys.good, "RS256", {"kid": "test-1", "crit": ["exp"], "exp": 1})
        ev = enricher(access_event(f"Bearer {raw}"))
        assert ev["tokentrail"]["token"]["signature"] == "invalid"

    def test_graph_token_with_nonce_unverified(self, enricher: TokenEnricher, keys: Keys):
        """An Entra token with a `nonce` header (Microsoft Graph) cannot be checked by third parties."""
        claims = {"iss": ENTRA_V2, "aud": "00000003-0000-0000-c000-000000000000", "azp": "c1", "tid": "t",
                  "uti": "u1", "iat": T0, "exp": T0 + 3600}
        raw = jwt.encode(claims, keys.good, "RS256", {"kid": "test-1", "nonce": "abc"})
        assert enricher(access_event(f"Bearer {raw}"))["tokentrail"]["token"]["signature"] == "unverified"

    def test_unconfigured_issuer_unverified(self, enricher: TokenEnricher, keys: Keys):
        """A JWT from an issuer not in tokens.issuers is unverified and raises token.issuer_untrusted."""
        raw = jwt.encode(okta_claims(iss="https://other.example"), keys.good, "RS256", {"kid": "test-1"})
        ev = enricher(access_event(f"Bearer {raw}"))
        assert ev["tokentrail"]["token"]["signature"] == "unverified"
        assert codes(ev) == ["token.issuer_untrusted"]

    def test_no_issuers_configured_no_untrusted_finding(self, keys: Keys):
        """Without any configured issuer every JWT is unverified, without a finding."""
        raw = jwt.encode(okta_claims(), keys.good, "RS256", {"kid": "test-1"})
        ev = TokenEnricher()(access_event(f"Bearer {raw}"))
        assert ev["tokentrail"]["token"]["signature"] == "unverified" and codes(ev) == []

    @pytest.mark.parametrize(("at", "expired"), [("2026-03-02T10:00:59.999Z", False),
                                                  ("2026-03-02T10:01:00.000Z", False),
                                                  ("2026-03-02T10:01:00.001Z", True),
                                                  ("2026-03-02T10:01:01.000Z", True)])
    def test_expiry_allows_60_seconds_of_skew(self, enricher: TokenEnricher, keys: Keys, at: str, expired: bool):
        """token.expired_at_use fires only when the use is more than 60 s after exp."""
        raw = jwt.encode(okta_claims(), keys.good, "RS256", {"kid": "test-1"})
        ev = enricher(access_event(f"Bearer {raw}", at=at))
        assert ("token.expired_at_use" in codes(ev)) is expired

    def test_audience_mismatch(self, enricher: TokenEnricher, keys: Keys):
        """An aud outside the issuer's configured audiences is a finding, signature still valid."""
        raw = jwt.encode(okta_claims(aud=["api://jira", "api://other"]), keys.good, "RS256", {"kid": "test-1"})
        ev = enricher(access_event(f"Bearer {raw}"))
        assert ev["tokentrail"]["token"]["signature"] == "valid"
        assert codes(ev) == ["token.audience_mismatch"]

    def test_lifetime_over_policy(self, enricher: TokenEnricher, keys: Keys):
        """exp - iat over tokens.max_lifetime_seconds is a finding."""
        raw = jwt.encode(okta_claims(exp=T0 + 7200), keys.good, "RS256", {"kid": "test-1"})
        assert codes(enricher(access_event(f"Bearer {raw}"))) == ["token.lifetime_over_policy"]

    def test_entra_lifetime_allowance(self, enricher: TokenEnricher, keys: Keys):
        """Entra's random 60-90 minute lifetimes are not over a 1 h policy; 2 h is."""
        def entra(exp: int) -> str:
            claims = {"iss": ENTRA_V2, "aud": "api://confluence", "azp": "c1", "tid": "t", "uti": f"u{exp}",
                      "scp": "Content.Read", "iat": T0, "exp": exp}
            return jwt.encode(claims, keys.good, "RS256", {"kid": "test-1"})
        assert codes(enricher(access_event(f"Bearer {entra(T0 + 5400)}"))) == []
        assert codes(enricher(access_event(f"Bearer {entra(T0 + 7200)}"))) == ["token.lifetime_over_policy"]

    def test_issuer_lifetime_override(self, jwks_file: Path, keys: Keys):
        """An issuer's max_lifetime_seconds replaces the global policy for its tokens."""
        cfg = TokensConfig(issuers=[IssuerConfig(issuer=OKTA, jwks_file=str(jwks_file), max_lifetime_seconds=600)])
        raw = jwt.encode(okta_claims(), keys.good, "RS256", {"kid": "test-1"})
        assert codes(TokenEnricher(cfg)(access_event(f"Bearer {raw}"))) == ["token.lifetime_over_policy"]

    def test_refresh_token_lifetime_not_checked(self, enricher: TokenEnricher, keys: Keys):
        """Refresh tokens live long by design: no lifetime finding."""
        raw = jwt.encode({"iss": OKTA, "typ": "Refresh", "jti": "RT.1", "iat": T0, "exp": T0 + 86400 * 30},
                         keys.good, "RS256", {"kid": "test-1"})
        ev = enricher(access_event(f"Bearer {raw}"))
        assert ev["tokentrail"]["token"]["type"] == "refresh"
        assert "token.lifetime_over_policy" not in codes(ev)
        assert ev["_tt"]["token"]["refresh"] == "used"

    def test_id_token_as_bearer(self, enricher: TokenEnricher, keys: Keys):
        """An ID token presented to an API is a finding."""
        raw = jwt.encode({"iss": OKTA, "aud": "0oaunit1", "sub": "00u1", "nonce": "n", "at_hash": "h",
                          "iat": T0, "exp": T0 + 3600}, keys.good, "RS256", {"kid": "test-1"})
        ev = enricher(access_event(f"Bearer {raw}"))
        assert ev["tokentrail"]["token"]["type"] == "id"
        assert "token.id_token_as_bearer" in codes(ev)

    def test_untrusted_key_reference(self, enricher: TokenEnricher, keys: Keys):
        """jku, x5u, jwk and x5c headers are reported, never used."""
        raw = jwt.encode(okta_claims(), keys.good, "RS256", {"kid": "test-1", "x5u": "https://x.example/c.pem"})
        ev = enricher(access_event(f"Bearer {raw}"))
        assert codes(ev) == ["token.untrusted_key_reference"]
        assert ev["tokentrail"]["token"]["signature"] == "valid"

    def test_okta_grant_facts(self, enricher: TokenEnricher):
        """An Okta grant gives the token id, type, client, scopes, expiry and lifetime, without a raw token."""
        ev = {"@timestamp": "2026-03-02T09:00:00.000Z",
              "event": {"id": "o1", "dataset": "okta.system", "action": "app.oauth2.as.token.grant.access_token",
                        "outcome": "success"},
              "okta": {"client": {"id": "0oaunit1"},
                       "debug_context": {"debug_data": {"grant_type": "client_credentials",
                                                        "granted_scopes": ["read:confluence-content.all"]}},
                       "target": [{"id": "AT.grant-1", "type": "access_token",
                                   "detail_entry": {"expires": "2026-03-02T11:00:00.000Z", "subject": "0oaunit1"}}]}}
        tok = enricher(ev)["tokentrail"]["token"]
        assert tok == {"id": "AT.grant-1", "type": "access", "client_id": "0oaunit1", "grant_type": "client_credentials",
                       "scopes": ["read:confluence-content.all"], "activity": "issue", "subject": "0oaunit1",
                       "expires_at": "2026-03-02T11:00:00.000Z", "issued_at": "2026-03-02T09:00:00.000Z",
                       "lifetime_seconds": 7200}
        assert codes(ev) == ["token.lifetime_over_policy"]

    def test_entra_signin_facts(self, enricher: TokenEnricher):
        """An Entra sign-in gives the uniqueTokenIdentifier as the token id and the refresh-token grant."""
        ev = {"@timestamp": "2026-03-02T09:00:00.000Z",
              "event": {"id": "s1", "dataset": "azure.signinlogs", "outcome": "success"},
              "azure": {"tenant_id": "t1", "signinlogs": {"properties": {
                  "unique_token_identifier": "uti-1", "app_id": "app-1", "resource_id": "res-1",
                  "incoming_token_type": "refreshToken"}}}}
        ev = enricher(ev)
        assert ev["tokentrail"]["token"] == {"id": "uti-1", "client_id": "app-1", "audience": ["res-1"],
                                             "tenant_id": "t1", "grant_type": "refresh_token", "activity": "issue"}
        assert ev["_tt"]["token"] == {"refresh": "used"}

    def test_okta_detect_reuse(self, enricher: TokenEnricher):
        """Okta's refresh-token reuse detection becomes token.refresh_reuse."""
        ev = {"@timestamp": "2026-03-02T09:00:00.000Z",
              "event": {"id": "o2", "dataset": "okta.system", "action": "app.oauth2.as.token.detect_reuse"},
              "okta": {"client": {"id": "0oaunit1"}, "target": [{"id": "RT.1", "type": "refresh_token"}]}}
        assert codes(enricher(ev)) == ["token.refresh_reuse"]


class TestClaims:
    def test_entra_v1(self):
        """Entra v1: appid is the client, scp is space-separated, oid the user, uti the id."""
        fields, _, _ = normalize({"alg": "RS256"}, {"iss": ENTRA_V1, "appid": "app-1", "scp": "User.Read Mail.Read",
                                                    "oid": "o1", "tid": "t1", "uti": "u1", "jti": "j1", "ver": "1.0"})
        assert (fields["dialect"], fields["client_id"], fields["scopes"], fields["user_id"], fields["id"],
                fields["tenant_id"]) == ("entra_v1", "app-1", ["User.Read", "Mail.Read"], "o1", "u1", "t1")

    def test_entra_v2_app_only(self):
        """Entra v2 app-only: azp is the client, roles kept, no user id."""
        fields, _, _ = normalize({}, {"iss": ENTRA_V2, "azp": "app-2", "roles": ["Sites.Read.All"], "oid": "sp-1",
                                      "idtyp": "app", "tid": "t1", "uti": "u2", "ver": "2.0"})
        assert (fields["dialect"], fields["client_id"], fields["roles"], fields["type"]) == (
            "entra_v2", "app-2", ["Sites.Read.All"], "access")
        assert "user_id" not in fields

    def test_google_id_token(self):
        """Google ID token: type id, the audience is the client."""
        fields, _, _ = normalize({}, {"iss": "accounts.google.com", "aud": "1234.apps.googleusercontent.com",
                                      "sub": "1101", "email": "a@example.com"})
        assert (fields["dialect"], fields["type"], fields["client_id"]) == (
            "google", "id", "1234.apps.googleusercontent.com")

    def test_atlassian_3lo(self):
        """Atlassian 3LO: the namespaced oauthClientId claim and a scope string."""
        fields, _, _ = normalize({}, {"iss": "https://auth.atlassian.com", "aud": "api.atlassian.com",
                                      "https://atlassian.com/oauthClientId": "atl-client",
                                      "scope": "read:confluence-content.all offline_access", "jti": "j"})
        assert (fields["dialect"], fields["client_id"], fields["scopes"]) == (
            "atlassian", "atl-client", ["read:confluence-content.all", "offline_access"])

    def test_atlassian_connect(self):
        """Atlassian Connect JWT: the app's client key is the iss."""
        fields, _, _ = normalize({}, {"iss": "connect-client-key", "qsh": "abc", "sub": "acc-1"})
        assert (fields["dialect"], fields["client_id"]) == ("atlassian", "connect-client-key")

    def test_generic_rfc9068(self):
        """RFC 9068: typ at+jwt, client_id and a scope string."""
        fields, _, _ = normalize({"typ": "at+jwt"}, {"iss": "https://as.example", "client_id": "c9",
                                                     "scope": "a b", "jti": "j9"})
        assert (fields["dialect"], fields["type"], fields["client_id"], fields["scopes"]) == (
            "generic", "access", "c9", ["a", "b"])

    def test_absurd_times_dropped(self):
        """Non-numeric or out-of-range iat/exp give no dates."""
        fields, exp, iat = normalize({}, {"iss": "x", "iat": "yesterday", "exp": True})
        assert exp is None and iat is None and "expires_at" not in fields

    def test_long_claims_are_bounded(self):
        """Claim strings are cut to 256 characters and lists to 100 items."""
        fields, _, _ = normalize({}, {"iss": "x" * 1000, "scp": [f"s{i}" for i in range(500)]})
        assert len(fields["issuer"]) == 256 and len(fields["scopes"]) == 100

    @pytest.mark.parametrize("raw", ["not-a-jwt", "eyJ.eyJ.x", "eyJhbGciOiJub25lIn0.bm90LWpzb24.",
                                     "a.b.c.d.e", "eyJhbGciOiJub25lIn0.W10."])
    def test_not_a_jws_is_opaque(self, raw: str):
        """Anything but a three-part JWS with JSON objects is opaque."""
        assert parse(raw) is None


class TestCredentials:
    @pytest.mark.parametrize(("header", "expected"), [
        ("Bearer abc.def", ("abc.def", "access")),
        ("bearer   abc", ("abc", "access")),
        ("DPoP abc", ("abc", "access")),
        ("SSWS 00abc", ("00abc", None)),
        ("Basic dXNlcjpwYXNz", None),
        ("Negotiate YIIabc", None),
        ("X-Custom opaque", None),
        ("bare-credential-value", ("bare-credential-value", None)),
        ("Bearer ", None),
    ])
    def test_authorization_header(self, header: str, expected: Any):
        """Bearer-like schemes are tokens; passwords and handshakes are not."""
        assert credential(header) == expected

    @pytest.mark.parametrize(("path", "raw", "expected"), [
        ("url.original", "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln", ("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln", "url", None)),
        ("okta.debug.refresh_token", "opaque-refresh-123", ("opaque-refresh-123", "field", "refresh")),
        ("x.password", "hunter2hunter2", None),
        ("x.client_secret", "s3cr3t-value-long", None),
        ("headers.authorization", "Bearer tok123456", ("tok123456", "field", "access")),
    ])
    def test_scrubber_secrets(self, path: str, raw: str, expected: Any):
        """JWTs anywhere and values of token-named keys are tokens; passwords and secrets are not."""
        assert from_secret(path, raw) == expected
