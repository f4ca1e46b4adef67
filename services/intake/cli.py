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
from services.intake.importer import ImportReport, RelayMarks, import_file
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
    report = await run_import(
        ServiceSettings(), args.file, site=args.site, source=args.source, progress=True
    )
    for error in report.errors:
        print(error, file=sys.stderr)
    print(
        f"registered {report.registered}, already registered {report.already_registered}, "
        f"refused {report.refused}"
    )
    return 1 if report.errors else 0


async def run_import(
    settings: ServiceSettings, file: Path, *, site: str, source: str, progress: bool = False
) -> ImportReport:
    """Register `file` into intake's database beside the running service."""
    async with tool_database(
        settings.mongodb_url,
        f"{settings.database}_intake",
        store.INDEXES,
        app_name="qloop-intake-import",
    ) as db:
        complaints = store.MongoComplaintStore(
            db, DocumentLocks(), id_filters_only=await pushes_down_only_id(db)
        )
        clock = SystemClock()
        # The intake service publishes what this process registers: it reads the marks the
        # import leaves (importer.py).
        marks = RelayMarks(complaints, clock)
        intake = Intake(
            store=complaints,
            rulebook=Rulebook.load(settings.rules_dir),
            clock=clock,
            metrics=intake_metrics(CollectorRegistry()),
            kick=marks.kick,
        )
        return await import_file(
            intake, file, site=site, source=source, progress=progress, marks=marks
        )
