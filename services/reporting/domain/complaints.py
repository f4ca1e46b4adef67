"""The complaint read model: one entity per complaint number, folded from intake's
`complaint.registered` and the workflow's `case.*` facts, in any order.

Every field is merged so that the result does not depend on arrival order (earliest
exit of a stage, latest closure, latest reopening, stage of the latest move), because
consumers never trust order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.common.contracts import cases
from services.common.contracts.complaints import ComplaintRegistered
from services.common.contracts.envelope import Envelope
from services.reporting.domain.periods import instant

State = dict[str, Any]

EVENTS = (
    "complaint.registered",
    "case.opened",
    "case.stage_changed",
    "case.deadline_missed",
    "case.clock_stopped",
    "case.deadline_changed",
    "case.escalated",
    "case.closed",
    "case.reopened",
)


def entity_key(envelope: Envelope[BaseModel]) -> str | None:
    data: Any = envelope.data
    number = data.number if isinstance(data, ComplaintRegistered) else data.complaint_number
    return f"{envelope.site}|{number}" if number else None


def _earliest(mapping: dict[str, Any], key: str, moment: datetime) -> None:
    if key not in mapping or moment < mapping[key]:
        mapping[key] = moment


def _latest(state: State, field: str, moment: datetime) -> bool:
    if state.get(field) is None or moment >= state[field]:
        state[field] = moment
        return True
    return False


def _move(state: State, at: datetime, to_stage: str, from_stage: str | None) -> None:
    """The current stage is the one of the latest move; on equal times the move that
    continues from the current stage wins (a case opened and moved on in the same instant)."""
    current = state.get("stage_at")
    tie_wins = from_stage is not None and (
        from_stage == state.get("stage") or state.get("stage_from") is None
    )
    if current is None or at > current or (at == current and tie_wins):
        state.update(stage=to_stage, stage_at=at, stage_from=from_stage)


def empty(site: str, number: str) -> State:
    return {
        "site": site,
        "number": number,
        "origin": "complaint",
        "registered_due": {},
        "stage_due": {},
        "left": {},
        "missed": {},
        "escalations": {},
    }


def _registered(state: State, event: ComplaintRegistered) -> None:
    complaint, c = event.complaint, event.classification
    product = next((p.model or p.spec for p in complaint.products if p.model or p.spec), None)
    claim = complaint.claimed_amount
    state.update(
        received_at=instant(complaint.received_at),
        registered_at=instant(event.registered_at),
        customer_id=complaint.customer.id,
        customer_name=complaint.customer.name,
        product=product,
        description=complaint.description[:300],
        phenomenon=(complaint.phenomenon or "")[:300] or None,
        # What people search a complaint by (domain/search.py): every model and
        # specification, lot, serial and order number the customer named.
        identifiers=sorted(
            {
                v
                for p in complaint.products
                for v in (p.model, p.spec, p.order_number, *p.lot_numbers, *p.serial_numbers)
                if v
            }
        )[:200],
        nature=c.nature,
        kind=c.kind,
        category=c.category,
        severity=c.severity,
        tags=list(c.tags),
        department=c.owner_department,
        claim=None
        if claim is None
        else {"currency": claim.currency, "cents": int(claim.amount * 100)},
        registered_due={stage: instant(due) for stage, due in event.deadlines.items()},
        provisional_due=sorted(event.provisional_deadlines),
    )


def _opened(state: State, event: cases.CaseOpened) -> None:
    state.update(case_id=event.case_id, origin=event.origin)
    state["repeat"] = bool(state.get("repeat")) or event.repeat
    state.update(repeat_of=event.repeat_of, opened_at=instant(event.opened_at))
    for field in ("customer_id", "customer_name", "nature", "category", "severity"):
        if state.get(field) is None:
            state[field] = getattr(event, field)
    state.setdefault("department", event.owner_department)
    _move(state, instant(event.opened_at), event.stage, None)
    if event.due is not None:
        _earliest(state["stage_due"], event.stage, instant(event.due))


def _stage_changed(state: State, event: cases.CaseStageChanged) -> None:
    at = instant(event.changed_at)
    if event.from_stage != event.to_stage:
        _earliest(state["left"], event.from_stage, at)
    if event.due is not None:
        _earliest(state["stage_due"], event.to_stage, instant(event.due))
    _move(state, at, event.to_stage, event.from_stage)


def _missed(state: State, event: cases.CaseDeadlineMissed) -> None:
    if event.kpi is not None:
        _clock_outcome(state, event.kpi, "late")
    noticed = instant(event.noticed_at)
    if noticed >= state["missed"].get(event.stage, noticed):
        state["missed"][event.stage] = noticed
    _earliest(state["stage_due"], event.stage, instant(event.due))


def _deadline_changed(state: State, event: cases.CaseDeadlineChanged) -> None:
    """A due time computed again on a newly published calendar replaces the earlier one
    (the latest change wins, whatever order the events arrive in)."""
    at = instant(event.changed_at)
    revised = state.setdefault("revised_due", {})
    if event.stage not in revised or at >= revised[event.stage]["at"]:
        revised[event.stage] = {
            "at": at,
            "due": instant(event.due),
            "provisional": event.provisional,
        }


def _clock_stopped(state: State, event: cases.CaseClockStopped) -> None:
    if event.kpi is not None:
        _clock_outcome(state, event.kpi, "on_time" if event.met else "late")


def _clock_outcome(state: State, kpi: str, outcome: str) -> None:
    """A KPI judged on a case clock: late once any of its clocks was missed or stopped
    late (so the order of the missed and stopped events does not matter)."""
    found = state.setdefault("clock_kpis", {})
    found[kpi] = "late" if "late" in (found.get(kpi), outcome) else outcome


def _escalated(state: State, event: cases.CaseEscalated) -> None:
    state["escalations"][event.reason] = state["escalations"].get(event.reason, 0) + 1


def _closed(state: State, event: cases.CaseClosed) -> None:
    state.setdefault("case_id", event.case_id)
    state["repeat"] = bool(state.get("repeat")) or event.repeat
    if _latest(state, "closed_at", instant(event.closed_at)):
        state.update(
            closed_on_time=event.on_time,
            outcome=event.outcome,
            nonconformity=event.nonconformity,
            closed_stage=event.stage,
            review_rounds=event.review_rounds,
        )
    for field in ("customer_id", "customer_name", "nature", "category"):
        if state.get(field) is None:
            state[field] = getattr(event, field)
    state.setdefault("department", event.owner_department)


def _reopened(state: State, event: cases.CaseReopened) -> None:
    if _latest(state, "reopened_at", instant(event.reopened_at)):
        state["reopen_reason"] = event.reason
    if event.by_case_id or event.reason == "recurrence":
        state["recurred"] = True


FOLDS: dict[type[BaseModel], Any] = {
    ComplaintRegistered: _registered,
    cases.CaseOpened: _opened,
    cases.CaseStageChanged: _stage_changed,
    cases.CaseDeadlineMissed: _missed,
    cases.CaseClockStopped: _clock_stopped,
    cases.CaseDeadlineChanged: _deadline_changed,
    cases.CaseEscalated: _escalated,
    cases.CaseClosed: _closed,
    cases.CaseReopened: _reopened,
}


def fold(state: State | None, envelope: Envelope[BaseModel]) -> State:
    key = entity_key(envelope)
    assert key is not None
    folded = empty(envelope.site, key.split("|", 1)[1]) if state is None else _copy(state)
    FOLDS[type(envelope.data)](folded, envelope.data)
    return folded


def _copy(state: State) -> State:
    return {k: dict(v) if isinstance(v, dict) else v for k, v in state.items()}
