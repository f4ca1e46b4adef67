"""CAPA action items chased like deadlines: approaching, missed, escalation, and no more
once the action is recorded done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.contracts.cases import CaseActionAssigned, CaseDeadlineMissed, CaseEscalated
from services.workflow.domain import action_items, deadlines
from services.workflow.domain.commands import RecordFields, Refused
from services.workflow.domain.transitions import record_fields
from tests.unit.workflow.builders import ACTIONS, Driver, rules_for, to_review

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


def _record(d: Driver, items: list[dict[str, str]]) -> list[CaseActionAssigned]:
    roles = d.rules.stage(d.case.stage).actors
    command = RecordFields(d.case.id, {"actions": items}, "cs", tuple(roles), None)
    decision = record_fields(d.case, command, d.rules, d.clock.now())
    d.case = decision.case
    return [f for f in decision.facts if isinstance(f, CaseActionAssigned)]


def test_each_action_item_recorded_new_is_announced_once_to_its_owner() -> None:
    d = Driver(rules_for("sz"), MONDAY)
    to_review(d)
    d.do("reject_answer", rejection_reason="more actions")
    d.do("cause_found", main_cause="mould wear")
    assert d.case.fields["actions"] == ACTIONS  # an earlier round's item
    two = [{**ITEMS[0], "what": "add a drop test"}, ITEMS[1]]
    first = _record(d, [*ACTIONS, *two])
    assert [(f.action, f.action_owner) for f in first] == [
        ("add a drop test", "quality"),
        ("new mould insert", "Wang (PE)"),
    ]
    assert first[0].acting_departments == ("quality",) and first[1].acting_departments == ()
    assert first[0].due == datetime(2025, 3, 20, 16, 0, tzinfo=UTC)
    assert first[0].stage == d.case.stage and first[0].complaint_number == d.case.complaint_number
    assert _record(d, [*ACTIONS, *two]) == []  # the same list again
    moved = [*ACTIONS, {**two[0], "due": "2025-03-27", "done_at": "2025-03-09"}, two[1]]
    assert _record(d, moved) == []  # an item edited (due, done) is not new
    third = {"what": "train operators", "owner": "production", "due": "2025-03-25"}
    before = d.case
    (added,) = _record(d, [*moved, third])
    assert (added.action, added.action_owner) == ("train operators", "production")
    d.case = before  # the same command again, as a redelivery would run it
    (again,) = _record(d, [*moved, third])
    ids = {action_items.assigned_event_id(f) for f in (*first, added, again)}
    assert len(ids) == 3 and None not in ids  # one id per item, the same on redelivery


def test_a_transition_recording_action_items_announces_them() -> None:
    d = _in_review(ITEMS)
    assigned = [f for f in d.facts if isinstance(f, CaseActionAssigned)]
    assert [f.action for f in assigned] == ["add crack test", "new mould insert"]
    assert {f.actor for f in assigned} == {"tester"}
