"""Case clocks: started and stopped by what happens on the case, planned and fired as
deadline records of their own, side by side, each with its owner."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.common.contracts.cases import (
    CaseClockStopped,
    CaseDeadlineApproaching,
    CaseDeadlineMissed,
    CaseEscalated,
)
from services.workflow.domain import clocks, deadlines
from services.workflow.domain.commands import RecordFields
from services.workflow.domain.transitions import record_fields
from services.workflow.handlers import view
from tests.support.calendars import calendar_block, write_site
from tests.unit.workflow.builders import Driver, review_to_close, rules_for, to_review

pytestmark = pytest.mark.unit
MONDAY = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def _runs(d: Driver) -> dict[str, object]:
    return {r.clock: r for r in d.case.clocks}


def _record(d: Driver, roles: tuple[str, ...], **fields: object) -> None:
    d.clock.advance(timedelta(minutes=5))
    command = RecordFields(d.case.id, dict(fields), "tester", roles, None)
    decision = record_fields(d.case, command, d.rules, d.clock.now())
    d.case = decision.case
    d.facts += decision.facts


def test_clocks_from_receipt_start_at_opening_with_due_times_from_receipt() -> None:
    received = MONDAY - timedelta(hours=3)
    d = Driver(rules_for("demo"), MONDAY, received_at=received.isoformat())
    runs = {r.clock: r for r in d.case.clocks}
    assert set(runs) == {"respond", "investigate", "eight-d", "answer-general"}
    assert runs["respond"].started_at == received
    assert runs["respond"].due == received + timedelta(hours=24)
    assert runs["investigate"].due == MONDAY + timedelta(hours=48)  # from registration
    assert runs["answer-general"].due == received + timedelta(days=3)
    assert runs["eight-d"].due == datetime(2025, 3, 4, 22, 0, tzinfo=UTC)  # 2 working days
    assert all(r.stopped_at is None and r.met is None for r in runs.values())


def test_a_case_sitting_in_register_is_chased_on_its_response_clock() -> None:
    d = Driver(rules_for("demo"), MONDAY)
    assert d.case.stage == "register" and d.case.due is None  # no stage deadline here
    planned = {(p.stage, p.kind, p.rule): p for p in deadlines.plan(d.case, d.rules)}
    missed = planned[("clock:respond", "missed", None)]
    assert missed.fire_at == MONDAY + timedelta(hours=24)
    assert missed.token == "clock:respond.r1"
    assert deadlines.applies(missed, d.case)
    facts, again = deadlines.fire(missed, d.case, d.rules, MONDAY + timedelta(hours=24))
    (fact,) = facts
    assert isinstance(fact, CaseDeadlineMissed) and again is None
    assert fact.stage == "clock:respond" and fact.clock == "respond"
    assert fact.acting_departments == ("quality",)  # case_owner: the routed department
    escalation = planned[("clock:respond", "escalation", "missed")]
    (escalated,), _ = deadlines.fire(escalation, d.case, d.rules, MONDAY + timedelta(hours=24))
    assert isinstance(escalated, CaseEscalated) and escalated.clock == "respond"
    assert escalated.reason == "deadline_missed"
    near = planned[("clock:respond", "approaching", None)]
    assert near.fire_at == MONDAY + timedelta(hours=20)  # the site's `near` lead of 4 hours
    (approaching,), _ = deadlines.fire(near, d.case, d.rules, near.fire_at)
    assert isinstance(approaching, CaseDeadlineApproaching)


def test_a_stop_event_stops_the_clock_once_and_its_records_no_longer_apply() -> None:
    d = Driver(rules_for("demo"), MONDAY)
    before = [p for p in deadlines.plan(d.case, d.rules) if p.stage == "clock:respond"]
    d.do("register")
    d.do("acknowledge", after=timedelta(hours=2), team=["QA"])
    run = _runs(d)["respond"]
    assert run.stopped_by == "acknowledge.completed" and run.met is True
    stopped = [f for f in d.facts if isinstance(f, CaseClockStopped)]
    assert [(f.clock, f.met, f.kpi, f.run) for f in stopped] == [
        ("respond", True, "acknowledgement", 1)
    ]
    assert before and not any(deadlines.applies(p, d.case) for p in before)
    assert all(p.stage != "clock:respond" for p in deadlines.plan(d.case, d.rules))


def test_a_late_stop_is_recorded_missed() -> None:
    d = Driver(rules_for("demo"), MONDAY)
    d.do("register", after=timedelta(hours=30))
    d.do("acknowledge", team=["QA"])
    assert _runs(d)["respond"].met is False


def test_parallel_containment_clocks_each_with_its_owner() -> None:
    d = Driver(rules_for("nb"), MONDAY)
    d.do("register")
    d.do("acknowledge", team=["QA"])
    entered = d.clock.now() + timedelta(hours=1)
    d.do("determine_responsibility", responsibility="company")
    assert d.case.stage == "containment"
    runs = _runs(d)
    containment = {"containment-engineering", "containment-stock", "containment-wip"}
    assert containment <= set(runs)
    for name in containment:
        assert runs[name].started_at == entered
        assert runs[name].due == entered + timedelta(minutes=30)
    assert {runs[n].owner for n in containment} == {"case_owner", "oqc", "ipqc"}
    planned = {(p.stage, p.kind, p.rule): p for p in deadlines.plan(d.case, d.rules)}
    stock_missed = planned[("clock:containment-stock", "escalation", "stock-missed")]
    (escalated,), _ = deadlines.fire(stock_missed, d.case, d.rules, stock_missed.fire_at)
    assert isinstance(escalated, CaseEscalated)
    assert escalated.departments == ("qa", "management")  # clock_owner oqc -> qa; manager
    near = planned[("clock:containment-wip", "approaching", None)]
    assert near.fire_at == entered + timedelta(minutes=20)  # the clock's own 10-minute lead

    _record(d, ("quality",), contained_stock_qty=500)  # OQC reports back
    runs = _runs(d)
    assert runs["containment-stock"].met is True
    assert runs["containment-wip"].stopped_at is None
    assert runs["containment-engineering"].stopped_at is None
    assert not deadlines.applies(stock_missed, d.case)
    wip_missed = planned[("clock:containment-wip", "missed", None)]
    assert deadlines.applies(wip_missed, d.case)


def test_fields_given_with_the_move_into_a_stage_stop_the_clocks_it_starts() -> None:
    d = Driver(rules_for("nb"), MONDAY)
    d.do("register")
    d.do("acknowledge", team=["QA"])
    d.do("determine_responsibility", responsibility="company", contained_wip_qty=12)
    runs = _runs(d)
    assert runs["containment-wip"].stopped_by == "field:contained_wip_qty"
    assert runs["containment-stock"].stopped_at is None


def test_the_customers_deadline_replaces_the_8d_duration_where_the_clock_says() -> None:
    deadline = MONDAY + timedelta(days=10)
    d = Driver(rules_for("nb"), MONDAY, customer_deadline=deadline.isoformat())
    assert _runs(d)["eight-d"].due == deadline


def test_closing_stops_every_running_clock() -> None:
    d = Driver(rules_for("demo"), MONDAY)
    to_review(d)
    review_to_close(d)
    assert d.case.terminal
    assert all(r.stopped_at is not None for r in d.case.clocks)
    assert clocks.running(d.case) == []
    assert deadlines.plan(d.case, d.rules) == []


def test_a_clock_started_again_after_its_stop_runs_again_with_its_own_token() -> None:
    d = Driver(rules_for("demo"), MONDAY)
    to_review(d)
    d.do("accept_answer")  # approval entered: the requirement list is due in 24 hours
    _record(d, ("management_rep",), requirement_list_updated_at="2025-03-04")
    d.do("send_back", rejection_reason="weak actions")
    d.do("submit_answer", actions=[{"what": "x", "owner": "quality", "due": "2025-03-20"}])
    d.do("accept_answer")
    runs = [r for r in d.case.clocks if r.clock == "requirement-list"]
    assert [(r.run, r.met) for r in runs] == [(1, True), (2, None)]
    tokens = {p.token for p in deadlines.plan(d.case, d.rules) if p.stage.startswith("clock:")}
    assert "clock:requirement-list.r2" in tokens and "clock:requirement-list.r1" not in tokens


def test_time_left_is_shown_for_running_clocks() -> None:
    d = Driver(rules_for("demo"), MONDAY)
    shown = {c["clock"]: c for c in clocks.time_left(d.case, MONDAY + timedelta(hours=25))}
    assert shown["respond"]["running"] is True
    assert shown["respond"]["seconds_left"] == -3600 and shown["respond"]["overdue"] is True


def test_the_case_view_shows_each_clock_with_its_time_left() -> None:
    d = Driver(rules_for("demo"), MONDAY)
    body = view(d.case, MONDAY + timedelta(hours=1))
    respond = next(c for c in body["clocks"] if c["clock"] == "respond")
    assert respond["seconds_left"] == 23 * 3600 and respond["owner"] == "case_owner"


def test_a_clock_counted_into_an_unpublished_year_is_provisional_until_it_is_known(
    tmp_path: Path,
) -> None:
    # qds: the 8D clock is 3 working days from receipt; from 29 Dec 2026 it lands in 2027,
    # a year whose make-up days are not published in the calendar the file declares.
    from services.common.rules import load_rules

    received = datetime(2026, 12, 29, 1, 0, tzinfo=UTC)
    before = load_rules(
        write_site(tmp_path / "a", "qds-company.yaml", calendar=calendar_block(last_year=2026))
    )
    d = Driver(before, received)
    run = _runs(d)["eight-d"]
    assert run.provisional is True and run.due.year == 2027
    old = [p for p in deadlines.plan(d.case, d.rules) if p.stage == "clock:eight-d"]
    (missed,) = [p for p in old if p.kind == "missed"]
    (fact,), _ = deadlines.fire(missed, d.case, d.rules, run.due)
    assert fact.provisional is True
    # 2027 is published with a make-up working day on Sunday 3 January: one day earlier.
    after = load_rules(
        write_site(
            tmp_path / "b",
            "qds-company.yaml",
            calendar=calendar_block(last_year=2027, extra_working_days=(date(2027, 1, 3),)),
        )
    )
    case = d.case.model_copy(deep=True)
    (changed,) = clocks.recompute(case, after)
    assert changed.clock == "eight-d" and changed.provisional is False
    assert changed.due != run.due and changed.revisions == 1
    assert not any(deadlines.applies(p, case) for p in old)
    assert clocks.recompute(case, after) == []  # nothing more to do
