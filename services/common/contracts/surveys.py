"""Satisfaction survey events: campaigns, invitations, answers, scores, actions.

Scores are in the site's scale (`survey.scale`, usually 0-100); rates are percentages.
Contact data (in `survey.dispatched`) is personal: never log it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from services.common.contracts.envelope import Contract
from services.common.contracts.registry import register

CampaignKind = Literal["scheduled", "manual", "project_stage", "incident", "follow_up"]


class EligibleCustomer(Contract):
    customer_id: str
    customer_name: str
    reasons: tuple[str, ...] = Field(min_length=1, description="Why this customer is surveyed.")


@register(
    "survey.campaign_opened",
    1,
    "A satisfaction campaign opened (by the site's schedule, by hand, or after a closed case), "
    "with every eligible customer and the reason it is surveyed.",
)
class SurveyCampaignOpened(Contract):
    campaign_id: str
    kind: CampaignKind
    period_start: date
    period_end: date = Field(description="Last day of the activity period (inclusive).")
    project_stage: str | None = None
    follow_up_of_case: str | None = None
    opened_at: AwareDatetime
    answer_due: AwareDatetime = Field(description="End of the answer window (working days).")
    eligible: tuple[EligibleCustomer, ...]
    invitations: int = Field(ge=0)
    rules_version: str


@register(
    "survey.dispatched",
    1,
    "One invitation (or reminder) to one contact, for a mailing system to deliver. The link is "
    "signed and expires; it is the only secret and it carries no more than the invitation.",
)
class SurveyDispatched(Contract):
    invitation_id: str
    campaign_id: str
    customer_id: str
    customer_name: str
    contact_name: str | None = None
    contact_email: str | None = None
    language: str
    link: str
    answer_due: AwareDatetime
    expires_at: AwareDatetime
    reminder: bool = False


@register(
    "survey.answered",
    1,
    "A contact answered. Answers after the window are kept with `on_time: false` and count "
    "as not returned when the site's rules say so.",
)
class SurveyAnswered(Contract):
    invitation_id: str
    campaign_id: str
    customer_id: str
    customer_name: str
    answered_at: AwareDatetime
    on_time: bool
    counted_as_returned: bool
    items: dict[str, float] = Field(description="Item id -> score in the site's scale.")
    comments: str | None = None
    suggestions: tuple[str, ...] = ()
    via: Literal["form", "api"]


@register(
    "survey.scored",
    1,
    "A score: of one response, of a customer or of a whole campaign at its close, or of a "
    "customer's own scorecard; weighted per dimension and overall, with the site's band.",
)
class SurveyScored(Contract):
    scope: Literal["response", "customer", "campaign", "scorecard"]
    campaign_id: str | None
    customer_id: str | None = None
    customer_name: str | None = None
    overall: float | None
    band: str | None
    improvement_report: bool = False
    dimensions: dict[str, float] = Field(default_factory=dict)
    items: dict[str, float] = Field(default_factory=dict)
    responses: int = Field(ge=0, default=0)
    period: str | None = None
    rules_version: str
    scored_at: AwareDatetime


@register(
    "survey.action_required",
    1,
    "A survey result that needs an owner and an action (score or item under its threshold, "
    "response rate under target, a customer suggestion). The workflow opens a case for it; "
    "the next campaign records whether it worked.",
)
class SurveyActionRequired(Contract):
    action_id: str
    campaign_id: str | None
    customer_id: str | None
    customer_name: str | None
    trigger: str
    what: str
    why: str
    score: float | None
    threshold: float | None
    owner_department: str | None
    due: datetime | None = Field(
        description="When the action is due, by the site's `survey.action_due` on its calendar "
        "(None when the rules set none)."
    )
    raised_at: datetime
    due_provisional: bool = Field(
        default=False,
        description="`due` is counted through a calendar year not published yet.",
    )
    subject: str | None = Field(
        default=None,
        description="What the trigger measured: the item or dimension id, the customer id, "
        "`overall`, `response_rate`, or the suggestion's text.",
    )


class ActionEffect(Contract):
    action_id: str
    trigger: str
    subject: str
    before: float | None
    after: float | None
    effective: bool | None = Field(description="None when the next campaign did not measure it.")


@register(
    "survey.campaign_closed",
    1,
    "A campaign's answer window ended: response rate against target, campaign score and band, "
    "and whether the actions of the previous campaign worked.",
)
class SurveyCampaignClosed(Contract):
    campaign_id: str
    closed_at: AwareDatetime
    sent: int = Field(ge=0)
    returned: int = Field(ge=0)
    late: int = Field(ge=0)
    response_rate: float | None = Field(description="returned / sent x 100")
    target_rate: float = Field(description="Percent, from the rules.")
    target_met: bool | None
    overall: float | None
    band: str | None
    dimensions: dict[str, float] = Field(default_factory=dict)
    actions_raised: int = Field(ge=0)
    effectiveness: tuple[ActionEffect, ...] = ()
