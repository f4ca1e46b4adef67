"""Operator tools on the real broker: inspect a dead-lettered message (it stays), replay it
once the cause is fixed (it is handled, and leaves the dead-letter queue)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest

from services.common import deadletters
from services.common.contracts.diagnostic import DiagnosticPing
from services.common.contracts.registry import new_event, to_json
from services.common.messaging.consumer import Rejected
from services.common.messaging.topology import EVENTS_EXCHANGE, QueueSpec
from services.common.runtime import ServiceContext, ServiceDefinition, create_service_app
from services.common.settings import ServiceSettings
from tests.support.services import running
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def test_show_keeps_and_replay_redelivers_to_the_original_queue(
    settings: ServiceSettings, site: str
) -> None:
    handled: list[str] = []
    broken = {"on": True}
    queue = QueueSpec("reporting.events", (f"{site}.diagnostic.ping",))

    async def wire(ctx: ServiceContext) -> Any:
        async def handle(envelope: Any) -> Any:
            if broken["on"]:
                raise Rejected("downstream table missing", ["data.note"])
            handled.append(str(envelope.id))
            return "stored"

        return {queue: {"diagnostic.ping": handle}}

    event = new_event(
        DiagnosticPing(note="x", origin="t"), site=site, source="/t", time=datetime.now(UTC)
    )
    dead_queue = f"{settings.queue_prefix}reporting.events.dead"
    async with running(create_service_app(ServiceDefinition("ops", 0, wire=wire), settings)):
        connection = await aio_pika.connect(settings.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(EVENTS_EXCHANGE)
            await exchange.publish(
                aio_pika.Message(to_json(event), message_id=str(event.id)),
                routing_key=event.routing_key,
            )

        async def dead_lettered() -> list[deadletters.DeadLetter]:
            return await deadletters.peek(settings.amqp_url, dead_queue)

        [letter] = await eventually(dead_lettered)
        assert (letter.message_id, letter.event_type, letter.error) == (
            str(event.id),
            "diagnostic.ping",
            "rejected",
        )
        assert letter.reason == "downstream table missing" and letter.fields == "data.note"
        assert letter.queue == f"{settings.queue_prefix}reporting.events"
        assert len(await deadletters.peek(settings.amqp_url, dead_queue)) == 1  # still there

        broken["on"] = False
        replayed = await deadletters.replay(settings.amqp_url, dead_queue, ids={str(event.id)})
        assert replayed == [str(event.id)]

        async def handled_now() -> bool:
            return handled == [str(event.id)]

        await eventually(handled_now)
        assert await deadletters.peek(settings.amqp_url, dead_queue) == []
    names = dict(deadletters.list_dead_queues(deadletters.management_url_from(settings.amqp_url)))
    assert names.get(dead_queue) == 0
