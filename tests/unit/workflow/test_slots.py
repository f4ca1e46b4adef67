"""Which hour a deadline record is stored in, and its field name there."""

from datetime import UTC, datetime, timedelta, timezone

from services.workflow.domain.deadlines import Deadline
from services.workflow.slots import (
    SHARDS,
    SLOT,
    entry_key,
    from_entry,
    hour_of,
    shard_id,
    shard_ids,
    slot_id,
    slot_of,
    to_entry,
)


def test_a_record_belongs_to_the_utc_hour_it_fires_in() -> None:
    shenzhen = timezone(timedelta(hours=8))
    at = datetime(2025, 3, 3, 9, 59, 59, 999_999, tzinfo=shenzhen)
    assert slot_of(at) == datetime(2025, 3, 3, 1, tzinfo=UTC)
    assert slot_id(slot_of(at)) == "2025-03-03T01"
    assert slot_of(at + timedelta(microseconds=1)) == datetime(2025, 3, 3, 2, tzinfo=UTC)


def test_record_ids_become_field_names_without_dots_or_dollars() -> None:
    key = entry_key("sz:SZ-2025.03-0001|s1.e0|escalation|$missed|0")
    assert key.isalnum() and len(key) == 24
    assert key != entry_key("sz:SZ-2025.03-0001|s1.e0|escalation|$missed|1")


def test_an_hours_records_spread_over_its_shards() -> None:
    hour = datetime(2025, 3, 3, 1, tzinfo=UTC)
    ids = [f"sz:SZ-{i:04d}" for i in range(400)]  # case ids
    shards = {shard_id(hour, i) for i in ids}
    assert shards == set(shard_ids(hour))  # 400 records reach every one of the 16
    assert shard_id(hour, ids[0]) == shard_id(hour, ids[0])  # a case's records: one shard
    assert all(hour_of(s) == hour and s.startswith("2025-03-03T01/") for s in shards)
    assert len(shard_ids(hour)) == SHARDS


def test_a_record_is_stored_as_one_string_and_read_back_equal() -> None:
    at = datetime(2025, 3, 3, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    for record in (
        Deadline("sz:SZ-1", "sz", "register", "s1.e0", "missed", at, at),
        Deadline("sz:SZ-1", "sz", "8d", "s4.e2", "approaching", at, at + SLOT, "esc-1", 2),
    ):
        entry = to_entry(record)
        assert isinstance(entry, str)
        assert from_entry(entry) == record
