"""Verifying a survey action in the customer's next survey (`survey.scored`).

A survey action waiting in the site's verification stage (`workflow.survey_verification`)
is judged by the next result of the same customer (a campaign's action with no customer: by
the next campaign's result): a result of the customer (`customer`, at a campaign's close, or
the customer's own `scorecard`), not of the campaign that raised the action, scored after
the action was done. It is *effective* when the same measure no longer fires the action's
trigger (`overall` for overall and customer scores, else the item or dimension); a
suggestion's when the new overall score's band needs no improvement report. A result
that does not measure it (an item a follow-up did not ask, a response rate) leaves the
case waiting. The verdict takes the rule's `effective` or `not_effective` action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.common.contracts.surveys import SurveyScored
from services.common.rules import SiteRules
from services.workflow.domain import transitions
from services.workflow.domain.case import Case, SurveyCheck, instant
from services.workflow.domain.commands import ExecuteTransition, Refused
from services.workflow.domain.decisions import Decision

SYSTEM = "system:workflow"
CUSTOMER_RESULTS = ("customer", "scorecard")
ANY_CUSTOMER = "*"  # the waits of actions with no customer (a campaign's overall score)


def waits_key(site: str, customer_id: str | None) -> str:
    """The `_id` of the read model listing the cases that wait for this customer's result."""
    return f"{site}|{customer_id or ANY_CUSTOMER}"


def result_key(site: str, scored: SurveyScored) -> str | None:
    """Whose waiting cases a survey result may verify (None: nobody's)."""
    if scored.scope in CUSTOMER_RESULTS and scored.customer_id:
        return waits_key(site, scored.customer_id)
    if scored.scope == "campaign":
        return waits_key(site, None)
    return None


@dataclass(frozen=True)
class Verdict:
    measure: str
    value: float
    threshold: float | None
    effective: bool


def verdict(case: Case, scored: SurveyScored, rules: SiteRules) -> Verdict | None:
    """What `scored` says about the survey action `case`; None when it does not verify it."""
    check = rules.workflow.survey_verification
    since = case.awaiting_survey_since
    if check is None or case.stage != check.stage or case.terminal or since is None:
        return None
    if case.customer_id is None:
        whose = scored.scope == "campaign"
    else:
        whose = scored.scope in CUSTOMER_RESULTS and scored.customer_id == case.customer_id
    if not whose:
        return None
    raised_in = case.source_facts.get("campaign_id")
    if (raised_in is not None and scored.campaign_id == raised_in) or scored.scored_at < since:
        return None
    return _judge(case, scored, rules)


def _judge(case: Case, scored: SurveyScored, rules: SiteRules) -> Verdict | None:
    facts = case.source_facts
    kind, op = facts.get("kind"), facts.get("op")
    if kind is None and rules.survey is not None:  # opened before the trigger was recorded
        trigger = next((t for t in rules.survey.triggers if t.id == facts.get("trigger")), None)
        kind, op = (trigger.kind, trigger.op) if trigger else (None, None)
    subject = str(facts.get("subject") or "")
    if kind == "suggestion":
        if scored.overall is None:
            return None
        return Verdict("overall", scored.overall, None, not scored.improvement_report)
    if kind in ("overall_score", "customer_score"):
        measure, value = "overall", scored.overall
    elif kind == "item_score":
        measure, value = subject, scored.items.get(subject)
    elif kind == "dimension_score":
        measure, value = subject, scored.dimensions.get(subject)
    else:  # a response rate, or a trigger not known: not measured by a score
        return None
    threshold = facts.get("threshold")
    if value is None or not isinstance(threshold, int | float):
        return None
    fires = value < threshold if op == "lt" else value <= threshold
    return Verdict(measure, value, float(threshold), not fires)


def record(
    case: Case, scored: SurveyScored, event_id: str, rules: SiteRules, now: datetime
) -> Decision:
    """The verdict recorded on the case (`survey_checks`, history) and its action taken."""
    now = instant(now)
    found = verdict(case, scored, rules)
    check = rules.workflow.survey_verification
    if found is None or check is None:
        raise Refused("wrong_stage", f"case {case.id} does not wait for this survey result")
    new = case.model_copy(deep=True)
    new.survey_checks.append(
        SurveyCheck(
            event_id=event_id,
            campaign_id=scored.campaign_id,
            scope=scored.scope,
            scored_at=instant(scored.scored_at),
            measure=found.measure,
            value=found.value,
            threshold=found.threshold,
            band=scored.band,
            effective=found.effective,
            at=now,
        )
    )
    action = check.effective if found.effective else check.not_effective
    transition = rules.transition(check.stage, action)[0]
    reason = (
        f"survey result {scored.campaign_id or scored.period or scored.scope}: "
        f"{found.measure} {found.value:g}"
        + ("" if found.threshold is None else f" against {found.threshold:g}")
        + (f", band {scored.band}" if scored.band else "")
        + ("; effective" if found.effective else "; not effective")
    )
    command = ExecuteTransition(case.id, action, {}, SYSTEM, (), reason)
    return transitions.apply(new, transition, rules, now, values=new.fields, command=command)
