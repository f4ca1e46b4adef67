"""A survey action's own due time and wait, kept in step with its stage.

A corrective action a survey raised is due by the site's `survey.action_due` (the survey
computes it into the event; rules.survey_action_due). It is chased (deadlines.plan, token
`case`) while it is being assigned and done. When it reaches the site's survey verification
stage, the due time is judged (`case_due_met`) and the case waits for the customer's next
survey result (`awaiting_survey_since`); when it goes back to acting (not effective), it is
due again, from then, by the same rule. Closing judges a due time not judged yet.
"""

from __future__ import annotations

from datetime import datetime

from services.common.rules import DueTime, SiteRules, survey_action_due
from services.workflow.domain.case import Case, instant


def waiting_stage(rules: SiteRules) -> str | None:
    check = rules.workflow.survey_verification
    return None if check is None else check.stage


def after_entering(rules: SiteRules, case: Case, now: datetime) -> None:
    """`case` has just entered its current stage at `now`."""
    if case.origin != "survey_action":
        return
    waits = case.stage == waiting_stage(rules) and not case.terminal
    if waits:
        case.awaiting_survey_since = now
        _judge(case, now)
        return
    was_waiting = case.awaiting_survey_since is not None
    case.awaiting_survey_since = None
    if case.terminal:
        _judge(case, now)
    elif was_waiting:  # found not effective: act again, due again
        due = survey_action_due(rules, str(case.source_facts.get("trigger")), now)
        case.case_due = None if due is None else instant(due.at)
        case.case_due_provisional = due is not None and due.provisional
        case.case_due_met = None
        case.case_due_round += 1
        case.case_due_from, case.case_due_revisions = now, 0


def recomputed(case: Case, rules: SiteRules) -> DueTime | None:
    """A survey action's provisional due time still chased, computed again on the rules'
    calendar from the same start (None: nothing to compute)."""
    if not case.case_due_provisional or case.case_due_met is not None:
        return None
    if case.case_due_from is None or case.terminal:
        return None
    return survey_action_due(rules, str(case.source_facts.get("trigger")), case.case_due_from)


def _judge(case: Case, now: datetime) -> None:
    if case.case_due is not None and case.case_due_met is None:
        case.case_due_met = now <= case.case_due
