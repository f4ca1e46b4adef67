"""Worklists: per site and stage, the ids of the open cases in that stage.

FerretDB 1.24 pushes down only `_id` filters, so "the cases in stage X at site S" as a
query would scan every case. One document per `site|stage` (`worklists`) lists them
instead; a page reads the few documents of the stages a person acts in, then each case by
`_id`. A case is listed in its new stage before the case write and taken off its old
stage after it, so an interrupted write leaves an extra entry (readers check each listed
case's stage) but never a case missing from its stage.
"""

from __future__ import annotations

from typing import Any

from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.workflow.domain.case import Case
from services.workflow.store import CASES

WORKLISTS = "worklists"
LISTED_ALL = "listed-all"  # the marker saying the cases before worklists were listed


def worklist_id(site: str, stage: str) -> str:
    return f"{site}|{stage}"


class MongoWorklists:
    def __init__(self, db: Database, locks: DocumentLocks) -> None:
        self._worklists = db[WORKLISTS]
        self._cases = db[CASES]
        self._locks = locks

    async def _update(self, list_id: str, update: dict[str, Any]) -> None:
        async with self._locks.hold(WORKLISTS, list_id):
            await self._worklists.update_one({"_id": list_id}, update, upsert=True)

    async def enter(self, case: Case, base: Case | None = None) -> None:
        """Before the write: `case` listed in its stage (open cases only)."""
        if not case.terminal and (base is None or base.stage != case.stage or base.terminal):
            await self._update(
                worklist_id(case.site, case.stage), {"$addToSet": {"cases": case.id}}
            )

    async def leave(self, case: Case, base: Case) -> None:
        """After the write: `case` off the stage it left."""
        if base.stage != case.stage or (case.terminal and not base.terminal):
            await self._update(worklist_id(base.site, base.stage), {"$pull": {"cases": case.id}})

    async def listed(self, site: str, stage: str) -> list[str]:
        document = await self._worklists.find_one({"_id": worklist_id(site, stage)})
        return list((document or {}).get("cases") or [])

    async def list_all(self) -> int:
        """Once per database: list the open cases stored before worklists existed."""
        if await self._worklists.find_one({"_id": LISTED_ALL}):
            return 0
        listed = 0
        query = {"terminal": False}
        async for document in self._cases.find(query, {"site": 1, "stage": 1}):
            list_id = worklist_id(document["site"], document["stage"])
            await self._update(list_id, {"$addToSet": {"cases": document["_id"]}})
            listed += 1
        await self._worklists.update_one(
            {"_id": LISTED_ALL}, {"$set": {"cases": []}}, upsert=True
        )
        return listed
