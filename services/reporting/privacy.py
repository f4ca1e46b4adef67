"""Reporting's personal data and retention.

Reporting's read models hold no contact details (complaints are folded to customer,
product, classification and times), but its event store (`events`) keeps the wire form of
every event for rebuilds, and complaint and dispatch events carry contacts. Erasure
rewrites those events with the contact blanked (they still parse; a rebuild gives the same
figures). Retention deletes stored events older than the site's retention, and the
per-record read models (entities and the monthly listings) of months before it; the
monthly counters (buckets) are aggregates without records or personal data and stay, so
old reports keep their figures. A rebuild after a purge reproduces the retained period only.
Reads filter on `site` and `type` (a scan on FerretDB): operator requests and the job only.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from services.common.rules import SiteRules
from services.common.rules.retention import (
    retention_years,
    shortest_retention_years,
    years_before,
)
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.reporting.domain.privacy import (
    CONTACT_EVENTS,
    complaint_products,
    contact_in,
    erase_contact,
)
from services.reporting.search_store import SearchIndex
from services.reporting.store import ENTITIES, EVENTS, FEEDBACK, ITEMS


def _wire(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def _month_of(name: str, prefix: str) -> str | None:
    """`2025-03` for `items_<site>_2025_03`; None for any other name."""
    rest = name[len(prefix) :] if name.startswith(prefix) else ""
    if re.fullmatch(r"\d{4}_\d{2}", rest) is None:
        return None
    return rest.replace("_", "-")


class ReportingPersonalData:
    def __init__(self, db: Database, locks: DocumentLocks) -> None:
        self._db = db
        self._events = db[EVENTS]
        self._locks = locks

    def _contact_events(self, site: str) -> Any:
        query = {"site": site, "type": {"$in": list(CONTACT_EVENTS)}}
        return self._events.find(query, {"wire": 1, "type": 1})

    async def export(self, site: str, customer_id: str) -> list[dict[str, Any]]:
        found = []
        async for document in self._contact_events(site):
            contact = contact_in(json.loads(document["wire"]), customer_id)
            if contact is not None:
                record = {"collection": EVENTS, "record": document["_id"]}
                found.append({**record, "event_type": document["type"], "contact": contact})
        return found

    async def erase(self, site: str, customer_id: str, *, now: datetime) -> dict[str, int]:
        erased = 0
        async for document in self._contact_events(site):
            event = json.loads(document["wire"])
            if erase_contact(event, customer_id):
                await self._events.update_one(
                    {"_id": document["_id"]},
                    {"$set": {"wire": _wire(event), "contact_erased_at": now}},
                )
                erased += 1
        return {EVENTS: erased}

    async def purge(self, rules: SiteRules, *, now: datetime) -> dict[str, int]:
        site, workflow = rules.site.id, rules.workflow
        longest = years_before(now, retention_years(workflow))
        purged = {EVENTS: 0}
        if shortest_retention_years(workflow) == retention_years(workflow):
            old = {"site": site, "time": {"$lte": longest}}
            purged[EVENTS] = (await self._events.delete_many(old)).deleted_count
        else:  # per product family: look at each candidate
            oldest = years_before(now, shortest_retention_years(workflow))
            query = {"site": site, "time": {"$lte": oldest}}
            async for document in self._events.find(query, {"wire": 1, "time": 1}):
                products = complaint_products(json.loads(document["wire"]))
                if document["time"] <= years_before(now, retention_years(workflow, products)):
                    result = await self._events.delete_one({"_id": document["_id"]})
                    purged[EVENTS] += result.deleted_count
        before = f"{longest.year:04d}-{longest.month:02d}"
        entities = {"site": site, "month": {"$lt": before}}
        purged[ENTITIES] = (await self._db[ENTITIES].delete_many(entities)).deleted_count
        purged["listings"] = 0
        for name in await self._db.list_collection_names():
            for prefix in (f"{ITEMS}_{site}_", f"{FEEDBACK}_{site}_"):
                month = _month_of(name, prefix)
                if month is not None and month < before:
                    purged["listings"] += await self._db[name].count_documents({})
                    await self._db.drop_collection(name)
        purged["search"] = await SearchIndex(self._db).purge(site, before)
        return purged


# The name `qloop privacy` (services/privacy_cli.py) looks this service up by.
HOLDER = ReportingPersonalData
