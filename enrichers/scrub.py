"""The secret scrubber: no raw token, secret or password leaves the process.

Runs first (collecting raw tokens for the token enricher into `_tt.secrets`) and last (catch-all).
`scrub_text` cleans free text, such as a DLQ record's original, with the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

import orjson
import re2

REDACTED: Final = "[REDACTED]"

# Key names whose string values are secrets (compared lowercased, without - _ . and spaces).
_SECRET_KEY_EXACT: Final = frozenset(
    {"token", "pwd", "pass", "apikey", "secret", "authorization", "proxyauthorization", "cookie",
     "setcookie", "assertion", "clientassertion", "code", "credentials",
     "credential", "privatekey", "hectoken", "xapikey", "xauthtoken"}
)
_SECRET_KEY_SUFFIX: Final[tuple[str, ...]] = (
    "password", "passwd", "secret", "apikey", "accesstoken", "refreshtoken", "idtoken",
    "sessiontoken", "authtoken", "bearertoken", "apitoken", "privatekey", "passphrase",
    "clientassertion", "securitytoken", "oauthtoken", "csrftoken", "samlresponse",
)

_JWT: Final = r"eyJ[A-Za-z0-9_-]{4,}\.(?:[A-Za-z0-9_-]*\.){1,3}[A-Za-z0-9_-]*"
# Blanks around a scheme or a name also as JSON writes them: a DLQ original is raw JSON text
# (`\nBearer\nabc1`), where the `n` of an escaped newline leaves no word boundary before the name.
_AFTER_BLANK: Final = r"(?:\b|(?<=\\[nrtfb]))"
_SCHEME: Final = (r"(?i:" + _AFTER_BLANK + r"(?:Bearer|SSWS|Basic|Splunk|ApiKey|Token|Digest|Negotiate|NTLM|DPoP|MAC)"
                  r"(?:\s|\\[nrtfb])+)")
# A credential has a digit or a symbol, a dot only counting inside it: "token issuance." or "Basic
# authentication." (Entra and Okta failure texts) end a sentence, they hold no secret.
_CREDENTIAL: Final = r"((?=[A-Za-z0-9._~+/=:-]*(?:[0-9_~+/=-]|\.[A-Za-z0-9._~+/=:-]))[A-Za-z0-9._~+/=:-]{6,})"
_QUERY_NAMES: Final = (
    r"access_token|refresh_token|id_token|token|code|client_secret|password|passwd|pwd|api_key|apikey|"
    r"key|sig|signature|secret|assertion|client_assertion|session|sessionid|auth|jwt|hec_token|"
    r"x-amz-signature|x-goog-signature"
)
_TEXT_KV_NAMES: Final = r"password|passwd|pwd|secret|client_secret|api_?key|access_token|refresh_token|id_token|token"

VALUE_PATTERNS: Final[list[tuple[re.Pattern[str], str | None]]] = [
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S), REDACTED),
    # keep the scheme (see _sub_scheme); a credential has a digit or symbol, so "Basic authentication"
    # or "access token created" stay readable
    (re.compile(_SCHEME + _CREDENTIAL), None),
    (re.compile(_JWT), REDACTED),
    (re.compile(r"(?i)((?:^|[?&;#])(?:" + _QUERY_NAMES + r")=)([^&#\s\"']+)"), r"\1" + REDACTED),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@\"']+:)[^/\s@\"']+@"), r"\1" + REDACTED + "@"),
    (re.compile(r"(?i)(" + _AFTER_BLANK + r"(?:" + _TEXT_KV_NAMES + r")(?:\s|\\[nrtfb])*[=:](?:\s|\\[nrtfb])*)(?!\[REDACTED\])"
                r"[^\s\"'&,;}\]]{3,}"),
     r"\1" + REDACTED),
]
# For each of VALUE_PATTERNS, strings one of which every match contains (None: no such cheap test).
# The walker skips a substitution when the string has none of them: same result, a fraction of the cost.
_NEEDS: Final[tuple[tuple[str, ...] | None, ...]] = (("-----BEGIN",), None, ("eyJ",), ("=",), ("@",), ("=", ":"))
# Quick tests run before any walking or substitution: most events carry nothing to scrub. RE2 runs
# them in linear time over the whole serialized event (Python's re backtracks badly on these).
# Between the letters of a secret key name: what `is_secret_key` strips (`_.-` and whitespace, Python's
# Unicode whitespace included), any number of them, raw or as JSON writes them (`\t`): the hint must
# find every key the walker would redact. Controls (\x0b, \x1c-\x1f) only appear escaped (`\u00`).
_SEP: Final = (r"(?:[\s_.\-\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
               r"|\\[nrtfb])*")


def _sep_word(word: str) -> str:
    return _SEP.join(re.escape(c) for c in word)


_VALUE_HINT_RE: Final = (
    r"-----BEGIN|eyJ[A-Za-z0-9_-]{4,}\.|"
    # whitespace, or its JSON escape as it stands in raw and serialized bytes ("Bearer\nabc...")
    r"(?i:(?:\b|\\[nrtfb])(?:bearer|ssws|basic|splunk|apikey|token|digest|negotiate|ntlm|dpop|mac)(?:\s|\\[nrtfb])+)"
    r"[A-Za-z0-9._~+/=:-]*(?:[0-9_~+/=-]|\.[A-Za-z0-9._~+/=:-])|"
    r"(?i:(?:^|[?&;#])(?:" + _QUERY_NAMES + r")=)|"
    r"://[^/\s:@\"']+:[^/\s@\"']+@|"
    # `password = x`, the blanks also as JSON writes them (`password\n=x`)
    r"(?i:(?:\b|\\[nrtfb])(?:" + _TEXT_KV_NAMES + r")(?:\s|\\[nrtfb])*[=:])"
)
_EXACT_NAMES: Final = "|".join(_sep_word(w) for w in sorted(_SECRET_KEY_EXACT))
_SUFFIX_NAMES: Final = "|".join(_sep_word(w) for w in (*_SECRET_KEY_SUFFIX, "authorization"))
# A name `is_secret_key` accepts, after the opening quote of its JSON string.
_SECRET_NAME_RE: Final = r'(?i:' + _SEP + r'(?:' + _EXACT_NAMES + r')|[^"]*(?:' + _SUFFIX_NAMES + r'))' + _SEP
# A secret-named key: `"password":`, and as it stands in a JSON document kept in a string
# (`\"password\":`, which a source may decode: Okta's debugData).
_KEY_HINT_RE: Final = r'"' + _SECRET_NAME_RE + r'\\*"\s*:'
# The same names as the values that become keys: Google's `parameters[].name`, Entra's
# `authenticationProcessingDetails[].key` (`{"name": "client_secret", "value": "…"}`).
_PARAM_NAME_HINT_RE: Final = r'"(?:name|key)"\s*:\s*"' + _SECRET_NAME_RE + r'"'
# The same names as keys of a Java map string (`{cookie=…}`), which Okta's debugData decoding turns
# into keys.
_MAP_KEY_HINT_RE: Final = r"(?i:(?:" + _EXACT_NAMES + "|" + _SUFFIX_NAMES + r")" + _SEP + r"=)"


def _re2_options() -> Any:
    """RE2 with room for these patterns' DFA: the names, their separators and their case folding
    make a program of ~25,000 instructions, for which RE2's default 8 MiB budget is too small once a
    match is found (12 MiB is enough; it then falls back to its NFA, and writes to stderr, where
    `process` writes its DLQ). A budget, not an allocation: 3,000 lines of random JSON-ish bytes
    grew the process by 1 MB."""
    options = re2.Options()
    options.max_mem = 32 << 20
    options.log_errors = False
    return options


_RE2_OPTIONS: Final = _re2_options()
_VALUE_HINT: Final = re2.compile(_VALUE_HINT_RE, _RE2_OPTIONS)
_KEY_HINT: Final = re2.compile(_KEY_HINT_RE, _RE2_OPTIONS)
# The walker redacts by key name only string values, so it needs a secret-named key with a string
# value: `"token": {…}` (tokentrail.token, google_workspace.token) alone is no reason to walk an event.
_KEY_STRING_HINT: Final = re2.compile(_KEY_HINT_RE + r'\s*\\*"', _RE2_OPTIONS)
# JSON escapes could spell a secret the byte patterns cannot see: such input is scanned. `\u0065yJ`
# (an escaped ASCII letter), `to\u212Aen` (the Kelvin sign, which lower-cases to k), `api\u3000key`
# (Unicode whitespace, which `is_secret_key` strips), and `\/`: a writer that escapes slashes (PHP,
# some Java) hides `https:\/\/user:pass@` and `Bearer ab\/c1`.
_HIDING_ESCAPES: Final = r"\\u(?:00|212[aA]|017[fF]|1680|20[0-5][0-9a-fA-F]|3000)|\\/"
# Multi-line: `^` also after a newline, so that a scan of a block of lines from a line's start finds
# what a scan of the line alone finds (collectors.inputs.reader); a single line has no newline.
_ANY_HINT: Final = re2.compile(
    "(?m)" + _VALUE_HINT_RE + "|" + _KEY_HINT_RE + r'\s*\\*"' + "|" + _PARAM_NAME_HINT_RE + "|" + _MAP_KEY_HINT_RE + "|"
    + _HIDING_ESCAPES,
    _RE2_OPTIONS,
)


def _raw_match(pattern: Any) -> Callable[..., list[tuple[int, int]]] | None:
    """RE2's own match of `pattern` (as `match(anchor, data, pos, endpos)`), to skip the wrapper.

    The wrapper's `search` builds a generator and a match object: for a short record that costs
    about a sixth of the scan. None (use `search`) should a google-re2 release change what this
    relies on; the probes check that it still answers as `search` does.
    """
    try:
        match = pattern._regexp.Match
        if match(_UNANCHORED, _PROBE, 0, len(_PROBE))[0] == _MISS or match(_UNANCHORED, b"x", 0, 1)[0] != _MISS:
            return None
    except Exception:  # noqa: BLE001 - any change in the internals: fall back to the public API
        return None
    return match


_UNANCHORED: Final = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
_MISS: Final = getattr(re2, "_NULL_SPAN", (-1, -1))
_PROBE: Final = b'{"password": "x", "m": "eyJhbGciOi.x"}'  # matched by each of the hint patterns
_ANY_MATCH: Final = _raw_match(_ANY_HINT)
_VALUE_MATCH: Final = _raw_match(_VALUE_HINT)
_KEY_STRING_MATCH: Final = _raw_match(_KEY_STRING_HINT)


def has_secret_hint(data: bytes | str) -> bool:
    """Whether `data` (a raw record or a serialized event) may hold a secret: one linear scan."""
    if type(data) is bytes:
        return first_hint(data) >= 0
    return _ANY_HINT.search(data) is not None


def first_hint(data: bytes, pos: int = 0) -> int:
    """Where the first hint of a secret in `data` at or after `pos` starts; -1 for none."""
    if _ANY_MATCH is not None:
        return _ANY_MATCH(_UNANCHORED, data, pos, len(data))[0][0]
    m = _ANY_HINT.search(data, pos)
    return -1 if m is None else m.start()


def hinted_outside(data: bytes, first: int, moved: str) -> bool:
    """Whether the raw record `data`, whose first hint of a secret starts at `first`, may hold one
    outside the field whose string value is `moved`: a value its source took out of the event (the
    Authorization header goes to `_tt.authorization`, never into the event). True whenever that
    cannot be shown cheaply.

    No hint starts before `first` (the scan finds the leftmost). One that starts in that field (its
    secret-like key name, its value) is about the field: no hint pattern crosses the closing quote
    of a JSON string value but the key-name one, which needs a `:` after it. So a scan from the end
    of the value settles the rest of the record.
    """
    needle = orjson.dumps(moved)[1:-1]  # as JSON writes it; written another way: not found, True
    # Found by its first bytes, then compared whole: bytes.find with a needle of a JWT's length
    # prepares a two-way search that costs more than the walk this saves.
    head = needle[:16]
    start = data.find(head)
    while start >= 0 and not data.startswith(needle, start):
        start = data.find(head, start + 1)
    if start < 0:
        return True
    begin = _field_start(data, start)
    if begin < 0 or not begin <= first < start + len(needle):
        return True
    return first_hint(data, start + len(needle)) >= 0


_SPACES: Final = frozenset(b" \t\r\n")


def _field_start(data: bytes, value: int) -> int:
    """The opening quote of the key of the JSON string whose text starts at `value` (after blanks):
    `"key" : "  value`; -1 when the bytes before `value` are not that."""
    i = value - 1
    for expected in (0x22, 0x3A, 0x22):  # the value's opening quote, the colon, the key's closing quote
        while i >= 0 and data[i] in _SPACES:
            i -= 1
        if i < 0 or data[i] != expected:
            return -1
        i -= 1
    return data.rfind(b'"', 0, i + 1)  # a key with an escaped quote: a later start, so hints in it count


def _value_hint(text: str) -> bool:
    """`_VALUE_HINT.search(text) is not None` (RE2 searches the UTF-8 of a str, as this does)."""
    # Every branch of _VALUE_HINT_RE needs one of these: a scheme is followed by whitespace (RE2's
    # \s is [\t\n\f\r ]), a query or key-value pair by = or :, a URL with a password has ://.
    # Most strings (ids, names, addresses) have none; `in` is far cheaper than a call into RE2.
    if not (" " in text or ":" in text or "=" in text or "eyJ" in text or "-----BEGIN" in text
            or "\t" in text or "\n" in text or "\r" in text or "\f" in text):
        return False
    if _VALUE_MATCH is None:
        return _VALUE_HINT.search(text) is not None
    data = text.encode()
    return _VALUE_MATCH(_UNANCHORED, data, 0, len(data))[0] != _MISS


def _sub_scheme(m: re.Match[str]) -> str:
    head = m.group(0)[: m.start(1) - m.start(0)]
    return head + REDACTED


@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True for keys whose string values are secrets (`password`, `client_secret`, `x-api-key`...)."""
    k = re.sub(r"[\s_.\-]", "", key.lower())
    return k in _SECRET_KEY_EXACT or k.endswith(_SECRET_KEY_SUFFIX) or k.endswith("authorization")


