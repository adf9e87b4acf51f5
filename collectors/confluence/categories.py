"""Confluence audit actions to ECS categorisation, and the user/group fields Elastic derives from them.

Cloud names an action by its English `summary`; Data Center by a stable `actionI18nKey` (its English
`action` rides along). Every row is keyed by both spellings so one table serves the three shapes.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Category(NamedTuple):
    category: tuple[str, ...]
    type: tuple[str, ...]
    outcome: str = "unknown"


_K: Final = "audit.logging.summary."
_IAM_CONF: Final[tuple[str, ...]] = ("iam", "configuration")
# (i18n key, English spellings, categorisation). Rows from Elastic's atlassian_confluence pipeline, plus
# the English spellings of its i18n-only rows and `space.permission.removed` (the pair of `added`).
# Permission rows keep the `admin` type of Elastic's test fixtures (a valid iam type); rows that are
# only `configuration` do not, as ECS allows no `admin` there (Elastic's newer pipeline agrees).
_ROWS: Final[list[tuple[str, tuple[str, ...], Category]]] = [
    (_K + "global.permission.added", ("Global permission added",), Category(_IAM_CONF, ("admin", "creation"))),
    (_K + "global.permission.removed", ("Global permission removed",),
     Category(_IAM_CONF, ("admin", "deletion"))),
    (_K + "space.permission.added", ("Space permission added",), Category(_IAM_CONF, ("admin", "creation"))),
    (_K + "space.permission.removed", ("Space permission removed",), Category(_IAM_CONF, ("admin", "deletion"))),
    (_K + "user.created", ("User created",), Category(("iam",), ("user", "creation"))),
    (_K + "user.renamed", ("User renamed",), Category(("iam",), ("user", "change"))),
    (_K + "user.updated", ("User details updated",), Category(("iam",), ("user", "change"))),
    (_K + "user.deleted", ("User deleted",), Category(("iam",), ("user", "deletion"))),
    (_K + "group.membership.added", ("User added to group",), Category(("iam",), ("group", "change"))),
    (_K + "group.membership.removed", ("User removed from group",), Category(("iam",), ("group", "change"))),
    (_K + "group.created", ("Group created",), Category(("iam",), ("group", "creation"))),
    (_K + "group.deleted", ("Group deleted",), Category(("iam",), ("group", "deletion"))),
    ("atlassian.audit.event.action.audit.config.updated", ("Audit Log configuration updated",),
     Category(("configuration",), ("change",))),
    (_K + "global.settings.edited", ("Global settings changed",), Category(("configuration",), ("change",))),
    ("personal.access.tokens.audit.log.summary.token.created", ("Personal access token created",),
     Category(("iam",), ("admin", "creation"))),
    ("personal.access.tokens.audit.log.summary.token.deleted", ("Personal access token deleted",),
     Category(("iam",), ("admin", "deletion"))),
    (_K + "login.success", (), Category(("authentication",), ("start",), "success")),
    (_K + "login.failed", (), Category(("authentication",), ("info",), "failure")),
    (_K + "user.logout", (), Category(("authentication",), ("end",))),
    (_K + "user.password.changed", (), Category(("iam",), ("user", "change"), "success")),
    (_K + "sudo.auth.successful", (), Category(("authentication",), ("start",), "success")),
    (_K + "sudo.logout", (), Category(("authentication",), ("end",))),
    (_K + "space.created", ("Space created",), Category(("configuration",), ("creation",))),
    (_K + "space.removed", (), Category(("configuration",), ("deletion",))),
    (_K + "space.config.updated", ("Space configuration updated",), Category(("configuration",), ("change",))),
    (_K + "page.created", (), Category(("configuration",), ("creation",))),
    (_K + "page.deleted", (), Category(("configuration",), ("deletion",))),
]
CATEGORIES: Final[dict[str, Category]] = {}
for _key, _english, _cat in _ROWS:
    CATEGORIES[_key] = _cat
    for _name in _english:
        CATEGORIES[_name] = _cat

# Anything else: ECS needs a category, so it comes from the Confluence audit category.
_FALLBACK_BY_AREA: Final = {
    "audit.logging.category.user.management": ("iam",),
    "users and groups": ("iam",),
    "audit.logging.category.permissions": _IAM_CONF,
    "permissions": _IAM_CONF,
}
FALLBACK_CATEGORY: Final[tuple[str, ...]] = ("configuration",)


def categorise(action: str, english: str | None, area_keys: list[str | None]) -> Category:
    """The row for `action` (or its English text); else `info` in the area's category."""
    for name in (action, english):
        if name and name in CATEGORIES:
            return CATEGORIES[name]
    for key in area_keys:
        if key and key.lower() in _FALLBACK_BY_AREA:
            return Category(_FALLBACK_BY_AREA[key.lower()], ("info",))
    return Category(FALLBACK_CATEGORY, ("info",))


def _both(*keys: str) -> frozenset[str]:
    """Each i18n key suffix with its English spellings from `_ROWS`."""
    out = set()
    for suffix in keys:
        for key, english, _ in _ROWS:
            if key.endswith("." + suffix) or key == suffix:
                out.add(key)
                out.update(english)
    return frozenset(out)


# Which affected objects and changed values become ECS user/group fields (Elastic's user script).
GROUP_LIFECYCLE: Final = _both("group.created", "group.deleted")
MEMBERSHIP: Final = _both("group.membership.added", "group.membership.removed")
USER_LIFECYCLE: Final = _both("user.created", "user.deleted", "user.password.changed", "user.updated")
USER_CHANGES: Final = _both("user.created", "user.updated")
USER_RENAMED: Final = _both("user.renamed")
LOGIN: Final = _both("login.success", "login.failed")
# Tokentrail additions: the token owner, and the user a permission was granted to or taken from.
TOKEN_OWNER: Final = _both("token.created", "token.deleted")
PERMISSION: Final = _both("global.permission.added", "global.permission.removed", "space.permission.added",
                   "space.permission.removed")
