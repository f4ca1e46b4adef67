"""Reporting's projector on the real database, without the broker: the buckets equal a
replay of the history; a crash between a bucket addition and the entity's record of its
contribution is finished by the next process without counting twice; tokens are pulled
in batches, and the ones a crash leaves behind change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.storage.locks import DocumentLocks
from services.reporting.domain.buckets import BucketKey, Counters
from services.reporting.domain.policy import Policy
from services.reporting.domain.projection import UtcSites
from services.reporting.domain.replay import Replay
from services.reporting.projector import Projector
from services.reporting.store import MongoReadModels
from tests.support import histories as h

pytestmark = pytest.mark.integration


class Crash(Exception):
    pass


class CrashingStore(MongoReadModels):
    """The real store, dying after its `after`-th bucket addition (the process is gone:
    nothing after it runs)."""

    def __init__(self, *args: Any, after: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.additions, self.after = 0, after

    async def add_to_bucket(self, key: BucketKey, delta: Counters, token: str) -> bool:
        applied = await super().add_to_bucket(key, delta, token)
        self.additions += 1
        if self.additions == self.after:
            raise Crash
        return applied


def projector(store: MongoReadModels) -> Projector:
    return Projector(store=store, locks=DocumentLocks(), sites=UtcSites(), policy=Policy())


async def buckets(store: MongoReadModels, site: str) -> dict[str, dict[str, int]]:
    found = {}
    for name in await store.bucket_collections():
        for bucket in await store.db[name].find({"site": site}).to_list():
            counters = {k: v for k, v in bucket["counters"].items() if v}
            if counters:
                found[bucket["_id"]] = counters
    return found


async def tokens_left(store: MongoReadModels, site: str) -> int:
    left = 0
    for name in await store.bucket_collections():
        for bucket in await store.db[name].find({"site": site}).to_list():
            left += len(bucket["applied_events"])
    return left


def expected(history: list[Any]) -> dict[str, dict[str, int]]:
    replayed = Replay(UtcSites(), Policy()).apply_all(history).buckets()
    return {
        key.id: {k: v for k, v in c.items() if v} for key, c in replayed.items() if any(c.values())
    }


@pytest.mark.parametrize("id_filters_only", [False, True])
async def test_buckets_equal_a_replay_and_tokens_are_pulled_in_batches(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str, site: str, id_filters_only: bool
) -> None:
    store = MongoReadModels(
        mongo[f"{database_name}_reporting"], DocumentLocks(), id_filters_only=id_filters_only
    )
    history = h.march_complaints(site) + h.march_feedback(site)
    running = projector(store)
    for event in history + history[::3]:  # with redeliveries
        await running.project(event)
    assert await buckets(store, site) == expected(history)
    waiting = running.sweeper.waiting
    assert waiting > 0  # not pulled one by one
    assert await tokens_left(store, site) == waiting
    await running.sweeper.sweep()
    assert running.sweeper.waiting == 0
    assert await tokens_left(store, site) == 0
    assert await buckets(store, site) == expected(history)


@pytest.mark.parametrize("after", [1, 2, 5])
async def test_a_crash_between_a_bucket_and_the_entity_is_finished_once(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str, site: str, after: int
) -> None:
    db = mongo[f"{database_name}_reporting"]
    history = h.march_complaints(site)
    crashing = CrashingStore(db, DocumentLocks(), id_filters_only=True, after=after)
    first = projector(crashing)
    crashed_at = None
    for i, event in enumerate(history):
        try:
            await first.project(event)
        except Crash:
            crashed_at = i
            break
    assert crashed_at is not None
    # A new process (new locks, an empty sweeper: the dead one's waiting tokens are lost)
    # gets the unacknowledged event again, then the rest of the stream.
    store = MongoReadModels(db, DocumentLocks(), id_filters_only=True)
    second = projector(store)
    for event in history[crashed_at:]:
        await second.project(event)
    await second.sweeper.sweep()
    assert await buckets(store, site) == expected(history)
