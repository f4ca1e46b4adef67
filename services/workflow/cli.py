"""Operator commands on case records, read straight from the workflow's database.

qloop case history CASE_ID     who did what, when, why, under which rules; chain check
qloop audit verify [--site S]  verify every case's hash-chained history (exit 1 if not)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from services.common.settings import ServiceSettings
from services.common.storage.mongo import tool_database
from services.workflow import store
from services.workflow.domain.case import HistoryEntry
from services.workflow.domain.history import first_broken


def register(subparsers: Any) -> None:
    case = subparsers.add_parser("case", help="one case's records")
    commands = case.add_subparsers(dest="case_command", required=True)
    history = commands.add_parser("history", help="a case's history, chain verified")
    history.add_argument("case_id", help="e.g. sz:SZ-2026-000001")
    history.set_defaults(func=lambda args: asyncio.run(_history(args)))
    audit = subparsers.add_parser("audit", help="tamper checks")
    audits = audit.add_subparsers(dest="audit_command", required=True)
    verify = audits.add_parser("verify", help="verify every case's hash-chained history")
    verify.add_argument("--site")
    verify.set_defaults(func=lambda args: asyncio.run(_verify(args)))


def _entries(document: dict[str, Any]) -> list[HistoryEntry]:
    return [HistoryEntry.model_validate(h) for h in document.get("history") or []]


async def _history(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    name = f"{settings.database}_workflow"
    async with tool_database(settings.mongodb_url, name, {}, app_name="qloop-case") as db:
        document = await db[store.CASES].find_one({"_id": args.case_id}, {"history": 1})
    if document is None:
        print(f"no case {args.case_id!r}", file=sys.stderr)
        return 2
    entries = _entries(document)
    for e in entries:
        move = f" {e.from_stage} -> {e.to_stage}" if e.to_stage else ""
        why = f"  because: {e.reason}" if e.reason else ""
        print(
            f"{e.seq:3d} {e.at} {e.actor} [{','.join(e.roles)}] {e.what}{move}"
            f"  (rules {e.rules_version}){why}"
        )
    broken = first_broken(entries)
    print("chain: intact" if broken is None else f"chain: BROKEN at entry {broken + 1}")
    return 0 if broken is None else 1


async def _verify(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    name = f"{settings.database}_workflow"
    checked, broken = 0, []
    async with tool_database(settings.mongodb_url, name, {}, app_name="qloop-audit") as db:
        query = {"site": args.site} if args.site else {}
        async for document in db[store.CASES].find(query, {"history": 1}):
            checked += 1
            at = first_broken(_entries(document))
            if at is not None:
                broken.append(f"{document['_id']}: entry {at + 1}")
    for line in broken:
        print(f"tampered: {line}", file=sys.stderr)
    print(f"verified {checked} case histories, {len(broken)} broken")
    return 1 if broken else 0
