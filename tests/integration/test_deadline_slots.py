"""Deadline records stored by the hour on the real database: where a record goes, what a
restarted scheduler reads back, and how the watermark moves (services/workflow/slots.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.storage.locks import DocumentLocks
from services.workflow.domain.deadlines import Deadline
from services.workflow.slots import SHARDS, SLOT, SLOTS, WATERMARK, DeadlineSlots, slot_of

pytestmark = pytest.mark.integration
NOW = datetime(2025, 3, 3, 9, 40, tzinfo=UTC)
HOUR = slot_of(NOW)


def _record(case: str, at: datetime, kind: str = "missed") -> Deadline:
    return Deadline(case, "sz", "register", "s1.e0", kind, at, at)  # type: ignore[arg-type]


@pytest.fixture
def db(mongo: AsyncMongoClient[dict[str, Any]], database_name: str) -> Any:
    return mongo[f"{database_name}_workflow"]


async def test_records_are_read_back_by_the_hour_after_a_restart(db: Any) -> None:
    slots = DeadlineSlots(db, DocumentLocks())
    assert await slots.floor(NOW) == HOUR  # a new database starts at the current hour
    later = _record("sz:A", NOW + timedelta(hours=5, minutes=7))
    overdue = _record("sz:B", NOW - timedelta(days=2))  # planned late: its hour has passed
    same_hour = _record("sz:C", NOW + timedelta(minutes=10), "approaching")
    placed = await slots.place([later, overdue, same_hour, later], NOW)
    assert placed == {
        later.id: HOUR + 5 * SLOT,
        overdue.id: HOUR,  # kept at the watermark, so that a restart still finds it
        same_hour.id: HOUR,
    }

    restarted = DeadlineSlots(db, DocumentLocks())
    assert await restarted.floor(NOW) == HOUR
    assert sorted(d.id for d in await restarted.read(HOUR)) == sorted([overdue.id, same_hour.id])
    assert await restarted.read(HOUR + 5 * SLOT) == [later]  # the same record twice: once
    assert await restarted.read(HOUR + SLOT) == []


async def test_the_watermark_passes_only_hours_whose_records_are_gone(db: Any) -> None:
    slots = DeadlineSlots(db, DocumentLocks())
    first = _record("sz:A", NOW)
    second = _record("sz:B", NOW + 2 * SLOT)
    await slots.place([first, second], NOW)

    assert await slots.settle(HOUR + 5 * SLOT) == HOUR  # `first` is still there
    await slots.remove([first])
    # Past the emptied hour and one that never held a record, up to `second`'s hour.
    assert await slots.settle(HOUR + 5 * SLOT) == HOUR + 2 * SLOT
    assert await slots.settle(HOUR + SLOT) == HOUR + 2 * SLOT  # never backwards
    assert await slots.floor(NOW) == HOUR + 2 * SLOT
    watermark = await db[SLOTS].find_one({"_id": WATERMARK})
    assert watermark["until"].replace(tzinfo=UTC) == HOUR + 2 * SLOT
    assert await db[SLOTS].count_documents({}) == 2  # the watermark and the hour of `second`

    # A record planned for a passed hour now goes to the watermark's hour.
    late = _record("sz:C", NOW)
    assert await slots.place([late], NOW + 3 * SLOT) == {late.id: HOUR + 2 * SLOT}


async def test_a_burst_in_one_hour_is_read_removed_and_settled_across_shards(db: Any) -> None:
    slots = DeadlineSlots(db, DocumentLocks())
    burst = [_record(f"sz:B{i}", NOW + timedelta(minutes=5, seconds=i)) for i in range(120)]
    await slots.place(burst, NOW)
    assert 1 < await db[SLOTS].count_documents({"_id": {"$ne": WATERMARK}}) <= SHARDS
    restarted = DeadlineSlots(db, DocumentLocks())
    await restarted.floor(NOW)
    assert sorted(d.id for d in await restarted.read(HOUR)) == sorted(d.id for d in burst)
    await restarted.remove(burst[:60])
    assert await restarted.settle(HOUR + SLOT) == HOUR  # half of them still there
    assert len(await DeadlineSlots(db, DocumentLocks()).read(HOUR)) == 60
    await restarted.remove(burst[60:])
    assert await restarted.settle(HOUR + SLOT) == HOUR + SLOT
    assert await db[SLOTS].count_documents({}) == 1  # the watermark alone


async def test_a_range_of_hours_is_read_by_id_or_in_one_query(db: Any) -> None:
    slots = DeadlineSlots(db, DocumentLocks())
    near = [_record("sz:N1", NOW + SLOT), _record("sz:N2", NOW + 3 * SLOT)]
    far = _record("sz:F", NOW + timedelta(days=10))
    await slots.place([*near, far], NOW)
    by_id = await slots.read_range(HOUR, HOUR + 5 * SLOT)  # hour by hour
    assert sorted(d.id for d in by_id) == sorted(d.id for d in near)
    in_one = await slots.read_range(HOUR, HOUR + timedelta(days=20))  # one range query
    assert sorted(d.id for d in in_one) == sorted(d.id for d in [*near, far])
