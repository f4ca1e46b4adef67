"""Survey actions waiting for a customer's next survey result, by `_id`.

A `survey.scored` must find the open survey actions of that customer at that site that
wait in the verification stage. As a query that would scan every case on FerretDB 1.24
(it pushes down only `_id` filters), so one document per `site|customer` (`survey_waits`,
`survey_verification.waits_key`) lists them. A case is listed before the write that makes
it wait and taken off after the write that ends its wait: an interrupted write leaves an
extra entry (readers check each listed case) but never a waiting case unlisted.
"""

from __future__ import annotations

from typing import Any

from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.workflow.domain.case import Case
from services.workflow.domain.survey_verification import waits_key

SURVEY_WAITS = "survey_waits"


def _waits(case: Case | None) -> bool:
    return case is not None and case.awaiting_survey_since is not None


class MongoSurveyWaits:
    def __init__(self, db: Database, locks: DocumentLocks) -> None:
        self._waits = db[SURVEY_WAITS]
        self._locks = locks

    async def _update(self, key: str, update: dict[str, Any]) -> None:
        async with self._locks.hold(SURVEY_WAITS, key):
            await self._waits.update_one({"_id": key}, update, upsert=True)

    async def enter(self, case: Case, base: Case | None = None) -> None:
        """Before the write: `case` listed when it starts waiting."""
        if _waits(case) and not _waits(base):
            await self._update(
                waits_key(case.site, case.customer_id), {"$addToSet": {"cases": case.id}}
            )

    async def leave(self, case: Case, base: Case) -> None:
        """After the write: `case` off the list when its wait ended."""
        if _waits(base) and not _waits(case):
            await self._update(
                waits_key(base.site, base.customer_id), {"$pull": {"cases": case.id}}
            )

    async def listed(self, key: str) -> list[str]:
        document = await self._waits.find_one({"_id": key})
        return list((document or {}).get("cases") or [])
