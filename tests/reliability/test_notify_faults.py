"""Notify under faults, on the real broker, database and SMTP server (aiosmtpd):

- the notify process SIGKILLed mid-batch, while the SMTP server holds a message it has
  taken but not yet answered (SMTP cannot tell the sender it arrived): after a restart
  every notification is delivered, none lost; the one cut off arrives twice, and is
  counted and recorded as a resend; nothing else is doubled;
- the SMTP server down, then back: nothing lost, nothing doubled, nothing counted as
  resent (time moves with the injected clock, past the retry backoff).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from aiosmtpd.controller import Controller
from pymongo import AsyncMongoClient

from services.common.clock import ManualClock
from services.common.contracts.envelope import Envelope
from services.common.contracts.registry import to_json
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.rulebook import Rulebook
from services.common.settings import ServiceSettings
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from tests.support.fake_desk import fake_desk
from tests.support.processes import ROOT, ServiceProcess, free_port
from tests.support.services import running
from tests.support.site_rules import rules_as
from tests.support.waiting import eventually
from tests.unit.notify.test_notify_email import START, registered_envelope

pytestmark = pytest.mark.reliability
KEY = "notify-fault-key"
COMPLAINTS = 8  # x 3 people: 24 mails
HELD = 5  # the server takes the 5th mail and holds its answer until the kill


class HoldingCatcher:
    """Records each mail as it arrives; the `hold_at`-th is recorded, then its answer is
    held back until `release` (the sender cannot know the server has it)."""

    def __init__(self, hold_at: int | None = None) -> None:
        self.ids: list[str] = []
        self.hold_at = hold_at
        self.holding = threading.Event()
        self.release: asyncio.Event | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.ids.append(str(mail["X-Qloop-Notification"]))
        if len(self.ids) == self.hold_at:
            self.release = asyncio.Event()
            self.holding.set()
            await self.release.wait()
        return "250 OK"


@pytest.fixture
def people(site: str) -> list[dict[str, Any]]:
    def grant(department: str, role: str) -> list[dict[str, Any]]:
        return [{"site": site, "departments": [department], "roles": [role]}]

    return [
        {"id": "qe", "name": "Li Qiang", "email": "qe@abc.test", "language": "zh",
         "grants": grant("quality", "quality")},
        {"id": "mgr", "name": "Ann Manager", "email": "mgr@abc.test", "language": "en",
         "grants": grant("management", "manager")},
        {"id": "gm", "name": "Wang GM", "email": "gm@abc.test", "language": "zh",
         "grants": grant("management", "general_manager")},
    ]  # fmt: skip


@pytest.fixture
def desk(people: list[dict[str, Any]]) -> Iterator[str]:
    with fake_desk(people, KEY) as url:
        yield url


@pytest.fixture
def rules_dir(tmp_path: Path, site: str) -> Path:
    return rules_as(tmp_path, site)


@pytest.fixture
async def notify_db(settings: ServiceSettings) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url)
    yield client[f"{settings.database}_notify"]
    await client.drop_database(f"{settings.database}_notify")
    await client.close()


def complaints(site: str) -> list[Envelope[Any]]:
    base = registered_envelope(Rulebook.load(ROOT / "rules"))
    return [base.model_copy(update={"id": uuid.uuid4(), "site": site}) for _ in range(COMPLAINTS)]


async def publish(amqp_url: str, envelopes: list[Envelope[Any]]) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        exchange = await (await connection.channel()).get_exchange(EVENTS_EXCHANGE)
        for envelope in envelopes:
            message = aio_pika.Message(to_json(envelope), message_id=str(envelope.id))
            await exchange.publish(message, routing_key=f"{envelope.site}.{envelope.type}")


def expected_ids(envelopes: list[Envelope[Any]]) -> set[str]:
    return {f"{e.id}|{person}|email" for e in envelopes for person in ("qe", "mgr", "gm")}


def resent_counted(metrics: str) -> float:
    lines = [line for line in metrics.splitlines() if line.startswith("qloop_notifications_total")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if 'outcome="resent"' in line)


async def test_sigkill_mid_batch_loses_nothing_and_counts_the_one_resent(
    settings: ServiceSettings, site: str, tmp_path: Path, desk: str, rules_dir: Path,
    notify_db: Any,
) -> None:  # fmt: skip
    catcher = HoldingCatcher(hold_at=HELD)
    smtp = Controller(catcher, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
        "QLOOP_DATABASE": settings.database,
        "QLOOP_QUEUE_PREFIX": settings.queue_prefix,
        "QLOOP_RULES_DIR": str(rules_dir),
        "QLOOP_NOTIFY_DESK_URL": desk,
        "QLOOP_NOTIFY_DESK_API_KEY": KEY,
        "QLOOP_NOTIFY_SMTP_PORT": str(smtp.port),
        "QLOOP_NOTIFY_SEND_SECONDS": "0.2",
    }
    notify = ServiceProcess("notify", env, tmp_path / "notify.log")
    envelopes = complaints(site)
    try:
        notify.start()
        await publish(settings.amqp_url, envelopes)
        assert await asyncio.to_thread(catcher.holding.wait, 60), notify.log.read_text()
        held = catcher.ids[-1]
        notify.kill()  # mid-batch: the held mail is taken, its outcome never recorded
        assert catcher.release is not None
        smtp.loop.call_soon_threadsafe(catcher.release.set)
        notify.start()

        async def all_delivered() -> bool:
            done = set(catcher.ids) >= expected_ids(envelopes)
            return done and await notify_db["notify_queue"].find_one({}) is None

        await eventually(all_delivered, timeout=60)
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"http://127.0.0.1:{notify.port}/metrics")).text
    finally:
        notify.stop()
        smtp.stop()
    copies = Counter(catcher.ids)
    assert set(copies) == expected_ids(envelopes)  # none lost, nothing foreign
    assert {i for i, n in copies.items() if n > 1} == {held}  # only where SMTP cannot tell
    assert copies[held] == 2
    assert resent_counted(metrics) == 1
    record = await notify_db["notifications"].find_one({"_id": held})
    assert record["status"] == "sent" and record["resends"] == 1
    others = await notify_db["notifications"].count_documents({"resends": {"$gt": 0}})
    assert others == 1


async def test_smtp_down_then_back_loses_nothing_and_doubles_nothing(
    settings: ServiceSettings, site: str, desk: str, rules_dir: Path, notify_db: Any
) -> None:
    port = free_port()  # nothing listens there yet: the server is down
    clock = ManualClock(START)
    configured = NotifySettings(
        **settings.model_dump(exclude={"rules_dir"}),
        rules_dir=rules_dir,
        notify_desk_url=desk,
        notify_desk_api_key=KEY,
        notify_smtp_port=port,
        notify_send_seconds=0.1,
    )
    envelopes = complaints(site)[:2]
    catcher = HoldingCatcher()
    smtp = Controller(catcher, hostname="127.0.0.1", port=port)
    async with running(create_app(configured, clock=clock)) as (client, ctx):
        await publish(settings.amqp_url, envelopes)

        async def tried(times: int) -> bool:
            found = [n async for n in ctx.db["notifications"].find({})]
            return len(found) == 6 and all(n["attempts"] >= times for n in found)

        await eventually(lambda: tried(1), timeout=30)
        clock.advance(timedelta(seconds=30))  # past the first backoff: tried again, down
        await eventually(lambda: tried(2), timeout=30)
        smtp.start()
        try:
            clock.advance(timedelta(minutes=5))

            async def all_sent() -> bool:
                return await ctx.db["notify_queue"].find_one({}) is None

            await eventually(all_sent, timeout=30)
        finally:
            smtp.stop()
        metrics = (await client.get("/metrics")).text
    assert Counter(catcher.ids) == dict.fromkeys(expected_ids(envelopes), 1)
    records = [n async for n in notify_db["notifications"].find({})]
    assert {n["status"] for n in records} == {"sent"}
    assert all(n["attempts"] >= 3 and n["resends"] == 0 for n in records)
    assert resent_counted(metrics) == 0
