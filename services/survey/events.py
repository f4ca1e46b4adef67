"""The survey service's broker entries: deliveries, registered complaints (customers'
contacts) and closed cases (follow-up surveys when the rules ask for one)."""

from __future__ import annotations

from pydantic import BaseModel

from services.common.contracts.cases import CaseClosed
from services.common.contracts.complaints import ComplaintRegistered
from services.common.contracts.deliveries import DeliveryRecorded
from services.common.contracts.envelope import Envelope
from services.common.messaging.consumer import Handler, Outcome, Rejected
from services.common.messaging.topology import QueueSpec
from services.common.rulebook import UnknownSite
from services.survey import activity, followup
from services.survey.service import SurveyService

ACTIVITY = QueueSpec(
    "survey.activity", ("*.delivery.recorded", "*.complaint.registered", "*.case.closed")
)


def on_delivery(svc: SurveyService) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        delivery = envelope.data
        assert isinstance(delivery, DeliveryRecorded)
        key = activity.delivery_key(envelope.site, delivery, f"event:{envelope.id}")
        try:
            stored = await activity.record_delivery(svc, envelope.site, delivery, key=key)
        except UnknownSite as exc:
            raise Rejected(str(exc), ["site"]) from None
        return "stored" if stored else "duplicate"

    return handle


def on_complaint_registered(svc: SurveyService) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        fact = envelope.data
        assert isinstance(fact, ComplaintRegistered)
        stored = await activity.learn_from_complaint(svc, envelope.site, fact)
        return "stored" if stored else "duplicate"

    return handle


def on_case_closed(svc: SurveyService) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        case = envelope.data
        assert isinstance(case, CaseClosed)
        try:
            planned = await followup.after_case_closed(svc, envelope.site, case)
        except UnknownSite as exc:
            raise Rejected(str(exc), ["site"]) from None
        return "stored" if planned else "duplicate"

    return handle


def handlers(svc: SurveyService) -> dict[str, Handler]:
    return {
        "delivery.recorded": on_delivery(svc),
        "complaint.registered": on_complaint_registered(svc),
        "case.closed": on_case_closed(svc),
    }
