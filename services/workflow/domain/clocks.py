"""Case clocks on a case: started and stopped by what a decision made happen.

A decision (opening, a transition, recorded fields, a reopening) is compared with the case
before it: new event times (`received`, `registered`, `<stage>.entered`,
`<stage>.completed`), fields filled or changed (`field:<id>`) and closure (`closed`) are
the events, in the order they happened. Each event first stops the running clocks it
stops, then starts the clocks it starts; a clock already running is not started again (its
due time stands), a clock stopped before starts its next run. Closing stops every running
clock: a closed case is chased no more. Deadline records for running clocks are planned by
deadlines.py with the token `clock:<id>.r<run>`, so each run fires once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.contracts.cases import CaseClockStopped
from services.common.rules import SiteRules
from services.common.rules.clocks import clock_due, clocks_for
from services.common.rules.schema_clocks import CLOSED, FIELD_EVENT, Clock
from services.common.rules.schema_complaints import EscalationRule
from services.workflow.domain.case import Case, ClockRun, instant
from services.workflow.domain.decisions import Decision
from services.workflow.domain.stages import classification_of

SCOPE = "clock:"
EMPTY: tuple[Any, ...] = (None, "", [], ())


def follow(before: Case | None, decision: Decision, rules: SiteRules, now: datetime) -> None:
    """Start and stop the clocks of `decision.case` for what happened since `before`."""
    case = decision.case
    specs = {c.id: c for c in clocks_for(rules, classification_of(case))}
    for event, at in happened(before, case, instant(now)):
        for run in running(case):
            spec = specs.get(run.clock)
            if event == CLOSED or (spec is not None and event in spec.stop):
                decision.facts.append(_stop(case, run, spec, event, at, rules))
        for spec in specs.values():
            if spec.start == event and not any(r.clock == spec.id for r in running(case)):
                _start(case, spec, at, rules)


def happened(before: Case | None, case: Case, now: datetime) -> list[tuple[str, datetime]]:
    """The events between `before` and `case`, earliest first. At one instant: the stage
    left, the stage entered, the fields the command filled (so fields given with the move
    into a stage stop the clocks that entering it starts), closure last. A field filled
    before a clock started does not stop it: its stop is a field set after the start."""
    old_times = before.event_times if before else {}
    old_fields = before.fields if before else {}
    order = sorted(
        (at, name.endswith(".entered"), name)
        for name, at in case.event_times.items()
        if old_times.get(name) != at
    )
    events = [(name, at) for at, _, name in order]
    events += [
        (f"{FIELD_EVENT}{name}", now)
        for name, value in case.fields.items()
        if value not in EMPTY and old_fields.get(name) != value
    ]
    if case.terminal and (before is None or not before.terminal):
        events.append((CLOSED, now))
    return sorted(events, key=lambda e: e[1])  # stable: same-time events keep this order


def running(case: Case) -> list[ClockRun]:
    return [r for r in case.clocks if r.stopped_at is None]


def _start(case: Case, spec: Clock, at: datetime, rules: SiteRules) -> None:
    due = clock_due(rules, spec, at, case.customer_deadline)
    runs = sum(1 for r in case.clocks if r.clock == spec.id)
    run = ClockRun(
        clock=spec.id, run=runs + 1, owner=spec.owner, started_at=at, due=instant(due.at)
    )
    run.provisional = due.provisional
    case.clocks.append(run)


def _stop(
    case: Case, run: ClockRun, spec: Clock | None, event: str, at: datetime, rules: SiteRules
) -> CaseClockStopped:
    run.stopped_at, run.stopped_by, run.met = at, event, at <= run.due
    return CaseClockStopped(
        case_id=case.id,
        complaint_number=case.complaint_number,
        clock=run.clock,
        run=run.run,
        kpi=spec.kpi if spec else None,
        owner=run.owner,
        started_at=run.started_at,
        due=run.due,
        stopped_at=at,
        stopped_by=event,
        met=run.met,
        rules_version=rules.rules_version,
    )


# --- deadline records (deadlines.py plans and fires them) ---------------------------------
def token(run: ClockRun) -> str:
    """Changes with a new run and with a due time computed again: older records no longer
    apply, and the new ones have ids of their own (each fires once)."""
    revised = f".c{run.revisions}" if run.revisions else ""
    return f"{SCOPE}{run.clock}.r{run.run}{revised}"


def scope(run: ClockRun) -> str:
    """What a clock's deadline records and events name as their `stage`."""
    return f"{SCOPE}{run.clock}"


def is_clock(deadline_token: str) -> bool:
    return deadline_token.startswith(SCOPE)


def escalations(spec: Clock, rules: SiteRules) -> tuple[EscalationRule, ...]:
    if spec.escalation is not None:
        return spec.escalation
    return tuple(e for e in rules.escalation if e.stages is None)


def since(run: ClockRun, case: Case) -> datetime:
    """From when the clock is watched: a case opened after its due time (a clock from
    receipt) announces no approach, only the miss."""
    return max(run.started_at, case.opened_at)


def run_of(case: Case, deadline_token: str) -> ClockRun | None:
    return next((r for r in case.clocks if token(r) == deadline_token), None)


def applies(case: Case, deadline_token: str, due: datetime) -> bool:
    run = run_of(case, deadline_token)
    return run is not None and run.stopped_at is None and run.due == due


def recompute(case: Case, rules: SiteRules) -> list[ClockRun]:
    """Compute the provisional due time of every running clock again (the site's calendar
    changed): a due time that moved gets a new token; one that did not only loses its mark
    when the year is known now. Returns the runs that changed (the caller stores the case)."""
    specs = {c.id: c for c in rules.clocks}
    changed = []
    for run in running(case):
        spec = specs.get(run.clock)
        if spec is None or not run.provisional:
            continue
        fresh = clock_due(rules, spec, run.started_at, case.customer_deadline)
        due = instant(fresh.at)
        if due == run.due and fresh.provisional:
            continue
        if due != run.due:
            run.due, run.revisions = due, run.revisions + 1
        run.provisional = fresh.provisional
        changed.append(run)
    return changed


def time_left(case: Case, now: datetime) -> list[dict[str, Any]]:
    """The case's clocks for people: running ones with the seconds left (negative: late)."""
    shown = []
    for run in case.clocks:
        body = run.model_dump(mode="json")
        left = None if run.stopped_at else (run.due - now).total_seconds()
        body.update(running=run.stopped_at is None, seconds_left=left)
        body["overdue"] = left is not None and left < 0
        shown.append(body)
    return shown
