"""`qloop survey import-deliveries FILE --site S`: customer activity from an ERP export."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from services.common.clock import SystemClock
from services.common.rulebook import Rulebook, UnknownSite
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import pushes_down_only_id, tool_database
from services.survey import store
from services.survey.importer import import_deliveries
from services.survey.metrics import survey_metrics
from services.survey.service import SurveyService
from services.survey.settings import SurveySettings


def register(subparsers: Any) -> None:
    survey = subparsers.add_parser("survey", help="survey service tools")
    commands = survey.add_subparsers(dest="survey_command", required=True)
    load = commands.add_parser(
        "import-deliveries", help="record deliveries per customer from a CSV file"
    )
    load.add_argument("file", type=Path)
    load.add_argument("--site", required=True)
    load.set_defaults(func=_import)


def _import(args: argparse.Namespace) -> int:
    return asyncio.run(_run_import(args))


async def _run_import(args: argparse.Namespace) -> int:
    settings = SurveySettings()
    async with tool_database(
        settings.mongodb_url,
        f"{settings.database}_survey",
        store.INDEXES,
        app_name="qloop-survey-import",
    ) as db:
        svc = SurveyService(
            store=store.MongoSurveyStore(
                db, DocumentLocks(), id_filters_only=await pushes_down_only_id(db)
            ),
            rulebook=Rulebook.load(settings.rules_dir),
            clock=SystemClock(),
            metrics=survey_metrics(CollectorRegistry()),
            link_secret=b"",  # importing signs no links
            public_url=settings.survey_public_url,
        )
        try:
            report = await import_deliveries(svc, args.file, site=args.site)
        except UnknownSite as exc:
            print(f"qloop survey import-deliveries: {exc}", file=sys.stderr)
            return 2
    for error in report.errors:
        print(error, file=sys.stderr)
    print(
        f"recorded {report.recorded}, already recorded {report.already_recorded}, "
        f"refused {len(report.errors)}"
    )
    return 1 if report.errors else 0
