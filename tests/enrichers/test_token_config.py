"""The tokens: and apps: config sections: every problem reported with its position."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokentrail import config
from tokentrail.errors import ConfigError


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        config.from_dict(data)
    return exc.value.problems


class TestTokenConfig:
    def test_valid(self, jwks_file: Path):
        """A complete tokens/apps section loads."""
        cfg = config.from_dict({"tokens": {"issuers": [{"issuer": "https://i", "jwks_file": str(jwks_file)}],
                                           "disabled_findings": ["token.replay_new_ip"]},
                                "apps": [{"id": "a", "client_ids": ["c1"], "read_only": True}]})
        assert cfg.tokens.issuers[0].algorithms == ["RS256"] and cfg.apps[0].read_only

    def test_alg_none_and_mixed_families_refused(self):
        """alg none and HMAC next to RSA are config errors."""
        found = problems({"tokens": {"issuers": [{"issuer": "i", "jwks_uri": "https://k", "algorithms": ["none"]},
                                                 {"issuer": "j", "jwks_uri": "https://k",
                                                  "algorithms": ["HS256", "RS256"]}]}})
        assert any("none" in p for p in found) and any("mix" in p for p in found)

    def test_jwks_over_http_refused(self):
        """Keys over plain http are refused except from localhost."""
        found = problems({"tokens": {"issuers": [{"issuer": "i", "jwks_uri": "http://idp.example/keys"}]}})
        assert any("https" in p for p in found)
        config.from_dict({"tokens": {"issuers": [{"issuer": "i", "jwks_uri": "http://127.0.0.1:8080/keys"}]}})

    def test_keys_source_required_once(self):
        """An issuer needs jwks_file or jwks_uri, not both."""
        assert problems({"tokens": {"issuers": [{"issuer": "i"}]}})
        assert problems({"tokens": {"issuers": [{"issuer": "i", "jwks_uri": "https://k", "jwks_file": "/f"}]}})

    def test_unknown_disabled_code(self):
        """disabled_findings names existing codes only."""
        assert any("unknown code" in p for p in problems({"tokens": {"disabled_findings": ["nope"]}}))

    def test_client_id_listed_twice(self):
        """Two apps cannot claim the same client id."""
        found = problems({"apps": [{"id": "a", "client_ids": ["c1"]}, {"id": "b", "client_ids": ["c1"]}]})
        assert any("already listed" in p for p in found)

    def test_unknown_key(self):
        """Unknown keys in tokens: are refused."""
        assert any("unknown key" in p for p in problems({"tokens": {"max_lifetime": 5}}))
