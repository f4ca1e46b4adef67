"""Campaigns: opened by the schedule, by hand or after a closed case; invitations
dispatched (one per contact, signed link); reminders; closed with scores, bands,
response rate, actions and the effectiveness of the previous campaign's actions."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.common.contracts.surveys import (
    EligibleCustomer,
    SurveyCampaignOpened,
    SurveyDispatched,
)
from services.common.rules import CalendarCoverageError
from services.survey import activity
from services.survey.domain import window
from services.survey.domain.schedule import Period, campaign_id, scheduled_period
from services.survey.service import Refused, SurveyService
from services.survey.store import CAMPAIGNS, INVITATIONS

log = logging.getLogger(__name__)
INVITATIONS_NAMESPACE = uuid.UUID("0b8a9f43-2d55-4d0e-a3f5-9a1c0f7e6b21")


@dataclass(frozen=True)
class CampaignRequest:
    site: str
    kind: str  # scheduled | manual | project_stage | incident | follow_up
    period: Period
    project_stage: str | None = None
    customers: tuple[str, ...] = ()  # ad hoc: only these (each must be known)
    customer_name: str | None = None  # follow-up: the case's customer (customers[0])
    follow_up_of_case: str | None = None
    items: tuple[str, ...] = ()  # asked items; empty: every item of the rule file
    contacts: tuple[dict[str, Any], ...] = field(default=())  # follow-up: the case's contact
    dispatch_at: datetime | None = None
    id: str | None = None


def _invitation_id(campaign: str, customer: str, email: str | None, n: int) -> str:
    key = f"{campaign}|{customer}|{email or n}"
    return uuid.uuid5(INVITATIONS_NAMESPACE, key).hex


async def _eligible(svc: SurveyService, request: CampaignRequest) -> list[EligibleCustomer]:
    if request.kind == "follow_up":
        reason = f"follow-up after closed case {request.follow_up_of_case}"
        name = request.customer_name or request.customers[0]
        return [
            EligibleCustomer(
                customer_id=request.customers[0], customer_name=name, reasons=(reason,)
            )
        ]
    verdicts = await activity.eligibility(svc, request.site, request.period)
    if request.customers:
        known = {v.customer_id: v for v in verdicts}
        unknown = sorted(set(request.customers) - set(known))
        if unknown:
            raise Refused(f"unknown customer(s) {', '.join(unknown)}: record a profile first")
        return [
            EligibleCustomer(
                customer_id=c,
                customer_name=known[c].customer_name,
                reasons=(f"named for this {request.kind} campaign",),
            )
            for c in request.customers
        ]
    return [
        EligibleCustomer(
            customer_id=v.customer_id, customer_name=v.customer_name, reasons=v.reasons
        )
        for v in verdicts
        if v.eligible
    ]


async def _plan(
    svc: SurveyService, request: CampaignRequest, cid: str, eligible: list[EligibleCustomer]
) -> list[dict[str, Any]]:
    rules, _ = svc.rules(request.site)
    default_language = rules.site.languages[0]
    planned = []
    for customer in eligible:
        if request.kind == "follow_up":
            contacts = [dict(c) for c in request.contacts]
        else:
            profile = await svc.store.customer(request.site, customer.customer_id) or {}
            contacts = list(profile.get("contacts") or [])
        for n, contact in enumerate(contacts):
            language = contact.get("language")
            planned.append(
                {
                    "invitation_id": _invitation_id(
                        cid, customer.customer_id, contact.get("email"), n
                    ),
                    "customer_id": customer.customer_id,
                    "customer_name": customer.customer_name,
                    "contact": {"name": contact.get("name"), "email": contact.get("email")},
                    "language": language if language in rules.site.languages else default_language,
                }
            )
    return planned


def _due(svc: SurveyService, site: str, start: datetime) -> datetime:
    rules, _ = svc.rules(site)
    try:
        return window.answer_due(rules, start)
    except CalendarCoverageError as exc:
        raise Refused(f"cannot compute the answer window: {exc}") from None


def _opened_event(svc: SurveyService, campaign: dict[str, Any]) -> Any:
    return svc.event(
        SurveyCampaignOpened(
            campaign_id=campaign["_id"],
            kind=campaign["kind"],
            period_start=campaign["period_start"],
            period_end=campaign["period_end"],
            project_stage=campaign.get("project_stage"),
            follow_up_of_case=campaign.get("follow_up_of_case"),
            opened_at=campaign["opened_at"],
            answer_due=campaign["answer_due"],
            eligible=tuple(EligibleCustomer.model_validate(e) for e in campaign["eligible"]),
            invitations=len(campaign["planned"]),
            rules_version=campaign["rules_version"],
        ),
        site=campaign["site"],
        subject=campaign["_id"],
        time=campaign["opened_at"],
    )


async def open_campaign(
    svc: SurveyService, request: CampaignRequest
) -> tuple[dict[str, Any], bool]:
    """Open (once) and dispatch; returns the campaign and whether this call opened it."""
    rules, survey = svc.rules(request.site)
    if (
        request.kind == "project_stage"
        and request.project_stage not in survey.schedule.project_stages
    ):
        stages = ", ".join(survey.schedule.project_stages) or "none"
        raise Refused(f"project stage {request.project_stage!r} is not in the rules ({stages})")
    asked = {i.id for d in survey.dimensions for i in d.items}
    if set(request.items) - asked:
        raise Refused(f"unknown item(s): {', '.join(sorted(set(request.items) - asked))}")
    cid = request.id or campaign_id(request.site, request.kind, request.period.label)
    existing = await svc.store.campaign(cid)
    if existing is not None:
        return existing, False
    now = svc.clock.now()
    start = max(now, request.dispatch_at) if request.dispatch_at else now
    eligible = await _eligible(svc, request)
    campaign: dict[str, Any] = {
        "_id": cid,
        "site": request.site,
        "kind": request.kind,
        "label": request.period.label,
        "period_start": request.period.start.isoformat(),
        "period_end": request.period.end.isoformat(),
        "project_stage": request.project_stage,
        "follow_up_of_case": request.follow_up_of_case,
        "items": list(request.items),
        "eligible": [e.model_dump() for e in eligible],
        "planned": await _plan(svc, request, cid, eligible),
        "rules_version": rules.rules_version,
        "created_at": now,
        "opened_at": start,
        "answer_due": _due(svc, request.site, start),
        "status": "pending" if start > now else "open",
        "dispatched": False,
    }
    events = [_opened_event(svc, campaign)] if campaign["status"] == "open" else []
    if not await svc.store.insert_campaign(campaign, events):
        svc.stored(CAMPAIGNS, cid, None)
        stored = await svc.store.campaign(cid)
        assert stored is not None
        return stored, False
    svc.stored(CAMPAIGNS, cid, events)
    if campaign["status"] == "open":
        await dispatch(svc, campaign)
    return campaign, True


def _dispatched(svc: SurveyService, invitation: dict[str, Any], *, reminder: bool = False) -> Any:
    return svc.event(
        SurveyDispatched(
            invitation_id=invitation["_id"],
            campaign_id=invitation["campaign_id"],
            customer_id=invitation["customer_id"],
            customer_name=invitation["customer_name"],
            contact_name=invitation["contact"]["name"],
            contact_email=invitation["contact"]["email"],
            language=invitation["language"],
            link=invitation["link"],
            answer_due=invitation["answer_due"],
            expires_at=invitation["expires_at"],
            reminder=reminder,
        ),
        site=invitation["site"],
        subject=invitation["campaign_id"],
    )


async def dispatch(svc: SurveyService, campaign: dict[str, Any]) -> int:
    """Insert every planned invitation with its survey.dispatched event (each once), then
    mark the campaign dispatched. Safe to repeat after a crash."""
    rules, _ = svc.rules(campaign["site"])
    due, sent = campaign["answer_due"], 0
    expires = due + svc.link_valid
    for plan in campaign["planned"]:
        link = svc.link(plan["invitation_id"], expires)
        document = {
            "_id": plan["invitation_id"],
            "campaign_id": campaign["_id"],
            "site": campaign["site"],
            "customer_id": plan["customer_id"],
            "customer_name": plan["customer_name"],
            "contact": plan["contact"],
            "language": plan["language"],
            "sent_at": svc.clock.now(),
            "answer_due": due,
            "expires_at": expires,
            "link": link,
            "reminder_at": window.reminder_time(rules, campaign["opened_at"], due),
            "reminded": False,
            "mail": "pending" if svc.mail_on and plan["contact"]["email"] else "off",
        }
        if document["reminder_at"] is None:
            document["reminded"] = True  # a window too short for a reminder
        invited = [_dispatched(svc, document)]
        if await svc.store.insert_invitation(document, invited):
            svc.stored(INVITATIONS, document["_id"], invited)
            sent += 1
        else:
            svc.stored(INVITATIONS, document["_id"], None)
            svc.metrics.invitations.labels(campaign["site"], "invitation").inc()
    await svc.store.update_campaign(campaign["_id"], {"dispatched": False}, {"dispatched": True})
    return sent


async def open_due(svc: SurveyService) -> int:
    """Scheduled campaigns of this month, follow-ups whose delay is over, and dispatches
    a crash interrupted."""
    opened = 0
    now = svc.clock.now()
    for site in svc.rulebook.sites:
        rules = svc.rulebook.for_site(site)
        if rules.survey is None:
            continue
        period = scheduled_period(rules.survey.schedule, now.astimezone(rules.zone).date())
        if period is None:
            continue
        try:
            _, created = await open_campaign(svc, CampaignRequest(site, "scheduled", period))
        except Refused as exc:
            log.error("scheduled campaign of %s not opened: %s", site, exc)
            continue
        opened += int(created)
    for campaign in await svc.store.campaigns_where(
        {"status": "pending", "opened_at": {"$lte": now}}
    ):
        events = [_opened_event(svc, campaign)]
        if await svc.store.update_campaign(
            campaign["_id"], {"status": "pending"}, {"status": "open"}, events
        ):
            svc.stored(CAMPAIGNS, campaign["_id"], events)
            opened += 1
    for campaign in await svc.store.campaigns_where({"status": "open", "dispatched": False}):
        await dispatch(svc, campaign)
    return opened


async def send_reminders(svc: SurveyService) -> int:
    """A reminder (survey.dispatched with reminder: true) to every contact who has not
    answered one working day before the window closes."""
    sent = 0
    for invitation in await svc.store.due_reminders(svc.clock.now()):
        answered = await svc.store.response(invitation["_id"]) is not None
        campaign = await svc.store.campaign(invitation["campaign_id"], lists=False)
        if answered or campaign is None or campaign["status"] != "open":
            await svc.store.mark_reminded(invitation["_id"], [], invitation["mail"])
            continue
        event = _dispatched(svc, invitation, reminder=True)
        mail = "pending" if svc.mail_on and invitation["contact"]["email"] else "off"
        if await svc.store.mark_reminded(invitation["_id"], [event], mail):
            svc.stored(INVITATIONS, invitation["_id"], [event])
            sent += 1
            svc.metrics.invitations.labels(invitation["site"], "reminder").inc()
    return sent