_TOKEN_PARAMS: Final[tuple[str, ...]] = ("access_token", "refresh_token", "id_token", "token", "jwt")
# Fields named like secrets that Tokentrail itself writes: a finding's `code` (token.alg_none...) is
# not an OAuth authorization code. Exact paths (an alert document rides in the event's `_extra`).
_OWN_FIELDS: Final = frozenset({"tokentrail.findings.code", "tokentrail.finding.code", "_extra.tokentrail.finding.code"})


def find_tokens(text: str) -> list[str]:
    """Raw JWTs, bearer-style credentials and token query parameters in `text`, for the token enricher."""
    found = [m.group(0) for m in VALUE_PATTERNS[2][0].finditer(text)] if "eyJ" in text else []  # see _NEEDS
    for m in VALUE_PATTERNS[1][0].finditer(text):
        if m.group(1) not in found:
            found.append(m.group(1))
    for m in VALUE_PATTERNS[3][0].finditer(text) if "=" in text else ():
        name = m.group(1).lstrip("?&;#").rstrip("=").lower()
        if name in _TOKEN_PARAMS and m.group(2) not in found and m.group(2) != REDACTED:
            found.append(m.group(2))
    return found


def scrub_text(text: str) -> str:
    r"""Every secret pattern in free text replaced by [REDACTED] (JSON key/value pairs included).

    Raw JSON text (a DLQ record's original) is read with the escapes that could hide a secret from
    the patterns undone first: `\/` (`https:\/\/user:pass@`), an escaped letter or the Kelvin sign.
    """
    if not text:
        return text
    if "\\/" in text:
        text = text.replace("\\/", "/")
    if "\\u" in text:
        text = _LETTER_ESCAPE.sub(_unescape, text)
    text = _scrub_json_pairs(text)
    if not _VALUE_HINT.search(text):
        return text
    for pattern, repl in VALUE_PATTERNS:
        text = pattern.sub(_sub_scheme if repl is None else repl, text)
    return text


