"""Scheduled deadlines: what to fire when, and what each firing announces.

Entering a stage gives it a due time (stages.enter). `plan` turns a case into deadline
records: `approaching` at the earliest `near` lead, `missed` at the due time, and one
`escalation` per escalation rule (`near`: lead before; `missed`: `after` past the due
time, again every `repeat_every`). A record carries the case's deadline token; when the
case moves on or gets an extension the token changes and older records no longer apply.
A case-wide due (survey actions) uses the token `case` and applies until it is judged (the
action done, or the case closed: survey_actions.py).
A case a history import opened (event time `imported`) announces nothing whose time was
over before the import: `over_at_import` lists it for the case history instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from services.common.contracts.cases import (
    CaseDeadlineApproaching,
    CaseDeadlineMissed,
    CaseEscalated,
)
from services.common.contracts.envelope import Contract
from services.common.rules import Duration, SiteRules, due_time
from services.common.rules.schema_complaints import EscalationRule
from services.workflow.domain import chased
from services.workflow.domain.case import Case

Kind = Literal["approaching", "missed", "escalation"]
CASE_SCOPE = "case"
IMPORTED = "imported"  # the event time at which a history import opened the case


@dataclass(frozen=True)
class Deadline:
    case_id: str
    site: str
    stage: str
    token: str
    kind: Kind
    fire_at: datetime
    due: datetime
    rule: str | None = None
    occurrence: int = 0

    @property
    def id(self) -> str:
        return f"{self.case_id}|{self.token}|{self.kind}|{self.rule or '-'}|{self.occurrence}"


def plan(case: Case, rules: SiteRules, *, with_past: bool = False) -> list[Deadline]:
    """Every deadline record the case needs now (none once it is closed). `with_past`:
    also those an imported case leaves to its history (`over_at_import`)."""
    if case.terminal:
        return []
    planned = []
    if case.due is not None:
        entered = case.visits[-1].entered_at
        planned += _around(case, rules, case.stage, case.deadline_token, case.due, entered)
    if case.case_due is not None and case.case_due_met is None:
        # Due again after a verification: from the return to acting (the current visit).
        since = case.opened_at if case.case_due_round == 1 else case.visits[-1].entered_at
        planned += _around(case, rules, CASE_SCOPE, case_token(case), case.case_due, since)
    for chase in chased.chases(case, rules):  # case clocks and CAPA action items
        planned += _around(
            case, rules, chase.scope, chase.token, chase.due, chase.since, chase.escalations
        )
    imported = case.event_times.get(IMPORTED)
    return planned if imported is None or with_past else _live(case, planned, imported)


def case_token(case: Case) -> str:
    """The token of a case-wide due: `case`, then `case.r<n>` each time it is due again,
    `.c<n>` after its due time moved on a newly published calendar."""
    token = CASE_SCOPE if case.case_due_round == 1 else f"{CASE_SCOPE}.r{case.case_due_round}"
    return f"{token}.c{case.case_due_revisions}" if case.case_due_revisions else token


def _live(case: Case, planned: list[Deadline], imported: datetime) -> list[Deadline]:
    """What an imported case announces: records due after its import; a notice ahead of
    a due time still to come (approaching, a `near` escalation), at the import. A record
    at the import itself was due before it, or moved there from the past (`_around`
    announces at `since` what was due earlier): over. A stage entered after the import
    is live whatever its times (a due already past is missed at once)."""
    stage_entered_after = bool(case.visits) and case.visits[-1].entered_at > imported
    live = []
    for record in planned:
        if record.fire_at > imported or (
            stage_entered_after and record.token == case.deadline_token
        ):
            live.append(record)
        elif record.due > imported:
            live.append(replace(record, fire_at=imported))
    return live


def over_at_import(case: Case, rules: SiteRules) -> list[Deadline]:
    """The missed due times and escalations of an imported case that were over before the
    import, in time order: recorded in its history, not sent as a burst of stale alarms
    (nor repeated: a repetition would come for every imported case at once)."""
    imported = case.event_times.get(IMPORTED)
    if imported is None:
        return []
    live = {record.id for record in plan(case, rules)}
    past = [r for r in plan(case, rules, with_past=True) if r.id not in live]
    return sorted((r for r in past if r.kind != "approaching"), key=lambda r: r.fire_at)


def _around(
    case: Case,
    rules: SiteRules,
    stage: str,
    token: str,
    due: datetime,
    since: datetime,
    escalations: tuple[EscalationRule, ...] | None = None,  # None: the stage's (or case's)
) -> list[Deadline]:
    base = Deadline(case.id, case.site, stage, token, "missed", due, due)
    out = [base]
    if escalations is None:
        escalations = rules.escalation if stage == CASE_SCOPE else rules.escalations_for(stage)
    near = [e for e in escalations if e.event == "near"]
    if near and due > since:
        # Inside the lead window already at entry: announce at once, not in the past.
        first = min(_before(e, due) for e in near)
        out.append(replace(base, kind="approaching", fire_at=max(first, since)))
    for rule in escalations:
        at = _before(rule, due) if rule.event == "near" else _after(rules, rule.after, due)
        if rule.event == "near" and due <= since:
            continue
        out.append(replace(base, kind="escalation", fire_at=max(at, since), rule=rule.id))
    return out


def _before(rule: EscalationRule, due: datetime) -> datetime:
    lead = rule.lead
    assert lead is not None
    return due - (lead.elapsed or timedelta(days=lead.amount))


def _after(rules: SiteRules, after: Duration | None, moment: datetime) -> datetime:
    return moment if after is None or after.amount == 0 else due_time(rules, moment, after)


def applies(deadline: Deadline, case: Case | None) -> bool:
    """Whether a scheduled record still concerns the case as it is now."""
    if case is None or case.terminal:
        return False
    if deadline.stage == CASE_SCOPE:
        current = deadline.token == case_token(case) and case.case_due == deadline.due
        return current and case.case_due_met is None
    if chased.is_chased(deadline.token):
        return chased.applies(case, deadline.token, deadline.due)
    return deadline.token == case.deadline_token


def fire(
    deadline: Deadline, case: Case, rules: SiteRules, now: datetime
) -> tuple[list[Contract], Deadline | None]:
    """The facts a due record announces, and its next repetition (if the rule repeats)."""
    common = {
        "case_id": case.id,
        "complaint_number": case.complaint_number,
        "stage": deadline.stage,
        "due": deadline.due,
        "owner_department": case.owner_department,
        "provisional": _provisional(deadline, case),
    }
    common |= chased.fact_fields(case, deadline.token, rules)
    if deadline.kind == "approaching":
        return [CaseDeadlineApproaching(**common, noticed_at=now)], None
    if deadline.kind == "missed":
        return [CaseDeadlineMissed(**common, noticed_at=now)], None
    chasing = chased.escalation_rules(case, deadline.token, rules)
    rule = next((e for e in chasing if e.id == deadline.rule), None)
    if rule is None:  # the rule file no longer has it
        return [], None
    fact = CaseEscalated(
        case_id=case.id,
        complaint_number=case.complaint_number,
        stage=deadline.stage,
        reason=f"deadline_{'approaching' if rule.event == 'near' else 'missed'}",
        rule=rule.id,
        notify=tuple(rule.notify),
        departments=chased.notified(rules, case, deadline.token, rule.notify),
        occurrence=deadline.occurrence,
        due=deadline.due,
        clock=common.get("clock"),
        action=common.get("action"),
        provisional=bool(common["provisional"]),  # a clock's own mark (chased.fact_fields)
        escalated_at=now,
    )
    return [fact], _next(deadline, rule, rules)


def _provisional(deadline: Deadline, case: Case) -> bool:
    # The current stage's due time, or a survey action's, may be an estimate.
    if deadline.stage == CASE_SCOPE:
        return case.case_due_provisional
    return deadline.token == case.deadline_token and case.due_provisional


def _next(deadline: Deadline, rule: EscalationRule, rules: SiteRules) -> Deadline | None:
    if rule.event != "missed" or rule.repeat_every is None:
        return None
    at = due_time(rules, deadline.fire_at, rule.repeat_every)
    return replace(deadline, fire_at=at, occurrence=deadline.occurrence + 1)
