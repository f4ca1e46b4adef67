"""`qloop rules check --people FILE`: every department or role a notify or copy list names
is held by some *person* of the site (a directory export), else nobody is told.

The export is the desk's person listing as JSON (`GET /admin/people`: `{"items": [...]}`,
or a bare list of people) or the CSV that `qloop users import` reads (a row per grant:
`id,name,email,phone,language,site,departments,roles`, lists comma-separated inside a
quoted cell). A person holds at a site the departments and roles granted there plus the
roles of those departments (the desk's rule); disabled people hold nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from services.common.rules.schema import SiteRules
from services.common.rules.schema_notifications import TRIGGERS
from services.common.rules.yamltree import Path

Problem = tuple[Path, str]
NOT_NAMES = ("case_owner", "dimension_owner")  # resolved per case or dimension


class PeopleFileError(Exception):
    """The export cannot be read; the message says where and why."""


@dataclass(frozen=True)
class Holding:
    person: str
    site: str
    departments: tuple[str, ...]
    roles: tuple[str, ...]


def read_people(path: FsPath) -> list[Holding]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PeopleFileError(f"{path}: cannot read: {exc}") from None
    if path.suffix.lower() == ".csv":
        return list(_from_csv(text))
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise PeopleFileError(f"{path}: not JSON ({exc}); give a .csv file for CSV") from None
    people = document.get("items") if isinstance(document, dict) else document
    if not isinstance(people, list):
        raise PeopleFileError(f'{path}: expected a list of people or {{"items": [...]}}')
    return list(_from_views(people))


def _from_views(people: list[Any]) -> Iterator[Holding]:
    for person in people:
        if not isinstance(person, dict) or person.get("disabled"):
            continue
        for grant in person.get("grants") or ():
            yield Holding(
                str(person.get("id")),
                str(grant.get("site")),
                tuple(grant.get("departments") or ()),
                tuple(grant.get("roles") or ()),
            )


def _from_csv(text: str) -> Iterator[Holding]:
    def split(cell: str | None) -> tuple[str, ...]:
        return tuple(p.strip() for p in (cell or "").split(",") if p.strip())

    for row in csv.DictReader(io.StringIO(text)):
        if row.get("site"):
            yield Holding(
                row.get("id") or "",
                row["site"],
                split(row.get("departments")),
                split(row.get("roles")),
            )


def held_names(rules: SiteRules, people: Iterable[Holding]) -> set[str]:
    """Every department and role some person holds at the rules' site."""
    roles_of = {d.id: d.roles for d in rules.departments}
    held: set[str] = set()
    for holding in people:
        if holding.site != rules.site.id:
            continue
        held |= {*holding.departments, *holding.roles}
        held |= {role for d in holding.departments for role in roles_of.get(d, ())}
    return held


def unheld_errors(rules: SiteRules, people: Iterable[Holding], shown: str) -> list[Problem]:
    """A problem at each name in a notify or copy list that no person holds."""
    held = held_names(rules, people)
    departments = {d.id for d in rules.departments}
    known = departments | {r.id for r in rules.roles}
    problems = []
    for path, name in named_recipients(rules):
        if name in known and name not in held:
            kind = "department" if name in departments else "role"
            problems.append((path, f"{kind} {name!r} is held by no person in {shown}"))
    return problems


def named_recipients(rules: SiteRules) -> Iterator[tuple[Path, str]]:
    for i, rule in enumerate(rules.routing.rules):
        yield from _each(rule.copy_to or (), ("routing", "rules", i, "copy_to"))
    for i, escalation in enumerate(rules.escalation):
        yield from _each(escalation.notify, ("escalation", i, "notify"))
    workflow = rules.workflow
    if workflow.review_loop:
        yield from _each(workflow.review_loop.notify, ("workflow", "review_loop", "notify"))
    if workflow.recurrence:
        yield from _each(workflow.recurrence.notify, ("workflow", "recurrence", "notify"))
    if rules.notifications is not None:
        for kind in TRIGGERS:
            trigger = rules.notifications.trigger(kind)
            yield from _each(trigger.to or (), ("notifications", kind, "to"))
            yield from _each(trigger.also, ("notifications", kind, "also"))


def _each(names: Iterable[str], path: Path) -> Iterator[tuple[Path, str]]:
    for index, name in enumerate(names):
        if name not in NOT_NAMES:
            yield (*path, index), name
