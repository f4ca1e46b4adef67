"""`qloop intake import FILE --site S`: register a complaint history in bulk."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from services.common.clock import SystemClock
from services.common.rulebook import Rulebook
from services.common.settings import ServiceSettings
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import pushes_down_only_id, tool_database
from services.intake import store
from services.intake.handlers import Intake
from services.intake.importer import import_file
from services.intake.metrics import intake_metrics


def register(subparsers: Any) -> None:
    intake = subparsers.add_parser("intake", help="intake service tools")
    commands = intake.add_subparsers(dest="intake_command", required=True)
    load = commands.add_parser("import", help="register complaints from CSV or JSONL")
    load.add_argument("file", type=Path)
    load.add_argument("--site", required=True)
    load.add_argument(
        "--source",
        default="import",
        help="who the history comes from (part of the idempotency key)",
    )
    load.set_defaults(func=_import)


def _import(args: argparse.Namespace) -> int:
    return asyncio.run(_run_import(args))


async def _run_import(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    async with tool_database(
        settings.mongodb_url,
        f"{settings.database}_intake",
        store.INDEXES,
        app_name="qloop-intake-import",
    ) as db:
        intake = Intake(
            store=store.MongoComplaintStore(
                db, DocumentLocks(), id_filters_only=await pushes_down_only_id(db)
            ),
            rulebook=Rulebook.load(settings.rules_dir),
            clock=SystemClock(),
            metrics=intake_metrics(CollectorRegistry()),
        )
        report = await import_file(intake, args.file, site=args.site, source=args.source)
    for error in report.errors:
        print(error, file=sys.stderr)
    print(
        f"registered {report.registered}, already registered {report.already_registered}, "
        f"refused {len(report.errors)}"
    )
    return 1 if report.errors else 0
