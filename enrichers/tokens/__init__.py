"""The token enricher: every token an event carries or describes, as `tokentrail.token`, never raw.

Where tokens come from:
- `_tt.authorization`: the raw Authorization header of an access-log line (the access source puts it
  there and nowhere else). Bearer and DPoP credentials are tokens presented to the API (type `access`
  unless the claims say otherwise); SSWS, Token and ApiKey credentials and a bare header value are
  opaque API tokens. Basic, Digest, Negotiate and NTLM are passwords or handshakes: never fingerprinted,
  because a fast hash of a password can be brute-forced.
- `_tt.secrets`: the (path, raw) pairs the scrubber redacted. Any JWT counts (a URL query, a field);
  so do the token parameters it collects from URLs (`access_token=`, `token=`…); other values count
  only under token-named keys (`access_token`, `refresh_token`, `id_token`, `token`…), never under
  password or secret keys.
- Provider events that describe tokens (Okta grants, Entra sign-ins, Google token events): see `_idp`.

When an event has several, `tokentrail.token` describes one, in this order: the Authorization header,
the provider's own token facts, a token in the URL, a token in another field. The fingerprints of
the others go to `tokentrail.token.related_fingerprints`; every fingerprint also goes to `related.hash`.

Each distinct token (by fingerprint) is decoded and verified once; the verdict (fields and the
findings that do not depend on the time of use) is cached, bounded. The raw values are dropped from
`_tt` here: no later step sees them.
"""

# The enricher lives in `enricher.py`: a package's __init__ is not compiled (tokentrail/compiled.py).
from enrichers.tokens.enricher import (
    TOKEN_CHECKS,
    TokenEnricher,
    Verdict,
    credential,
    fingerprint,
    from_secret,
)

__all__ = ["TOKEN_CHECKS", "TokenEnricher", "Verdict", "credential", "fingerprint", "from_secret"]
