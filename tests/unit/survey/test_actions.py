"""Triggers -> survey.action_required with what and why; effectiveness next campaign."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.rules import SiteRules
from services.survey.domain import actions as act

pytestmark = pytest.mark.unit
NOW = datetime(2025, 3, 11, 2, 0, tzinfo=UTC)


def test_answer_triggers_items_at_or_below_the_limit_and_every_suggestion(nb: SiteRules) -> None:
    ctx = act.Context("nb-2025-03", "inv1", NOW, "C1", "Acme")
    measures = act.Measures(
        items={"pass_rate": 70.0, "on_time": 70.01, "attitude": 40.0},
        suggestions=("reply faster", "visit more often"),
    )
    raised = act.raise_actions(nb, ctx, measures, act.ANSWER_KINDS)
    facts = [a for a, _ in raised]
    assert [(a.trigger, a.owner_department, a.score) for a in facts] == [
        ("item-at-or-below-70", "qa", 70.0),
        ("item-at-or-below-70", "sales", 40.0),
        ("every-suggestion", "sales", None),
        ("every-suggestion", "sales", None),
    ]
    assert facts[0].what == "Cause analysis: item 'Pass rate' (Product quality) is 70"
    assert facts[0].why == (
        "item 'Pass rate' (Product quality) 70 is at or below 70 (trigger 'item-at-or-below-70')"
    )
    assert facts[2].what.endswith("reply faster")
    assert all(a.customer_id == "C1" and a.campaign_id == "nb-2025-03" for a in facts)
    assert len({a.action_id for a in facts}) == 4


def test_action_ids_are_stable_so_a_retry_raises_nothing_new(nb: SiteRules) -> None:
    ctx = act.Context("c", "inv1", NOW, "C1", "Acme")
    measures = act.Measures(items={"pass_rate": 50.0})
    first = act.raise_actions(nb, ctx, measures, act.ANSWER_KINDS)
    again = act.raise_actions(nb, ctx, measures, act.ANSWER_KINDS)
    assert [a.action_id for a, _ in first] == [a.action_id for a, _ in again]


def test_close_triggers_overall_and_response_rate(nb: SiteRules) -> None:
    ctx = act.Context("nb-2025-03", "close", NOW)
    measures = act.Measures(overall=79.99, response_rate=0.98, items={"pass_rate": 10.0})
    facts = [a for a, _ in act.raise_actions(nb, ctx, measures, act.CLOSE_KINDS)]
    assert [(a.trigger, a.score, a.threshold, a.owner_department) for a in facts] == [
        ("overall-below-80", 79.99, 80.0, "sales"),
        ("response-below-target", 98.0, 99.0, "sales"),
    ]
    assert facts[1].why == "response rate (%) 98 is below 99 (trigger 'response-below-target')"


def test_wx_customer_score_below_80_names_the_customer(wx: SiteRules) -> None:
    ctx = act.Context("wx-2025-06", "close", NOW, customer_names={"C7": "Seven Ltd"})
    measures = act.Measures(overall=85.0, customers={"C7": 79.5, "C8": 80.0}, response_rate=0.8)
    facts = [a for a, _ in act.raise_actions(wx, ctx, measures, act.CLOSE_KINDS)]
    assert [(a.trigger, a.customer_id, a.customer_name, a.owner_department) for a in facts] == [
        ("customer-below-80", "C7", "Seven Ltd", "marketing")
    ]


def test_role_owners_resolve_to_their_department(wx: SiteRules) -> None:
    ctx = act.Context("wx-2025-06", "close", NOW)
    facts = [a for a, _ in act.raise_actions(wx, ctx, act.Measures(overall=50.0), act.CLOSE_KINDS)]
    assert facts[0].trigger == "total-below-80"
    holders = [d.id for d in wx.departments_with_role("management_rep")]
    assert facts[0].owner_department == holders[0]


def test_next_campaign_records_whether_actions_worked(nb: SiteRules) -> None:
    previous = [
        act.RaisedAction("a1", "item-at-or-below-70", "on_time", "C1", 65.0),
        act.RaisedAction("a2", "overall-below-80", "overall", None, 78.0),
        act.RaisedAction("a3", "every-suggestion", "reply faster", "C1", None),
        act.RaisedAction("a4", "item-at-or-below-70", "attitude", "C9", 60.0),
        act.RaisedAction("a5", "response-below-target", "response_rate", None, 0.9),
    ]
    results = act.Results(
        act.Measures(overall=79.0, response_rate=1.0, items={"on_time": 85.0}),
        customer_items={"C1": {"on_time": 85.0}},
    )
    effects = {e.action_id: e for e in act.effectiveness(nb, previous, results)}
    assert (effects["a1"].before, effects["a1"].after, effects["a1"].effective) == (
        65.0,
        85.0,
        True,
    )
    assert effects["a2"].effective is False and effects["a2"].after == 79.0
    assert effects["a3"].effective is None  # suggestions are not re-measured
    assert effects["a4"].effective is None and effects["a4"].after is None  # C9 did not answer
    assert effects["a5"].effective is True


def test_an_action_is_due_by_the_sites_rules_on_its_calendar(nb: SiteRules) -> None:
    # Tuesday 30 September 2025, 15:00 in Ningbo; 1-8 October are holidays and Saturday
    # 11 October a make-up working day: 20 working days end on Tuesday 4 November, 15:00.
    raised = datetime(2025, 9, 30, 7, 0, tzinfo=UTC)
    ctx = act.Context("nb-2025-09", "inv1", raised, "C1", "Acme")
    [(action, _)] = act.raise_actions(
        nb, ctx, act.Measures(items={"on_time": 50.0}), act.ANSWER_KINDS
    )
    assert action.due == datetime(2025, 11, 4, 7, 0, tzinfo=UTC)
    assert action.due_provisional is False and action.subject == "on_time"
