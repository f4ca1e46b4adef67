"""The shared kernel on the real broker and database: outbox -> broker -> consumer,
stored once; duplicates; dead-lettering with reasons; the relay after a crash."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest
from pymongo import AsyncMongoClient

from services.common.contracts.diagnostic import DiagnosticPing
from services.common.contracts.registry import new_event, to_json
from services.common.messaging.consumer import Rejected
from services.common.messaging.topology import EVENTS_EXCHANGE, QueueSpec
from services.common.runtime import ServiceContext, ServiceDefinition, create_service_app
from services.common.settings import ServiceSettings
from services.common.storage.outbox import outbox_update
from services.intake.app import create_app as intake_app
from services.reporting.app import create_app as reporting_app
from tests.support.infra import Infra
from tests.support.services import running
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def _ping(site: str, note: str = "probe") -> Any:
    return new_event(
        DiagnosticPing(note=note, origin="test"), site=site, source="/tests", time=datetime.now(UTC)
    )


async def _publish(infra: Infra, body: bytes, routing_key: str, **kwargs: Any) -> None:
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        await exchange.publish(aio_pika.Message(body, **kwargs), routing_key=routing_key)


async def _dead_letters(infra: Infra, queue: str, expected: int) -> list[aio_pika.IncomingMessage]:
    connection = await aio_pika.connect(infra.amqp_url)
    found: list[aio_pika.IncomingMessage] = []
    async with connection:
        channel = await connection.channel()
        dead = await channel.get_queue(f"{queue}.dead")

        async def drain() -> bool:
            while (message := await dead.get(no_ack=True, fail=False)) is not None:
                found.append(message)
            return len(found) >= expected

        await eventually(drain)
    return found


async def test_outbox_event_is_published_consumed_and_stored_once(
    settings: ServiceSettings, site: str
) -> None:
    async with (
        running(reporting_app(settings)) as (reporting, reporting_ctx),
        running(intake_app(settings)) as (intake, _),
    ):
        response = await intake.post("/diagnostics/ping", params={"site": site, "note": "hello"})
        assert response.status_code == 202
        event_id = response.json()["event_id"]

        async def received() -> bool:
            reply = await reporting.get(f"/diagnostics/pings/{event_id}")
            return bool(reply.json()["received"])

        await eventually(received)
        stored = await reporting_ctx.db["diagnostic_pings"].find({"_id": event_id}).to_list()
        assert [(d["note"], d["site"], d["origin"]) for d in stored] == [("hello", site, "intake")]


async def test_a_delivery_reaches_its_handler_without_a_worker_thread(
    settings: ServiceSettings, site: str, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastStream's DI resolves a `RabbitMessage` parameter with a synchronous resolver,
    which fast_depends runs in a worker thread for every message: the subscriber takes the
    message from its decoder instead, and no delivery goes through a thread."""
    import anyio.to_thread

    threaded: list[object] = []
    real = anyio.to_thread.run_sync

    async def run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:
        threaded.append(func)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", run_sync)
    async with running(reporting_app(settings)) as (reporting, _):
        event = _ping(site, "threadless")
        await _publish(infra, to_json(event), event.routing_key)

        async def received() -> bool:
            reply = await reporting.get(f"/diagnostics/pings/{event.id}")
            return bool(reply.json()["received"])

        await eventually(received)
    assert threaded == [], [getattr(f, "func", f) for f in threaded]


