"""`qloop dlq list|show|replay`: see services/common/deadletters.py."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from services.common import deadletters


def register(subparsers: Any) -> None:
    dlq = subparsers.add_parser("dlq", help="dead-lettered messages: list, show, replay")
    commands = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = commands.add_parser("list", help="dead-letter queues and their depth")
    listing.add_argument(
        "--management-url",
        help="RabbitMQ management URL (default: from QLOOP_AMQP_URL, port 15672)",
    )
    listing.set_defaults(func=_list)
    show = commands.add_parser("show", help="what is in one dead-letter queue, and why")
    show.add_argument("queue", help="e.g. intake.submissions.dead")
    show.add_argument("--limit", type=int, default=50)
    show.add_argument("--body", action="store_true", help="also print bodies (may hold PII)")
    show.set_defaults(func=_show)
    again = commands.add_parser("replay", help="send messages back to their queue")
    again.add_argument("queue")
    chosen = again.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--id", action="append", dest="ids", help="message id (repeatable)")
    chosen.add_argument("--all", action="store_true")
    again.set_defaults(func=_replay)


def _amqp_url() -> str:
    url = os.environ.get("QLOOP_AMQP_URL")
    if not url:
        print("qloop dlq: set QLOOP_AMQP_URL", file=sys.stderr)
        raise SystemExit(2)
    return url


def _list(args: argparse.Namespace) -> int:
    url = args.management_url or deadletters.management_url_from(_amqp_url())
    for name, depth in deadletters.list_dead_queues(url):
        print(f"{depth:8d}  {name}")
    return 0


def _show(args: argparse.Namespace) -> int:
    letters = asyncio.run(deadletters.peek(_amqp_url(), args.queue, args.limit))
    for letter in letters:
        print(
            f"{letter.message_id}  {letter.event_type or '?'}  {letter.error or '-'}  "
            f"at {letter.dead_lettered_at or '?'}  from {letter.queue}"
        )
        print(f"    reason: {letter.reason}")
        if letter.fields:
            print(f"    fields: {letter.fields}")
        if args.body:
            print(f"    body: {letter.body[:2000]!r}")
    print(f"{len(letters)} message(s)")
    return 0


def _replay(args: argparse.Namespace) -> int:
    ids = None if args.all else set(args.ids)
    done = asyncio.run(deadletters.replay(_amqp_url(), args.queue, ids=ids))
    print(f"replayed {len(done)} message(s)")
    return 0 if args.all or len(done) == len(ids or ()) else 1
