"""A provisional due time computed again once its calendar year is known.

A stage's due time counted through a year whose official working-day calendar was not
published yet is an estimate (`Case.due_provisional`). When the site's calendar changes (a
newer `holidays` release, or the rule file writing the year's make-up days and raising
`last_year`), the due time is computed again from the same start event: a due time that
moved is announced (`case.deadline_changed`) and rescheduled (the deadline token changes);
one that did not move only loses its provisional mark. Either way the history says so.
"""

from __future__ import annotations

from datetime import datetime

from services.common.contracts.cases import CaseDeadlineChanged
from services.common.rules import SiteRules
from services.workflow.domain import clocks, history, stages, survey_actions
from services.workflow.domain.case import Case, ClockRun, instant
from services.workflow.domain.deadlines import CASE_SCOPE
from services.workflow.domain.decisions import Decision

SYSTEM = "system:workflow"
REASON = "calendar_changed"


def provisional(case: Case) -> bool:
    """The case has a due time (its stage's, a running clock's, or a survey action's still
    chased) still an estimate."""
    running = (r for r in case.clocks if r.stopped_at is None)
    action = case.case_due_provisional and case.case_due_met is None
    return not case.terminal and (
        case.due_provisional or action or any(r.provisional for r in running)
    )


def recompute(case: Case, rules: SiteRules, now: datetime) -> Decision | None:
    """The case with its provisional due times (the stage's, its running clocks' and a
    survey action's) computed on the rules' calendar; None when nothing changes."""
    if case.terminal:
        return None
    stage = _stage(case, rules, now)
    new = stage.case if stage is not None else case.model_copy(deep=True)
    decision = stage or Decision(new)
    action = _action_due(new, rules, instant(now), decision)
    moved = clocks.recompute(new, rules)
    if not moved:
        return decision if stage is not None or action else None
    now = instant(now)
    for run in moved:
        old = next(r for r in case.clocks if (r.clock, r.run) == (run.clock, run.run))
        if old.due != run.due:
            decision.facts.append(_clock_changed(case, old, run, rules, now))
    history.record(
        new,
        at=now,
        actor=SYSTEM,
        roles=[],
        what="deadline_recomputed",
        from_stage=case.stage,
        to_stage=case.stage,
        changes={"clocks": [r.model_dump(mode="json", include={"clock", "run", "due",
                                                                "provisional"}) for r in moved]},
        reason=REASON,
        rules_version=rules.rules_version,
    )  # fmt: skip
    return decision


def _stage(case: Case, rules: SiteRules, now: datetime) -> Decision | None:
    """The stage's provisional due time computed again (None: nothing changes)."""
    if case.due is None or not case.due_provisional:
        return None
    fresh = stages.stage_due(rules, case, case.stage)
    if fresh is None:  # the stage lost its deadline rule: keep the due time it was given
        return None
    due = instant(fresh.at)
    if due == case.due and fresh.provisional:
        return None
    now = instant(now)
    new = case.model_copy(deep=True)
    visit = new.visits[-1]
    new.due_provisional = visit.provisional = fresh.provisional
    facts = []
    if due != case.due:
        new.due = visit.due = due
        new.due_revisions += 1  # a new deadline token: the old records no longer apply
        facts.append(_changed(case, new, rules, now))
    history.record(
        new,
        at=now,
        actor=SYSTEM,
        roles=[],
        what="deadline_recomputed",
        from_stage=case.stage,
        to_stage=case.stage,
        changes={
            "due": {"from": case.due.isoformat(), "to": due.isoformat()},
            "provisional": fresh.provisional,
        },
        reason=REASON,
        rules_version=rules.rules_version,
    )
    return Decision(new, list(facts))


def _action_due(case: Case, rules: SiteRules, now: datetime, decision: Decision) -> bool:
    """A survey action's provisional due time computed again (in place): whether it changed."""
    fresh = survey_actions.recomputed(case, rules)
    if fresh is None or case.case_due is None:
        return False
    due, previous = instant(fresh.at), case.case_due
    if due == previous and fresh.provisional:
        return False
    was_provisional, case.case_due_provisional = case.case_due_provisional, fresh.provisional
    if due != previous:
        case.case_due = due
        case.case_due_revisions += 1  # a new token: the old records no longer apply
        decision.facts.append(
            CaseDeadlineChanged(
                case_id=case.id,
                complaint_number=case.complaint_number,
                stage=CASE_SCOPE,
                previous_due=previous,
                due=due,
                previous_provisional=was_provisional,
                provisional=fresh.provisional,
                owner_department=case.owner_department,
                reason=REASON,
                changed_at=now,
                rules_version=rules.rules_version,
            )
        )
    history.record(
        case,
        at=now,
        actor=SYSTEM,
        roles=[],
        what="deadline_recomputed",
        from_stage=case.stage,
        to_stage=case.stage,
        changes={
            "case_due": {"from": previous.isoformat(), "to": due.isoformat()},
            "provisional": fresh.provisional,
        },
        reason=REASON,
        rules_version=rules.rules_version,
    )
    return True


def _clock_changed(
    case: Case, old: ClockRun, new: ClockRun, rules: SiteRules, now: datetime
) -> CaseDeadlineChanged:
    return CaseDeadlineChanged(
        case_id=case.id,
        complaint_number=case.complaint_number,
        stage=f"{clocks.SCOPE}{new.clock}",
        clock=new.clock,
        previous_due=old.due,
        due=new.due,
        previous_provisional=old.provisional,
        provisional=new.provisional,
        owner_department=case.owner_department,
        reason=REASON,
        changed_at=now,
        rules_version=rules.rules_version,
    )


def _changed(old: Case, new: Case, rules: SiteRules, now: datetime) -> CaseDeadlineChanged:
    assert old.due is not None and new.due is not None
    return CaseDeadlineChanged(
        case_id=new.id,
        complaint_number=new.complaint_number,
        stage=new.stage,
        previous_due=old.due,
        due=new.due,
        previous_provisional=old.due_provisional,
        provisional=new.due_provisional,
        owner_department=new.owner_department,
        reason=REASON,
        changed_at=now,
        rules_version=rules.rules_version,
    )
