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
from services.common.storage.outbox import (
    MARKS,
    OutboxRelay,
    OutgoingMessage,
    PublishFailed,
    leave_mark,
    outbox_update,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def _relay(db: Any, publish: Any, batch: int = 200, *, marked: bool = False) -> OutboxRelay:
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
        marked=marked,
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


def _ping(note: str) -> Any:
    return new_event(
        DiagnosticPing(note=note, origin="test"), site="t", source="/t", time=datetime.now(UTC)
    )


async def test_events_handed_over_by_their_writer_are_relayed_without_a_read(
    settings: ServiceSettings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[f"{settings.database}_intake"]
    first, second = _ping("first"), _ping("second")
    await db.left.insert_one({"_id": "a", "outbox": {}, "outbox_n": 0})
    await db.left.update_one({"_id": "a"}, outbox_update([first, second]))
    published: list[OutgoingMessage] = []

    async def publish(message: OutgoingMessage) -> None:
        published.append(message)

    stored = await db.left.find_one({"_id": "a"})
    assert stored is not None
    relay = _relay(db, publish)
    relay.kick("left", "a", [first, second])
    reads = []
    original_find_one = db.left.find_one

    async def counting_find_one(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return await original_find_one(*args, **kwargs)

    db.left.find_one = counting_find_one  # type: ignore[method-assign]
    await relay.relay_once()
    assert [m.event_id for m in published] == [str(first.id), str(second.id)]
    assert [m.body.decode() for m in published] == [
        stored["outbox"][str(e.id)]["body"] for e in (first, second)
    ]
    assert reads == []
    document = await original_find_one({"_id": "a"})
    assert document["outbox_n"] == 0 and document["outbox"] == {}


async def test_a_handed_event_a_pass_relayed_first_is_not_relayed_twice(
    settings: ServiceSettings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    # The writer stored the event; a pass read, published and removed it before the
    # writer's kick came. Publishing the handed copy again would, on FerretDB (removals
    # without an `$exists` guard), also count the outbox down twice, and a later pending
    # entry would look like none to the next start-up pass.
    db = mongo[f"{settings.database}_intake"]
    early, later = _ping("early"), _ping("later")
    await db.left.update_one({"_id": "a"}, outbox_update([early]), upsert=True)
    published: list[str] = []

    async def publish(message: OutgoingMessage) -> None:
        published.append(message.event_id)

    relay = _relay(db, publish)
    relay.kick()  # a pass over everything
    await relay.relay_once()
    assert published == [str(early.id)]
    relay.kick("left", "a", [early])  # the writer's kick, late
    await db.left.update_one({"_id": "a"}, outbox_update([later]))
    relay.kick("left", "a", [later])
    await relay.relay_once()
    assert published == [str(early.id), str(later.id)]
    document = await db.left.find_one({"_id": "a"})
    assert document is not None and document["outbox_n"] == 0 and document["outbox"] == {}


async def test_a_failed_publish_is_tried_again_without_a_pass_over_everything(
    settings: ServiceSettings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    # The broker is away: the kicked document's event is tried again until it goes, and
    # (on FerretDB a scan of every collection) no full pass is asked for meanwhile.
    db = mongo[f"{settings.database}_intake"]
    event = _ping("while the broker restarts")
    attempts: list[str] = []

    async def publish(message: OutgoingMessage) -> None:
        attempts.append(message.event_id)
        if len(attempts) < 3:
            raise PublishFailed(f"{message.event_id}: ChannelInvalidStateError")

    relay = _relay(db, publish)
    relay.kick()  # the start-up pass
    await relay.relay_once()
    passes = relay.full_passes
    await db.left.update_one({"_id": "a"}, outbox_update([event]), upsert=True)
    relay.kick("left", "a", [event])
    task = await _run_until_relayed(db, relay)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert attempts == [str(event.id)] * 3  # two failures, then the success
    assert relay.full_passes == passes


async def test_a_cancelled_error_from_a_client_library_does_not_end_the_relay(
    settings: ServiceSettings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    # aiormq sets CancelledError on pending confirms when its connection closes; raised
    # through the relay's task, it would have ended the task silently.
    db = mongo[f"{settings.database}_intake"]
    event = _ping("as the connection closes")
    attempts: list[str] = []

    async def publish(message: OutgoingMessage) -> None:
        attempts.append(message.event_id)
        if len(attempts) == 1:
            raise asyncio.CancelledError("CONNECTION_FORCED")

    relay = _relay(db, publish)
    relay.kick()
    await relay.relay_once()
    await db.left.update_one({"_id": "a"}, outbox_update([event]), upsert=True)
    relay.kick("left", "a", [event])
    task = await _run_until_relayed(db, relay)
    assert not task.done()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert attempts == [str(event.id)] * 2
    assert task.cancelled()  # and its own cancellation still stops it


async def _run_until_relayed(db: Any, relay: OutboxRelay) -> asyncio.Task[None]:
    """Run the relay until document "a" has nothing left in its outbox; its task, running."""
    task = asyncio.create_task(relay.run())

    async def gone() -> bool:
        document = await db.left.find_one({"_id": "a"})
        return document is not None and document["outbox_n"] == 0

    try:
        await eventually(gone)
    except BaseException:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
    return task


async def test_a_kicked_document_is_relayed_while_a_pass_is_still_running(
    settings: ServiceSettings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    # On FerretDB the start-up pass reads every case; a deadline fired meanwhile must not
    # wait for it (the first deadline after a start took 4.1 s at 100,000 cases). And a
    # document met by the pass and by a kick at once has its entry removed once.
    db = mongo[f"{settings.database}_intake"]
    old, shared, fresh = _ping("left by a crash"), _ping("both ways"), _ping("fired now")
    await db.left.update_one({"_id": "old"}, outbox_update([old]), upsert=True)
    await db.left.update_one({"_id": "a"}, outbox_update([shared]), upsert=True)
    published: list[str] = []
    pass_held, release = asyncio.Event(), asyncio.Event()

    async def publish(message: OutgoingMessage) -> None:
        published.append(message.event_id)
        if message.event_id == str(old.id) and not release.is_set():
            pass_held.set()
            await release.wait()  # the pass is stuck here, as in a long scan
        if message.event_id == str(shared.id) and published.count(message.event_id) == 1:
            await asyncio.sleep(0.2)  # the pass's copy is still on its way

    relay = _relay(db, publish)
    relay.kick()  # the start-up pass
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(pass_held.wait(), timeout=30)
        await db.left.update_one({"_id": "b"}, outbox_update([fresh]), upsert=True)
        relay.kick("left", "b", [fresh])
        relay.kick("left", "a", [shared])

        async def fresh_out() -> bool:
            return str(fresh.id) in published

        await eventually(fresh_out)
        assert not release.is_set()  # relayed while the pass was held
        release.set()

        async def all_gone() -> bool:
            n = [d["outbox_n"] for d in await db.left.find({}, {"outbox_n": 1}).to_list()]
            return relay.full_passes >= 1 and n == [0, 0, 0]

        await eventually(all_gone)
    finally:
        release.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sorted(set(published)) == sorted(str(e.id) for e in (old, shared, fresh))
    assert published.count(str(fresh.id)) == 1
    counters = {d["_id"]: d["outbox_n"] for d in await db.left.find({}).to_list()}
    assert counters == {"old": 0, "a": 0, "b": 0}  # never -1: each entry removed once


async def test_documents_another_process_marked_are_relayed_without_a_pass(
    settings: ServiceSettings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    # An import (another process) writes outbox entries into a large collection, which on
    # FerretDB the relay passes over only at start: its marks bring them out by `_id`.
    db = mongo[f"{settings.database}_intake"]
    published: list[OutgoingMessage] = []

    async def publish(message: OutgoingMessage) -> None:
        published.append(message)

    relay = _relay(db, publish, marked=True)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _true(relay.full_passes >= 1))
        events = [_ping(f"imported {i}") for i in range(3)]
        for i, event in enumerate(events):
            await db.left.update_one({"_id": f"m{i}"}, outbox_update([event]), upsert=True)
        await leave_mark(db, "left", ["m0", "m1", "m2", "never-written"], at=datetime.now(UTC))

        async def relayed() -> bool:
            return len(published) >= 3 and await db[MARKS].count_documents({}) == 0

        await eventually(relayed)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sorted(m.event_id for m in published) == sorted(str(e.id) for e in events)
    assert relay.full_passes == 1  # no pass over the collection was needed
    assert await db.left.count_documents({"outbox_n": {"$gt": 0}}) == 0


async def test_pending_gauge_counts_marked_entries_the_broker_does_not_take(
    settings: ServiceSettings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    # FerretDB's periodic pass leaves the large collections out: the gauge must still
    # show what waits there, or the stuck-outbox alert never fires.
    db = mongo[f"{settings.database}_intake"]
    broker_up = False

    async def publish(message: OutgoingMessage) -> None:
        if not broker_up:
            raise PublishFailed("connection refused")

    relay = _relay(db, publish, marked=True)
    await relay.relay_once()  # the start-up pass, over an empty collection
    for i in range(4):
        await db.left.update_one({"_id": f"p{i}"}, outbox_update([_ping(str(i))]), upsert=True)
    await leave_mark(db, "left", [f"p{i}" for i in range(4)], at=datetime.now(UTC))

    async def refused() -> bool:  # marks are read once per poll
        try:
            await relay.relay_once()
        except PublishFailed:
            return True
        return False

    await eventually(refused)
    assert _gauge(relay) == 4
    broker_up = True

    async def drained() -> bool:  # the marks go once their documents were relayed
        await relay.relay_once()
        return await db[MARKS].count_documents({}) == 0

    await eventually(drained)
    assert _gauge(relay) == 0
    assert await db.left.count_documents({"outbox_n": {"$gt": 0}}) == 0


async def _true(value: bool) -> bool:
    return value


def _gauge(relay: OutboxRelay) -> float:
    return relay._metrics.outbox_pending._value.get()  # type: ignore[attr-defined]
