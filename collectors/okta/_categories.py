"""`eventType` to ECS `event.category` / `event.type`.

Elastic hand-codes a few dozen types in its pipeline and generates a large table for the rest; we keep
exact entries where Elastic has them (so both agree) and rules by prefix and verb for the families,
so a new Okta event type in a known family is still categorised. Anything else: `iam` / `info`, since
the System Log is an identity provider's record of identity and access activity.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

Categorisation = tuple[list[str], list[str]]

EXACT: Final[dict[str, Categorisation]] = {
    "user.session.start": (["authentication", "session"], ["start", "info"]),
    "user.session.end": (["authentication", "session"], ["end", "info"]),
    "user.session.expire": (["session"], ["end"]),
    "policy.evaluate_sign_on": (["authentication"], ["info"]),
    "group.user_membership.add": (["iam"], ["group", "change"]),
    "group.user_membership.remove": (["iam"], ["group", "change"]),
    "group.lifecycle.create": (["iam"], ["group", "creation"]),
    "group.lifecycle.delete": (["iam"], ["group", "deletion"]),
    "user.lifecycle.create": (["iam"], ["user", "creation"]),
    "user.lifecycle.delete.initiated": (["iam"], ["user", "deletion"]),
    "user.lifecycle.delete.completed": (["iam"], ["user", "deletion"]),
    "system.api_token.create": (["iam"], ["creation"]),
    "system.api_token.revoke": (["iam"], ["deletion"]),
    "security.request.blocked": (["network"], ["denied"]),
    "security.threat.detected": (["intrusion_detection"], ["info"]),
}

# (prefix, categories, fixed types or None to derive the type from the verb at the end), longest first.
PREFIXES: Final[list[tuple[str, list[str], list[str] | None]]] = [
    ("app.oauth2.", ["authentication"], ["info"]),
    ("user.authentication.", ["authentication"], ["info"]),
    ("user.session.", ["authentication", "session"], ["info"]),
    ("user.lifecycle.", ["iam"], ["user", "change"]),
    ("user.account.", ["iam"], ["user", "change"]),
    ("user.mfa.", ["iam"], ["user", "change"]),
    ("user.credential.", ["iam"], ["user", "change"]),
    ("application.user_membership.", ["iam"], ["user", "change"]),
    ("group.", ["iam"], ["group", "change"]),
    ("application.lifecycle.", ["configuration"], None),
    ("application.policy.", ["configuration"], None),
    ("policy.lifecycle.", ["configuration"], None),
    ("policy.rule.", ["configuration"], None),
    ("zone.", ["configuration"], None),
    ("system.idp.lifecycle.", ["configuration"], None),
    ("oauth2.as.", ["configuration"], None),
]

_CREATE: Final = {"create", "add"}
_DELETE: Final = {"delete", "remove"}
DEFAULT: Final[Categorisation] = (["iam"], ["info"])


def _verb_type(event_type: str) -> str:
    last = event_type.rsplit(".", 1)[-1]
    if last in _CREATE:
        return "creation"
    if last in _DELETE:
        return "deletion"
    return "change"


def categorize(event_type: str) -> Categorisation:
    """ECS (category, type) lists for an Okta `eventType` (fresh lists: callers may mutate them)."""
    categories, types = _cached(event_type)
    return list(categories), list(types)


@lru_cache(maxsize=2048)
def _cached(event_type: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # A few hundred event types in all: the prefix scan runs once per type.
    categories, types = _categorize(event_type)
    return tuple(categories), tuple(types)


def _categorize(event_type: str) -> Categorisation:
    hit = EXACT.get(event_type)
    if hit:
        return list(hit[0]), list(hit[1])
    for prefix, categories, types in PREFIXES:
        if event_type.startswith(prefix):
            return list(categories), list(types) if types else [_verb_type(event_type)]
    return list(DEFAULT[0]), list(DEFAULT[1])
