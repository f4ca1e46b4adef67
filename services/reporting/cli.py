"""`qloop reporting rebuild`: rebuild the read models from the event store."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from services.common.rulebook import Rulebook
from services.common.settings import ServiceSettings
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import pushes_down_only_id, tool_database
from services.reporting import store
from services.reporting.rebuild import rebuild
from services.reporting.search_store import SearchIndex
from services.reporting.settings import ReportingSettings
from services.reporting.sites import RuleSites


def register(subparsers: Any) -> None:
    reporting = subparsers.add_parser("reporting", help="reporting service tools")
    commands = reporting.add_subparsers(dest="reporting_command", required=True)
    again = commands.add_parser(
        "rebuild", help="rebuild every read model from the stored events (service stopped)"
    )
    again.add_argument("--quiet", action="store_true", help="no progress bar")
    again.set_defaults(func=_rebuild)


def _rebuild(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    async with tool_database(
        settings.mongodb_url,
        f"{settings.database}_reporting",
        store.INDEXES,
        app_name="qloop-reporting-rebuild",
    ) as db:
        done = await rebuild(
            store.MongoReadModels(
                db, DocumentLocks(), id_filters_only=await pushes_down_only_id(db)
            ),
            sites=RuleSites(Rulebook.load(settings.rules_dir)),
            policy=ReportingSettings().policy(),
            progress=not args.quiet,
            search=SearchIndex(db),
        )
    print(f"rebuilt from {done.events} events: {done.entities} entities, {done.buckets} buckets")
    return 0
