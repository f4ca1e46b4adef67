"""Read models of surveys, survey actions, deliveries and refused submissions.

Scores are kept in hundredths (scores are reported to two decimals), money in cents:
integer sums are exact and independent of the order events were added in, so a rebuild
gives exactly the figures that were kept incrementally.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, tzinfo
from typing import Any

from pydantic import BaseModel

from services.common.contracts import deliveries, surveys
from services.common.contracts.complaints import ComplaintRejected
from services.common.contracts.envelope import Envelope
from services.reporting.domain.buckets import ALL, BucketKey, Contributions, Counters, cut
from services.reporting.domain.periods import instant, month_of, month_of_day

State = dict[str, Any]
Banding = Callable[[str, float], str | None]
INDEX_SCOPES = ("customer", "scorecard")  # one figure per customer: the satisfaction index


def hundredths(score: float) -> int:
    return round(score * 100)


# --- scores ---------------------------------------------------------------------------------
def fold_score(envelope: Envelope[BaseModel]) -> State:
    score = envelope.data
    assert isinstance(score, surveys.SurveyScored)
    return {
        "site": envelope.site,
        "scope": score.scope,
        "campaign_id": score.campaign_id,
        "customer_id": score.customer_id,
        "customer_name": score.customer_name,
        "overall": score.overall,
        "band": score.band,
        "dimensions": dict(score.dimensions),
        "period": score.period,
        "scored_at": instant(score.scored_at),
    }


def score_contributions(state: State, zone: tzinfo, band_of: Banding) -> Contributions:
    site, month = state["site"], month_of(state["scored_at"], zone)
    found: Counters = {}
    if state["scope"] == "response":
        found["responses_scored"] = 1
    elif state["scope"] == "campaign" and state["overall"] is not None:
        found.update(campaign_score_sum=hundredths(state["overall"]), campaign_score_n=1)
    elif state["scope"] in INDEX_SCOPES and state["overall"] is not None:
        found.update(sat_sum=hundredths(state["overall"]), sat_n=1)
        found[f"band:{state['band'] or band_of(site, state['overall']) or 'none'}"] = 1
        for dimension, value in state["dimensions"].items():
            found[f"dim_sum:{dimension}"] = hundredths(value)
            found[f"dim_n:{dimension}"] = 1
            found[f"dim_band:{dimension}:{band_of(site, value) or 'none'}"] = 1
    return cut(site, month, found, {"customer": state["customer_id"]})


# --- campaigns ------------------------------------------------------------------------------
def fold_campaign(state: State | None, envelope: Envelope[BaseModel]) -> State:
    folded: State = dict(state or {"site": envelope.site})
    event = envelope.data
    if isinstance(event, surveys.SurveyCampaignOpened):
        folded.update(
            campaign_id=event.campaign_id,
            kind=event.kind,
            period=f"{event.period_start}..{event.period_end}",
            follow_up_of_case=event.follow_up_of_case,
            opened_at=instant(event.opened_at),
            invitations=event.invitations,
            eligible=len(event.eligible),
        )
    elif isinstance(event, surveys.SurveyCampaignClosed):
        folded.update(
            campaign_id=event.campaign_id,
            closed_at=instant(event.closed_at),
            sent=event.sent,
            returned=event.returned,
            late=event.late,
            target_rate=event.target_rate,
            target_met=event.target_met,
            overall=event.overall,
            band=event.band,
            actions_raised=event.actions_raised,
        )
    return folded


def campaign_contributions(state: State, zone: tzinfo) -> Contributions:
    if state.get("closed_at") is None:
        return {}
    found = {
        "campaigns_closed": 1,
        "surveys_sent": state["sent"],
        "surveys_returned": state["returned"],
        "surveys_late": state["late"],
    }
    return cut(state["site"], month_of(state["closed_at"], zone), found, {})


# --- survey actions -------------------------------------------------------------------------
def fold_action(state: State | None, envelope: Envelope[BaseModel], action_id: str) -> State:
    folded: State = dict(state or {"site": envelope.site, "action_id": action_id})
    event = envelope.data
    if isinstance(event, surveys.SurveyActionRequired):
        folded.update(
            trigger=event.trigger,
            what=event.what,
            why=event.why,
            campaign_id=event.campaign_id,
            customer_id=event.customer_id,
            customer_name=event.customer_name,
            score=event.score,
            threshold=event.threshold,
            department=event.owner_department,
            raised_at=instant(event.raised_at),
        )
    elif isinstance(event, surveys.SurveyCampaignClosed):
        measured_at = instant(event.closed_at)
        for effect in event.effectiveness:
            earlier = (folded.get("effect") or {}).get("measured_at")
            if effect.action_id == action_id and (earlier is None or measured_at >= earlier):
                folded["effect"] = {
                    "measured_at": measured_at,
                    "subject": effect.subject,
                    "before": effect.before,
                    "after": effect.after,
                    "effective": effect.effective,
                    "measured_by": event.campaign_id,
                }
    return folded


def action_contributions(state: State, zone: tzinfo) -> Contributions:
    if state.get("raised_at") is None:
        return {}
    effective = (state.get("effect") or {}).get("effective")
    found = {
        "actions_raised": 1,
        "actions_effective": int(effective is True),
        "actions_ineffective": int(effective is False),
    }
    values = {"customer": state.get("customer_id"), "department": state.get("department")}
    return cut(state["site"], month_of(state["raised_at"], zone), found, values)


# --- deliveries and refused submissions -----------------------------------------------------
def delivery_key(envelope: Envelope[BaseModel]) -> str:
    delivery = envelope.data
    assert isinstance(delivery, deliveries.DeliveryRecorded)
    if delivery.delivery_id:
        return f"{envelope.site}|{envelope.source}|{delivery.delivery_id}"
    return f"{envelope.site}|event|{envelope.id}"


def fold_delivery(state: State | None, envelope: Envelope[BaseModel]) -> State:
    """A resent delivery replaces the one it resends; the latest report of it wins."""
    delivery = envelope.data
    assert isinstance(delivery, deliveries.DeliveryRecorded)
    if state is not None and state["recorded_at"] > instant(envelope.time):
        return state
    return {
        "recorded_at": instant(envelope.time),
        "site": envelope.site,
        "customer_id": delivery.customer_id,
        "customer_name": delivery.customer_name,
        "product": delivery.product_model,
        "lot": delivery.lot,
        "quantity": delivery.quantity,
        "delivered_on": delivery.delivered_on.isoformat(),
        "due_on": delivery.due_on.isoformat() if delivery.due_on else None,
        "late": delivery.late,
    }


def delivery_contributions(state: State) -> Contributions:
    """A lot counts in the month it was due; lots without a due date are not counted."""
    if state["due_on"] is None:
        return {}
    month = month_of_day(date.fromisoformat(state["due_on"]))
    found = {"lots_due": 1, "lots_late": int(state["late"] is True)}
    values = {"customer": state["customer_id"], "product": state["product"]}
    return cut(state["site"], month, found, values)


def fold_rejection(envelope: Envelope[BaseModel]) -> State:
    rejected = envelope.data
    assert isinstance(rejected, ComplaintRejected)
    return {"site": envelope.site, "reason": rejected.reason, "at": instant(rejected.rejected_at)}


def rejection_contributions(state: State, zone: tzinfo) -> Contributions:
    key = BucketKey(state["site"], month_of(state["at"], zone), ALL, ALL)
    return {key: {"submissions_rejected": 1}}
