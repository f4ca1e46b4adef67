"""Deadline records stored by the hour they fire in, read by `_id` only.

FerretDB 1.24 (SQLite) uses no index but `_id`: a query for "deadlines due by now" scans
every record (measured: 27 s for 400,000 records, with writers failing on a locked
database meanwhile), and loading every record at start held 1 GB. So the records of one
hour live in `SHARDS` documents, `_id` = the hour and a shard (`2025-03-03T01/07`, the shard
from the case id), each record an entry of its document's `entries` map. The scheduler
reads the hours up to a short horizon ahead, an hour's shards by `_id`, and holds only those
in memory. Shards keep documents small: every write rewrites its whole document (on
FerretDB: decodes and encodes it), and a burst of complaints puts its records in one hour.

The `watermark` document says up to which hour every record has fired or been dropped:
hours before it are empty and never read again. A record planned for an hour below the
watermark (its time has passed) is stored in the watermark's hour, so that a restart finds
it. One workflow instance writes these documents (see docs/architecture.md); each write
holds the hour's lock.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from services.common.storage.locks import DocumentLocks, SharedLock
from services.common.storage.mongo import Database
from services.workflow.domain.deadlines import Deadline

SLOTS = "deadline_slots"
SLOT = timedelta(hours=1)
SHARDS = 16
RANGE_BY_ID = timedelta(days=7)  # a longer range of hours is read in one query
READS_AT_ONCE = 64  # shard documents read concurrently when many hours are read by `_id`
SETTLE_HOURS = 48  # hours one settle may pass (after downtime the next ones go on)
WATERMARK = "watermark"


def slot_of(at: datetime) -> datetime:
    """The start of the hour `at` falls in (UTC)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def slot_id(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H")


def entry_key(deadline_id: str) -> str:
    """A field name for the record (ids hold characters field paths do not allow)."""
    return hashlib.sha1(deadline_id.encode()).hexdigest()[:24]


def shard_id(start: datetime, case_id: str) -> str:
    """The document of the hour starting at `start` that holds the records of a case (a
    case's records of one hour are written together)."""
    return f"{slot_id(start)}/{int(entry_key(case_id)[:8], 16) % SHARDS:02d}"


def shard_ids(start: datetime) -> list[str]:
    return [f"{slot_id(start)}/{shard:02d}" for shard in range(SHARDS)]


def hour_of(document_id: str) -> datetime:
    return datetime.strptime(document_id.split("/", 1)[0], "%Y-%m-%dT%H").replace(tzinfo=UTC)


def to_entry(deadline: Deadline) -> str:
    """A record as one string: a nested document would cost the database a decode and an
    encode of each of its fields on every write to the hour (FerretDB does both in Go)."""
    d = deadline
    return json.dumps(
        [d.case_id, d.site, d.stage, d.token, d.kind, d.fire_at.isoformat(), d.due.isoformat(),
         d.rule, d.occurrence],
        ensure_ascii=False,
        separators=(",", ":"),
    )  # fmt: skip


def from_entry(entry: str) -> Deadline:
    case_id, site, stage, token, kind, fire_at, due, rule, occurrence = json.loads(entry)
    return Deadline(
        case_id,
        site,
        stage,
        token,
        kind,
        datetime.fromisoformat(fire_at),
        datetime.fromisoformat(due),
        rule,
        occurrence,
    )


class DeadlineSlots:
    def __init__(self, db: Database, locks: DocumentLocks) -> None:
        self._slots = db[SLOTS]
        self._locks = locks
        self._floor: datetime | None = None
        self._placed: dict[str, datetime] = {}  # record id -> hour stored in (records read)
        # Placing records (shared: cases open concurrently) against moving the watermark
        # (exclusive: no record may go to an hour while it is found empty and deleted).
        self._watermark = SharedLock()

    async def floor(self, now: datetime) -> datetime:
        """The watermark hour (set to `now`'s hour in a new database)."""
        if self._floor is None:
            document = await self._slots.find_one({"_id": WATERMARK})
            if document is None:
                async with self._watermark.exclusive():
                    await self._write_floor(slot_of(now))
            else:
                self._floor = document["until"].astimezone(UTC)
        assert self._floor is not None
        return self._floor

    async def _drop_empty(self, hours: list[datetime]) -> int:
        """Delete the documents of the leading `hours` that hold no record, up to the first
        that holds one (their shards are read together); how many hours were empty."""
        ids = [i for hour in hours for i in shard_ids(hour)]
        found = await asyncio.gather(*(self._slots.find_one({"_id": i}) for i in ids))
        for n in range(len(hours)):
            stored = [d for d in found[n * SHARDS : (n + 1) * SHARDS] if d is not None]
            if any(d.get("entries") for d in stored):
                return n
            await asyncio.gather(*(self._slots.delete_one({"_id": d["_id"]}) for d in stored))
        return len(hours)

    async def _write_floor(self, until: datetime) -> None:
        await self._slots.update_one({"_id": WATERMARK}, {"$set": {"until": until}}, upsert=True)
        self._floor = until

    async def place(self, planned: Iterable[Deadline], now: datetime) -> dict[str, datetime]:
        """Store the records (the same record twice is one entry); their hours by id. Holds
        the watermark (shared), so that the hour a record goes to is not settled meanwhile;
        the shards are written concurrently."""
        planned = list(planned)
        if not planned:
            return {}
        await self.floor(now)
        async with self._watermark.shared():
            floor = self._floor
            assert floor is not None
            by_slot: dict[datetime, list[Deadline]] = {}
            for deadline in planned:
                by_slot.setdefault(max(slot_of(deadline.fire_at), floor), []).append(deadline)
            placed: dict[str, datetime] = {}
            by_shard: dict[str, list[Deadline]] = {}
            for start, deadlines in by_slot.items():
                for d in deadlines:
                    by_shard.setdefault(shard_id(start, d.case_id), []).append(d)
                placed.update((d.id, start) for d in deadlines)
            results = await asyncio.gather(
                *(self._add(s, d) for s, d in by_shard.items()), return_exceptions=True
            )
            for result in results:  # every write has ended before the watermark is let go
                if isinstance(result, BaseException):
                    raise result
        self._placed.update(placed)
        return placed

    async def _add(self, shard: str, deadlines: list[Deadline]) -> None:
        fields = {f"entries.{entry_key(d.id)}": to_entry(d) for d in deadlines}
        async with self._locks.hold(SLOTS, shard):
            await self._slots.update_one({"_id": shard}, {"$set": fields}, upsert=True)

    async def read(self, start: datetime) -> list[Deadline]:
        """The records stored in the hour starting at `start` (its shards, by `_id`, read
        concurrently: one by one they were most of the delay of a deadline after a jump)."""
        documents = await asyncio.gather(
            *(self._slots.find_one({"_id": shard}) for shard in shard_ids(start))
        )
        deadlines = [
            from_entry(e) for d in documents for e in ((d or {}).get("entries") or {}).values()
        ]
        for d in deadlines:
            self._placed[d.id] = start
        return deadlines

    async def remove(self, done: Iterable[Deadline]) -> None:
        """Take the records out of their hours: one write per hour."""
        by_shard: dict[str, list[str]] = {}
        for deadline in done:
            start = self._placed.pop(deadline.id, None) or slot_of(deadline.fire_at)
            field = f"entries.{entry_key(deadline.id)}"
            by_shard.setdefault(shard_id(start, deadline.case_id), []).append(field)
        for shard, fields in by_shard.items():
            async with self._locks.hold(SLOTS, shard):
                await self._slots.update_one({"_id": shard}, {"$unset": dict.fromkeys(fields, "")})

    async def read_range(self, start: datetime, end: datetime) -> list[Deadline]:
        """The records of every hour from `start` to `end` (after a clock jump or downtime).
        By `_id` up to `RANGE_BY_ID`, `READS_AT_ONCE` shard documents at a time (a day's
        384 one by one took 3.8 s at 100,000 open cases right after a start, with the
        start-up scans running); beyond, one `_id` range query (on FerretDB a scan of this
        collection: about 10 s at 100,000 open cases)."""
        hours = int((end - start) / SLOT)
        if hours * SLOT <= RANGE_BY_ID:
            together = max(1, READS_AT_ONCE // SHARDS)  # hours read at once
            deadlines = []
            for first in range(0, hours, together):
                last = min(first + together, hours)
                read = [self.read(start + i * SLOT) for i in range(first, last)]
                for found in await asyncio.gather(*read):
                    deadlines += found
            return deadlines
        query = {"_id": {"$gte": slot_id(start), "$lt": slot_id(end)}}
        deadlines = []
        async for document in self._slots.find(query):
            hour = hour_of(document["_id"])
            for entry in (document.get("entries") or {}).values():
                deadline = from_entry(entry)
                self._placed[deadline.id] = hour
                deadlines.append(deadline)
        return deadlines

    async def settle(self, until: datetime) -> datetime:
        """Move the watermark over every hour that ends by `until` and whose records are all
        gone (their documents are deleted), stopping at the first hour still holding one;
        the watermark now. Hours are read by `_id`, oldest first, 4 at a time, up to the first
        that still holds a record: after a backlog, each settle reads that hour (and up to 3
        after it) until the hour empties. The scheduler waits for it: hour by hour, 48 empty
        hours after a restart took 2 s, and a deadline due meanwhile waited."""
        async with self._watermark.exclusive():
            floor = self._floor
            assert floor is not None
            last = slot_of(until) if slot_of(until) + SLOT <= until else slot_of(until) - SLOT
            start = floor
            last = min(last, floor + SETTLE_HOURS * SLOT)  # the lock holds up planning
            together = max(1, READS_AT_ONCE // SHARDS)  # hours read at once
            while start <= last:
                hours = [start + i * SLOT for i in range(together) if start + i * SLOT <= last]
                emptied = await self._drop_empty(hours)
                start += emptied * SLOT
                if emptied < len(hours):
                    break
            if start != floor:
                await self._write_floor(start)
            return start
