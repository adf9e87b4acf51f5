"""Issuer keys: only configured JWKS, fetched with limits, cached, refetched on an unknown kid once a minute."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from tokenkit import KID, Keys, Listener

from enrichers.config import IssuerConfig, TokensConfig
from enrichers.jwks import IssuerKeys
from enrichers.tokens import TokenEnricher
from enrichers.tokens._claims import parse
from tokentrail.clock import FixedClock
from tokentrail.errors import ConfigError

ISS = "https://keys.unit.example"
URI = "https://keys.unit.example/v1/keys"


class Server:
    """A MockTransport JWKS endpoint that counts requests and can change its answer."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.status = 200
        self.requests: list[str] = []
        self.body: bytes | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(str(request.url))
        if self.status != 200:
            return httpx.Response(self.status)
        return httpx.Response(200, content=self.body if self.body is not None else json.dumps(self.jwks).encode())


def check(keys: IssuerKeys, token: str) -> str:
    jws = parse(token)
    assert jws is not None
    return keys.check(jws.header["alg"], jws.header.get("kid"), jws.signing_input, jws.signature).signature


def sign(keys: Keys, kid: str = KID, key: Any = None) -> str:
    return jwt.encode({"iss": ISS, "sub": "x"}, key or keys.good, "RS256", {"kid": kid})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock("2026-03-02T09:00:00Z")


def uri_keys(server: Server, clock: FixedClock, **kw: Any) -> IssuerKeys:
    client = httpx.Client(transport=httpx.MockTransport(server))
    return IssuerKeys(IssuerConfig(issuer=ISS, jwks_uri=URI, **kw), http=client, clock=clock)


