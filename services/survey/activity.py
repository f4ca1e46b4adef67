"""Customer activity and profiles: deliveries (events and CSV import), contacts learned
from registered complaints, and what marketing records (new products, customer-owned
moulds, named prospects, contacts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from services.common.contracts.complaints import ComplaintRegistered
from services.common.contracts.deliveries import DeliveryRecorded
from services.survey.domain.eligibility import CustomerActivity, CustomerProfile, Verdict, assess
from services.survey.domain.schedule import Period
from services.survey.service import SurveyService
from services.survey.store import day


def delivery_key(site: str, delivery: DeliveryRecorded, fallback: str) -> str:
    """The same delivery (by the sender's id) is counted once, whichever way it came."""
    ref = f"id:{delivery.delivery_id}" if delivery.delivery_id else fallback
    return f"{site}|{ref}"


async def record_delivery(
    svc: SurveyService, site: str, delivery: DeliveryRecorded, *, key: str
) -> bool:
    svc.rulebook.for_site(site)
    document = {
        "_id": key,
        "site": site,
        **delivery.model_dump(mode="json"),
        "delivered_on": day(delivery.delivered_on),
        "recorded_at": svc.clock.now(),
    }
    return await svc.store.record_delivery(document)


async def learn_from_complaint(svc: SurveyService, site: str, fact: ComplaintRegistered) -> bool:
    """Remember the complaint's customer and contact: follow-up surveys after the case
    closes go to that contact, and campaigns to every contact known for a customer."""
    submission = fact.complaint
    contact = submission.contact
    stored = await svc.store.remember_complaint(
        {
            "_id": f"{site}|{fact.number}",
            "site": site,
            "number": fact.number,
            "customer_id": submission.customer.id,
            "customer_name": submission.customer.name,
            "contact": {"name": contact.name, "email": contact.email},
            "registered_at": fact.registered_at,  # retention counts from here
        }
    )
    if contact.email:
        await svc.store.add_contact(
            site,
            submission.customer.id,
            submission.customer.name,
            {"name": contact.name, "email": contact.email, "language": None},
        )
    return stored


def _profiles(documents: Sequence[dict[str, Any]]) -> dict[str, CustomerProfile]:
    return {
        d["customer_id"]: CustomerProfile(
            customer_id=d["customer_id"],
            customer_name=d.get("customer_name") or d["customer_id"],
            new_product=bool(d.get("new_product")),
            customer_owned_mould=bool(d.get("customer_owned_mould")),
            prospect=bool(d.get("prospect")),
        )
        for d in documents
    }


async def activity(
    svc: SurveyService, site: str, start: date, end: date
) -> dict[str, CustomerActivity]:
    totals: dict[str, CustomerActivity] = {}
    for d in await svc.store.activity(site, start, end):
        before = totals.get(d["customer_id"])
        totals[d["customer_id"]] = CustomerActivity(
            customer_id=d["customer_id"],
            customer_name=d["customer_name"],
            quantity=(before.quantity if before else 0) + int(d["quantity"]),
            deliveries=(before.deliveries if before else 0) + 1,
        )
    return totals


async def eligibility(svc: SurveyService, site: str, period: Period) -> list[Verdict]:
    """Every known customer with the reasons it is, or is not, surveyed in `period`."""
    _, survey = svc.rules(site)
    business = await activity(svc, site, period.start, period.end)
    profiles = _profiles(await svc.store.customers(site))
    return assess(survey.eligibility, business, profiles)
