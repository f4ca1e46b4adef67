"""`qloop broker users FILE`: create the broker users of services/common/broker_users.py.

    qloop broker users deploy/rabbitmq/users.yaml                  apply it
    qloop broker users FILE --print                               the permissions, unapplied

The management URL (an administrator's) comes from --management-url, else
QLOOP_RABBITMQ_MANAGEMENT_URL, else QLOOP_AMQP_URL on port 15672.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from services.common import broker_users
from services.common.deadletters import management_url_from


def register(subparsers: Any) -> None:
    broker = subparsers.add_parser("broker", help="RabbitMQ users and permissions")
    commands = broker.add_subparsers(dest="broker_command", required=True)
    users = commands.add_parser("users", help="create the users a file declares")
    users.add_argument("file", type=Path)
    users.add_argument("--management-url", help="http://ADMIN:PASSWORD@HOST:15672/")
    users.add_argument("--print", action="store_true", help="show the permissions only")
    users.set_defaults(func=_users)


def _users(args: argparse.Namespace) -> int:
    try:
        declared = broker_users.load(args.file)
    except ValueError as exc:
        _say(f"qloop broker users: {exc}", sys.stderr)
        return 1
    if args.print:
        for grant in broker_users.permissions(declared):
            topics = grant.topic_write or "any"
            _say(
                f"{grant.user}: configure {grant.configure} write {grant.write} "
                f"read {grant.read} topics {topics}"
            )
        return 0
    url = args.management_url or os.environ.get("QLOOP_RABBITMQ_MANAGEMENT_URL")
    if not url and os.environ.get("QLOOP_AMQP_URL"):
        url = management_url_from(os.environ["QLOOP_AMQP_URL"])
    if not url:
        _say("qloop broker users: give --management-url", sys.stderr)
        return 2
    try:
        changes = broker_users.apply(declared, url, os.environ)
    except (ValueError, broker_users.BrokerRefused) as exc:
        _say(f"qloop broker users: {exc}", sys.stderr)
        return 1
    for line in changes:
        _say(line)
    return 0


def _say(line: str, to: TextIO | None = None) -> None:
    (to or sys.stdout).write(line + "\n")
