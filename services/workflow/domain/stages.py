"""Entering and leaving stages: visits, event times, the new stage's due time."""

from __future__ import annotations

from datetime import datetime

from services.common.rules import Classification, DueTime, SiteRules, stage_due_times
from services.workflow.domain import survey_actions
from services.workflow.domain.case import Case, StageVisit, instant


def classification_of(case: Case) -> Classification | None:
    if case.classification is None:
        return None
    return Classification.model_validate(case.classification)


def stage_due(rules: SiteRules, case: Case, stage: str) -> DueTime | None:
    """The stage's due time under the first deadline rule matching the classification,
    with its provisional mark."""
    classification = classification_of(case)
    if classification is None:
        return None
    return stage_due_times(
        rules, classification, case.event_times, customer_deadline=case.customer_deadline
    ).get(stage)


def enter(rules: SiteRules, case: Case, stage: str, now: datetime) -> None:
    """Leave the current stage (recording whether it met its deadline) and enter `stage`."""
    if case.visits:
        left = case.visits[-1]
        left.left_at = now
        left.on_time = None if left.due is None else now <= left.due
        case.event_times[f"{case.stage}.completed"] = now
    case.stage = stage
    case.stage_seq = len(case.visits) + 1
    case.event_times[f"{stage}.entered"] = now
    case.terminal = rules.stage(stage).terminal
    due = None if case.terminal else stage_due(rules, case, stage)
    case.due = None if due is None else instant(due.at)
    case.due_provisional = due is not None and due.provisional
    case.visits.append(
        StageVisit(
            stage=stage,
            seq=case.stage_seq,
            entered_at=now,
            due=case.due,
            provisional=case.due_provisional,
        )
    )
    survey_actions.after_entering(rules, case, now)


def on_time(case: Case) -> bool | None:
    """Every stage deadline the case had, and its case-wide due (a survey action's), was
    met; None when it had none."""
    judged = [v.on_time for v in case.visits if v.on_time is not None]
    if case.case_due_met is not None:
        judged.append(case.case_due_met)
    return all(judged) if judged else None
