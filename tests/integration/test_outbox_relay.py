"""The outbox relay's start-up pass on the real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.clock import SystemClock
from services.common.contracts.diagnostic import DiagnosticPing
from services.common.contracts.registry import new_event
from services.common.metrics import kernel_metrics
from services.common.settings import ServiceSettings
from services.common.storage.locks import DocumentLocks
from services.common.storage.outbox import OutboxRelay, OutgoingMessage, outbox_update
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def _relay(db: Any, publish: Any, batch: int = 200) -> OutboxRelay:
    """A relay over `left` as on FerretDB: no periodic pass over it within the test."""
    return OutboxRelay(
        db,
        ["left"],
        publish,
        clock=SystemClock(),
        metrics=kernel_metrics(),
        locks=DocumentLocks(),
        poll_seconds=0.1,
        scan_seconds=3600,
        batch=batch,
        id_filters_only=True,
    )


async def test_start_up_pass_relays_more_than_one_batch(
    settings: ServiceSettings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    # A crash left 12 documents with pending events; the relay reads 5 at a time and, as
    # on FerretDB, has no periodic pass over this collection: the start-up pass must not
    # stop after its first batch.
    db = mongo[f"{settings.database}_intake"]
    events = {}
    for i in range(12):
        event = new_event(
            DiagnosticPing(note=str(i), origin="test"),
            site="t",
            source="/tests",
            time=datetime.now(UTC),
        )
        events[str(event.id)] = event
        await db.left.update_one({"_id": f"d{i}"}, outbox_update([event]), upsert=True)
    published: list[OutgoingMessage] = []

    async def publish(message: OutgoingMessage) -> None:
        published.append(message)

    relay = _relay(db, publish, batch=5)
    task = asyncio.create_task(relay.run())
    try:

        async def all_published() -> bool:
            return len(published) >= 12 and relay.full_passes >= 1

        await eventually(all_published)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sorted(m.event_id for m in published) == sorted(events)
    assert await db.left.count_documents({"outbox_n": {"$gt": 0}}) == 0


async def test_a_kick_during_a_pass_asks_for_another(
    settings: ServiceSettings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    # A writer stores an event and kicks while a pass is publishing (found by the survey
    # tests: a campaign opened during a pass stayed in its outbox until a restart).
    db = mongo[f"{settings.database}_intake"]
    first, second = (
        new_event(
            DiagnosticPing(note=n, origin="test"), site="t", source="/t", time=datetime.now(UTC)
        )
        for n in ("first", "second")
    )
    await db.left.update_one({"_id": "a"}, outbox_update([first]), upsert=True)
    published: list[str] = []

    async def publish(message: OutgoingMessage) -> None:
        published.append(message.event_id)
        if message.event_id == str(first.id):  # the pass has read its batch already
            await db.left.update_one({"_id": "b"}, outbox_update([second]), upsert=True)
            relay.kick()

    relay = _relay(db, publish)
    task = asyncio.create_task(relay.run())
    try:

        async def both() -> bool:
            return len(published) == 2

        await eventually(both)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert published == [str(first.id), str(second.id)]
