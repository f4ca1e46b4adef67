"""The MongoDB / FerretDB implementation of `CaseStore` (see store.py for the design)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.common.contracts.envelope import Envelope
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.common.storage.outbox import outbox_update, with_outbox
from services.common.storage.scan import batches
from services.common.storage.updates import merge
from services.workflow.domain.case import Case
from services.workflow.domain.deadlines import Deadline
from services.workflow.slots import DeadlineSlots
from services.workflow.store import (
    CASES,
    FIRED,
    INDEX_BUILT,
    PLANS,
    RECURRENCE,
    CaseCounts,
    CaseQuery,
    VersionConflict,
    from_document,
    recurrence_id,
    to_document,
)
from services.workflow.store_waits import MongoSurveyWaits
from services.workflow.store_worklists import MongoWorklists


class MongoCaseStore:
    def __init__(
        self, db: Database, locks: DocumentLocks, *, id_filters_only: bool = False
    ) -> None:
        # FerretDB (`id_filters_only`): a filter with more than `_id` scans every case, so a
        # conditional write is a read by `_id` and a write by `_id` under the case's lock.
        self._id_filters_only = id_filters_only
        self._cases = db[CASES]
        self._fired = db[FIRED]
        self._plans = db[PLANS]
        self._slots = DeadlineSlots(db, locks)
        self._recurrence = db[RECURRENCE]
        self.worklists = MongoWorklists(db, locks)
        self.waits = MongoSurveyWaits(db, locks)
        self._db = db
        self._locks = locks

    async def open(self, case: Case, events: Sequence[Envelope[BaseModel]]) -> bool:
        document = {
            "_id": case.id,
            **to_document(case),
            "history": [h.model_dump() for h in case.history],
            "applied_events": [],
        }
        document = with_outbox(document, events)
        # No plan marker: a new case's records are placed before it is inserted (see
        # Schedule.plan_opening).
        await self.worklists.enter(case)
        await self.waits.enter(case)
        await self._index_closing(case, None)  # an imported case may open closed
        try:
            await self._cases.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, case_id: str) -> Case | None:
        document = await self._cases.find_one({"_id": case_id}, {"outbox": 0})
        return from_document(document) if document else None

    async def save(
        self,
        case: Case,
        *,
        base: Case,
        events: Sequence[Envelope[BaseModel]],
        event_id: str | None = None,
    ) -> bool:
        """Store `case` (read as `base`) if nobody changed it meanwhile; False when `event_id`
        was applied before. Raises VersionConflict when the version moved on."""
        state = to_document(case.model_copy(update={"version": base.version + 1}))
        new_entries = [h.model_dump() for h in case.history[len(base.history) :]]
        updates = [
            {"$set": state},
            {"$push": {"history": {"$each": new_entries}}},
            outbox_update(events),
        ]
        query: dict[str, Any] = {"_id": case.id, "version": base.version}
        if event_id is not None:
            query["applied_events"] = {"$ne": event_id}
            updates[1] = {"$push": {"history": {"$each": new_entries}, "applied_events": event_id}}
        await self._index_closing(case, base)
        await self._mark_unplanned(case.id, base.version + 1)
        await self.worklists.enter(case, base)
        await self.waits.enter(case, base)
        async with self._locks.hold(CASES, case.id):
            if not self._id_filters_only:
                result = await self._cases.update_one(query, merge(*updates))
                if result.modified_count == 1:
                    await self.worklists.leave(case, base)
                    await self.waits.leave(case, base)
                    return True
            current = await self._cases.find_one(
                {"_id": case.id}, {"version": 1, "applied_events": 1}
            )
            if (
                self._id_filters_only
                and current is not None
                and current.get("version") == base.version
                and event_id not in (current.get("applied_events") or [])
            ):
                await self._cases.update_one({"_id": case.id}, merge(*updates))
                await self.worklists.leave(case, base)
                await self.waits.leave(case, base)
                return True
        if current is not None and event_id in (current.get("applied_events") or []):
            return False
        raise VersionConflict(f"case {case.id} changed meanwhile (version {base.version})")

    async def listed(self, site: str, stage: str) -> list[str]:
        """The ids listed in the worklist of `site` and `stage` (some may have moved on)."""
        return await self.worklists.listed(site, stage)

    async def awaiting_survey(self, key: str) -> list[str]:
        """The ids listed as waiting for the survey result `key` names (some may not wait
        any more): `survey_verification.waits_key`."""
        return await self.waits.listed(key)

    async def closed_matching(self, site: str, key: str, since: datetime) -> list[Case]:
        """Closed cases of `site` with `key` closed since `since`, latest first. Read through
        the `recurrence` index document (by `_id`: no collection scan on FerretDB); each
        listed case is read back and checked, so a listed case that was reopened, or whose
        closing was interrupted, is simply not returned."""
        index = await self._recurrence.find_one({"_id": recurrence_id(site, key)})
        found = []
        for case_id in (index or {}).get("cases") or []:
            case = await self.get(case_id)
            if (
                case is not None
                and case.recurrence_key == key
                and case.closed_at is not None
                and case.closed_at >= since
            ):
                found.append(case)
        return sorted(found, key=lambda c: c.closed_at or since, reverse=True)

    async def _index_closing(self, case: Case, base: Case | None) -> None:
        """List a closing case in its recurrence index document, before the closing itself
        is stored (an interrupted closing leaves only a harmless extra entry)."""
        if (
            case.closed_at is None
            or case.recurrence_key is None
            or (base is not None and base.closed_at == case.closed_at)
        ):
            return
        index_id = recurrence_id(case.site, case.recurrence_key)
        async with self._locks.hold(RECURRENCE, index_id):
            await self._recurrence.update_one(
                {"_id": index_id}, {"$addToSet": {"cases": case.id}}, upsert=True
            )

    async def index_recurrence(self) -> int:
        """Once per database: list the cases closed before the recurrence index existed."""
        if await self._recurrence.find_one({"_id": INDEX_BUILT}):
            return 0
        listed = 0
        query = {"closed_at": {"$ne": None}, "recurrence_key": {"$ne": None}}
        async for document in self._cases.find(query, {"site": 1, "recurrence_key": 1}):
            index_id = recurrence_id(document["site"], document["recurrence_key"])
            async with self._locks.hold(RECURRENCE, index_id):
                await self._recurrence.update_one(
                    {"_id": index_id}, {"$addToSet": {"cases": document["_id"]}}, upsert=True
                )
            listed += 1
        await self._recurrence.update_one(
            {"_id": INDEX_BUILT}, {"$set": {"cases": []}}, upsert=True
        )
        return listed

    async def search(self, query: CaseQuery) -> list[Case]:
        conditions: dict[str, Any] = {"site": {"$in": list(query.sites)}}
        if query.stage is not None:
            conditions["stage"] = query.stage
        if query.open_only or query.overdue_at is not None:
            conditions["terminal"] = False
        if query.overdue_at is not None:
            conditions["due"] = {"$lt": query.overdue_at}
        cursor = (
            self._cases.find(conditions, {"outbox": 0})
            .sort([("opened_at", DESCENDING), ("_id", ASCENDING)])
            .skip(query.skip)
            .limit(query.limit)
        )
        return [from_document(d) async for d in cursor]

    async def _mark_unplanned(self, case_id: str, version: int) -> None:
        """Before a case write: its deadlines are to be planned (a crash before planning
        leaves this marker for the catch-up pass; `plans` stays small, so reading it all
        is cheap)."""
        async with self._locks.hold(PLANS, case_id):
            await self._plans.update_one(
                {"_id": case_id}, {"$max": {"version": version}}, upsert=True
            )

    async def schedule(
        self, case: Case, planned: Sequence[Deadline], now: datetime
    ) -> dict[str, datetime]:
        """Store the planned records in their hours (planning twice changes nothing); the
        hour each went to, by record id. Records of an earlier visit stay until they come
        due and are dropped then without an event."""
        placed = await self.place(planned, now)
        async with self._locks.hold(PLANS, case.id):
            marker = await self._plans.find_one({"_id": case.id})
            if marker is not None and int(marker.get("version", 0)) <= case.version:
                await self._plans.delete_one({"_id": case.id})
        return placed

    async def place(self, planned: Sequence[Deadline], now: datetime) -> dict[str, datetime]:
        """Store records in their hours, leaving plan markers alone."""
        return await self._slots.place(planned, now)

    async def pending_plans(self, limit: int) -> list[Case]:
        cases = []
        async for marker in self._plans.find({}).limit(limit):
            case = await self.get(marker["_id"])
            if case is None:  # its opening was interrupted (a redelivery opens it)
                async with self._locks.hold(PLANS, marker["_id"]):
                    await self._plans.delete_one({"_id": marker["_id"]})
            else:
                cases.append(case)
        return cases

    async def deadline_floor(self, now: datetime) -> datetime:
        return await self._slots.floor(now)

    async def deadlines_in(self, hour: datetime) -> list[Deadline]:
        return await self._slots.read(hour)

    async def deadlines_between(self, start: datetime, end: datetime) -> list[Deadline]:
        return await self._slots.read_range(start, end)

    async def settle_hours(self, until: datetime) -> datetime:
        return await self._slots.settle(until)

    async def fire(
        self, deadline: Deadline, events: Sequence[Envelope[BaseModel]], now: datetime
    ) -> bool:
        document = {
            "_id": deadline.id,
            "case_id": deadline.case_id,
            "site": deadline.site,
            "stage": deadline.stage,
            "kind": deadline.kind,
            "rule": deadline.rule,
            "fire_at": deadline.fire_at,
            "fired_at": now,
        }
        try:
            await self._fired.insert_one(with_outbox(document, events))
        except DuplicateKeyError:
            return False
        return True

    async def settle(
        self, done: Sequence[Deadline], follow_ups: Sequence[Deadline]
    ) -> dict[str, datetime]:
        """Store the next repetitions, then take the handled records out of their hours."""
        placed = {}
        if follow_ups:
            placed = await self._slots.place(follow_ups, min(d.fire_at for d in follow_ups))
        await self._slots.remove(done)
        return placed

    async def counts(self) -> CaseCounts:
        """Open cases by (site, stage) and (complaint cases, repeats) by site, in one pass:
        an aggregation on MongoDB; on FerretDB, where an aggregation reads every case in one
        command (longer than the socket timeout at 100,000 cases), paced batches counted
        here (scan.py)."""
        counts = CaseCounts()
        if self._id_filters_only:
            marks = (
                "due_provisional",
                "clocks.provisional",
                "case_due_provisional",
                "case_due_met",
            )
            fields = dict.fromkeys((*COUNTED, *marks), 1)
            async with contextlib.aclosing(batches(self._cases, fields)) as read:
                async for documents in read:
                    for d in documents:
                        _count(counts, {k: d.get(k) for k in COUNTED}, 1)
                        if d.get("terminal") is False and _provisional(d):
                            counts.provisional.setdefault(d["site"], set()).add(d["_id"])
            return counts
        pipeline: list[dict[str, Any]] = [
            {
                "$group": {
                    "_id": {
                        "site": "$site",
                        "stage": "$stage",
                        "terminal": "$terminal",
                        "origin": "$origin",
                        "repeat": "$repeat",
                    },
                    "n": {"$sum": 1},
                }
            },
        ]
        async for d in await self._cases.aggregate(pipeline):
            _count(counts, d["_id"], int(d["n"]))
        either = [
            {"due_provisional": True},
            {"clocks.provisional": True},
            {"case_due_provisional": True, "case_due_met": None},
        ]
        found = self._cases.find({"terminal": False, "$or": either}, {"_id": 1, "site": 1})
        async for d in found:
            counts.provisional.setdefault(d["site"], set()).add(d["_id"])
        return counts


COUNTED = ("site", "stage", "terminal", "origin", "repeat")  # the fields `counts` groups by


def _provisional(document: dict[str, Any]) -> bool:
    """A due time of the case is an estimate: its stage's, a clock's (a stopped clock's
    mark no longer matters, and is cleared by the calendar watch when it reads the case), or
    a survey action's still chased."""
    clocks = document.get("clocks") or []
    action = document.get("case_due_provisional") and document.get("case_due_met") is None
    return bool(document.get("due_provisional") or action) or any(
        c.get("provisional") for c in clocks
    )


def _count(counts: CaseCounts, group: dict[str, Any], n: int) -> None:
    """Add `n` cases of one group (`COUNTED`'s values) to `counts`."""
    site = group["site"]
    if group.get("terminal") is False:
        key = (site, group["stage"])
        counts.open_by_stage[key] = counts.open_by_stage.get(key, 0) + n
    if group.get("origin") == "complaint":
        total, repeats = counts.repeats.get(site, (0, 0))
        counts.repeats[site] = (total + n, repeats + (n if group.get("repeat") else 0))
