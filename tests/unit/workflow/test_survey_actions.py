"""Survey actions: due by the site's rules on its calendar, on their own procedure (assign an
owner -> act -> verify in the customer's next survey -> closed), verified by the next
`survey.scored` of that customer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.common.contracts.cases import CaseClosed, CaseDeadlineChanged, CaseStageChanged
from services.common.contracts.surveys import SurveyScored
from services.common.rules import SiteRules, load_rules
from services.survey.domain import actions as survey_actions
from services.workflow.domain import deadlines, survey_verification
from services.workflow.domain.calendar_change import provisional, recompute
from services.workflow.domain.case import Case
from services.workflow.domain.commands import CorrectiveActionRequest, ExecuteTransition
from services.workflow.domain.opening import open_for_action
from services.workflow.domain.transitions import execute
from tests.support.calendars import calendar_block, write_site
from tests.unit.workflow.builders import rules_for

pytestmark = pytest.mark.unit
# Tuesday 30 September 2025, 15:00 in Ningbo: 1-8 October are the National Day holidays
# and Saturday 11 October is a make-up working day.
RAISED = datetime(2025, 9, 30, 7, 0, tzinfo=UTC)
TWENTY_WORKING_DAYS_LATER = datetime(2025, 11, 4, 7, 0, tzinfo=UTC)  # Tuesday 4 November, 15:00


def _raised(rules: SiteRules, **measures: Any) -> Any:
    ctx = survey_actions.Context("nb-2025-09", "inv-1", RAISED, "C-7", "Beta Ltd")
    raised = survey_actions.raise_actions(
        rules, ctx, survey_actions.Measures(**measures), survey_actions.ANSWER_KINDS
    )
    return raised[0][0]


def _request(action: Any) -> CorrectiveActionRequest:
    return CorrectiveActionRequest(
        action.action_id,
        action.what,
        action.why,
        action.trigger,
        action.owner_department,
        action.due,
        action.customer_id,
        action.customer_name,
        {"campaign_id": action.campaign_id, "score": action.score, "threshold": action.threshold},
        raised_at=action.raised_at,
        due_provisional=action.due_provisional,
        subject=action.subject,
    )


def _scored(**overrides: Any) -> SurveyScored:
    body: dict[str, Any] = {
        "scope": "customer",
        "campaign_id": "nb-2025-12",
        "customer_id": "C-7",
        "customer_name": "Beta Ltd",
        "overall": 90.0,
        "band": "grade_a",
        "items": {"pass_rate": 85.0},
        "rules_version": "t",
        "scored_at": datetime(2025, 12, 20, 2, 0, tzinfo=UTC),
    }
    return SurveyScored.model_validate({**body, **overrides})


def _do(case: Case, rules: SiteRules, action: str, at: datetime, **fields: Any) -> Any:
    roles = rules.department(case.owner_department).roles  # the owning department acts
    command = ExecuteTransition(case.id, action, fields, "tester", roles)
    return execute(case, command, rules, at)


def _waiting(rules: SiteRules, **measures: Any) -> Case:
    """An action on an item at or below 70, assigned and done: waiting for the next survey."""
    case = open_for_action(_request(_raised(rules, **measures)), "nb", rules, RAISED).case
    case = _do(
        case, rules, "assign_action_owner", RAISED + timedelta(days=1), action_owner="li.wei"
    ).case
    return _do(
        case,
        rules,
        "action_done",
        RAISED + timedelta(days=10),
        action_taken="new packing instruction",
    ).case


def test_a_survey_action_is_due_by_the_sites_rules_on_its_calendar() -> None:
    rules = rules_for("nb")  # survey.action_due: 20 working days
    action = _raised(rules, items={"pass_rate": 60.0})
    assert action.due == TWENTY_WORKING_DAYS_LATER and action.due_provisional is False
    assert action.subject == "pass_rate"


def test_the_action_case_opens_on_the_action_procedure_due_by_the_rules() -> None:
    rules = rules_for("nb")
    request = _request(_raised(rules, items={"pass_rate": 60.0}))
    # An event raised without a due time (an older survey service): due by the rules.
    request = CorrectiveActionRequest(**{**request.__dict__, "due": None})
    decision = open_for_action(request, "nb", rules, RAISED + timedelta(minutes=5))
    case = decision.case
    assert case.stage == "action_assign" and case.case_due == TWENTY_WORKING_DAYS_LATER
    assert case.due is None and "actions" not in case.fields  # no 8D stage, no 8D action list
    assert rules.stage(case.stage).names["zh"] == "指定负责人"
    planned = {(p.stage, p.kind) for p in deadlines.plan(case, rules)}
    assert ("case", "missed") in planned


def test_done_stops_the_chase_and_the_next_survey_closes_an_effective_action() -> None:
    rules = rules_for("nb")
    case = _waiting(rules, items={"pass_rate": 60.0})
    assert case.stage == "action_verify" and case.awaiting_survey_since is not None
    assert case.case_due_met is True and deadlines.plan(case, rules) == []
    # Not verified by the campaign that raised it, nor by a result from before it was done.
    assert survey_verification.verdict(case, _scored(campaign_id="nb-2025-09"), rules) is None
    early = _scored(scored_at=RAISED + timedelta(days=2))
    assert survey_verification.verdict(case, early, rules) is None
    assert survey_verification.verdict(case, _scored(customer_id="C-8"), rules) is None
    decision = survey_verification.record(case, _scored(), "ev-1", rules, RAISED + timedelta(90))
    closed = decision.case
    assert closed.stage == "action_closed" and closed.terminal and closed.on_time is True
    assert closed.awaiting_survey_since is None
    check = closed.survey_checks[0]
    assert (check.measure, check.value, check.threshold, check.effective) == (
        "pass_rate",
        85.0,
        70.0,
        True,
    )
    assert check.event_id == "ev-1"
    kinds = [type(f) for f in decision.facts]
    assert CaseStageChanged in kinds and CaseClosed in kinds
    assert closed.history[-1].actor == "system:workflow"


def test_an_action_still_firing_goes_back_to_act_due_again() -> None:
    rules = rules_for("nb")
    case = _waiting(rules, items={"pass_rate": 60.0})
    now = RAISED + timedelta(days=90)
    decision = survey_verification.record(
        case, _scored(items={"pass_rate": 70.0}), "ev-2", rules, now
    )
    again = decision.case
    assert again.stage == "action_act" and not again.terminal
    assert again.survey_checks[0].effective is False
    assert again.case_due is not None and again.case_due > now and again.case_due_met is None
    planned = deadlines.plan(again, rules)
    assert {p.token for p in planned if p.stage == "case"} == {"case.r2"}
    assert all(deadlines.applies(p, again) for p in planned if p.stage == "case")
    first_round = open_for_action(
        _request(_raised(rules, items={"pass_rate": 60.0})), "nb", rules, RAISED
    ).case
    assert not any(deadlines.applies(p, again) for p in deadlines.plan(first_round, rules))


def test_a_suggestion_is_verified_by_the_band_of_the_next_score() -> None:
    rules = rules_for("nb")
    case = _waiting(rules, suggestions=("visit more often",))
    worse = _scored(overall=75.0, band="improve", improvement_report=True)
    assert (
        survey_verification.record(case, worse, "e", rules, RAISED + timedelta(90)).case.stage
        == "action_act"
    )
    better = _scored(overall=85.0)
    assert (
        survey_verification.record(case, better, "e", rules, RAISED + timedelta(90)).case.stage
        == "action_closed"
    )


def test_a_result_that_does_not_measure_the_item_leaves_the_action_waiting() -> None:
    rules = rules_for("nb")
    case = _waiting(rules, items={"pass_rate": 60.0})
    follow_up = _scored(items={"response_speed": 90.0})  # a follow-up asks other items
    assert survey_verification.verdict(case, follow_up, rules) is None
    assert survey_verification.result_key("nb", _scored(scope="response")) is None
    assert survey_verification.result_key("nb", _scored()) == "nb|C-7"


def test_a_due_time_in_an_unpublished_year_is_provisional_until_the_year_is_known(
    tmp_path: Path,
) -> None:
    def nb(name: str, **calendar: Any) -> SiteRules:
        site = write_site(tmp_path / name, "qds-company.yaml", calendar=calendar_block(**calendar))
        return load_rules(site)

    raised = datetime(2026, 12, 29, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Ningbo
    old = nb("2026", last_year=2026)
    ctx = survey_actions.Context("nb-2026-12", "inv-9", raised, "C-7", "Beta Ltd")
    [(action, _)] = survey_actions.raise_actions(
        old, ctx, survey_actions.Measures(items={"pass_rate": 50.0}), ("item_score",)
    )
    assert action.due is not None and action.due_provisional  # 20 working days into 2027
    case = open_for_action(_request(action), "nb", old, raised).case
    assert case.case_due == action.due and case.case_due_provisional and provisional(case)
    before = deadlines.plan(case, old)
    published = nb("2027", last_year=2027, extra_holidays=(date(2027, 1, 5),))
    decision = recompute(case, published, raised + timedelta(days=1))
    assert decision is not None
    moved = decision.case
    assert moved.case_due is not None and moved.case_due > action.due
    assert not moved.case_due_provisional and not provisional(moved)
    [changed] = decision.facts
    assert isinstance(changed, CaseDeadlineChanged) and changed.stage == "case"
    assert (changed.previous_due, changed.due) == (action.due, moved.case_due)
    assert not any(deadlines.applies(p, moved) for p in before)  # the old records are void
    assert all(deadlines.applies(p, moved) for p in deadlines.plan(moved, published))
    assert recompute(moved, published, raised + timedelta(days=2)) is None  # once
