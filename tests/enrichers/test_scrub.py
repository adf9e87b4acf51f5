"""The secret scrubber: nothing raw leaves the process."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enrichers.scrub import (
    _SECRET_KEY_EXACT,
    _SECRET_KEY_SUFFIX,
    REDACTED,
    Scrubber,
    has_secret_hint,
    is_secret_key,
    scrub_text,
)

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJib2IiLCJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
SSWS = "00QCjAl4MlV-WPXM-ABCDEFGHIJKLMNOPQRSTUVWX"


def blob(obj: object) -> str:
    return orjson.dumps(obj).decode()


class TestScrubber:
    def test_field_absent_event_untouched(self):
        """An event with nothing secret comes back equal and without working keys."""
        ev = {"event": {"id": "1", "action": "user.session.start"}, "user": {"name": "alice"}}
        assert Scrubber(collect=True)(orjson.loads(orjson.dumps(ev))) == ev

    def test_authorization_header_redacted_and_collected(self):
        """A field named authorization is redacted and its raw value handed to the token enricher."""
        ev = Scrubber(collect=True)({"http": {"authorization": f"Bearer {JWT}"}})
        assert ev["http"]["authorization"] == REDACTED
        assert ("http.authorization", f"Bearer {JWT}") in ev["_tt"]["secrets"]

    def test_jwt_inside_free_text(self):
        """A JWT anywhere in a string is replaced, the rest of the string kept."""
        ev = Scrubber()({"message": f"token {JWT} was used"})
        assert ev["message"] == f"token {REDACTED} was used"

    def test_unsigned_jwt(self):
        """An alg-none JWT (empty signature) is still recognised."""
        none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ."
        assert JWT not in blob(Scrubber()({"m": f"x {none} y"}))
        assert "eyJzdWIiOiJib2IifQ" not in blob(Scrubber()({"m": f"x {none} y"}))

    @pytest.mark.parametrize("scheme", ["Bearer", "SSWS", "Basic", "Splunk", "bearer"])
    def test_scheme_credentials(self, scheme):
        """Credentials after an auth scheme are redacted; the scheme stays for analysts."""
        ev = Scrubber()({"note": f"sent {scheme} {SSWS} to api"})
        assert SSWS not in blob(ev)
        assert scheme in ev["note"]

    def test_url_query_secrets(self):
        """Secret query parameters in URLs are redacted, others kept."""
        ev = Scrubber()({"url": {"original": "/wiki/rest/api/content?access_token=abc123def&limit=25"}})
        assert ev["url"]["original"] == f"/wiki/rest/api/content?access_token={REDACTED}&limit=25"

    def test_url_userinfo_password(self):
        """A password in URL userinfo is redacted."""
        ev = Scrubber()({"u": "https://bot:hunter2hunter2@example.atlassian.net/wiki"})
        assert "hunter2" not in blob(ev)

    @pytest.mark.parametrize("key", ["password", "client_secret", "api_key", "x-api-key", "refresh_token",
                                     "Authorization", "hec_token", "apiKey", "privateKey"])
    def test_secret_named_fields(self, key):
        """Fields named like secrets lose their values, whatever the nesting."""
        ev = Scrubber()({"a": {"b": [{key: "s3cr3t-value"}]}})
        assert "s3cr3t-value" not in blob(ev)

    @pytest.mark.parametrize("key", ["uniqueTokenIdentifier", "incomingTokenType", "token_type", "fingerprint",
                                     "grantType", "signature", "tokenIssuerType"])
    def test_token_metadata_kept(self, key):
        """Fields about tokens that are not secrets keep their values."""
        assert not is_secret_key(key)
        assert Scrubber()({key: "value-1"})[key] == "value-1"

    def test_password_in_text(self):
        """`password=...` inside text is redacted."""
        assert "hunter22" not in Scrubber()({"m": "login failed password=hunter22 user=bob"})["m"]

    def test_working_keys_skipped(self):
        """The `_tt` working area is left for the token enricher."""
        ev = Scrubber()({"_tt": {"authorization": f"Bearer {JWT}"}})
        assert ev["_tt"]["authorization"] == f"Bearer {JWT}"


class TestScrubText:
    def test_json_pairs(self):
        """Secret-named JSON members in raw text are redacted (DLQ originals)."""
        out = scrub_text('{"password": "hunter2", "user": "bob", "client_secret":"abc"}')
        assert "hunter2" not in out and "abc" not in out and '"user": "bob"' in out

    def test_private_key_block(self):
        """PEM private keys are removed whole."""
        pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"
        assert "MIIEow" not in scrub_text(f"key: {pem}")

    def test_plain_text_unchanged(self):
        """Text with no secret is returned as is."""
        assert scrub_text("User added to group") == "User added to group"


class TestNoFalsePositives:
    @pytest.mark.parametrize("text", ["Personal access token created", "Basic authentication enabled",
                                      "Bearer token required", "Token revoked by admin",
                                      "The access policy does not allow token issuance.",
                                      "Legacy Basic authentication.", "Bearer token expired: reauthenticate"])
    def test_prose_about_tokens_kept(self, text):
        """Words after a scheme name that are not credentials stay readable, at the end of a sentence too;
        nor does such a record cost a walk of the event (no hint of a secret)."""
        assert Scrubber()({"m": text})["m"] == text
        assert not has_secret_hint(text.encode())

    @pytest.mark.parametrize("credential", ["abc.defghi", "v1.abcdef", "abcdef==", "abc_defghi", "00abcdef."])
    def test_credential_with_an_inner_dot_or_a_symbol_is_redacted(self, credential):
        assert credential not in Scrubber()({"m": f"sent token {credential} to api"})["m"]


class TestFinalSafetyNet:
    def _processor(self, step):
        from collectors import SOURCES
        from enrichers import Chain
        from enrichers.scrub import strip_working
        from tokentrail.pipeline import Processor

        return Processor(SOURCES, Chain([("leaky", step), ("strip", strip_working)]))

    def test_secret_added_after_scrubbing_is_caught_at_encode(self):
        """A secret that reaches the output bytes of a record with hints is scrubbed when encoded."""
        from tokentrail.pipeline import Raw

        def leaky(ev):
            ev["message"] = f"oops Bearer {JWT}"
            return ev

        p = self._processor(leaky)
        raw = orjson.dumps({"timestamp": "2026-01-01T00:00:00Z", "url": "/x", "authorization": "Basic abc123=="})
        result = p.process(Raw("access", raw, "t:1"))
        out = b"".join(p.encode(e, result.clean) for e in result.events)
        assert JWT.encode() not in out and b"abc123" not in out

    def test_escaped_input_is_scanned(self):
        """JSON escapes that could hide a secret from the byte scan mark the record for scanning."""
        from enrichers.scrub import has_secret_hint

        assert has_secret_hint(b'{"m": "\\u0065yJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig"}')


class TestEscapedWhitespace:
    def test_credential_after_an_escaped_newline_is_found(self):
        """`Bearer\\nabc…` in raw JSON bytes is a hint, and the decoded event is scrubbed."""
        from collectors import SOURCES
        from enrichers import build_chain
        from enrichers.scrub import has_secret_hint
        from tokentrail.pipeline import Processor, Raw

        raw = b'{"timestamp": "2026-01-01T00:00:00Z", "url": "/x", "status": 200, "note": "Bearer\\nabc123XYZ=="}'
        assert has_secret_hint(raw)
        p = Processor(SOURCES, build_chain())
        result = p.process(Raw("access", raw, "t:1"))
        out = b"".join(p.encode(e, result.clean) for e in result.events)
        assert b"abc123XYZ" not in out


def _through_pipeline(raw: bytes, source: str = "access") -> tuple[bytes, bytes]:
    """(encoded events, encoded DLQ records) of one raw record through the default chain."""
    from collectors import SOURCES
    from enrichers import build_chain
    from tokentrail.pipeline import Processor, Raw

    p = Processor(SOURCES, build_chain())
    result = p.process(Raw(source, raw, "t:1"))
    return b"".join(p.encode(e, result.clean) for e in result.events), orjson.dumps(result.dlq)


class TestEscapesThatHideSecrets:
    """Writers that escape what they need not (PHP and some Java libraries write `\\/`; Python's json
    module `\\u…` for anything not ASCII) must not get a secret past the scan of the raw bytes."""

    def test_escaped_slashes(self):
        raw = (b'{"timestamp": "2026-01-01T00:00:00Z", "url": "https:\\/\\/alice:hunter2@wiki.example.com\\/x",'
               b' "status": 200, "user_agent": "curl\\/8 via Bearer abcd\\/ef12"}')
        assert has_secret_hint(raw)
        out, _ = _through_pipeline(raw)
        assert b"hunter2" not in out and b"abcd/ef12" not in out and b"alice:" in out

    def test_escaped_slashes_in_a_dead_letter(self):
        _, dlq = _through_pipeline(b'{"url": "https:\\/\\/alice:hunter2@wiki.example.com\\/x", broken')
        assert b"hunter2" not in dlq and b"alice" in dlq

    def test_secrets_in_documents_a_source_decodes(self):
        """Okta's debugData holds JSON documents and Java maps in strings, which the Okta mapping
        decodes into keys: a secret-named key in them is a hint in the raw bytes too."""
        rec = {"uuid": "u1", "published": "2026-03-01T10:00:00.123Z", "eventType": "user.session.start",
               "debugContext": {"debugData": {
                   "logOnlySecurityData": orjson.dumps({"password": "hunter2", "behaviors": {"x": "y"}}).decode(),
                   "tunnels": orjson.dumps([{"client_secret": "s3cr3tXY"}]).decode(),
                   "risk": "{level=LOW, Cookie=abcdef99}"}}}
        raw = orjson.dumps(rec)
        assert has_secret_hint(raw)
        out, _ = _through_pipeline(raw, "okta")
        assert b"hunter2" not in out and b"s3cr3tXY" not in out and b"abcdef99" not in out
        assert b'"level"' in out  # the decoded documents are there, redacted

    def test_escaped_blank_before_the_equals_sign(self):
        raw = orjson.dumps({"timestamp": "2026-01-01T00:00:00Z", "url": "/x", "status": 200,
                            "user_agent": "bot password\n=hunter2X"})
        assert has_secret_hint(raw)
        out, _ = _through_pipeline(raw)
        assert b"hunter2X" not in out

    def test_parameter_names_that_become_keys(self):
        """Google's `parameters[].name` and Entra's `authenticationProcessingDetails[].key` are
        values in the raw record and keys in the event: a secret-like one is a hint."""
        google = {"kind": "admin#reports#activity", "actor": {"email": "a@example.com"},
                  "id": {"time": "2026-03-01T10:00:00.000Z", "uniqueQualifier": "1", "applicationName": "login"},
                  "events": [{"type": "login", "name": "login_success", "parameters": [
                      {"name": "login_type", "value": "google_password"}, {"name": "client_secret", "value": "s3cr3tGG"}]}]}
        entra = {"time": "2026-03-01T10:00:00Z", "category": "SignInLogs", "operationName": "Sign-in activity",
                 "properties": {"id": "x1", "createdDateTime": "2026-03-01T10:00:00Z",
                                "authenticationProcessingDetails": [{"key": "Client Secret", "value": "s3cr3tEE"}]}}
        for source, record, secret in (("google", google, b"s3cr3tGG"), ("entra", entra, b"s3cr3tEE")):
            raw = orjson.dumps(record)
            assert has_secret_hint(raw)
            out, _ = _through_pipeline(raw, source)
            assert out and secret not in out, source

    @pytest.mark.parametrize("key", ["to\\u212aen", "pass__word", "pass\\tword", " token ", "password_",
                                     "api\\u00a0key", "api\u3000key", "client--secret", "TO\u212aEN"])
    def test_secret_key_spellings(self, key: str):
        """Every key `is_secret_key` accepts is a hint in the raw bytes, however it is spelled."""
        raw = b'{"timestamp": "2026-01-01T00:00:00Z", "url": "/x", "status": 200, "' + key.encode() + b'": "s3cr3t!"}'
        name = next(k for k in orjson.loads(raw) if k not in ("timestamp", "url", "status"))
        assert is_secret_key(name)
        assert has_secret_hint(raw)


@settings(max_examples=400, deadline=None)
@given(word=st.sampled_from(sorted({*_SECRET_KEY_EXACT, *_SECRET_KEY_SUFFIX, "authorization"})),
       seps=st.lists(st.sampled_from(["", "_", "-", ".", " ", "  ", "\t", "\u00a0", "\u2028", "\u3000", "__"]),
                     min_size=30, max_size=30),
       prefix=st.sampled_from(["", "x", "my_", "X-"]), upper=st.booleans(), kelvin=st.booleans(),
       ascii_only=st.booleans())
def test_every_secret_key_is_a_raw_hint(word, seps, prefix, upper, kelvin, ascii_only):
    import json

    key = prefix + "".join(c + seps[i] for i, c in enumerate(word))
    key = seps[-1] + (key.upper() if upper else key)
    if kelvin:
        key = key.replace("k", "\u212a").replace("K", "\u212a")
    if not is_secret_key(key):
        return
    record = {"url": "/x", key: "s3cr3t!"}
    raw = json.dumps(record, ensure_ascii=True).encode() if ascii_only else orjson.dumps(record)
    assert has_secret_hint(raw), raw


class TestWalkerReach:
    def test_token_as_a_key_and_json_in_a_string(self):
        """Keys are strings too, and JSON text kept in a string value is read as JSON."""
        ev = Scrubber()({"a": {JWT: "x", "taken": "y", "note": '{"client_secret": "s3cr3tXY"} and more',
                               "l": ['{"password": "hunter2"}']}})
        text = blob(ev)
        assert JWT not in text and "s3cr3tXY" not in text and "hunter2" not in text
        assert ev["a"]["taken"] == "y" and ev["a"][REDACTED] == "x"

    def test_escaped_blanks_in_a_dead_letter(self):
        """A DLQ original is raw JSON text: `\\nBearer\\nabc` and `password\\n=x` are found there too."""
        text = scrub_text('{"a": "x\\nBearer\\nabc123XYZ", "b": "password\\n=hunter2Y", broken')
        assert "abc123XYZ" not in text and "hunter2Y" not in text


def test_split_email_only_splits_addresses():
    """`split_email` leaves what is not an address whole: split, a URL password loses the `@` the
    scrubber knows it by."""
    from tokentrail.event import split_email

    assert split_email("alice@example.com") == ("alice", "example.com")
    assert split_email("alice@example.com https://al:hunter2@h/x") == ("alice@example.com https://al:hunter2@h/x", None)
    assert split_email("x@host:8080/p") == ("x@host:8080/p", None)
