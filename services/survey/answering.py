"""Answering an invitation (form or API): the link is checked, the answer stored once
with its score, lateness and the actions it raises, and announced through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from services.common.contracts.envelope import Envelope
from services.common.contracts.surveys import SurveyAnswered, SurveyScored
from services.common.rules import SiteRules
from services.common.rules.schema_survey import Survey
from services.survey.domain import actions as act
from services.survey.domain import links, scoring, window
from services.survey.service import SurveyService
from services.survey.store import RESPONSES


class UnknownInvitation(LookupError):
    """A genuine link whose invitation is not (or no longer) stored."""


@dataclass(frozen=True)
class Questionnaire:
    """An invitation opened by its link: what to ask, in which language."""

    invitation: dict[str, Any]
    campaign: dict[str, Any]
    rules: SiteRules
    survey: Survey
    items: tuple[str, ...]
    answered: dict[str, Any] | None


@dataclass(frozen=True)
class Answer:
    items: dict[str, float]
    comments: str | None = None
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnswerOutcome:
    created: bool
    on_time: bool
    counted_as_returned: bool
    score: dict[str, Any]
    actions: int


async def questionnaire(svc: SurveyService, token: str) -> Questionnaire:
    """Raises `links.LinkRefused` (tampered, expired) or `UnknownInvitation`."""
    invitation_id = links.verify(svc.link_secret, token, svc.clock.now())
    invitation = await svc.store.invitation(invitation_id)
    campaign = (
        await svc.store.campaign(invitation["campaign_id"], lists=False) if invitation else None
    )
    if invitation is None or campaign is None:
        raise UnknownInvitation(invitation_id)
    rules, survey = svc.rules(invitation["site"])
    every = tuple(i.id for d in survey.dimensions for i in d.items)
    items = tuple(i for i in every if i in campaign["items"]) if campaign["items"] else every
    answered = await svc.store.response(invitation_id)
    return Questionnaire(invitation, campaign, rules, survey, items, answered)


def _events(
    svc: SurveyService,
    q: Questionnaire,
    answer: Answer,
    s: scoring.Score,
    late: window.Lateness,
    raised: list[Any],
    via: Literal["form", "api"],
) -> list[Envelope[BaseModel]]:
    inv, site, now = q.invitation, q.invitation["site"], svc.clock.now()
    common = {
        "campaign_id": inv["campaign_id"],
        "customer_id": inv["customer_id"],
        "customer_name": inv["customer_name"],
    }
    answered = SurveyAnswered(
        invitation_id=inv["_id"],
        answered_at=now,
        on_time=late.on_time,
        counted_as_returned=late.counted_as_returned,
        items=answer.items,
        comments=answer.comments,
        suggestions=answer.suggestions,
        via=via,
        **common,
    )
    scored = SurveyScored(
        scope="response",
        overall=s.overall,
        band=s.band,
        improvement_report=s.improvement_report,
        dimensions=s.dimensions,
        items=s.items,
        responses=1,
        period=q.campaign["label"],
        rules_version=q.rules.rules_version,
        scored_at=now,
        **common,
    )
    facts: list[BaseModel] = [answered, scored, *(a for a, _ in raised)]
    first = svc.event(facts[0], site=site, subject=inv["campaign_id"])
    rest = [
        svc.event(
            f,
            site=site,
            subject=inv["campaign_id"],
            correlation_id=first.correlationid,
            causation_id=str(first.id),
        )
        for f in facts[1:]
    ]
    return [first, *rest]


async def answer(
    svc: SurveyService, token: str, given: Answer, *, via: Literal["form", "api"]
) -> AnswerOutcome:
    """Store the answer once. Raises LinkRefused, UnknownInvitation or scoring.AnswerError."""
    q = await questionnaire(svc, token)
    extra = sorted(set(given.items) - set(q.items))
    if extra:
        raise scoring.AnswerError(f"not asked in this survey: {', '.join(extra)}")
    scoring.check_answers(q.survey, given.items)
    if q.answered is not None:
        return _outcome(q.answered, created=False)
    s = scoring.score(q.rules, given.items)
    now = svc.clock.now()
    late = window.judge(q.rules, now, q.invitation["answer_due"])
    inv = q.invitation
    context = act.Context(
        inv["campaign_id"], inv["_id"], now, inv["customer_id"], inv["customer_name"]
    )
    measures = act.Measures(items=s.items, dimensions=s.dimensions, suggestions=given.suggestions)
    raised = act.raise_actions(q.rules, context, measures, act.ANSWER_KINDS)
    document = {
        "_id": inv["_id"],
        "campaign_id": inv["campaign_id"],
        "site": inv["site"],
        "customer_id": inv["customer_id"],
        "customer_name": inv["customer_name"],
        "items": given.items,
        "comments": given.comments,
        "suggestions": list(given.suggestions),
        "answered_at": now,
        "on_time": late.on_time,
        "counted": late.counted_as_returned,
        "via": via,
        "score": {"overall": s.overall, "band": s.band, "dimensions": s.dimensions},
        "actions": [
            {
                "action_id": a.action_id,
                "trigger": a.trigger,
                "subject": h.subject,
                "customer_id": a.customer_id,
                "value": h.value,
            }
            for a, h in raised
        ],
    }
    events = _events(svc, q, given, s, late, raised, via)
    if not await svc.store.insert_response(document, events):
        svc.stored(RESPONSES, inv["_id"], None)
        stored = await svc.store.response(inv["_id"])
        assert stored is not None
        return _outcome(stored, created=False)
    svc.stored(RESPONSES, inv["_id"], events)
    svc.metrics.answers.labels(inv["site"], str(late.on_time).lower()).inc()
    for action, _ in raised:
        svc.metrics.actions.labels(inv["site"], action.trigger).inc()
    return _outcome(document, created=True)


def _outcome(document: dict[str, Any], *, created: bool) -> AnswerOutcome:
    return AnswerOutcome(
        created=created,
        on_time=document["on_time"],
        counted_as_returned=document["counted"],
        score=document["score"],
        actions=len(document.get("actions") or []),
    )
