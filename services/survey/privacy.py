"""The survey service's personal data and retention of survey records.

Contact details live in four places: the customer's profile (`customers.contacts`), the
contact of each complaint kept for follow-up surveys (`complaint_contacts.contact`), the
contacts planned in a campaign (`campaigns.planned[].contact`) and each invitation
(`invitations.contact`). Erasure blanks them in place (name and e-mail set to null, the
keys kept since readers expect them) and turns off pending mail; answers and scores stay,
tied to the customer, not to a person. Invitation ids derive from a hash of the e-mail,
which is no longer stored anywhere.

Retention: campaigns with their invitations and answers count from their opening,
complaint contacts from the complaint's registration, deliveries from delivery. Survey
records name no product, so they are kept for the longest retention the site gives.
Reads filter on `site` (a scan on FerretDB): operator requests and the periodic job only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.personal_data import ERASED_CONTACT
from services.common.rules import SiteRules
from services.common.rules.retention import retention_years, years_before
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.survey.store import (
    CAMPAIGNS,
    COMPLAINT_CONTACTS,
    CUSTOMERS,
    DELIVERIES,
    INVITATIONS,
    RESPONSES,
)


def _filled(contact: dict[str, Any] | None) -> bool:
    return any(v not in (None, "") for k, v in (contact or {}).items() if k != "language")


def _of(plan: dict[str, Any], customer_id: str) -> bool:
    """A planned invitation to a contact of this customer, with details still in it."""
    return plan.get("customer_id") == customer_id and _filled(plan.get("contact"))


def _record(collection: str, record: str, contact: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"collection": collection, "record": record, "contact": contact, **more}


class SurveyPersonalData:
    def __init__(self, db: Database, locks: DocumentLocks) -> None:
        self._db = db
        self._locks = locks

    async def export(self, site: str, customer_id: str) -> list[dict[str, Any]]:
        found = []
        profile = await self._db[CUSTOMERS].find_one({"_id": f"{site}|{customer_id}"}) or {}
        for contact in profile.get("contacts") or []:
            found.append(_record(CUSTOMERS, profile["_id"], contact))
        query = {"site": site, "customer_id": customer_id}
        async for doc in self._db[COMPLAINT_CONTACTS].find(query):
            if _filled(doc.get("contact")):
                found.append(_record(COMPLAINT_CONTACTS, doc["number"], doc["contact"]))
        async for doc in self._db[INVITATIONS].find(query, {"outbox": 0}):
            if _filled(doc.get("contact")):
                found.append(
                    _record(INVITATIONS, doc["_id"], doc["contact"], campaign=doc["campaign_id"])
                )
        async for doc in self._db[CAMPAIGNS].find({"site": site}, {"planned": 1}):
            for plan in doc.get("planned") or []:
                if _of(plan, customer_id):
                    found.append(_record(CAMPAIGNS, doc["_id"], plan["contact"]))
        return found

    async def erase(self, site: str, customer_id: str, *, now: datetime) -> dict[str, int]:
        erased = {CUSTOMERS: 0, COMPLAINT_CONTACTS: 0, CAMPAIGNS: 0, INVITATIONS: 0}
        key = f"{site}|{customer_id}"
        async with self._locks.hold(CUSTOMERS, key):
            profile = await self._db[CUSTOMERS].find_one({"_id": key}, {"contacts": 1})
            if profile and profile.get("contacts"):
                await self._db[CUSTOMERS].update_one(
                    {"_id": key}, {"$unset": {"contacts": ""}, "$set": {"contacts_erased_at": now}}
                )
                erased[CUSTOMERS] = 1
        query = {"site": site, "customer_id": customer_id}
        for collection in (COMPLAINT_CONTACTS, INVITATIONS):
            async for doc in self._db[collection].find(query, {"contact": 1, "mail": 1}):
                if not _filled(doc.get("contact")):
                    continue
                fields: dict[str, Any] = {"contact": ERASED_CONTACT, "contact_erased_at": now}
                if doc.get("mail") == "pending":
                    fields["mail"] = "off"  # nowhere to send it any more
                async with self._locks.hold(collection, doc["_id"]):
                    await self._db[collection].update_one({"_id": doc["_id"]}, {"$set": fields})
                erased[collection] += 1
        async for doc in self._db[CAMPAIGNS].find({"site": site}, {"planned": 1}):
            planned = doc.get("planned") or []
            mine = [_of(p, customer_id) for p in planned]
            if not any(mine):
                continue
            blanked = [
                {**p, "contact": ERASED_CONTACT} if hit else p
                for p, hit in zip(planned, mine, strict=True)
            ]
            async with self._locks.hold(CAMPAIGNS, doc["_id"]):
                await self._db[CAMPAIGNS].update_one(
                    {"_id": doc["_id"]}, {"$set": {"planned": blanked}}
                )
            erased[CAMPAIGNS] += 1
        return erased

    async def _delete(self, collection: str, query: dict[str, Any]) -> int:
        return int((await self._db[collection].delete_many(query)).deleted_count)

    async def purge(self, rules: SiteRules, *, now: datetime) -> dict[str, int]:
        site = rules.site.id
        cutoff = years_before(now, retention_years(rules.workflow))
        purged = {CAMPAIGNS: 0, INVITATIONS: 0, RESPONSES: 0}
        old = {"site": site, "opened_at": {"$lte": cutoff}}
        async for campaign in self._db[CAMPAIGNS].find(old, {"_id": 1}):
            for collection in (INVITATIONS, RESPONSES):
                purged[collection] += await self._delete(
                    collection, {"campaign_id": campaign["_id"]}
                )
            purged[CAMPAIGNS] += await self._delete(CAMPAIGNS, {"_id": campaign["_id"]})
        contacts = {"site": site, "registered_at": {"$lte": cutoff}}
        purged[COMPLAINT_CONTACTS] = await self._delete(COMPLAINT_CONTACTS, contacts)
        delivered = {"site": site, "delivered_on": {"$lte": cutoff.date().isoformat()}}
        purged[DELIVERIES] = await self._delete(DELIVERIES, delivered)
        return purged


# The name `qloop privacy` (services/privacy_cli.py) looks this service up by.
HOLDER = SurveyPersonalData
