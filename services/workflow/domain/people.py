"""Who may act and who is told: roles, departments and `case_owner` from the rule file."""

from __future__ import annotations

from collections.abc import Iterable

from services.common.rules import SiteRules
from services.workflow.domain.case import Case
from services.workflow.domain.commands import Refused

CASE_OWNER = "case_owner"


def identities(rules: SiteRules, roles: Iterable[str]) -> set[str]:
    """The caller's roles plus every department that holds one of them."""
    held = set(roles)
    return held | {d.id for d in rules.departments if held & set(d.roles)}


def ensure_allowed(
    rules: SiteRules, case: Case, actors: Iterable[str], roles: Iterable[str], doing: str
) -> None:
    allowed = tuple(actors)
    mine = identities(rules, roles)
    if CASE_OWNER in allowed and case.owner_department in mine:
        return
    if mine & set(allowed):
        return
    raise Refused(
        "not_allowed",
        f"{doing} needs one of the roles {', '.join(allowed)}; "
        f"the caller holds {', '.join(sorted(roles)) or 'none'}",
    )


def recipients(rules: SiteRules, case: Case, notify: Iterable[str]) -> tuple[str, ...]:
    """Departments to tell: `case_owner` is the owning department, a department is itself,
    a role is every department that holds it."""
    out: dict[str, None] = {}
    known = {d.id for d in rules.departments}
    for name in notify:
        if name == CASE_OWNER:
            out[case.owner_department] = None
        elif name in known:
            out[name] = None
        else:
            out.update(dict.fromkeys(d.id for d in rules.departments_with_role(name)))
    return tuple(out)
