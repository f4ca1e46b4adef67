"""The workflow's personal data and retention of case records.

A case keeps the complaint without its contact (`domain/opening.py` drops
`complaint.contact`), and the hash-chained history records who did what on the case, never
the customer's contact: erasing contact details therefore touches no history entry and the
chain stays verifiable. Erasure still removes a `complaint.contact` where one is found
(a case written before contacts were dropped, or restored from elsewhere).

Retention: a closed case is deleted, history with it, once it has been closed for the
site's retention (records are kept from closure and archiving). Open cases are never
purged. A closed case has no planned deadline left (closing settles them); the `fired`
markers of its past deadlines hold no personal data and stay. Reads filter on `site` (a
scan on FerretDB): operator requests and the periodic job only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.rules import SiteRules
from services.common.rules.retention import retention_years, shortest_retention_years, years_before
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.workflow.store import CASES


def _has_contact(complaint: dict[str, Any] | None) -> bool:
    contact = (complaint or {}).get("contact") or {}
    return any(value not in (None, "") for value in contact.values())


def _products(complaint: dict[str, Any] | None) -> list[str]:
    products = (complaint or {}).get("products") or []
    return [p.get("model") or p.get("spec") or "" for p in products]


class WorkflowPersonalData:
    def __init__(self, db: Database, locks: DocumentLocks) -> None:
        self._cases = db[CASES]
        self._locks = locks

    def _of_customer(self, site: str, customer_id: str) -> Any:
        query = {"site": site, "customer_id": customer_id}
        return self._cases.find(query, {"complaint": 1, "reference": 1})

    async def export(self, site: str, customer_id: str) -> list[dict[str, Any]]:
        found = []
        async for document in self._of_customer(site, customer_id):
            if _has_contact(document.get("complaint")):
                found.append(
                    {
                        "collection": CASES,
                        "record": document["_id"],
                        "contact": document["complaint"]["contact"],
                    }
                )
        return found

    async def erase(self, site: str, customer_id: str, *, now: datetime) -> dict[str, int]:
        erased = 0
        async for document in self._of_customer(site, customer_id):
            if not _has_contact(document.get("complaint")):
                continue
            async with self._locks.hold(CASES, document["_id"]):
                await self._cases.update_one(
                    {"_id": document["_id"]},
                    {"$unset": {"complaint.contact": ""}, "$set": {"contact_erased_at": now}},
                )
            erased += 1
        return {CASES: erased}

    async def purge(self, rules: SiteRules, *, now: datetime) -> dict[str, int]:
        site, workflow = rules.site.id, rules.workflow
        oldest = years_before(now, shortest_retention_years(workflow))
        query = {"site": site, "terminal": True, "closed_at": {"$lte": oldest}}
        cases = 0
        async for document in self._cases.find(query, {"complaint": 1, "closed_at": 1}):
            years = retention_years(workflow, _products(document.get("complaint")))
            if document["closed_at"] > years_before(now, years):
                continue
            async with self._locks.hold(CASES, document["_id"]):
                # Still closed as read: a case reopened meanwhile is kept.
                removed = await self._cases.delete_one(
                    {"_id": document["_id"], "closed_at": document["closed_at"]}
                )
            cases += removed.deleted_count
        return {CASES: cases}


# The name `qloop privacy` (services/privacy_cli.py) looks this service up by.
HOLDER = WorkflowPersonalData
