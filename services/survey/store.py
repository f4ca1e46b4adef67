"""The survey service's storage (the only module here that talks to the database).

Every exclusive decision is an insert with a unique `_id` (a campaign per site and
month, an invitation per campaign and contact, one response per invitation, a delivery
per sender reference); every read-modify-write holds the document's lock (FerretDB does
not make concurrent updates of one document atomic: services/common/storage/locks.py).
Events leave through the outbox of the document whose change they announce.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING, IndexModel

from services.common.contracts.envelope import Envelope
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.common.storage.once import insert_once
from services.common.storage.outbox import outbox_update, with_outbox
from services.common.storage.updates import merge

DELIVERIES = "deliveries"
CUSTOMERS = "customers"
COMPLAINT_CONTACTS = "complaint_contacts"
CAMPAIGNS = "campaigns"
INVITATIONS = "invitations"
RESPONSES = "responses"
SCORECARDS = "scorecards"
INTERNAL = "internal_surveys"
INTERNAL_ANSWERS = "internal_answers"
OUTBOX_COLLECTIONS = (CAMPAIGNS, INVITATIONS, RESPONSES, SCORECARDS)

INDEXES = {
    DELIVERIES: [
        IndexModel([("site", ASCENDING), ("delivered_on", ASCENDING)], name="site_delivered")
    ],
    CUSTOMERS: [IndexModel([("site", ASCENDING)], name="site")],
    CAMPAIGNS: [
        IndexModel([("site", ASCENDING), ("opened_at", DESCENDING)], name="site_opened"),
        IndexModel([("status", ASCENDING)], name="status"),
    ],
    INVITATIONS: [
        IndexModel([("campaign_id", ASCENDING)], name="campaign"),
        IndexModel([("reminded", ASCENDING), ("reminder_at", ASCENDING)], name="reminders"),
        IndexModel([("mail", ASCENDING)], name="mail"),
    ],
    RESPONSES: [IndexModel([("campaign_id", ASCENDING)], name="campaign")],
    SCORECARDS: [IndexModel([("site", ASCENDING), ("customer_id", ASCENDING)], name="customer")],
    INTERNAL_ANSWERS: [IndexModel([("survey_id", ASCENDING)], name="survey")],
}

Document = dict[str, Any]


def day(value: date) -> str:
    return value.isoformat()


class SurveyStore(Protocol):
    async def record_delivery(self, document: Document) -> bool: ...
    async def activity(self, site: str, start: date, end: date) -> list[Document]: ...
    async def customers(self, site: str) -> list[Document]: ...
    async def customer(self, site: str, customer_id: str) -> Document | None: ...
    async def save_profile(self, site: str, customer_id: str, fields: Document) -> None: ...
    async def add_contact(
        self, site: str, customer_id: str, name: str, contact: Document
    ) -> None: ...
    async def remember_complaint(self, document: Document) -> bool: ...
    async def complaint_contact(self, site: str, number: str) -> Document | None: ...
    async def insert_campaign(
        self, document: Document, events: Sequence[Envelope[BaseModel]]
    ) -> bool: ...
    async def campaign(self, campaign_id: str, *, lists: bool = True) -> Document | None: ...
    async def campaigns(self, sites: Sequence[str], limit: int = 100) -> list[Document]: ...
    async def update_campaign(
        self,
        campaign_id: str,
        expect: Document,
        fields: Document,
        events: Sequence[Envelope[BaseModel]] = (),
    ) -> bool: ...
    async def campaigns_where(self, query: Document) -> list[Document]: ...
    async def insert_invitation(
        self, document: Document, events: Sequence[Envelope[BaseModel]]
    ) -> bool: ...
    async def invitation(self, invitation_id: str) -> Document | None: ...
    async def invitations(self, campaign_id: str) -> list[Document]: ...
    async def due_reminders(self, now: datetime) -> list[Document]: ...
    async def mark_reminded(
        self, invitation_id: str, events: Sequence[Envelope[BaseModel]], mail: str
    ) -> bool: ...
    async def pending_mail(self, limit: int = 50) -> list[Document]: ...
    async def mail_done(self, invitation_id: str, status: str, attempts: int) -> None: ...
    async def insert_response(
        self, document: Document, events: Sequence[Envelope[BaseModel]]
    ) -> bool: ...
    async def response(self, invitation_id: str) -> Document | None: ...
    async def responses(self, campaign_id: str) -> list[Document]: ...
    async def insert_scorecard(
        self, document: Document, events: Sequence[Envelope[BaseModel]]
    ) -> bool: ...
    async def scorecards(self, site: str, customer_id: str) -> list[Document]: ...
    async def insert_internal(self, document: Document) -> bool: ...
    async def internal(self, survey_id: str) -> Document | None: ...
    async def insert_internal_answer(self, document: Document) -> bool: ...
    async def internal_answers(self, survey_id: str) -> list[Document]: ...


class MongoSurveyStore:
    def __init__(
        self, db: Database, locks: DocumentLocks, *, id_filters_only: bool = False
    ) -> None:
        self._db = db
        self._locks = locks
        # FerretDB: a filter with more than `_id` scans the collection (every invitation
        # of every campaign), so there a conditional write is a read and a write by `_id`
        # under the document's lock (one survey instance there: docs/architecture.md).
        self._id_filters_only = id_filters_only

    # --- customer activity ---------------------------------------------------------------
    async def record_delivery(self, document: Document) -> bool:
        return await insert_once(self._db[DELIVERIES], document)

    async def activity(self, site: str, start: date, end: date) -> list[Document]:
        query = {"site": site, "delivered_on": {"$gte": day(start), "$lte": day(end)}}
        return await self._db[DELIVERIES].find(query).to_list()

    async def customers(self, site: str) -> list[Document]:
        return await self._db[CUSTOMERS].find({"site": site}).to_list()

    async def customer(self, site: str, customer_id: str) -> Document | None:
        return await self._db[CUSTOMERS].find_one({"_id": f"{site}|{customer_id}"})

    async def save_profile(self, site: str, customer_id: str, fields: Document) -> None:
        key = f"{site}|{customer_id}"
        base = {"site": site, "customer_id": customer_id}
        async with self._locks.hold(CUSTOMERS, key):
            await self._db[CUSTOMERS].update_one(
                {"_id": key}, {"$set": {**base, **fields}}, upsert=True
            )

    async def add_contact(self, site: str, customer_id: str, name: str, contact: Document) -> None:
        key = f"{site}|{customer_id}"
        async with self._locks.hold(CUSTOMERS, key):
            current = await self._db[CUSTOMERS].find_one({"_id": key}) or {}
            contacts = list(current.get("contacts") or [])
            if any(c.get("email") == contact.get("email") for c in contacts):
                return
            contacts.append(contact)
            fields = {"site": site, "customer_id": customer_id, "contacts": contacts}
            fields["customer_name"] = current.get("customer_name") or name
            await self._db[CUSTOMERS].update_one({"_id": key}, {"$set": fields}, upsert=True)

    async def remember_complaint(self, document: Document) -> bool:
        return await insert_once(self._db[COMPLAINT_CONTACTS], document)

    async def complaint_contact(self, site: str, number: str) -> Document | None:
        return await self._db[COMPLAINT_CONTACTS].find_one({"_id": f"{site}|{number}"})

    # --- campaigns and invitations -------------------------------------------------------
    async def insert_campaign(
        self, document: Document, events: Sequence[Envelope[BaseModel]]
    ) -> bool:
        return await insert_once(self._db[CAMPAIGNS], with_outbox(document, events))

    async def campaign(self, campaign_id: str, *, lists: bool = True) -> Document | None:
        """`lists=False`: without `eligible` and `planned`, an entry per customer each
        (600 KB at 2,000 customers; every answer read them, about 1 s per answer on
        FerretDB under the 20,000-complaint fault run's load)."""
        hidden = {"outbox": 0} if lists else {"outbox": 0, "eligible": 0, "planned": 0}
        return await self._db[CAMPAIGNS].find_one({"_id": campaign_id}, hidden)

    async def campaigns(self, sites: Sequence[str], limit: int = 100) -> list[Document]:
        cursor = (
            self._db[CAMPAIGNS]
            .find({"site": {"$in": list(sites)}}, {"outbox": 0})
            .sort([("opened_at", DESCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return await cursor.to_list()

    async def campaigns_where(self, query: Document) -> list[Document]:
        return await self._db[CAMPAIGNS].find(query, {"outbox": 0}).limit(500).to_list()

    async def update_campaign(
        self,
        campaign_id: str,
        expect: Document,
        fields: Document,
        events: Sequence[Envelope[BaseModel]] = (),
    ) -> bool:
        """Set `fields` if the campaign still matches `expect` (e.g. its status): the
        transition and its events happen once."""
        update = merge({"$set": fields}, outbox_update(events))
        async with self._locks.hold(CAMPAIGNS, campaign_id):
            result = await self._db[CAMPAIGNS].update_one({"_id": campaign_id, **expect}, update)
        return result.modified_count == 1

    async def insert_invitation(
        self, document: Document, events: Sequence[Envelope[BaseModel]]
    ) -> bool:
        return await insert_once(self._db[INVITATIONS], with_outbox(document, events))

    async def invitation(self, invitation_id: str) -> Document | None:
        return await self._db[INVITATIONS].find_one({"_id": invitation_id}, {"outbox": 0})

    async def invitations(self, campaign_id: str) -> list[Document]:
        cursor = self._db[INVITATIONS].find({"campaign_id": campaign_id}, {"outbox": 0})
        return await cursor.to_list()

    async def due_reminders(self, now: datetime) -> list[Document]:
        query = {"reminded": False, "reminder_at": {"$lte": now}}
        return await self._db[INVITATIONS].find(query, {"outbox": 0}).limit(500).to_list()

    async def mark_reminded(
        self, invitation_id: str, events: Sequence[Envelope[BaseModel]], mail: str
    ) -> bool:
        update = merge({"$set": {"reminded": True, "mail": mail}}, outbox_update(events))
        invitations = self._db[INVITATIONS]
        async with self._locks.hold(INVITATIONS, invitation_id):
            if self._id_filters_only:
                current = await invitations.find_one({"_id": invitation_id}, {"reminded": 1})
                if current is None or current.get("reminded") is not False:
                    return False
                await invitations.update_one({"_id": invitation_id}, update)
                return True
            result = await invitations.update_one({"_id": invitation_id, "reminded": False}, update)
        return result.modified_count == 1

    async def pending_mail(self, limit: int = 50) -> list[Document]:
        cursor = self._db[INVITATIONS].find({"mail": "pending"}, {"outbox": 0}).limit(limit)
        return await cursor.to_list()

    async def mail_done(self, invitation_id: str, status: str, attempts: int) -> None:
        async with self._locks.hold(INVITATIONS, invitation_id):
            await self._db[INVITATIONS].update_one(
                {"_id": invitation_id}, {"$set": {"mail": status, "mail_attempts": attempts}}
            )

    # --- answers ------------------------------------------------------------------------
    async def insert_response(
        self, document: Document, events: Sequence[Envelope[BaseModel]]
    ) -> bool:
        return await insert_once(self._db[RESPONSES], with_outbox(document, events))

    async def response(self, invitation_id: str) -> Document | None:
        return await self._db[RESPONSES].find_one({"_id": invitation_id}, {"outbox": 0})

    async def responses(self, campaign_id: str) -> list[Document]:
        cursor = self._db[RESPONSES].find({"campaign_id": campaign_id}, {"outbox": 0})
        return await cursor.to_list()

    # --- scorecards and internal surveys ------------------------------------------------
    async def insert_scorecard(
        self, document: Document, events: Sequence[Envelope[BaseModel]]
    ) -> bool:
        return await insert_once(self._db[SCORECARDS], with_outbox(document, events))

    async def scorecards(self, site: str, customer_id: str) -> list[Document]:
        query = {"site": site, "customer_id": customer_id}
        return await self._db[SCORECARDS].find(query, {"outbox": 0}).to_list()

    async def insert_internal(self, document: Document) -> bool:
        return await insert_once(self._db[INTERNAL], document)

    async def internal(self, survey_id: str) -> Document | None:
        return await self._db[INTERNAL].find_one({"_id": survey_id})

    async def insert_internal_answer(self, document: Document) -> bool:
        return await insert_once(self._db[INTERNAL_ANSWERS], document)

    async def internal_answers(self, survey_id: str) -> list[Document]:
        return await self._db[INTERNAL_ANSWERS].find({"survey_id": survey_id}).to_list()
