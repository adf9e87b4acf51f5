"""`attributes.action` to ECS category, type and outcome.

Atlassian publishes no stable list of action ids (`GET /admin/v1/orgs/{orgId}/event-actions` returns
the org's own), so we categorise by the words of the id (`user_added_to_group` -> user, added, to,
group), first rule that matches wins. README.md has the table. The org audit log records what
happened, so an action is a success unless its words say it failed (or was only attempted).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

Categorisation = tuple[list[str], list[str]]

_WORDS: Final = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_FAILED: Final = frozenset({"failed", "failure", "fail", "denied", "blocked", "rejected", "invalid"})
_ATTEMPT: Final = frozenset({"attempt", "attempted"})
_CREDENTIAL: Final = frozenset({"token", "tokens", "apitoken", "key", "keys", "apikey", "credential", "credentials", "secret"})
_USER: Final = frozenset({"user", "users", "account", "accounts", "member", "members", "admin", "admins", "role",
                   "roles", "access", "invite", "invitation", "password", "email", "mfa"})
_CONSENT: Final = frozenset({"consent", "consented", "authorized", "authorised", "deauthorized"})
_SETTINGS: Final = frozenset({"policy", "policies", "setting", "settings", "rule", "rules", "config", "configuration"})
_CONFIG: Final = frozenset({"policy", "policies", "domain", "domains", "sso", "saml", "scim", "idp", "directory",
                     "setting", "settings", "configuration", "config", "rule", "rules", "app", "apps",
                     "integration", "site", "sites", "product", "products", "org", "organization", "workspace"})


def words(action: str) -> list[str]:
    """`user_added_to_group`, `userAddedToGroup` or `user.added-to.group` to lowercase words."""
    return [w.lower() for w in _WORDS.findall(action)]


def _verb(w: set[str], creation: set[str], deletion: set[str]) -> str:
    if w & creation:
        return "creation"
    if w & deletion:
        return "deletion"
    return "change"


def _authentication(w: set[str], joined: str) -> Categorisation | None:
    """Log-in / log-out actions, unless they are about a setting (`sign_in_policy_updated`)."""
    if w & _SETTINGS:
        return None
    if "login" in w or "signin" in w or re.search(r"(logged|signed|log|sign)_in\b", joined):
        return ["authentication"], ["start"]
    if "logout" in w or "signout" in w or re.search(r"(logged|signed|log|sign)_out\b", joined):
        return ["authentication"], ["end"]
    return None


def categorize(action: str) -> Categorisation:
    """ECS (category, type) lists for an org audit action id (fresh lists: callers may mutate them)."""
    categories, types = _cached(action)
    return list(categories), list(types)


@lru_cache(maxsize=2048)
def _cached(action: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # An org has a few hundred action ids: the word rules run once per id.
    categories, types = _categorize(action)
    return tuple(categories), tuple(types)


def _categorize(action: str) -> Categorisation:
    ws = words(action)
    w = set(ws)
    auth = _authentication(w, "_".join(ws))
    if auth:
        return auth
    if w & _CREDENTIAL:
        return ["iam"], [_verb(w, {"created", "create", "generated", "added"}, {"deleted", "revoked", "removed"})]
    if w & _CONSENT:
        # A person granting an app access to their data (OAuth 3LO consent) is an access change.
        return ["iam"], [_verb(w, set(), {"deauthorized", "revoked", "removed"})]
    if "group" in w or "groups" in w:
        if w & {"to", "from", "member", "members", "membership"}:
            return ["iam"], ["group", "change"]
        return ["iam"], ["group", _verb(w, {"created", "create"}, {"deleted", "delete"})]
    if w & _USER:
        return ["iam"], ["user", _verb(w, {"created", "create", "invited"}, {"deleted", "delete"})]
    if w & _CONFIG:
        return ["configuration"], [_verb(w, {"created", "create", "added", "installed"},
                                         {"deleted", "delete", "removed", "uninstalled"})]
    return ["configuration"], ["info"]


@lru_cache(maxsize=2048)
def outcome(action: str) -> str:
    """failure when the action's words say so, unknown for attempts, else success."""
    w = set(words(action))
    if w & _FAILED:
        return "failure"
    if w & _ATTEMPT:
        return "unknown"
    return "success"