async def test_a_consumer_holds_at_most_its_prefetch_of_deliveries(
    settings: ServiceSettings, site: str, infra: Infra
) -> None:
    """A backlog is taken QLOOP_PREFETCH deliveries at a time, not all at once: a service
    restarted behind a long queue must not run thousands of handlers together (seen in a
    fault run: 1,956 at once in reporting, which then was not ready for a minute)."""
    queue = QueueSpec("reporting.events", (f"{site}.diagnostic.ping",))
    release, running_now, most = asyncio.Event(), [0], [0]
    handled: list[str] = []

    async def wire(ctx: ServiceContext) -> Any:
        async def hold(envelope: Any) -> str:
            running_now[0] += 1
            most[0] = max(most[0], running_now[0])
            try:
                await release.wait()
            finally:
                running_now[0] -= 1
            handled.append(str(envelope.id))
            return "stored"

        return {queue: {"diagnostic.ping": hold}}

    limited = settings.model_copy(update={"prefetch": 3})
    app = create_service_app(ServiceDefinition("prefetch", 0, wire=wire), limited)
    async with running(app):
        events = [_ping(site, f"backlog {i}") for i in range(12)]
        for event in events:
            await _publish(infra, to_json(event), event.routing_key)
        async def holding() -> bool:
            return running_now[0] == 3

        async def all_handled() -> bool:
            return len(handled) == 12

        await eventually(holding)
        await asyncio.sleep(1.0)  # time for more deliveries to arrive, were they allowed
        assert most[0] == 3
        release.set()
        await eventually(all_handled)
    assert most[0] == 3 and sorted(handled) == sorted(str(e.id) for e in events)


async def test_the_same_event_delivered_twice_has_one_effect(
    settings: ServiceSettings, site: str, infra: Infra
) -> None:
    event = _ping(site)
    async with running(reporting_app(settings)) as (_, ctx):
        for _ in range(3):
            await _publish(infra, to_json(event), event.routing_key)
        consumed = ctx.metrics.events_consumed.labels(
            f"{settings.queue_prefix}reporting.events", "diagnostic.ping"
        )
        duplicates = ctx.metrics.events_duplicate.labels(
            f"{settings.queue_prefix}reporting.events", "diagnostic.ping"
        )

        async def all_seen() -> bool:
            return consumed._value.get() + duplicates._value.get() >= 3

        await eventually(all_seen)
        assert consumed._value.get() == 1
        assert duplicates._value.get() == 2
        assert await ctx.db["diagnostic_pings"].count_documents({"_id": str(event.id)}) == 1


async def test_malformed_messages_are_dead_lettered_with_reason_and_consumer_goes_on(
    settings: ServiceSettings, site: str, infra: Infra
) -> None:
    good = _ping(site, "after the bad ones")
    wrong_type = to_json(_ping(site)).replace(b'"note":"probe"', b'"note":42')
    unknown = to_json(_ping(site)).replace(b'"diagnostic.ping"', b'"diagnostic.pong"')
    async with running(reporting_app(settings)) as (_, ctx):
        key = f"{site}.diagnostic.ping"
        await _publish(infra, b"\xff\xfe not json", key, message_id="bad-json")
        await _publish(infra, wrong_type, key, message_id="bad-field")
        await _publish(infra, unknown, key, message_id="bad-type")
        await _publish(infra, to_json(good), key)

        async def stored() -> int:
            return await ctx.db["diagnostic_pings"].count_documents({"_id": str(good.id)})

        await eventually(stored)
        dead = await _dead_letters(infra, f"{settings.queue_prefix}reporting.events", 3)
    reasons = {
        m.message_id: (m.headers["x-qloop-error"], m.headers["x-qloop-reason"]) for m in dead
    }
    assert reasons["bad-json"][0] == "invalid" and "not JSON" in str(reasons["bad-json"][1])
    assert reasons["bad-field"] == ("invalid", "data.note: Input should be a valid string")
    assert reasons["bad-type"][0] == "invalid" and "diagnostic.pong" in str(reasons["bad-type"][1])
    assert {m.body for m in dead} >= {b"\xff\xfe not json", wrong_type, unknown}