class TestIssuerKeys:
    def test_field_absent_event_untouched(self, jwks_file: Path):
        """A token enricher with issuers leaves an event without tokens as it was."""
        enricher = TokenEnricher(TokensConfig(issuers=[IssuerConfig(issuer=ISS, jwks_file=str(jwks_file))]))
        ev = {"event": {"id": "1", "dataset": "tokentrail.access"}, "@timestamp": "2026-03-02T09:00:00.000Z"}
        assert enricher(dict(ev)) == ev

    def test_jwks_file(self, jwks_file: Path, keys: Keys):
        """Keys from a JWKS file verify the issuer's tokens and reject others."""
        ik = IssuerKeys(IssuerConfig(issuer=ISS, jwks_file=str(jwks_file)))
        assert check(ik, sign(keys)) == "valid"
        assert check(ik, sign(keys, key=keys.outsider)) == "invalid"

    def test_unreadable_jwks_file_is_config_error(self, tmp_path: Path):
        """A missing or empty JWKS file stops the start with a config error."""
        with pytest.raises(ConfigError):
            IssuerKeys(IssuerConfig(issuer=ISS, jwks_file=str(tmp_path / "missing.json")))
        (tmp_path / "empty.json").write_text('{"keys": []}')
        with pytest.raises(ConfigError):
            IssuerKeys(IssuerConfig(issuer=ISS, jwks_file=str(tmp_path / "empty.json")))

    def test_uri_fetched_lazily_and_cached(self, keys: Keys, clock: FixedClock):
        """The jwks_uri is fetched on first need, then served from the cache."""
        server = Server(keys.jwks())
        ik = uri_keys(server, clock)
        assert server.requests == []
        for _ in range(5):
            assert check(ik, sign(keys)) == "valid"
        assert server.requests == [URI]

    def test_cache_expires(self, keys: Keys, clock: FixedClock):
        """After jwks_cache_seconds the set is fetched again."""
        server = Server(keys.jwks())
        ik = uri_keys(server, clock)
        check(ik, sign(keys))
        clock.advance(3601)
        check(ik, sign(keys))
        assert len(server.requests) == 2

    def test_unknown_kid_refetch_at_most_once_a_minute(self, keys: Keys, clock: FixedClock):
        """Unknown kids refetch the set, but not more than once per minute."""
        server = Server(keys.jwks())
        ik = uri_keys(server, clock)
        check(ik, sign(keys))
        for i in range(20):
            assert check(ik, sign(keys, kid=f"rotated-{i}")) == "invalid"
        assert len(server.requests) == 1  # fetched a moment ago: no refetch yet
        clock.advance(61)
        for i in range(20):
            check(ik, sign(keys, kid=f"later-{i}"))
        assert len(server.requests) == 2

    def test_rotated_key_found_after_refetch(self, keys: Keys, clock: FixedClock):
        """A new kid published by the issuer verifies after the refetch."""
        server = Server(keys.jwks())
        ik = uri_keys(server, clock)
        check(ik, sign(keys))
        clock.advance(61)
        rotated = keys.jwks()
        rotated["keys"][0]["kid"] = "next-1"
        server.jwks = rotated
        assert check(ik, sign(keys, kid="next-1")) == "valid"

    def test_fetch_failure_is_unverified_not_final(self, keys: Keys, clock: FixedClock):
        """When the keys cannot be fetched, tokens are unverified and checked again later."""
        server = Server(keys.jwks())
        server.status = 503
        ik = uri_keys(server, clock)
        jws = parse(sign(keys))
        result = ik.check("RS256", KID, jws.signing_input, jws.signature)
        assert (result.signature, result.final) == ("unverified", False)

    def test_verdict_rechecked_after_outage(self, keys: Keys, clock: FixedClock):
        """A token seen during a JWKS outage is verified once the keys are back (after a minute)."""
        server = Server(keys.jwks())
        server.status = 500
        cfg = TokensConfig(issuers=[IssuerConfig(issuer=ISS, jwks_uri=URI)])
        enricher = TokenEnricher(cfg, http=httpx.Client(transport=httpx.MockTransport(server)), clock=clock)
        token = sign(keys)
        ev = enricher({"@timestamp": "2026-03-02T09:00:00.000Z", "_tt": {"authorization": f"Bearer {token}"}})
        assert ev["tokentrail"]["token"]["signature"] == "unverified"
        server.status = 200
        clock.advance(61)
        ev = enricher({"@timestamp": "2026-03-02T09:01:01.000Z", "_tt": {"authorization": f"Bearer {token}"}})
        assert ev["tokentrail"]["token"]["signature"] == "valid"

    def test_oversized_jwks_refused(self, keys: Keys, clock: FixedClock):
        """A key set over 1 MiB is refused."""
        server = Server(keys.jwks())
        server.body = b"{" + b" " * (1 << 20) + b"}"
        assert check(uri_keys(server, clock), sign(keys)) == "unverified"

    def test_redirect_not_followed(self, keys: Keys, clock: FixedClock):
        """A redirect from the jwks_uri is not followed (the keys must come from the configured URL)."""
        seen: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            return httpx.Response(302, headers={"Location": "https://elsewhere.example/jwks"})

        ik = IssuerKeys(IssuerConfig(issuer=ISS, jwks_uri=URI), clock=clock,
                        http=httpx.Client(transport=httpx.MockTransport(handler)))
        assert check(ik, sign(keys)) == "unverified"
        assert seen == [URI]

    def test_algorithm_not_configured_is_invalid(self, jwks_file: Path, keys: Keys):
        """A token algorithm outside the issuer's list fails before any key is tried."""
        ik = IssuerKeys(IssuerConfig(issuer=ISS, jwks_file=str(jwks_file), algorithms=["RS256"]))
        token = jwt.encode({"iss": ISS}, keys.good, "PS256", {"kid": KID})
        assert check(ik, token) == "invalid"

    def test_rsa_key_never_an_hmac_secret(self, jwks_file: Path, keys: Keys, tmp_path: Path):
        """Even with HS256 allowed, an RSA JWK is no HMAC key, so the key-confusion forgery fails."""
        ik = IssuerKeys(IssuerConfig(issuer=ISS, jwks_file=str(jwks_file), algorithms=["RS256"]))
        forged = keys.make({"key": "hs256-rsa-public", "claims": {"iss": ISS}})
        assert check(ik, forged) == "invalid"
        oct_set = tmp_path / "oct.json"
        oct_set.write_text(json.dumps({"keys": [{"kty": "oct", "kid": KID, "k": "c2VjcmV0LWZvci10ZXN0cy0xMjM0NTY3ODkw"},
                                                *keys.jwks()["keys"]]}))
        hs = IssuerKeys(IssuerConfig(issuer=ISS, jwks_file=str(oct_set), algorithms=["HS256"]))
        assert check(hs, forged) == "invalid"

    def test_jku_header_never_fetched(self, keys: Keys, listener: Listener, jwks_file: Path):
        """A token whose jku names a local listener is checked without any connection to it."""
        before = listener.connections
        token = jwt.encode({"iss": ISS, "sub": "x", "exp": 2000000000}, keys.outsider, "RS256",
                           {"kid": "attacker", "jku": listener.url, "x5u": listener.url})
        cfg = TokensConfig(issuers=[IssuerConfig(issuer=ISS, jwks_file=str(jwks_file))])
        enricher = TokenEnricher(cfg)
        ev = enricher({"@timestamp": "2026-03-02T09:00:00.000Z", "_tt": {"authorization": f"Bearer {token}"}})
        unverified = TokenEnricher()({"@timestamp": "2026-03-02T09:00:00.000Z",
                                      "_tt": {"authorization": f"Bearer {token}"}})
        assert ev["tokentrail"]["token"]["signature"] == "invalid"
        assert unverified["tokentrail"]["token"]["signature"] == "unverified"
        codes = [c for c, _ in ev["_tt"]["findings"]]
        assert codes[:2] == ["token.untrusted_key_reference", "token.signature_invalid"]
        assert listener.connections == before