# \uXXXX escapes of printable ASCII but the quote and the backslash (which would change the JSON
# around them), and of the two letters that case-fold to ASCII ones (K, ſ).
_LETTER_ESCAPE: Final = re.compile(r"\\u(00(?:2[013-9a-fA-F]|[3-46-7][0-9a-fA-F]|5[0-9abd-fABD-F])|212[aA]|017[fF])")


def _unescape(m: re.Match[str]) -> str:
    return chr(int(m.group(1), 16))


def _scrub_json_pairs(text: str) -> str:
    """The values of secret-named keys in JSON text (a DLQ original, a JSON document kept in a
    string value) replaced by [REDACTED]."""
    if '"' not in text or not _KEY_HINT.search(text):
        return text
    text = _JSON_SECRET_PAIR.sub(_sub_pair, text)
    if "\\" in text:  # keys inside JSON-in-a-string are escaped: \"password\": \"...\"
        text = _ESCAPED_SECRET_PAIR.sub(_sub_escaped_pair, text)
    return text


_JSON_SECRET_PAIR: Final = re.compile(r'"((?:[^"\\]|\\.){1,80})"(\s*:\s*)"((?:[^"\\]|\\.)*)"')


_ESCAPED_SECRET_PAIR: Final = re.compile(r'\\"([^"\\]{1,80})\\"(\s*:\s*)\\"((?:[^"\\]|\\[^"])*)\\"')


