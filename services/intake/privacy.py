"""Intake's personal data: the contact of each complaint (`submission.contact`), erasure
requests (intake is where a request comes in and where completions are gathered), and
retention of complaints and rejections.

Reads here filter on `site` and `customer_id` (a scan on FerretDB): they serve rare
operator requests and the periodic retention job, never a hot path.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from services.common.auth import Caller, ensure_site, require
from services.common.contracts.envelope import SITE_PATTERN, Envelope
from services.common.contracts.privacy import (
    PERSONAL_DATA_HOLDERS,
    CustomerErasureCompleted,
    CustomerErasureRequested,
)
from services.common.contracts.registry import new_event
from services.common.messaging.consumer import Handler, Outcome
from services.common.rules import SiteRules
from services.common.rules.retention import retention_years, shortest_retention_years, years_before
from services.common.runtime import ServiceContext, service_context
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.common.storage.once import insert_once
from services.common.storage.outbox import with_outbox
from services.intake.store import COMPLAINTS, REJECTIONS

REQUESTS = "privacy_requests"  # one per erasure request, carrying customer.erasure_requested
CONFIRMATIONS = "privacy_confirmations"  # `<request id>|<service>`: who has completed
SOURCE = "/qloop/intake"


def _has_contact(contact: dict[str, Any] | None) -> bool:
    return any(value not in (None, "") for value in (contact or {}).values())


def _products(submission: dict[str, Any]) -> list[str]:
    return [p.get("model") or p.get("spec") or "" for p in submission.get("products") or []]


class IntakePersonalData:
    def __init__(self, db: Database, locks: DocumentLocks) -> None:
        self._complaints, self._rejections = db[COMPLAINTS], db[REJECTIONS]
        self._locks = locks

    def _of_customer(self, site: str, customer_id: str) -> Any:
        query = {"site": site, "customer_id": customer_id}
        return self._complaints.find(query, {"number": 1, "received_at": 1, "submission": 1})

    async def export(self, site: str, customer_id: str) -> list[dict[str, Any]]:
        found = []
        async for document in self._of_customer(site, customer_id):
            contact = document["submission"].get("contact")
            if _has_contact(contact):
                found.append(
                    {
                        "collection": COMPLAINTS,
                        "record": document.get("number") or document["_id"],
                        "received_at": document.get("received_at"),
                        "contact": contact,
                    }
                )
        return found

    async def erase(self, site: str, customer_id: str, *, now: datetime) -> dict[str, int]:
        erased = 0
        async for document in self._of_customer(site, customer_id):
            if not _has_contact(document["submission"].get("contact")):
                continue
            # Unset, not replaced by an empty sub-document: FerretDB 1.24 may take a `$set`
            # of a sub-document differing only in keys for "no change". A submission
            # without `contact` reads back as an empty Contact.
            async with self._locks.hold(COMPLAINTS, document["_id"]):
                await self._complaints.update_one(
                    {"_id": document["_id"]},
                    {"$unset": {"submission.contact": ""}, "$set": {"contact_erased_at": now}},
                )
            erased += 1
        return {COMPLAINTS: erased}

    async def purge(self, rules: SiteRules, *, now: datetime) -> dict[str, int]:
        """Complaints count from registration (intake does not see the case close: the
        workflow keeps the case record from its closure); rejections from refusal."""
        site, workflow = rules.site.id, rules.workflow
        oldest = years_before(now, shortest_retention_years(workflow))
        query = {"site": site, "received_at": {"$lte": oldest}}
        complaints = 0
        async for document in self._complaints.find(query, {"submission": 1, "registered_at": 1}):
            years = retention_years(workflow, _products(document["submission"]))
            start = document.get("registered_at") or document["submission"]["received_at"]
            if isinstance(start, str):
                start = datetime.fromisoformat(start)
            if start <= years_before(now, years):
                removed = await self._complaints.delete_one({"_id": document["_id"]})
                complaints += removed.deleted_count
        cutoff = years_before(now, retention_years(workflow))
        refused = {"site": site, "rejected_at": {"$lte": cutoff}}
        rejected = await self._rejections.delete_many(refused)
        return {COMPLAINTS: complaints, REJECTIONS: rejected.deleted_count}


# --- erasure requests -------------------------------------------------------------------
class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field(pattern=SITE_PATTERN)
    customer_id: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=500)


async def request_erasure(
    db: Database,
    request: ErasureRequest,
    *,
    requested_by: str,
    now: datetime,
) -> str:
    """Store the request with its `customer.erasure_requested` event (outbox); the relay
    publishes it. Returns the request id."""
    request_id = uuid.uuid4().hex
    fact = CustomerErasureRequested(
        request_id=request_id,
        customer_id=request.customer_id,
        requested_by=requested_by,
        requested_at=now,
        reason=request.reason,
    )
    event = new_event(fact, site=request.site, source=SOURCE, time=now, subject=request_id)
    document = {"_id": request_id, **request.model_dump(), "requested_by": requested_by}
    await insert_once(db[REQUESTS], with_outbox({**document, "requested_at": now}, [event]))
    return request_id


async def erasure_status(db: Database, request_id: str) -> dict[str, Any] | None:
    request = await db[REQUESTS].find_one({"_id": request_id}, {"outbox": 0, "outbox_n": 0})
    if request is None:
        return None
    completed = {}
    for service in PERSONAL_DATA_HOLDERS:  # `_id` look-ups only
        done = await db[CONFIRMATIONS].find_one({"_id": f"{request_id}|{service}"})
        if done is not None:
            completed[service] = {"completed_at": done["completed_at"], "erased": done["erased"]}
    pending = [s for s in PERSONAL_DATA_HOLDERS if s not in completed]
    return {
        "request_id": request_id,
        "site": request["site"],
        "customer_id": request["customer_id"],
        "requested_by": request["requested_by"],
        "requested_at": request["requested_at"],
        "completed": completed,
        "pending": pending,
        "done": not pending,
    }


def confirmation_handler(ctx: ServiceContext) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        done = envelope.data
        assert isinstance(done, CustomerErasureCompleted)
        request = await ctx.db[REQUESTS].find_one({"_id": done.request_id}, {"site": 1})
        if request is None or request["site"] != envelope.site:
            # Not asked here (another deployment on the same broker asked): no effect.
            return "duplicate"
        stored = await insert_once(
            ctx.db[CONFIRMATIONS],
            {
                "_id": f"{done.request_id}|{done.service}",
                "request_id": done.request_id,
                "site": envelope.site,
                "service": done.service,
                "erased": done.erased,
                "completed_at": done.completed_at,
            },
        )
        return "stored" if stored else "duplicate"

    return handle


router = APIRouter(tags=["privacy"])
Officer = Annotated[Caller, Depends(require("privacy"))]
Context = Annotated[ServiceContext, Depends(service_context)]


@router.post(
    "/privacy/erasures",
    status_code=202,
    summary="Erase one customer's contact details in every service",
)
async def post_erasure(body: ErasureRequest, key: Officer, ctx: Context) -> dict[str, Any]:
    ensure_site(key, body.site)
    request_id = await request_erasure(ctx.db, body, requested_by=key.name, now=ctx.clock.now())
    ctx.relay.kick(REQUESTS, request_id)
    return {"request_id": request_id, "status": f"/privacy/erasures/{request_id}"}


@router.get("/privacy/erasures/{request_id}", summary="Which services completed an erasure")
async def get_erasure(request_id: str, key: Officer, ctx: Context) -> dict[str, Any]:
    status = await erasure_status(ctx.db, request_id)
    if status is None or not key.may_access(status["site"]):
        raise HTTPException(404, f"no erasure request {request_id!r}")
    return status


# The name `qloop privacy` (services/privacy_cli.py) looks this service up by.
HOLDER = IntakePersonalData
