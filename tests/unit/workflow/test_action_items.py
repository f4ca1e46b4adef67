"""CAPA action items chased like deadlines: approaching, missed, escalation, and no more
once the action is recorded done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.contracts.cases import CaseDeadlineMissed, CaseEscalated
from services.workflow.domain import action_items, deadlines
from services.workflow.domain.commands import RecordFields, Refused
from services.workflow.domain.transitions import record_fields
from tests.unit.workflow.builders import Driver, rules_for, to_review

pytestmark = pytest.mark.unit
MONDAY = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
ITEMS = [
    {"what": "add crack test", "owner": "quality", "due": "2025-03-20"},
    {"what": "new mould insert", "owner": "Wang (PE)", "due": "2025-03-10T15:00:00"},
]


def _in_review(items: list[dict[str, str]]) -> Driver:
    d = Driver(rules_for("sz"), MONDAY)
    to_review(d)
    d.do("reject_answer", rejection_reason="more actions")
    d.do("cause_found", main_cause="mould wear")
    d.do("submit_answer", actions=items)
    return d


def _item_records(d: Driver) -> dict[tuple[str, str, str | None], deadlines.Deadline]:
    return {
        (p.token, p.kind, p.rule): p
        for p in deadlines.plan(d.case, d.rules)
        if p.stage == "action:actions"
    }


def test_each_open_action_item_is_planned_at_its_due_in_the_site_zone() -> None:
    d = _in_review(ITEMS)
    items = action_items.open_items(d.case, d.rules)
    # a due date: the end of that day in Shenzhen; a time without offset: Shenzhen time
    assert [i.due for i in items] == [
        datetime(2025, 3, 20, 16, 0, tzinfo=UTC),
        datetime(2025, 3, 10, 7, 0, tzinfo=UTC),
    ]
    planned = _item_records(d)
    missed = {k[0]: p for k, p in planned.items() if k[1] == "missed"}
    assert {p.fire_at for p in missed.values()} == {i.due for i in items}
    assert {(k[1], k[2]) for k in planned} >= {
        ("approaching", None),
        ("escalation", "near-owner"),
        ("escalation", "missed-manager"),
    }


def test_a_missed_action_item_announces_its_action_and_owner() -> None:
    d = _in_review(ITEMS)
    first = action_items.open_items(d.case, d.rules)[0]
    planned = _item_records(d)
    missed = planned[(first.token, "missed", None)]
    (fact,), _ = deadlines.fire(missed, d.case, d.rules, first.due)
    assert isinstance(fact, CaseDeadlineMissed)
    assert fact.stage == "action:actions" and fact.action == "add crack test"
    assert fact.action_owner == "quality" and fact.acting_departments == ("quality",)
    escalation = planned[(first.token, "escalation", "missed-manager")]
    (escalated,), again = deadlines.fire(escalation, d.case, d.rules, first.due)
    assert isinstance(escalated, CaseEscalated) and escalated.action == "add crack test"
    assert again is not None and again.occurrence == 1  # repeats daily while not done


def test_an_action_recorded_done_is_chased_no_more_and_the_others_keep_their_records() -> None:
    d = _in_review(ITEMS)
    before = _item_records(d)
    done = [{**ITEMS[0], "done_at": "2025-03-09"}, ITEMS[1]]
    decision = record_fields(
        d.case,
        RecordFields(d.case.id, {"actions": done}, "cs", ("customer_service",), None),
        d.rules,
        MONDAY + timedelta(days=6),
    )
    case = decision.case
    still = {p.id for p in deadlines.plan(case, d.rules) if p.stage == "action:actions"}
    first, second = (
        action_items.token_of("actions", ITEMS[0]),
        action_items.token_of("actions", ITEMS[1]),
    )
    for record in before.values():
        assert deadlines.applies(record, case) == (record.token == second)
        assert (record.id in still) == (record.token == second)
    assert first != second


def test_done_at_must_be_a_date() -> None:
    d = _in_review(ITEMS)
    bad = [{**ITEMS[0], "done_at": "yesterday"}]
    with pytest.raises(Refused, match="done_at"):
        record_fields(
            d.case,
            RecordFields(d.case.id, {"actions": bad}, "cs", ("customer_service",), None),
            d.rules,
            MONDAY,
        )
