"""`qloop users`: the directory of people, straight on the desk's database.

    qloop users add ID --name N --email E [--phone P] [--language zh]
                   [--grant SITE:DEPT,DEPT:ROLE,ROLE ...] [--password-stdin]
    qloop users list | show ID | disable ID
    qloop users set-password ID            reads the password from stdin (or asks)
    qloop users grant ID SITE [--departments a,b] [--roles x,y]
    qloop users revoke ID SITE
    qloop users import FILE.csv            columns: id,name,email,phone,language,site,
                                           departments,roles[,password]; a row per grant
    qloop users audit                      sign-ins, failures, lockouts (oldest first)

Departments and roles are checked against the site's rule file (QLOOP_RULES_DIR).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import getpass
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from services.common.clock import SystemClock
from services.common.rulebook import Rulebook
from services.common.storage.mongo import tool_database
from services.desk import store
from services.desk.domain import DirectoryError, Grant, Person
from services.desk.handlers import Desk, NewPerson
from services.desk.passwords import Passwords
from services.desk.settings import DeskSettings

Command = Callable[[Desk, argparse.Namespace], Coroutine[Any, Any, int]]


def register(subparsers: Any) -> None:
    users = subparsers.add_parser("users", help="people: directory, grants, passwords")
    commands = users.add_subparsers(dest="users_command", required=True)
    add = commands.add_parser("add", help="add a person")
    add.add_argument("id")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--phone")
    add.add_argument("--language", default="en")
    add.add_argument("--grant", action="append", default=[], help="SITE:DEPTS:ROLES")
    add.add_argument("--password-stdin", action="store_true")
    _on(add, _add)
    _on(commands.add_parser("list", help="everyone"), _list)
    for name, run in (("show", _show), ("disable", _disable), ("set-password", _password)):
        one = commands.add_parser(name)
        one.add_argument("id")
        _on(one, run)
    grant = commands.add_parser("grant", help="set a person's departments and roles at a site")
    grant.add_argument("id")
    grant.add_argument("site")
    grant.add_argument("--departments", default="")
    grant.add_argument("--roles", default="")
    _on(grant, _grant)
    revoke = commands.add_parser("revoke", help="remove a person's grant at a site")
    revoke.add_argument("id")
    revoke.add_argument("site")
    _on(revoke, _revoke)
    imported = commands.add_parser("import", help="people from a CSV file")
    imported.add_argument("file", type=Path)
    _on(imported, _import)
    _on(commands.add_parser("audit", help="the sign-in audit records"), _audit)


def _on(parser: argparse.ArgumentParser, command: Command) -> None:
    parser.set_defaults(func=lambda args: asyncio.run(_with_desk(command, args)))


@asynccontextmanager
async def desk_on_database(settings: DeskSettings) -> AsyncIterator[Desk]:
    name = f"{settings.database}_desk"
    async with tool_database(settings.mongodb_url, name, {}, app_name="qloop-users") as db:
        yield Desk(
            store=store.MongoDirectory(db),
            rulebook=Rulebook.load(settings.rules_dir),
            clock=SystemClock(),
            passwords=Passwords(),
            policy=settings.policy(),
            issuer=settings.token_issuer,
            audience=settings.token_audience,
        )


async def _with_desk(command: Command, args: argparse.Namespace) -> int:
    async with desk_on_database(DeskSettings()) as desk:
        try:
            return await command(desk, args)
        except (DirectoryError, LookupError, ValueError) as exc:
            print(f"qloop users: {str(exc).strip(chr(39))}", file=sys.stderr)
            return 1


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def parse_grant(text: str) -> Grant:
    """`SITE:DEPT,DEPT:ROLE,ROLE` (either list may be empty)."""
    site, _, rest = text.partition(":")
    departments, _, roles = rest.partition(":")
    return Grant(site=site, departments=_split(departments), roles=_split(roles))


def _operator() -> str:
    """Who changes the directory from the command line, for the audit records."""
    return f"cli:{getpass.getuser()}"


def _read_password(prompt: bool) -> str:
    if prompt and sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")


def _show_person(person: Person) -> None:
    print(json.dumps(person.view(), ensure_ascii=False, indent=2))


async def _add(desk: Desk, args: argparse.Namespace) -> int:
    password = _read_password(True) if args.password_stdin else None
    new = NewPerson(
        id=args.id,
        name=args.name,
        email=args.email,
        phone=args.phone,
        language=args.language,
        grants=tuple(parse_grant(g) for g in args.grant),
        password=password,
    )
    _show_person(await desk.add_person(new, by=_operator()))
    return 0


async def _list(desk: Desk, args: argparse.Namespace) -> int:
    for p in await desk.store.people():
        state = " (disabled)" if p.disabled else ""
        grants = "; ".join(f"{g.site}: {','.join((*g.departments, *g.roles))}" for g in p.grants)
        print(f"{p.id:<20} {p.name:<24} {p.email:<30} {grants}{state}")
    return 0


async def _show(desk: Desk, args: argparse.Namespace) -> int:
    _show_person(await desk.person(args.id))
    return 0


async def _disable(desk: Desk, args: argparse.Namespace) -> int:
    await desk.disable(args.id, by=_operator())
    print(f"disabled {args.id}")
    return 0


async def _password(desk: Desk, args: argparse.Namespace) -> int:
    await desk.set_password(args.id, _read_password(True), by=_operator())
    print(f"password set for {args.id}")
    return 0


async def _grant(desk: Desk, args: argparse.Namespace) -> int:
    grant = Grant(site=args.site, departments=_split(args.departments), roles=_split(args.roles))
    _show_person(await desk.grant(args.id, grant, by=_operator()))
    return 0


async def _revoke(desk: Desk, args: argparse.Namespace) -> int:
    _show_person(await desk.revoke(args.id, args.site, by=_operator()))
    return 0


def people_of_csv(path: Path) -> list[NewPerson]:
    """One `NewPerson` per id; each row adds a grant (a site's departments and roles)."""
    people: dict[str, NewPerson] = {}
    with path.open(newline="", encoding="utf-8-sig") as rows:
        for line, row in enumerate(csv.DictReader(rows), start=2):
            person_id = (row.get("id") or "").strip()
            if not person_id:
                raise ValueError(f"{path}:{line}: no id")
            grant = Grant(
                site=(row.get("site") or "").strip(),
                departments=_split(row.get("departments") or ""),
                roles=_split(row.get("roles") or ""),
            )
            known = people.get(person_id)
            if known is not None:
                people[person_id] = dataclasses.replace(known, grants=(*known.grants, grant))
                continue
            people[person_id] = NewPerson(
                id=person_id,
                name=(row.get("name") or "").strip(),
                email=(row.get("email") or "").strip(),
                phone=(row.get("phone") or "").strip() or None,
                language=(row.get("language") or "").strip() or "en",
                grants=(grant,) if grant.site else (),
                password=(row.get("password") or "") or None,
            )
    return list(people.values())


async def _import(desk: Desk, args: argparse.Namespace) -> int:
    added, refused = 0, 0
    for new in people_of_csv(args.file):
        try:
            await desk.add_person(new, by=_operator())
            added += 1
        except (DirectoryError, ValueError) as exc:
            refused += 1
            print(f"{new.id}: {exc}", file=sys.stderr)
    print(f"imported {added} people, {refused} refused")
    return 1 if refused else 0


async def _audit(desk: Desk, args: argparse.Namespace) -> int:
    for entry in await desk.store.audit_entries():
        detail = {k: v for k, v in entry.items() if k not in ("at", "kind", "login")}
        print(f"{entry['at']:%Y-%m-%d %H:%M:%S} {entry['kind']:<24} {entry['login']} {detail}")
    return 0
