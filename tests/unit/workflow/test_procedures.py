"""Each example site's procedure driven to closure from its rule file, with a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.contracts.cases import CaseClosed, CaseEscalated, CaseReopened
from services.workflow.domain import recurrence
from services.workflow.domain.history import first_broken
from services.workflow.domain.opening import open_for_complaint
from tests.unit.workflow.builders import (
    ACTIONS,
    CONTAINED,
    Driver,
    registered,
    review_to_close,
    rules_for,
    to_review,
)

pytestmark = pytest.mark.unit
MONDAY = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


@pytest.mark.parametrize("site", ["sz", "nb", "wx", "demo"])
def test_company_path_with_review_loop_and_ng_verification_closes(site: str) -> None:
    d = Driver(rules_for(site), MONDAY)
    to_review(d)
    d.do("reject_answer", rejection_reason="root cause not proven by trial")
    assert (d.case.stage, d.case.review_rounds) == ("root_cause", 1)
    assert "rejection_reason" not in d.case.fields  # the next round needs its own reason
    d.do("cause_found")
    d.do("submit_answer")
    d.do("accept_answer")
    d.do("approve", approved_by="Zhang (MR)")
    d.do("reply_sent", reply_format="eight_d", reply_sent_at="2025-03-06")
    d.do("implemented", implemented_at="2025-03-08")
    d.do("record_verification", verification_result="ng", ng_reason="cracks again in lot 12")
    assert d.case.stage == "root_cause" and d.case.verifications[-1].result == "ng"
    d.do("cause_found")
    d.do("submit_answer")
    review_to_close(d)
    assert d.case.stage == "closed" and d.case.terminal
    closed = [f for f in d.facts if isinstance(f, CaseClosed)]
    assert len(closed) == 1
    assert closed[0].nonconformity is True and closed[0].outcome == "corrected"
    assert closed[0].customer_id == "C-100" and closed[0].nature == "quality"
    assert d.case.review_rounds == 1
    assert [v.result for v in d.case.verifications] == ["ng", "ok", "ok"]
    assert first_broken(d.case.history) is None
    assert all(h.rules_version == d.rules.rules_version for h in d.case.history)


def test_supplier_branch_runs_the_supplier_car_with_its_own_deadline() -> None:
    d = Driver(rules_for("sz"), MONDAY)
    d.do("register")
    d.do("acknowledge", team=["Li (QA)"])
    d.do("determine_responsibility", responsibility="supplier", supplier_car_number="SCAR-9")
    assert d.case.stage == "supplier_action"
    assert d.case.due == datetime(2025, 3, 10, 4, 0, tzinfo=UTC)  # entered 04:00 +5 working days
    d.do("supplier_answer_received", actions=ACTIONS)
    assert d.case.stage == "review"
    review_to_close(d)
    assert d.case.stage == "closed" and d.case.nonconformity is True


def test_customer_responsibility_closes_without_nonconformity() -> None:
    d = Driver(rules_for("nb"), MONDAY)
    d.do("register")
    d.do("acknowledge", team=["QA"])
    d.do("determine_responsibility", responsibility="customer")
    d.do("customer_accepts", customer_understanding=True)
    closed = [f for f in d.facts if isinstance(f, CaseClosed)][0]
    assert (closed.outcome, closed.nonconformity) == ("explanation", False)


def test_customer_dispute_negotiated_to_a_credit_note() -> None:
    d = Driver(rules_for("wx"), MONDAY)
    d.do("register")
    d.do("acknowledge", team=["QA"])
    d.do("determine_responsibility", responsibility="customer")
    d.do("customer_disputes")
    d.do("agree_credit_note", outcome_reference="CN-2025-17")
    assert (d.case.outcome, d.case.nonconformity) == ("credit_note", False)


def test_negotiation_may_end_in_accepting_responsibility() -> None:
    d = Driver(rules_for("demo"), MONDAY)
    d.do("register")
    d.do("acknowledge", team=["QA"])
    d.do("determine_responsibility", responsibility="customer")
    d.do("customer_disputes")
    d.do("accept_responsibility", responsibility="company")
    assert d.case.stage == "containment"
    d.do("contained", **CONTAINED)
    assert d.case.stage == "root_cause"


def test_returned_goods_are_analysed_then_investigation_continues() -> None:
    d = Driver(rules_for("sz"), MONDAY)
    d.do("register")
    d.do("acknowledge", team=["QA"])
    d.do("analyse_returned_goods", returned_goods=True)
    assert d.case.stage == "returned_goods_analysis" and d.case.due is not None
    d.do("analysis_done", analysis_report="X-ray: void in weld")
    assert d.case.stage == "investigate"


def _closed_case(site: str, number: str, at: datetime) -> Driver:
    d = Driver(rules_for(site), at, number=number)
    to_review(d)
    review_to_close(d)
    return d


def test_recurrence_links_and_reopens_the_closed_case_at_sz() -> None:
    rules = rules_for("sz")
    old = _closed_case("sz", "N-1", MONDAY)
    later = MONDAY + timedelta(days=60)
    fact = registered(rules, later, number="N-2")
    assert recurrence.key_of(rules, fact) == old.case.recurrence_key
    opened = open_for_complaint(fact, rules, later, earlier=[old.case])
    assert opened.case.repeat and opened.case.repeat_of == old.case.id
    linked = recurrence.link_repeat(old.case, opened.case, rules, later)
    assert linked.case.stage == "investigate" and linked.case.repeats == [opened.case.id]
    reopened = [f for f in linked.facts if isinstance(f, CaseReopened)]
    assert reopened and reopened[0].by_complaint_number == "N-2"
    assert linked.case.closed_at is None and linked.case.reopen_count == 1
    assert first_broken(linked.case.history) is None


def test_recurrence_escalates_to_management_review_at_nb() -> None:
    rules = rules_for("nb")
    old = _closed_case("nb", "N-1", MONDAY)
    later = MONDAY + timedelta(days=30)
    opened = open_for_complaint(registered(rules, later, number="N-2"), rules, later,
                                earlier=[old.case])
    escalated = [f for f in opened.facts if isinstance(f, CaseEscalated)]
    assert escalated[0].reason == "recurrence"
    assert "management" in escalated[0].departments
    linked = recurrence.link_repeat(old.case, opened.case, rules, later)
    assert linked.case.stage == "closed" and linked.case.repeats == [opened.case.id]


def test_recurrence_window_and_keys_come_from_the_rules() -> None:
    rules = rules_for("sz")
    start = recurrence.window_start(rules, datetime(2025, 3, 31, tzinfo=UTC))
    assert start == datetime(2024, 3, 28, tzinfo=UTC)
    other = registered(rules, MONDAY, products=[{"model": "ZZ-1"}])
    assert recurrence.key_of(rules, other) != recurrence.key_of(rules, registered(rules, MONDAY))
    assert recurrence.key_of(rules, registered(rules, MONDAY, products=[])) is None