def _sub_escaped_pair(m: re.Match[str]) -> str:
    if is_secret_key(m.group(1)) and m.group(3) not in ("", REDACTED):
        return f'\\"{m.group(1)}\\"{m.group(2)}\\"{REDACTED}\\"'
    return m.group(0)


def _sub_pair(m: re.Match[str]) -> str:
    if is_secret_key(m.group(1)) and m.group(3) not in ("", REDACTED):
        return f'"{m.group(1)}"{m.group(2)}"{REDACTED}"'
    return m.group(0)


class Scrubber:
    """Enricher: redact secrets in every string of the event, by key name and by value pattern.

    collect: keep the raw tokens found (JWTs, bearer credentials, secret-named fields) in
        `_tt.secrets` as (path, raw) pairs for the token enricher, which fingerprints and drops them.
    """

    # A plain event (enrichers.Chain) has `_tt.scan: False`: nothing to scrub.
    plain_datasets: frozenset[str] = frozenset()

    def __init__(self, *, collect: bool = False) -> None:
        self.collect = collect

    def __call__(self, event: dict) -> dict:
        tt = event.get("_tt")
        if tt is not None and tt.get("scan") is False:
            return event  # the runtime found no hint of a secret in the raw record
        # The event without its working keys, serialized without copying it: `_tt` is put back at
        # the end (its place among the keys is never seen: strip_working removes it).
        if "_tt" not in event:
            text = orjson.dumps(event)
        else:
            working = event.pop("_tt")
            try:
                text = orjson.dumps(event)
            finally:
                event["_tt"] = working
        if not has_secret_hint(text):
            return event  # one linear scan settles the common case (cheaper than the two below)
        if _VALUE_MATCH is not None and _KEY_STRING_MATCH is not None:
            has_values = _VALUE_MATCH(_UNANCHORED, text, 0, len(text))[0] != _MISS
            if not has_values and _KEY_STRING_MATCH(_UNANCHORED, text, 0, len(text))[0] == _MISS:
                return event
        else:
            has_values = _VALUE_HINT.search(text) is not None
            if not has_values and _KEY_STRING_HINT.search(text) is None:
                return event
        found: list[tuple[str, str]] = []
        for key, value in list(event.items()):
            if key != "_tt":
                event[key] = self._walk(value, key, has_values, found)
        if found and self.collect:
            event.setdefault("_tt", {}).setdefault("secrets", []).extend(found)
        return event

    def _walk(self, value: Any, path: str, values: bool, found: list[tuple[str, str]]) -> Any:
        # Iterative over containers would be faster for deep input, but orjson caps nesting at 1024
        # and the runtime refuses deeper records before they reach here.
        if isinstance(value, str):
            if values:
                return self._scrub_string(value, path, found)
            return _scrub_json_pairs(value) if '"' in value else value
        if isinstance(value, dict):
            # A key's path is built only when needed: for a secret-named key, a string to scrub, or a
            # container to walk. Dicts are changed in place; lists are replaced (see below).
            for k, v in value.items():
                if isinstance(v, str):
                    if is_secret_key(str(k)):
                        sub = f"{path}.{k}"
                        if sub not in _OWN_FIELDS:
                            if v and v != REDACTED:
                                found.append((sub, v))
                                value[k] = REDACTED
                            continue
                    if values and len(v) >= 8 and _value_hint(v):
                        v = value[k] = self._scrub_found(v, f"{path}.{k}", found)
                    if '"' in v:  # JSON text kept in a string: `{"client_secret": "…"}`
                        value[k] = _scrub_json_pairs(v)
                elif isinstance(v, dict):
                    self._walk(v, f"{path}.{k}", values, found)
                elif isinstance(v, list):
                    value[k] = self._walk(v, f"{path}.{k}", values, found)
            self._scrub_keys(value, path, values, found)
            return value
        if isinstance(value, list):
            return [self._walk(v, path, values, found) for v in value]
        return value

    @staticmethod
    def _scrub_keys(d: dict, path: str, values: bool, found: list[tuple[str, str]]) -> None:
        """Keys are strings too: a token logged as a key (a query string parsed into a map, a
        parameter name that becomes a key) is redacted as a value would be; the key keeps its
        value, under a number if the redacted name is taken."""
        for k in [k for k in d if type(k) is str and ('"' in k or (values and len(k) >= 8 and _value_hint(k)))]:
            new = _scrub_json_pairs(k) if '"' in k else k
            if values and len(new) >= 8 and _value_hint(new):
                new = Scrubber._scrub_found(new, f"{path}.<key>", found)
            if new == k:
                continue
            name, n = new, 1
            while name in d:
                n += 1
                name = f"{new}#{n}"
            d[name] = d.pop(k)

    @staticmethod
    def _scrub_string(s: str, path: str, found: list[tuple[str, str]]) -> str:
        if '"' in s:
            s = _scrub_json_pairs(s)
        if len(s) < 8 or not _value_hint(s):
            return s
        return Scrubber._scrub_found(s, path, found)

    @staticmethod
    def _scrub_found(s: str, path: str, found: list[tuple[str, str]]) -> str:
        """A string with a value hint: its tokens collected, every value pattern substituted."""
        for raw in find_tokens(s):
            found.append((path, raw))
        for (pattern, repl), needs in zip(VALUE_PATTERNS, _NEEDS, strict=True):
            if needs is None or any(n in s for n in needs):
                s = pattern.sub(_sub_scheme if repl is None else repl, s)
        return s


def strip_working(event: dict) -> dict:
    """Remove the `_tt` working keys: the last step of every chain."""
    event.pop("_tt", None)
    return event
