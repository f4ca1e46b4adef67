"""Intake's storage: complaints, number claims and rejections (the only code here that
talks to the database).

Gap-free numbering without transactions, and without trusting concurrent updates of one
document (FerretDB does not make them atomic; see services/common/storage/locks.py):
every number is a *claim document* `_id = "<series>|<seq>"` holding the complaint key.
Inserting it is the atomic decision (unique `_id`); a complaint that already holds a claim
gets the same number back, so retries never consume a second one. A claim that turns out
not to be needed (a concurrent duplicate registered the complaint first) is voided and the
next complaint takes it over. A recovery pass finishes claims whose registration a crash
interrupted. So every number in a series is used exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.complaints import ComplaintRegistered
from services.common.contracts.envelope import Envelope
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.common.storage.once import insert_once
from services.common.storage.outbox import leave_mark, outbox_update, with_outbox
from services.common.storage.scan import batches
from services.common.storage.updates import merge
from services.intake.closure import ImportedClosure
from services.intake.domain import NumberSeries

COMPLAINTS = "complaints"
CLAIMS = "number_claims"
VOIDS = "number_voids"  # claims handed back, waiting to be taken over (usually none)
REJECTIONS = "rejections"
OUTBOX_COLLECTIONS = (COMPLAINTS, REJECTIONS)
STALE_AFTER = timedelta(seconds=30)
VOIDS_RECHECK = timedelta(seconds=5)

INDEXES = {
    COMPLAINTS: [
        IndexModel([("site", ASCENDING), ("registered_at", DESCENDING)], name="site_registered"),
        IndexModel([("site", ASCENDING), ("number", ASCENDING)], name="site_number"),
        IndexModel([("status", ASCENDING), ("accepted_at", ASCENDING)], name="status_accepted"),
    ],
    CLAIMS: [
        IndexModel([("series", ASCENDING), ("seq", DESCENDING)], name="series_seq"),
        IndexModel([("key", ASCENDING)], name="key"),
        IndexModel([("done", ASCENDING), ("at", ASCENDING)], name="open_claims"),
    ],
}


@dataclass(frozen=True)
class Accepted:
    key: str
    site: str
    source: str
    submission: ComplaintSubmission
    number: str | None
    document: dict[str, Any]


@dataclass(frozen=True)
class ComplaintFilter:
    sites: Sequence[str]
    customer_id: str | None = None
    nature: str | None = None
    category: str | None = None
    owner_department: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    limit: int = 50
    skip: int = 0


class ComplaintStore(Protocol):
    async def accept(
        self,
        key: str,
        submission: ComplaintSubmission,
        *,
        source: str,
        now: datetime,
        imported: bool = False,
        closure: ImportedClosure | None = None,
    ) -> tuple[Accepted, bool]: ...
    async def get(self, key: str) -> Accepted | None: ...
    async def claim_number(
        self, series: NumberSeries, key: str, *, now: datetime, fresh: bool = False
    ) -> int: ...
    async def complete(
        self,
        key: str,
        registered: ComplaintRegistered,
        events: Sequence[Envelope[BaseModel]],
        *,
        fresh: Accepted | None = None,
    ) -> Accepted | None: ...
    async def release_claim(self, series: NumberSeries, seq: int, key: str) -> None: ...
    async def return_number(self, series: NumberSeries, seq: int, key: str) -> None: ...
    async def stale_claims(self, older_than: datetime) -> list[tuple[str, int, str]]: ...
    async def unnumbered(self, older_than: datetime) -> list[str]: ...
    async def by_number(self, sites: Sequence[str], number: str) -> dict[str, Any] | None: ...
    async def search(self, query: ComplaintFilter) -> list[dict[str, Any]]: ...
    async def record_rejection(
        self, document: dict[str, Any], events: Sequence[Envelope[BaseModel]]
    ) -> None: ...
    async def mark_for_relay(
        self, collection: str, keys: Sequence[str], *, now: datetime
    ) -> None: ...
    async def known(self, keys: Sequence[str]) -> set[str]: ...
    async def claim_numbers(
        self, series: NumberSeries, keys: Sequence[str], *, now: datetime
    ) -> list[int]: ...
    async def insert_registered(
        self, registrations: Sequence[Registration], *, now: datetime
    ) -> set[str]: ...


@dataclass(frozen=True)
class Registration:
    """A complaint accepted and registered in one write (a history import's batch)."""

    key: str
    source: str
    fact: ComplaintRegistered
    events: Sequence[Envelope[BaseModel]]
    imported: bool = True


def accepted_document(
    key: str,
    submission: ComplaintSubmission,
    *,
    source: str,
    now: datetime,
    imported: bool,
    closure: ImportedClosure | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": key,
        "site": submission.site,
        "source": source,
        "external_ref": submission.external_ref,
        "status": "accepted",
        "accepted_at": now,
        "received_at": submission.received_at,
        "customer_id": submission.customer.id,
        "submission": submission.model_dump(mode="json"),
    }
    if imported:  # kept for a registration recovery finishes
        document["imported"] = True
    if closure is not None:
        document["imported_closure"] = closure.as_document()
    return document


def registered_fields(registered: ComplaintRegistered) -> dict[str, Any]:
    """What a registration sets on the accepted complaint."""
    c = registered.classification
    return {
        "status": "registered",
        "number": registered.number,
        "sequence": registered.sequence,
        "registered_at": registered.registered_at,
        "nature": c.nature,
        "kind": c.kind,
        "category": c.category,
        "severity": c.severity,
        "owner_department": c.owner_department,
        "registration": registered.model_dump(mode="json", exclude={"complaint"}),
    }


def _accepted(document: dict[str, Any]) -> Accepted:
    return Accepted(
        key=document["_id"],
        site=document["site"],
        source=document["source"],
        submission=ComplaintSubmission.model_validate(document["submission"]),
        number=document.get("number"),
        document=document,
    )


def _claim_id(series: NumberSeries, seq: int) -> str:
    return f"{series.counter_id}|{seq:09d}"


def series_of(counter_id: str) -> NumberSeries:
    site, year, month = counter_id.split("|")
    return NumberSeries(site, int(year) if year else None, int(month) if month else None)


class MongoComplaintStore:
    def __init__(
        self, db: Database, locks: DocumentLocks, *, id_filters_only: bool = False
    ) -> None:
        self._db = db
        self._complaints = db[COMPLAINTS]
        self._claims = db[CLAIMS]
        self._voids = db[VOIDS]
        self._rejections = db[REJECTIONS]
        self._locks = locks
        # FerretDB: a filter with more than `_id` scans every complaint; one intake runs.
        self._id_filters_only = id_filters_only
        self._next: dict[str, int] = {}  # next sequence to try per series (a hint only)
        self._voids_checked: dict[str, float] = {}  # series -> when none was last seen

    async def accept(
        self,
        key: str,
        submission: ComplaintSubmission,
        *,
        source: str,
        now: datetime,
        imported: bool = False,
        closure: ImportedClosure | None = None,
    ) -> tuple[Accepted, bool]:
        document = accepted_document(
            key, submission, source=source, now=now, imported=imported, closure=closure
        )
        try:
            await self._complaints.insert_one(document)
        except DuplicateKeyError:
            existing = await self._complaints.find_one({"_id": key})
            assert existing is not None
            return _accepted(existing), False
        return _accepted(document), True

    async def get(self, key: str) -> Accepted | None:
        document = await self._complaints.find_one({"_id": key})
        return _accepted(document) if document else None

    async def claim_number(
        self, series: NumberSeries, key: str, *, now: datetime, fresh: bool = False
    ) -> int:
        """The number `key` holds in `series`, claimed now unless it holds one already.

        `fresh`: the complaint was accepted by this very call, so it can not hold a claim
        yet and none is looked for. Otherwise (a redelivery after a crash, a concurrent
        duplicate, recovery) the claims are searched for the key: a scan on FerretDB, but
        only on those rare paths (a `number_held` marker per complaint, written before and
        after the claim, cost three commands on every complaint)."""
        async with self._locks.hold(CLAIMS, series.counter_id):
            if not fresh:
                earlier = await self._claims.find_one({"series": series.counter_id, "key": key})
                if earlier is not None:
                    return int(earlier["seq"])
            void = await self._void(series)
            if void is not None and await self._take_over(void, key, now):
                return int(void["seq"])
            return await self._insert_claim(series, key, now)

    async def _void(self, series: NumberSeries) -> dict[str, Any] | None:
        """A handed-back claim of `series`, if any. Looked for when this process handed one
        back, and at least every VOIDS_RECHECK otherwise (another process may have)."""
        checked = self._voids_checked.get(series.counter_id)
        if checked is not None and time.monotonic() - checked < VOIDS_RECHECK.total_seconds():
            return None
        void = await self._voids.find_one({"series": series.counter_id})
        if void is None:
            self._voids_checked[series.counter_id] = time.monotonic()
        return void

    async def _insert_claim(self, series: NumberSeries, key: str, now: datetime) -> int:
        seq = self._next.get(series.counter_id) or await self._after_last(series)
        while True:
            try:
                await self._claims.insert_one(
                    {
                        "_id": _claim_id(series, seq),
                        "series": series.counter_id,
                        "seq": seq,
                        "key": key,
                        "at": now,
                        "done": False,
                    }
                )
            except DuplicateKeyError:
                seq += 1  # another process took it
                continue
            self._next[series.counter_id] = seq + 1
            return seq

    async def _after_last(self, series: NumberSeries) -> int:
        last = await self._claims.find_one(
            {"series": series.counter_id}, sort=[("seq", DESCENDING)]
        )
        return int(last["seq"]) + 1 if last else 1

    async def _take_over(self, void: dict[str, Any], key: str, now: datetime) -> bool:
        # Deleting the void marker is exclusive: only one claimer takes the number.
        removed = await self._voids.delete_one({"_id": void["_id"]})
        if removed.deleted_count != 1:
            return False
        await self._claims.update_one(
            {"_id": void["_id"]}, {"$set": {"key": key, "at": now, "done": False}}
        )
        return True

    async def complete(
        self,
        key: str,
        registered: ComplaintRegistered,
        events: Sequence[Envelope[BaseModel]],
        *,
        fresh: Accepted | None = None,
    ) -> Accepted | None:
        """Register the accepted complaint with its events; the complaint as now stored, or
        None when it was registered already (a concurrent duplicate, recovery).

        On MongoDB one conditional update decides. On FerretDB a read and a write by `_id`
        under the complaint's lock, and no read for a `fresh` complaint (accepted by this
        very call, as `fresh` holds it): the caller keeps every other registration of it in
        this process waiting meanwhile, and on FerretDB one intake runs."""
        update = merge({"$set": registered_fields(registered)}, outbox_update(events))
        hidden = {"outbox": 0, "outbox_n": 0}
        async with self._locks.hold(COMPLAINTS, key):
            if not self._id_filters_only:
                return await self._complete_if_accepted(key, update)
            current = fresh.document if fresh is not None else None
            if current is None:
                current = await self._complaints.find_one({"_id": key}, hidden)
            if current is None or current["status"] != "accepted":
                return None
            await self._complaints.update_one({"_id": key}, update)
        stored = {k: v for k, v in update["$set"].items() if not k.startswith("outbox.")}
        return _accepted({**current, **stored})

    async def _complete_if_accepted(self, key: str, update: dict[str, Any]) -> Accepted | None:
        # No projection: FerretDB 1.24 does not implement one in findAndModify.
        document = await self._complaints.find_one_and_update(
            {"_id": key, "status": "accepted"}, update, return_document=ReturnDocument.AFTER
        )
        if document is None:
            return None
        return _accepted({k: v for k, v in document.items() if k not in ("outbox", "outbox_n")})

    async def release_claim(self, series: NumberSeries, seq: int, key: str) -> None:
        """The complaint carries the number now: the claim is settled."""
        await self._claims.update_one({"_id": _claim_id(series, seq)}, {"$set": {"done": True}})

    async def return_number(self, series: NumberSeries, seq: int, key: str) -> None:
        """Hand back a number no complaint will carry: the next claim takes it over."""
        async with self._locks.hold(CLAIMS, series.counter_id):
            claim = await self._claims.find_one({"_id": _claim_id(series, seq)})
            if claim is None or claim.get("key") != key:
                return
            await self._claims.update_one({"_id": claim["_id"]}, {"$set": {"key": None}})
            await insert_once(
                self._voids, {"_id": claim["_id"], "series": series.counter_id, "seq": seq}
            )
            self._voids_checked.pop(series.counter_id, None)

    async def stale_claims(self, older_than: datetime) -> list[tuple[str, int, str]]:
        if self._id_filters_only:
            fields = ("done", "at", "key", "series", "seq")

            def stale(d: dict[str, Any]) -> bool:
                at = d.get("at")
                return (
                    d.get("done") is False
                    and d.get("key") is not None
                    and at is not None
                    and at <= older_than
                )

            found = await _scanned(self._claims, fields, stale)
        else:
            cursor = self._claims.find(
                {"done": False, "at": {"$lte": older_than}, "key": {"$ne": None}}
            ).limit(RECOVERED_AT_ONCE)
            found = await cursor.to_list()
        return [(d["series"], int(d["seq"]), d["key"]) for d in found]

    async def unnumbered(self, older_than: datetime) -> list[str]:
        if self._id_filters_only:

            def waiting(d: dict[str, Any]) -> bool:
                at = d.get("accepted_at")
                return d.get("status") == "accepted" and at is not None and at <= older_than

            found = await _scanned(self._complaints, ("status", "accepted_at"), waiting)
        else:
            cursor = self._complaints.find(
                {"status": "accepted", "accepted_at": {"$lte": older_than}}, {"_id": 1}
            ).limit(RECOVERED_AT_ONCE)
            found = await cursor.to_list()
        return [d["_id"] for d in found]

    async def by_number(self, sites: Sequence[str], number: str) -> dict[str, Any] | None:
        return await self._complaints.find_one(
            {"site": {"$in": list(sites)}, "number": number}, {"outbox": 0}
        )

    async def search(self, query: ComplaintFilter) -> list[dict[str, Any]]:
        conditions: dict[str, Any] = {"site": {"$in": list(query.sites)}, "status": "registered"}
        for name in ("customer_id", "nature", "category", "owner_department"):
            value = getattr(query, name)
            if value is not None:
                conditions[name] = value
        received: dict[str, Any] = {}
        if query.received_from:
            received["$gte"] = query.received_from
        if query.received_to:
            received["$lt"] = query.received_to
        if received:
            conditions["received_at"] = received
        cursor = (
            self._complaints.find(conditions, {"outbox": 0})
            .sort([("registered_at", DESCENDING), ("_id", ASCENDING)])
            .skip(query.skip)
            .limit(query.limit)
        )
        return await cursor.to_list()

    async def record_rejection(
        self, document: dict[str, Any], events: Sequence[Envelope[BaseModel]]
    ) -> None:
        update = merge(
            {"$set": {k: v for k, v in document.items() if k != "_id"}}, outbox_update(events)
        )
        await self._rejections.update_one({"_id": document["_id"]}, update, upsert=True)

    async def mark_for_relay(self, collection: str, keys: Sequence[str], *, now: datetime) -> None:
        """Another process than the service wrote these documents' outbox entries (an
        import): the service's relay reads the mark and relays them by `_id`."""
        await leave_mark(self._db, collection, keys, at=now)

    # --- a history import's batches: a few commands for many complaints ---------------
    async def known(self, keys: Sequence[str]) -> set[str]:
        """Those of `keys` stored already, read by `_id` together (`$in` scans on
        FerretDB)."""
        found = await asyncio.gather(
            *(self._complaints.find_one({"_id": key}, {"_id": 1}) for key in keys)
        )
        return {document["_id"] for document in found if document is not None}

    async def claim_numbers(
        self, series: NumberSeries, keys: Sequence[str], *, now: datetime
    ) -> list[int]:
        """Consecutive numbers for the first keys of `keys`, in their order, claimed in one
        insert; fewer than asked (perhaps none) when the series has a handed-back number
        to give out first or another process took one of them: the rest are claimed one
        at a time (`claim_number`). The keys must hold no claim yet (fresh complaints)."""
        async with self._locks.hold(CLAIMS, series.counter_id):
            if not keys or await self._void(series) is not None:
                return []
            seq = self._next.get(series.counter_id) or await self._after_last(series)
            claims = [
                {
                    "_id": _claim_id(series, seq + i),
                    "series": series.counter_id,
                    "seq": seq + i,
                    "key": key,
                    "at": now,
                    "done": False,
                }
                for i, key in enumerate(keys)
            ]
            try:
                await self._claims.insert_many(claims, ordered=True)
                inserted = len(claims)
            except BulkWriteError as exc:  # ordered: the ones before the taken number hold
                if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                    raise
                inserted = int(exc.details.get("nInserted", 0))
            self._next[series.counter_id] = seq + inserted
            return list(range(seq, seq + inserted))

    async def insert_registered(
        self, registrations: Sequence[Registration], *, now: datetime
    ) -> set[str]:
        """Store complaints accepted and registered at once, with their events, in one
        insert (the unique `_id` decides, as `accept` does); the keys found stored already
        (a concurrent submission of the same complaint), which were not written."""
        if not registrations:
            return set()
        documents = [
            with_outbox(
                {
                    **accepted_document(
                        r.key,
                        r.fact.complaint,
                        source=r.source,
                        now=now,
                        imported=r.imported,
                    ),
                    **registered_fields(r.fact),
                },
                r.events,
            )
            for r in registrations
        ]
        try:
            await self._complaints.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            return {documents[e["index"]]["_id"] for e in errors}
        return set()


RECOVERED_AT_ONCE = 1000  # interrupted registrations found by one recovery search


async def _scanned(
    collection: AsyncCollection[dict[str, Any]],
    fields: Sequence[str],
    wanted: Callable[[dict[str, Any]], bool],
) -> list[dict[str, Any]]:
    """FerretDB: the documents `wanted` keeps, up to `RECOVERED_AT_ONCE`, read in short
    paced batches (scan.py) instead of one filtered command that reads the whole
    collection (longer than the socket timeout at 100,000 complaints)."""
    found: list[dict[str, Any]] = []
    async with contextlib.aclosing(batches(collection, dict.fromkeys(fields, 1))) as parts:
        async for documents in parts:
            found += [d for d in documents if wanted(d)]
            if len(found) >= RECOVERED_AT_ONCE:
                break
    return found[:RECOVERED_AT_ONCE]
