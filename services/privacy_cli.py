"""Operator commands for personal data (see docs/reliability.md, "Personal data and
retention"). They read each service's own database, through that service's own
`privacy` module, as `qloop audit verify` does.

qloop privacy export --site S --customer ID [--out FILE]
    one JSON document: every contact detail each service holds about the customer
qloop privacy erase --site S --customer ID [--reason TEXT] [--wait SECONDS]
    store an erasure request in intake (its relay publishes customer.erasure_requested
    within QLOOP_RECOVERY_SCAN_SECONDS); with --wait, wait for every service to confirm
qloop privacy status REQUEST_ID
    which services have completed an erasure request
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.common.contracts.privacy import PERSONAL_DATA_HOLDERS
from services.common.settings import ServiceSettings
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import tool_database


def register(subparsers: Any) -> None:
    privacy = subparsers.add_parser("privacy", help="export or erase a customer's contacts")
    commands = privacy.add_subparsers(dest="privacy_command", required=True)
    export = commands.add_parser("export", help="everything held about a customer's contacts")
    export.add_argument("--site", required=True)
    export.add_argument("--customer", required=True, help="the customer id")
    export.add_argument("--out", type=Path, help="write here instead of stdout")
    export.set_defaults(func=lambda args: asyncio.run(_export(args)))
    erase = commands.add_parser("erase", help="erase a customer's contacts in every service")
    erase.add_argument("--site", required=True)
    erase.add_argument("--customer", required=True, help="the customer id")
    erase.add_argument("--reason")
    erase.add_argument("--wait", type=float, default=0.0, help="seconds to wait for every service")
    erase.set_defaults(func=lambda args: asyncio.run(_erase(args)))
    status = commands.add_parser("status", help="which services completed an erasure")
    status.add_argument("request_id")
    status.set_defaults(func=lambda args: asyncio.run(_status(args)))


def _database(settings: ServiceSettings, service: str) -> Any:
    name = f"{settings.database}_{service}"
    return tool_database(settings.mongodb_url, name, {}, app_name=f"qloop-privacy-{service}")


async def export_customer(settings: ServiceSettings, site: str, customer_id: str) -> dict[str, Any]:
    services = {}
    for service in PERSONAL_DATA_HOLDERS:
        module = importlib.import_module(f"services.{service}.privacy")
        async with _database(settings, service) as db:
            services[service] = await module.HOLDER(db, DocumentLocks()).export(site, customer_id)
    return {
        "site": site,
        "customer_id": customer_id,
        "exported_at": datetime.now(UTC).isoformat(),
        "services": services,
    }


async def _export(args: argparse.Namespace) -> int:
    document = await export_customer(ServiceSettings(), args.site, args.customer)
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


async def _erase(args: argparse.Namespace) -> int:
    intake = importlib.import_module("services.intake.privacy")
    settings = ServiceSettings()
    request = intake.ErasureRequest(site=args.site, customer_id=args.customer, reason=args.reason)
    async with _database(settings, "intake") as db:
        request_id = await intake.request_erasure(
            db, request, requested_by=f"cli:{getpass.getuser()}", now=datetime.now(UTC)
        )
        _say(f"erasure requested: {request_id}")
        deadline = time.monotonic() + args.wait
        while True:
            status = await intake.erasure_status(db, request_id)
            if status["done"] or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.5)
    if args.wait:
        _show(status)
        return 0 if status["done"] else 1
    return 0


async def _status(args: argparse.Namespace) -> int:
    intake = importlib.import_module("services.intake.privacy")
    async with _database(ServiceSettings(), "intake") as db:
        status = await intake.erasure_status(db, args.request_id)
    if status is None:
        sys.stderr.write(f"no erasure request {args.request_id!r}\n")
        return 2
    _show(status)
    return 0 if status["done"] else 1


def _show(status: dict[str, Any]) -> None:
    for service, done in status["completed"].items():
        _say(f"{service}: completed {done['completed_at']} erased {done['erased']}")
    for service in status["pending"]:
        _say(f"{service}: pending")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
