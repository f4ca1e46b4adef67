"""Which read-model entities an event touches, how it folds into them, and what each
entity contributes to the buckets. The projector (incremental) and the rebuild both run
exactly these functions, so they agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any, Protocol

from pydantic import BaseModel

from services.common.contracts import surveys
from services.common.contracts.envelope import Envelope
from services.reporting.domain import complaint_figures, complaints, feedback
from services.reporting.domain.buckets import Contributions
from services.reporting.domain.periods import month_of
from services.reporting.domain.policy import Policy

State = dict[str, Any]
COMPLAINT, SCORE, CAMPAIGN, ACTION, DELIVERY, REJECTION = (
    "complaint",
    "score",
    "campaign",
    "survey_action",
    "delivery",
    "rejection",
)


class Sites(Protocol):
    """What the projection needs to know about a site: its timezone and score bands."""

    def zone(self, site: str) -> tzinfo: ...

    def band(self, site: str, score: float) -> str | None: ...


class UtcSites:
    """For sites without a rule file: UTC months, no bands."""

    def zone(self, site: str) -> tzinfo:
        return UTC

    def band(self, site: str, score: float) -> str | None:
        return None


@dataclass(frozen=True, order=True)
class Target:
    kind: str
    key: str

    @property
    def id(self) -> str:
        return f"{self.kind}|{self.key}"


def targets(envelope: Envelope[BaseModel]) -> list[Target]:
    kind, data, site = envelope.type, envelope.data, envelope.site
    if kind in complaints.EVENTS:
        key = complaints.entity_key(envelope)
        return [Target(COMPLAINT, key)] if key else []
    if isinstance(data, surveys.SurveyScored):
        return [Target(SCORE, f"{site}|{envelope.id}")]
    if isinstance(data, surveys.SurveyCampaignOpened | surveys.SurveyCampaignClosed):
        found = [Target(CAMPAIGN, f"{site}|{data.campaign_id}")]
        if isinstance(data, surveys.SurveyCampaignClosed):
            found += [Target(ACTION, f"{site}|{e.action_id}") for e in data.effectiveness]
        return found
    if isinstance(data, surveys.SurveyActionRequired):
        return [Target(ACTION, f"{site}|{data.action_id}")]
    if kind == "delivery.recorded":
        return [Target(DELIVERY, feedback.delivery_key(envelope))]
    if kind == "complaint.rejected":
        return [Target(REJECTION, f"{site}|{envelope.id}")]
    return []  # dispatch notices, answers, commands: kept in the event store only


def fold(target: Target, state: State | None, envelope: Envelope[BaseModel]) -> State:
    if target.kind == COMPLAINT:
        return complaints.fold(state, envelope)
    if target.kind == SCORE:
        return feedback.fold_score(envelope)
    if target.kind == CAMPAIGN:
        return feedback.fold_campaign(state, envelope)
    if target.kind == ACTION:
        return feedback.fold_action(state, envelope, target.key.split("|", 1)[1])
    if target.kind == DELIVERY:
        return feedback.fold_delivery(state, envelope)
    return feedback.fold_rejection(envelope)


def contributions(kind: str, state: State, sites: Sites, policy: Policy) -> Contributions:
    zone = sites.zone(state["site"])
    if kind == COMPLAINT:
        return complaint_figures.contributions(state, zone, policy)
    if kind == SCORE:
        return feedback.score_contributions(state, zone, sites.band)
    if kind == CAMPAIGN:
        return feedback.campaign_contributions(state, zone)
    if kind == ACTION:
        return feedback.action_contributions(state, zone)
    if kind == DELIVERY:
        return feedback.delivery_contributions(state)
    return feedback.rejection_contributions(state, zone)


def listing(kind: str, state: State, sites: Sites) -> dict[str, Any]:
    """Fields the store indexes so that reports find one month's items without scanning:
    `month` (the entity's month in its site's calendar) and `link` (what it refers to)."""
    zone = sites.zone(state["site"])
    if kind == COMPLAINT:
        return {"month": complaint_figures.month(state, zone), "link": state.get("case_id")}
    if kind == ACTION and state.get("raised_at"):
        return {"month": month_of(state["raised_at"], zone), "link": state.get("campaign_id")}
    if kind == CAMPAIGN:
        opened = state.get("opened_at") or state.get("closed_at")
        month = month_of(opened, zone) if opened else None
        return {"month": month, "link": state.get("follow_up_of_case")}
    if kind == SCORE:
        return {"month": month_of(state["scored_at"], zone), "link": state.get("campaign_id")}
    return {"month": None, "link": None}
