"""A case a history import opens: due times from the receipt, what was over before the
import written into the case history and not announced, what is still ahead announced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.contracts.cases import (
    CaseClosed,
    CaseDeadlineMissed,
    CaseEscalated,
    CaseOpened,
)
from services.workflow.domain import deadlines
from services.workflow.domain.commands import ExecuteTransition
from services.workflow.domain.opening import open_for_complaint
from services.workflow.domain.transitions import execute
from tests.unit.workflow.builders import registered, rules_for

pytestmark = pytest.mark.unit
RECEIVED = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # a Monday


def _imported(site: str, received: datetime, imported_at: datetime):  # type: ignore[no-untyped-def]
    rules = rules_for(site)
    fact = registered(rules, received).model_copy(
        update={"imported": True, "registered_at": imported_at}
    )
    return rules, open_for_complaint(fact, rules, imported_at)


def test_an_old_complaint_opens_with_its_past_in_the_history_and_nothing_sent() -> None:
    imported_at = RECEIVED + timedelta(days=400)
    rules, decision = _imported("sz", RECEIVED, imported_at)
    case = decision.case
    assert case.visits[0].entered_at == RECEIVED  # the case began at the receipt
    assert case.due is not None and case.due < imported_at  # counted from the receipt
    assert case.event_times["registered"] == RECEIVED
    planned = deadlines.plan(case, rules)
    assert all(record.fire_at >= imported_at for record in planned)
    assert not any(isinstance(f, CaseDeadlineMissed | CaseEscalated) for f in decision.facts)
    entry = case.history[-1]
    assert entry.what == "over_before_import"
    over = entry.changes["over"]
    assert {"kind": "missed", "stage": case.stage, "rule": None} in [
        {k: o[k] for k in ("kind", "stage", "rule")} for o in over
    ]
    assert ("escalation", "missed-manager") in {(o["kind"], o["rule"]) for o in over}
    assert [o["at"] for o in over] == sorted(o["at"] for o in over)


def test_the_same_complaint_not_imported_would_fire_its_past_at_once() -> None:
    # What the import avoids: opened live, the records of times past fire on the spot.
    rules = rules_for("sz")
    late = RECEIVED + timedelta(days=400)
    case = open_for_complaint(registered(rules, RECEIVED), rules, late).case
    assert any(record.fire_at < late for record in deadlines.plan(case, rules))
    assert all(entry.what != "over_before_import" for entry in case.history)


def test_a_due_time_still_ahead_is_announced_as_for_a_live_case() -> None:
    imported_at = RECEIVED + timedelta(hours=2)
    rules, decision = _imported("sz", RECEIVED, imported_at)
    case = decision.case
    planned = {(r.kind, r.rule): r for r in deadlines.plan(case, rules) if r.stage == case.stage}
    assert planned[("missed", None)].fire_at == case.due
    assert case.due is not None and case.due > imported_at
    assert all(r.fire_at >= imported_at for r in planned.values())
    assert all(entry.what != "over_before_import" for entry in case.history)


def test_planning_again_later_does_not_bring_the_past_back() -> None:
    imported_at = RECEIVED + timedelta(days=400)
    rules, decision = _imported("sz", RECEIVED, imported_at)
    first = deadlines.plan(decision.case, rules)
    again = deadlines.plan(decision.case.model_copy(deep=True), rules)
    assert first == again


def test_a_stage_entered_after_the_import_is_live_even_when_already_late() -> None:
    imported_at = RECEIVED + timedelta(days=400)
    rules, decision = _imported("sz", RECEIVED, imported_at)
    case = decision.case
    transition = rules.transition(case.stage, "register")[0]
    command = ExecuteTransition(
        case.id, "register", {}, "tester", (rules.actors_for(transition)[0],), None
    )
    moved = execute(case, command, rules, imported_at + timedelta(hours=1)).case
    assert moved.stage == "acknowledge"  # 24 hours from the receipt: over long ago
    assert moved.due is not None and moved.due < imported_at
    records = [r for r in deadlines.plan(moved, rules) if r.token == moved.deadline_token]
    assert "missed" in {r.kind for r in records}  # missed at once, as for any late case


def test_a_row_with_its_outcome_opens_closed_at_its_date_with_nothing_to_chase() -> None:
    rules = rules_for("nb")  # workflow.history_import: {closed_stage: closed}
    imported_at = RECEIVED + timedelta(days=400)
    closed_at = RECEIVED + timedelta(days=20)
    fact = registered(rules, RECEIVED).model_copy(
        update={
            "imported": True,
            "registered_at": imported_at,
            "closed_outcome": "credit_note",
            "closed_at": closed_at,
        }
    )
    decision = open_for_complaint(fact, rules, imported_at)
    case = decision.case
    assert case.stage == "closed" and case.terminal
    assert (case.outcome, case.closed_at, case.nonconformity) == ("credit_note", closed_at, False)
    assert case.visits[0].entered_at == RECEIVED and case.visits[0].left_at == closed_at
    assert case.on_time is None and all(v.on_time is None for v in case.visits)
    assert deadlines.plan(case, rules) == [] and deadlines.over_at_import(case, rules) == []
    assert case.clocks == []  # no clock started, judged or chased
    opened, closed = decision.facts
    assert isinstance(opened, CaseOpened) and opened.stage == "closed"
    assert isinstance(closed, CaseClosed) and closed.closed_at == closed_at
    assert closed.outcome == "credit_note" and closed.on_time is None
    assert [e.what for e in case.history] == ["opened_closed"]
    assert case.history[0].changes == {
        "outcome": "credit_note",
        "closed_at": "2025-03-23T01:00:00+00:00",
    }