async def test_relay_publishes_what_was_stored_before_a_crash(
    settings: ServiceSettings, site: str, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    # What a handler leaves behind when the process dies after its write and before
    # publishing: the state change with its event in the outbox, nothing on the broker.
    event = _ping(site, "left behind")
    intake_db = mongo[f"{settings.database}_intake"]
    await intake_db["diagnostics"].update_one(
        {"_id": "crashed"}, outbox_update([event]), upsert=True
    )
    async with running(reporting_app(settings)) as (reporting, _), running(intake_app(settings)):

        async def received() -> bool:
            reply = await reporting.get(f"/diagnostics/pings/{event.id}")
            return bool(reply.json()["received"])

        await eventually(received)
    left = await intake_db["diagnostics"].find_one({"_id": "crashed"})
    assert left is not None and left["outbox_n"] == 0 and left["outbox"] == {}


async def test_a_message_whose_handler_keeps_failing_is_dead_lettered_at_the_limit(
    settings: ServiceSettings, site: str, infra: Infra
) -> None:
    attempts: list[str] = []
    queue = QueueSpec("reporting.events", (f"{site}.diagnostic.ping",), delivery_limit=3)

    async def wire(ctx: ServiceContext) -> Any:
        async def explode(envelope: Any) -> Any:
            attempts.append(str(envelope.id))
            if envelope.data.note == "refuse":
                raise Rejected("refused on purpose", ["data.note"])
            raise RuntimeError("handler bug")

        return {queue: {"diagnostic.ping": explode}}

    app = create_service_app(ServiceDefinition("poison", 0, wire=wire), settings)
    crash, refuse = _ping(site, "crash"), _ping(site, "refuse")
    async with running(app):
        await _publish(infra, to_json(crash), crash.routing_key, message_id="crash")
        await _publish(infra, to_json(refuse), refuse.routing_key, message_id="refuse")
        dead = await _dead_letters(infra, f"{settings.queue_prefix}reporting.events", 2)
    by_id = {m.message_id: m.headers for m in dead}
    assert by_id["crash"]["x-qloop-error"] == "failed"
    assert by_id["crash"]["x-qloop-reason"] == "RuntimeError: handler bug"
    assert by_id["refuse"]["x-qloop-error"] == "rejected"
    assert by_id["refuse"]["x-qloop-fields"] == "data.note"
    assert attempts.count(str(crash.id)) == 3
    assert attempts.count(str(refuse.id)) == 1


async def test_writes_are_not_retried_by_the_driver_on_ferretdb(settings: ServiceSettings) -> None:
    # FerretDB ignores a retried write's transaction number: a write whose reply was lost
    # would be applied twice (an outbox counter went to -1 after a database restart).
    async with running(intake_app(settings)) as (_, ctx):
        ferretdb = "ferretdbVersion" in await ctx.db.command("buildInfo")
        assert ctx.db.client.options.retry_writes is (not ferretdb)
        assert ctx.id_filters_only is ferretdb


async def test_a_background_task_that_fails_makes_the_service_unready(
    settings: ServiceSettings,
) -> None:
    async def once(ctx: ServiceContext) -> None:
        return None  # a job that runs once at start and is done: still ready

    async def breaks(ctx: ServiceContext) -> None:
        await asyncio.sleep(0.05)
        raise RuntimeError("job bug")

    async def wire(ctx: ServiceContext) -> dict[QueueSpec, Any]:
        return {}

    definition = ServiceDefinition("jobs", 0, wire=wire, background=(once, breaks))
    async with running(create_service_app(definition, settings)) as (client, _):

        async def unready() -> bool:
            return (await client.get("/readyz")).status_code == 503

        await eventually(unready)
        body = (await client.get("/readyz")).json()
        assert body["stopped"] == ["breaks"]
        assert body["database"] is True and body["broker"] is True


async def test_a_consumer_whose_channel_closed_makes_the_service_unready(
    settings: ServiceSettings, site: str
) -> None:
    # What aio-pika leaves when reopening a robust channel fails after a broker restart:
    # the connection is up, the queue has no consumer. The service must not look healthy.
    queue = QueueSpec("reporting.events", (f"{site}.diagnostic.ping",))

    async def wire(ctx: ServiceContext) -> Any:
        async def ignore(envelope: Any) -> None:
            return None

        return {queue: {"diagnostic.ping": ignore}}

    app = create_service_app(ServiceDefinition("channels", 0, wire=wire), settings)
    async with running(app) as (client, ctx):
        assert (await client.get("/readyz")).status_code == 200
        [subscriber] = ctx.broker.subscribers
        await subscriber._queue_obj.channel.close()  # type: ignore[attr-defined]
        reply = await client.get("/readyz")
        assert reply.status_code == 503
        assert reply.json()["consumers_closed"] == [f"{settings.queue_prefix}reporting.events"]
        assert reply.json()["broker"] is True  # the connection itself is fine
