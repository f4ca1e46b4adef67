"""A campaign's response rate judged before its answer window ends: pure rules.

The survey service announces a campaign (`survey.campaign_opened`: its invitations and
the window's end) and each answer (`survey.answered`); notify counts the answers that
count as returned and, `before` the window's end (the trigger's setting, default one
working day, when the survey sends its reminders), tells the survey's owner if the rate
is under the site's target.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.common.rules.durations import Duration
from services.common.rules.schema import SiteRules
from services.common.rules.schema_notifications import ResponseRateTrigger
from services.notify.tracking import Campaign
from services.notify.triggers import Cause, configured

KIND = "campaign_response_low"
EVENT_TYPE = "notify.campaign_response_low"  # what notify itself noticed (no broker event)


def lead(rules: SiteRules) -> Duration:
    found = rules.notifications.campaign_response_low if rules.notifications else None
    return (found or ResponseRateTrigger()).before


def check_time(rules: SiteRules, answer_due: datetime, before: Duration) -> datetime:
    """`before` ahead of the window's end: elapsed time, or the same local clock time
    that many working days earlier on the site's calendar."""
    elapsed = before.elapsed
    if elapsed is not None:
        return answer_due - elapsed
    local = answer_due.astimezone(rules.zone)
    day, left = local.date(), before.amount
    while left:
        day -= timedelta(days=1)
        left -= rules.working_calendar.is_working_day(day)
    return datetime.combine(day, local.timetz()).astimezone(answer_due.tzinfo)


def survey_owner(rules: SiteRules) -> tuple[str, ...]:
    """Who answers for the response rate: the rules' `below_target_owner`, else the owners
    of the response-rate triggers, else the survey's approver."""
    survey = rules.survey
    if survey is None:
        return ()
    if survey.response.below_target_owner:
        return (survey.response.below_target_owner,)
    owners = tuple(dict.fromkeys(t.owner for t in survey.triggers if t.kind == "response_rate"))
    return owners or ((survey.approver,) if survey.approver else ())


def event_id(campaign: Campaign) -> str:
    return f"campaign:{campaign.id}:response_low"


def response_low(campaign: Campaign, rules: SiteRules) -> Cause | None:
    """The cause to tell, when the rate so far is under the target (None otherwise)."""
    if rules.survey is None or campaign.invitations <= 0:
        return None
    rate = round(len(campaign.returned) * 100 / campaign.invitations, 2)
    target = round(rules.survey.response.target_rate * 100, 2)
    if rate >= target:
        return None
    values = {"number": campaign.id, "rate": f"{rate:g}", "target": f"{target:g}"}
    cause = Cause(KIND, survey_owner(rules), campaign.id, None, values, None)
    return configured(cause, rules)
