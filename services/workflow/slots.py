"""Deadline records stored by the hour they fire in, read by `_id` only.

FerretDB 1.24 (SQLite) uses no index but `_id`: a query for "deadlines due by now" scans
every record (measured: 27 s for 400,000 records, with writers failing on a locked
database meanwhile), and loading every record at start held 1 GB. So the records of one
hour live in one document, `_id` = the hour (`2025-03-03T01`), each record an entry of its
`entries` map. The scheduler reads the hours up to a short horizon ahead, one document at
a time, and holds only those in memory.

The `watermark` document says up to which hour every record has fired or been dropped:
hours before it are empty and never read again. A record planned for an hour below the
watermark (its time has passed) is stored in the watermark's hour, so that a restart finds
it. One workflow instance writes these documents (see docs/architecture.md); each write
holds the hour's lock.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.workflow.domain.deadlines import Deadline

SLOTS = "deadline_slots"
SLOT = timedelta(hours=1)
WATERMARK = "watermark"


def slot_of(at: datetime) -> datetime:
    """The start of the hour `at` falls in (UTC)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def slot_id(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H")


def entry_key(deadline_id: str) -> str:
    """A field name for the record (ids hold characters field paths do not allow)."""
    return hashlib.sha1(deadline_id.encode()).hexdigest()[:24]


def to_entry(deadline: Deadline) -> dict[str, Any]:
    return dataclasses.asdict(deadline)


def from_entry(entry: dict[str, Any]) -> Deadline:
    return Deadline(**entry)


class DeadlineSlots:
    def __init__(self, db: Database, locks: DocumentLocks) -> None:
        self._slots = db[SLOTS]
        self._locks = locks
        self._floor: datetime | None = None
        self._placed: dict[str, datetime] = {}  # record id -> hour stored in (records read)

    async def floor(self, now: datetime) -> datetime:
        """The watermark hour (set to `now`'s hour in a new database)."""
        if self._floor is None:
            document = await self._slots.find_one({"_id": WATERMARK})
            if document is None:
                async with self._locks.hold(SLOTS, WATERMARK):
                    await self._write_floor(slot_of(now))
            else:
                self._floor = document["until"].astimezone(UTC)
        assert self._floor is not None
        return self._floor

    async def _write_floor(self, until: datetime) -> None:
        await self._slots.update_one({"_id": WATERMARK}, {"$set": {"until": until}}, upsert=True)
        self._floor = until

    async def place(self, planned: Iterable[Deadline], now: datetime) -> dict[str, datetime]:
        """Store the records (the same record twice is one entry); their hours by id. Holds
        the watermark's lock, so that the hour a record goes to is not settled meanwhile."""
        planned = list(planned)
        if not planned:
            return {}
        await self.floor(now)
        async with self._locks.hold(SLOTS, WATERMARK):
            floor = self._floor
            assert floor is not None
            by_slot: dict[datetime, list[Deadline]] = {}
            for deadline in planned:
                by_slot.setdefault(max(slot_of(deadline.fire_at), floor), []).append(deadline)
            placed: dict[str, datetime] = {}
            for start, deadlines in by_slot.items():
                fields = {f"entries.{entry_key(d.id)}": to_entry(d) for d in deadlines}
                async with self._locks.hold(SLOTS, slot_id(start)):
                    await self._slots.update_one(
                        {"_id": slot_id(start)}, {"$set": fields}, upsert=True
                    )
                placed.update((d.id, start) for d in deadlines)
        self._placed.update(placed)
        return placed

    async def read(self, start: datetime) -> list[Deadline]:
        """The records stored in the hour starting at `start`."""
        document = await self._slots.find_one({"_id": slot_id(start)})
        deadlines = [from_entry(e) for e in ((document or {}).get("entries") or {}).values()]
        for d in deadlines:
            self._placed[d.id] = start
        return deadlines

    async def remove(self, done: Iterable[Deadline]) -> None:
        """Take the records out of their hours: one write per hour."""
        by_slot: dict[datetime, list[str]] = {}
        for deadline in done:
            start = self._placed.pop(deadline.id, None) or slot_of(deadline.fire_at)
            by_slot.setdefault(start, []).append(f"entries.{entry_key(deadline.id)}")
        for start, fields in by_slot.items():
            async with self._locks.hold(SLOTS, slot_id(start)):
                await self._slots.update_one(
                    {"_id": slot_id(start)}, {"$unset": dict.fromkeys(fields, "")}
                )

    async def read_range(self, start: datetime, end: datetime) -> list[Deadline]:
        """The records of every hour from `start` to `end` in one query (after a clock jump
        or downtime: an `_id` range, a scan of the small hours collection on FerretDB)."""
        query = {"_id": {"$gte": slot_id(start), "$lt": slot_id(end)}}
        deadlines: list[Deadline] = []
        async for document in self._slots.find(query):
            hour = datetime.strptime(document["_id"], "%Y-%m-%dT%H").replace(tzinfo=UTC)
            for entry in (document.get("entries") or {}).values():
                deadline = from_entry(entry)
                self._placed[deadline.id] = hour
                deadlines.append(deadline)
        return deadlines

    async def settle(self, until: datetime) -> datetime:
        """Move the watermark over every hour that ends by `until` and whose records are all
        gone (their documents are deleted), stopping at the first hour still holding one;
        the watermark now. One query and one watermark write, however many hours."""
        async with self._locks.hold(SLOTS, WATERMARK):
            floor = self._floor
            assert floor is not None
            last = slot_of(until) if slot_of(until) + SLOT <= until else slot_of(until) - SLOT
            if last < floor:
                return floor
            query = {"_id": {"$gte": slot_id(floor), "$lte": slot_id(last)}}
            documents = sorted(await self._slots.find(query).to_list(), key=lambda d: d["_id"])
            start = last + SLOT
            for document in documents:
                if document.get("entries"):
                    start = datetime.strptime(document["_id"], "%Y-%m-%dT%H").replace(tzinfo=UTC)
                    break
            for document in documents:
                if document["_id"] < slot_id(start):
                    await self._slots.delete_one({"_id": document["_id"]})
            if start != floor:
                await self._write_floor(start)
            return start
