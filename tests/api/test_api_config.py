"""`kind: api` and `kind: http` configs: the interfaces.md examples load; mistakes are listed with positions."""

from __future__ import annotations

import pytest

from tokentrail import config
from tokentrail.errors import ConfigError

EXAMPLES = [
    {"source": "okta", "kind": "api", "base_url": "https://example.okta.com",
     "auth": {"kind": "ssws", "token_file": "/run/secrets/okta"}, "poll_interval_seconds": 15},
    {"source": "okta", "kind": "api", "name": "okta-oauth", "base_url": "https://example.okta.com",
     "auth": {"kind": "oauth_private_key_jwt", "client_id": "0oa1", "key_file": "/run/secrets/k.pem",
              "token_url": "https://example.okta.com/oauth2/v1/token"}},
    {"source": "entra", "kind": "api", "base_url": "https://graph.microsoft.com",
     "auth": {"kind": "client_credentials", "token_url": "https://login.microsoftonline.com/T/oauth2/v2.0/token",
              "client_id": "11111111-2222-3333-4444-555555555555", "client_secret_file": "/run/secrets/graph"},
     "event_types": ["interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity"],
     "overlap_seconds": 900},
    {"source": "google", "kind": "api", "base_url": "https://admin.googleapis.com",
     "auth": {"kind": "service_account", "key_file": "/run/secrets/gws.json", "subject": "admin@example.com"},
     "applications": ["login", "token"]},
    {"source": "confluence", "kind": "api", "base_url": "https://example.atlassian.net",
     "auth": {"kind": "basic", "username": "bot@example.com", "password_file": "/run/secrets/atlassian"}},
    {"source": "atlassian", "kind": "api", "base_url": "https://api.atlassian.com", "org_id": "0a1b2c3d-org",
     "auth": {"kind": "bearer", "token_file": "/run/secrets/atlassian-admin"}},
    {"source": "okta", "kind": "http", "listen": "0.0.0.0:9110", "secret_file": "/run/secrets/hook"},
]


def problems(inp: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        config.from_dict({"inputs": [inp]})
    return err.value.problems


def test_the_documented_examples_load():
    """Every API and push example of interfaces.md is a valid config."""
    cfg = config.from_dict({"inputs": EXAMPLES})
    assert [i.kind for i in cfg.inputs] == ["api"] * 6 + ["http"]
    assert cfg.inputs[2].config.rate_limit_requests == 5 and cfg.inputs[5].config.rate_limit_requests == 10


def test_inline_secrets_and_wrong_auth_kinds_are_refused():
    """An inline token and an auth kind the source does not accept are both reported."""
    found = problems({"source": "okta", "kind": "api", "base_url": "https://x.okta.com",
                      "auth": {"kind": "bearer", "token": "00abc"}})
    assert "inputs[0].auth.token: inline secret; use token_file (a file) or token_env (a variable name)" in found
    assert "inputs[0].auth.kind: okta accepts ssws, oauth_private_key_jwt" in found


def test_lookback_beyond_retention_is_refused():
    """Okta keeps 90 days: a longer lookback is a config error."""
    found = problems({**EXAMPLES[0], "lookback_seconds": 91 * 86400})
    assert any("lookback_seconds: between 1 and 7776000" in p for p in found)


def test_client_credentials_need_a_secret_or_a_certificate():
    """Neither client_secret_file nor certificate_file + key_file: reported."""
    inp = {**EXAMPLES[2], "auth": {"kind": "client_credentials", "client_id": "c", "token_url": "https://t"}}
    assert any("client_secret_file: give client_secret_file, or certificate_file + key_file" in p
               for p in problems(inp))


def test_unknown_event_type_and_windows_smaller_than_the_overlap():
    """Entra event types are checked, and a window must be longer than the overlap."""
    found = problems({**EXAMPLES[2], "event_types": ["everything"], "window_seconds": 600})
    assert any("event_types[0]: unknown event type 'everything'" in p for p in found)
    assert any("window_seconds: must be larger than overlap_seconds" in p for p in found)


def test_a_source_without_an_api():
    """Access logs have no API: kind api is refused for them."""
    found = problems({"source": "access", "kind": "api"})
    assert any("this source has no API input" in p for p in found)


def test_http_input_needs_a_secret():
    """A push input without a shared secret is refused."""
    found = problems({"source": "okta", "kind": "http", "listen": "127.0.0.1:9110"})
    assert any("secret: required (secret_file or secret_env)" in p for p in found)
