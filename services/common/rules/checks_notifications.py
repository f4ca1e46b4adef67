"""Checks on who is told: every recipient a department or role of the site, and every
role named held by some department (else nobody would receive it)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from services.common.rules.schema import SiteRules
from services.common.rules.schema_notifications import TRIGGERS
from services.common.rules.yamltree import Path

Problem = tuple[Path, str]
CASE_OWNER = "case_owner"


def notification_errors(r: SiteRules) -> Iterator[Problem]:
    for i, rule in enumerate(r.routing.rules):
        yield from _held(r, rule.copy_to or (), ("routing", "rules", i, "copy_to"))
    if r.notifications is None:
        return
    departments = {d.id for d in r.departments}
    for name in r.notifications.departments:
        if name not in departments:
            known = ", ".join(sorted(departments))
            yield ("notifications", "departments", name), f"unknown department {name!r} ({known})"
    for kind in TRIGGERS:
        trigger = r.notifications.trigger(kind)
        yield from _held(r, trigger.to or (), ("notifications", kind, "to"))
        yield from _held(r, trigger.also, ("notifications", kind, "also"))


def _held(r: SiteRules, names: Iterable[str], path: Path) -> Iterator[Problem]:
    departments = {d.id for d in r.departments}
    held = {role for d in r.departments for role in d.roles}
    roles = {x.id for x in r.roles}
    for index, name in enumerate(names):
        if name in departments or name in held or name == CASE_OWNER:
            continue
        if name in roles:
            yield (*path, index), f"role {name!r} is held by no department: nobody is told"
        else:
            known = ", ".join(sorted(departments | roles))
            yield (*path, index), f"unknown department or role {name!r} (known: {known})"
