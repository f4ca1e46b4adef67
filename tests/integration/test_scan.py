"""Whole-collection reads on FerretDB in short, paced batches (services/common/storage/
scan.py), on the real database: every document once, one short command per batch, and the
workflow's case counts from them equal to the aggregation's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from services.common.settings import ServiceSettings
from services.common.storage.locks import DocumentLocks
from services.common.storage.scan import batches
from services.workflow.store_mongo import MongoCaseStore

pytestmark = pytest.mark.integration


@pytest.fixture
async def watched(settings: ServiceSettings) -> AsyncIterator[tuple[Any, list[Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []

    class Listener(monitoring.CommandListener):
        def started(self, event: monitoring.CommandStartedEvent) -> None:
            seen.append((event.command_name, dict(event.command)))

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            pass

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url, event_listeners=[Listener()]
    )
    yield client[f"{settings.database}_workflow"], seen
    await client.close()


async def test_every_document_is_read_once_a_short_command_per_batch(
    watched: tuple[Any, list[tuple[str, dict[str, Any]]]],
) -> None:
    db, seen = watched
    await db.many.insert_many([{"_id": f"d{i:02d}", "n": i, "big": "x" * 100} for i in range(12)])
    seen.clear()
    read = [part async for part in batches(db.many, {"n": 1}, size=5, rest=0.0)]
    assert [len(part) for part in read] == [5, 5, 2]
    documents = [d for part in read for d in part]
    assert sorted(d["_id"] for d in documents) == [f"d{i:02d}" for i in range(12)]
    assert all(set(d) == {"_id", "n"} for d in documents)  # only the fields asked for
    names = [name for name, _ in seen if name in ("find", "getMore", "aggregate")]
    assert names[0] == "find" and set(names[1:]) == {"getMore"}
    find = next(command for name, command in seen if name == "find")
    assert find.get("filter", {}) == {} and find["batchSize"] == 5  # no filter to scan for
    assert all(command["batchSize"] == 5 for name, command in seen if name == "getMore")


async def test_case_counts_from_batches_equal_the_aggregation(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    db = mongo[f"{database_name}_workflow"]
    cases = []
    for i in range(23):
        site = ("sz", "hq")[i % 2]
        case: dict[str, Any] = {
            "_id": f"{site}:C-{i}",
            "site": site,
            "stage": ("investigation", "eight_d", "closed")[i % 3],
            "terminal": i % 3 == 2,
            "origin": "complaint" if i % 4 else "survey",
            "repeat": i % 5 == 0,
        }
        cases.append(case)
    await db.cases.insert_many(cases)
    from_batches = await MongoCaseStore(db, DocumentLocks(), id_filters_only=True).counts()
    aggregated = await MongoCaseStore(db, DocumentLocks(), id_filters_only=False).counts()
    assert from_batches == aggregated
    assert sum(from_batches.open_by_stage.values()) == sum(1 for c in cases if not c["terminal"])
    assert from_batches.repeats["sz"] == (
        sum(1 for c in cases if c["site"] == "sz" and c["origin"] == "complaint"),
        sum(1 for c in cases if c["site"] == "sz" and c["origin"] == "complaint" and c["repeat"]),
    )
