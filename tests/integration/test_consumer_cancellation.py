"""A delivery cancelled twice mid-write must not break the service's database client.

aiormq cancels the handlers of a channel whose connection closes, sometimes twice. PyMongo's
async server selection, cancelled twice while it waits (Python 3.11's `wait_for`), leaves the
client's topology lock held by a task that is gone, and every later operation hangs: seen
after broker restarts as a service that stayed unready until restarted
(docs/reliability.md). The consumer runs each handler shielded from that cancellation.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.contracts.diagnostic import DiagnosticPing
from services.common.contracts.registry import new_event, to_json
from services.common.messaging.consumer import EventConsumer
from services.common.messaging.topology import QueueSpec
from services.common.metrics import kernel_metrics
from tests.support.infra import Infra
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

TRIALS, DELIVERIES = 6, 20


class Delivery:
    def __init__(self, body: bytes) -> None:
        self.body, self.headers, self.message_id = body, {}, "m"
        self.acked = False

    async def ack(self) -> None:
        self.acked = True

    async def nack(self) -> None:
        raise AssertionError("not expected")


def _body(note: str) -> bytes:
    event = new_event(
        DiagnosticPing(note=note, origin="t"), site="sz", source="/t", time=datetime.now(UTC)
    )
    return to_json(event)


async def _trial(infra: Infra, database: str, trial: int) -> int:
    # A fresh client: its first operations wait in server selection for the first check.
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra.mongodb_url, serverSelectionTimeoutMS=5000, socketTimeoutMS=30_000
    )
    stored = client[database]["stored"]

    async def handler(envelope: Any) -> Any:
        await stored.insert_one({"_id": f"{trial}-{envelope.data.note}"})
        return "stored"

    spec = QueueSpec("t.events", ("*.diagnostic.ping",))
    consumer = EventConsumer(
        spec,
        {"diagnostic.ping": handler},
        broker=None,
        metrics=kernel_metrics(),  # type: ignore[arg-type]
    )
    deliveries = [Delivery(_body(str(i))) for i in range(DELIVERIES)]
    tasks = [asyncio.create_task(consumer.on_message(d)) for d in deliveries]
    await asyncio.sleep(0.001)  # the handlers are waiting for the server
    for task in tasks:
        task.cancel("connection closed")
    await asyncio.sleep(0)
    for task in tasks:
        task.cancel("connection closed, again")
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert not any(d.acked for d in deliveries)  # not acked: the broker delivers them again
    try:
        # The client still works, and every cancelled handler finished its write.
        found = await asyncio.wait_for(stored.count_documents({}), 15)
        assert await consumer.drain(timeout=15) == 0

        async def all_written() -> bool:
            return await stored.count_documents({"_id": {"$regex": f"^{trial}-"}}) == DELIVERIES

        await eventually(all_written, timeout=15)
    finally:
        await asyncio.wait_for(client.close(), 15)
    return found


async def test_a_delivery_cancelled_twice_leaves_the_database_client_working(
    infra: Infra, database_name: str
) -> None:
    for trial in range(TRIALS):
        await _trial(infra, f"{database_name}_intake", trial)
