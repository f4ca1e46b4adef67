"""Closing a campaign when its answer window has ended: response rate against target,
scores per customer and campaign with bands, close-time triggers, and whether the
previous campaign's actions worked."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from services.common.contracts.envelope import Envelope
from services.common.contracts.surveys import SurveyCampaignClosed, SurveyScored
from services.survey.domain import actions as act
from services.survey.domain import scoring, window
from services.survey.service import SurveyService
from services.survey.store import CAMPAIGNS


def _scored(svc: SurveyService, campaign: dict[str, Any], s: scoring.Score, **extra: Any) -> Any:
    return svc.event(
        SurveyScored(
            campaign_id=campaign["_id"],
            overall=s.overall,
            band=s.band,
            improvement_report=s.improvement_report,
            dimensions=s.dimensions,
            items=s.items,
            period=campaign["label"],
            rules_version=campaign["rules_version"],
            scored_at=svc.clock.now(),
            **extra,
        ),
        site=campaign["site"],
        subject=campaign["_id"],
    )


async def _previous_actions(svc: SurveyService, campaign: dict[str, Any]) -> list[act.RaisedAction]:
    """Actions raised by the site's last closed campaign (follow-ups aside)."""
    closed = await svc.store.campaigns_where(
        {"site": campaign["site"], "status": "closed", "kind": {"$ne": "follow_up"}}
    )
    closed = [c for c in closed if c["_id"] != campaign["_id"]]
    if campaign["kind"] == "follow_up" or not closed:
        return []
    last = max(closed, key=lambda c: c["closed_at"])
    records = list(last.get("actions") or [])
    for response in await svc.store.responses(last["_id"]):
        records += response.get("actions") or []
    return [act.RaisedAction(**r) for r in records]


def _record(action: Any, hit: Any) -> dict[str, Any]:
    return {
        "action_id": action.action_id,
        "trigger": action.trigger,
        "subject": hit.subject,
        "customer_id": action.customer_id,
        "value": hit.value,
    }


async def close_campaign(svc: SurveyService, campaign_id: str) -> dict[str, Any] | None:
    """Close an open campaign once; None when it is not open (closed already, pending)."""
    campaign = await svc.store.campaign(campaign_id)
    if campaign is None or campaign["status"] != "open":
        return None
    rules, survey = svc.rules(campaign["site"])
    now = svc.clock.now()
    sent = len(await svc.store.invitations(campaign_id))
    responses = await svc.store.responses(campaign_id)
    counted = [r for r in responses if r["counted"]]
    by_customer: dict[str, list[dict[str, float]]] = defaultdict(list)
    names = {}
    for r in counted:
        by_customer[r["customer_id"]].append(r["items"])
        names[r["customer_id"]] = r["customer_name"]
    customer_items: dict[str, dict[str, Fraction]] = {
        c: scoring.mean_items(sets) for c, sets in by_customer.items()
    }
    customer_scores = {c: scoring.score(rules, items) for c, items in customer_items.items()}
    total = scoring.score(rules, scoring.mean_items(customer_items.values())) if counted else None
    rate = window.response_rate(sent, len(counted))
    measures = act.Measures(
        overall=total.overall if total else None,
        customers={c: s.overall for c, s in customer_scores.items() if s.overall is not None},
        dimensions=total.dimensions if total else {},
        items=total.items if total else {},
        response_rate=None if rate is None else len(counted) / sent,
    )
    kinds = ("customer_score",) if campaign["kind"] == "follow_up" else act.CLOSE_KINDS
    context = act.Context(campaign_id, "close", now, customer_names=names)
    raised = act.raise_actions(rules, context, measures, kinds)
    results = act.Results(
        measures,
        customer_items={c: s.items for c, s in customer_scores.items()},
        customer_dimensions={c: s.dimensions for c, s in customer_scores.items()},
    )
    effects = act.effectiveness(rules, await _previous_actions(svc, campaign), results)
    target = round(survey.response.target_rate * 100, 2)
    events: list[Envelope[BaseModel]] = [
        _scored(
            svc,
            campaign,
            s,
            scope="customer",
            customer_id=c,
            customer_name=names[c],
            responses=len(by_customer[c]),
        )
        for c, s in sorted(customer_scores.items())
    ]
    if total is not None:
        events.append(_scored(svc, campaign, total, scope="campaign", responses=len(counted)))
    events += [svc.event(a, site=campaign["site"], subject=campaign_id) for a, _ in raised]
    closed = SurveyCampaignClosed(
        campaign_id=campaign_id,
        closed_at=now,
        sent=sent,
        returned=len(counted),
        late=sum(1 for r in responses if not r["on_time"]),
        response_rate=rate,
        target_rate=target,
        target_met=None if rate is None else rate >= target,
        overall=total.overall if total else None,
        band=total.band if total else None,
        dimensions=total.dimensions if total else {},
        actions_raised=len(raised),
        effectiveness=tuple(effects),
    )
    events.append(svc.event(closed, site=campaign["site"], subject=campaign_id))
    fields = {
        "status": "closed",
        "closed_at": now,
        "results": {
            **closed.model_dump(mode="json", exclude={"campaign_id", "closed_at"}),
            "items": total.items if total else {},
            "improvement_report": bool(total and total.improvement_report),
            "customers": {
                c: {
                    "name": names[c],
                    "overall": s.overall,
                    "band": s.band,
                    "dimensions": s.dimensions,
                    "items": s.items,
                }
                for c, s in customer_scores.items()
            },
        },
        "actions": [_record(a, h) for a, h in raised],
    }
    if not await svc.store.update_campaign(campaign_id, {"status": "open"}, fields, events):
        return None
    svc.stored(CAMPAIGNS, campaign_id, events)
    _observe(svc, campaign["site"], closed, raised)
    return {**campaign, **fields}


def _observe(
    svc: SurveyService, site: str, closed: SurveyCampaignClosed, raised: list[Any]
) -> None:
    m = svc.metrics
    if closed.response_rate is not None:
        m.response_rate.labels(site).set(closed.response_rate)
    m.response_target.labels(site).set(closed.target_rate)
    if closed.overall is not None:
        m.overall_score.labels(site).set(closed.overall)
    for dimension, value in closed.dimensions.items():
        m.dimension_score.labels(site, dimension).set(value)
    for action, _ in raised:
        m.actions.labels(site, action.trigger).inc()


async def close_due(svc: SurveyService) -> int:
    """Close every open campaign whose answer window has ended."""
    due = await svc.store.campaigns_where(
        {"status": "open", "answer_due": {"$lte": svc.clock.now()}}
    )
    closed = [await close_campaign(svc, c["_id"]) for c in due]
    return sum(1 for c in closed if c is not None)
