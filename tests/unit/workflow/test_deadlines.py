"""Deadline records planned from the rules, fired facts, repeats, survey-action cases, 8D."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.contracts.cases import (
    CaseDeadlineApproaching,
    CaseDeadlineMissed,
    CaseEscalated,
)
from services.workflow.domain import deadlines, eight_d
from services.workflow.domain.commands import CorrectiveActionRequest
from services.workflow.domain.opening import open_for_action
from tests.unit.workflow.builders import Driver, review_to_close, rules_for, to_review

pytestmark = pytest.mark.unit
MONDAY = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def _stage_plan(d: Driver) -> list[deadlines.Deadline]:
    """The records of the current stage's deadline (the case clocks have test_clocks.py)."""
    return [p for p in deadlines.plan(d.case, d.rules) if p.stage == d.case.stage]


def test_reply_stage_plans_approaching_missed_and_escalations_from_the_rules() -> None:
    d = Driver(rules_for("sz"), MONDAY)
    to_review(d)
    d.do("accept_answer")
    d.do("approve", approved_by="MR")
    assert d.case.stage == "reply"
    due = MONDAY + timedelta(days=3)  # answer-general: 3 days from receipt
    assert d.case.due == due
    planned = {(p.kind, p.rule): p.fire_at for p in _stage_plan(d)}
    assert planned == {
        ("missed", None): due,
        ("approaching", None): due - timedelta(hours=4),
        ("escalation", "near-owner"): due - timedelta(hours=4),
        ("escalation", "missed-manager"): due,
        ("escalation", "missed-reply-gm"): due + timedelta(days=1),
    }


def test_firing_announces_and_repeats_while_the_stage_lasts() -> None:
    d = Driver(rules_for("sz"), MONDAY)
    d.do("register")  # acknowledge: 24 hours from receipt
    planned = {(p.kind, p.rule): p for p in _stage_plan(d)}
    now = MONDAY + timedelta(days=2)
    facts, again = deadlines.fire(planned[("missed", None)], d.case, d.rules, now)
    assert isinstance(facts[0], CaseDeadlineMissed) and again is None
    facts, again = deadlines.fire(planned[("approaching", None)], d.case, d.rules, now)
    assert isinstance(facts[0], CaseDeadlineApproaching)
    manager = planned[("escalation", "missed-manager")]
    facts, again = deadlines.fire(manager, d.case, d.rules, now)
    escalated = facts[0]
    assert isinstance(escalated, CaseEscalated) and escalated.reason == "deadline_missed"
    # the case owner and the management office, which holds the manager (seed 003 4.3)
    assert escalated.departments == ("quality", "management")
    assert escalated.notify == ("case_owner", "manager")
    assert again is not None and again.occurrence == 1
    assert again.fire_at == manager.fire_at + timedelta(days=1) and again.id != manager.id
    assert deadlines.applies(manager, d.case)
    d.do("acknowledge", team=["QA"])
    assert not deadlines.applies(manager, d.case)


def test_entering_a_stage_already_late_fires_missed_at_once_without_approaching() -> None:
    d = Driver(rules_for("demo"), MONDAY)
    d.do("register", after=timedelta(days=2))  # the 24-hour acknowledgement is already late
    kinds = {p.kind for p in _stage_plan(d)}
    assert "approaching" not in kinds and "missed" in kinds
    assert all(p.fire_at <= d.clock.now() for p in _stage_plan(d))


def test_closed_cases_plan_nothing_and_report_on_time() -> None:
    d = Driver(rules_for("wx"), MONDAY)
    to_review(d)
    review_to_close(d)
    assert deadlines.plan(d.case, d.rules) == []
    assert d.case.on_time is True


def test_survey_action_opens_a_case_with_owner_and_due() -> None:
    rules = rules_for("nb")
    due = MONDAY + timedelta(days=10)
    request = CorrectiveActionRequest(
        "a-1",
        "cross-department review",
        "score 72 < 80",
        "total-below-80",
        "quality",
        due,
        "C-7",
        "Beta Ltd",
    )
    case = open_for_action(request, "nb", rules, MONDAY).case
    assert case.id == "nb:action:a-1" and case.owner_department == "quality"
    assert case.stage == "action_assign" and case.case_due == due  # the action procedure
    kinds = {(p.stage, p.kind) for p in deadlines.plan(case, rules)}
    assert ("case", "missed") in kinds


def test_eight_d_report_in_the_sites_language() -> None:
    d = Driver(rules_for("sz"), MONDAY)
    to_review(d)
    report = eight_d.report(d.case, d.rules, "fr")
    assert report["language"] == "zh"
    by_id = {x["id"]: x for x in report["disciplines"]}
    assert list(by_id) == [f"D{i}" for i in range(9)]
    assert by_id["D3"]["title"] == "临时围堵措施"
    d4 = {e["id"]: e for e in by_id["D4"]["entries"]}
    assert d4["main_cause"]["label"] == "主要原因" and d4["main_cause"]["value"] == "mould wear"
    assert {e["id"] for e in by_id["D3"]["entries"]} >= {"contained_stock_qty"}
    assert by_id["D5"]["entries"][0]["value"][0]["owner"] == "quality"
    assert eight_d.report(d.case, d.rules, "en")["disciplines"][1]["title"] == "Establish the team"
