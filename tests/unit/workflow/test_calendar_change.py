"""Provisional due times: set when a stage's deadline is counted through a year the site's
calendar does not cover, and computed again once it does (domain/calendar_change.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from services.common.contracts.cases import CaseDeadlineChanged
from services.common.rules import load_rules
from services.workflow.domain import deadlines
from services.workflow.domain.calendar_change import provisional, recompute
from services.workflow.domain.opening import open_for_complaint
from tests.support.calendars import calendar_block, write_site
from tests.unit.workflow.builders import registered

pytestmark = pytest.mark.unit
TUESDAY = datetime(2026, 12, 29, 1, 0, tzinfo=UTC)  # 09:00 in Shenzhen
LATE = "物流延误 logistics late"  # delivery, category c: register within 3 working days


def _rules(tmp_path: Path, name: str, **calendar: object):  # type: ignore[no-untyped-def]
    return load_rules(write_site(tmp_path / name, calendar=calendar_block(**calendar)))  # type: ignore[arg-type]


def test_a_stage_due_in_an_unpublished_year_is_provisional_and_chased(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "2026", last_year=2026)
    case = open_for_complaint(registered(rules, TUESDAY, description=LATE), rules, TUESDAY).case
    assert case.due == datetime(2027, 1, 4, 1, 0, tzinfo=UTC)
    assert case.due_provisional and case.visits[-1].provisional
    planned = deadlines.plan(case, rules)
    assert {d.kind for d in planned} >= {"missed", "approaching"}
    missed = next(d for d in planned if d.kind == "missed")
    [fact], _ = deadlines.fire(missed, case, rules, missed.fire_at)
    assert fact.provisional is True  # type: ignore[attr-defined]


def test_recompute_moves_a_changed_due_time_and_changes_the_token(tmp_path: Path) -> None:
    old = _rules(tmp_path, "2026", last_year=2026)
    case = open_for_complaint(registered(old, TUESDAY, description=LATE), old, TUESDAY).case
    published = _rules(tmp_path, "2027", last_year=2027, extra_holidays=(date(2027, 1, 4),))
    decision = recompute(case, published, TUESDAY)
    assert decision is not None
    new = decision.case
    assert new.due == datetime(2027, 1, 5, 1, 0, tzinfo=UTC) and not new.due_provisional
    assert new.deadline_token != case.deadline_token  # old records no longer apply
    [fact] = decision.facts
    assert isinstance(fact, CaseDeadlineChanged)
    assert (fact.previous_due, fact.due) == (case.due, new.due)
    assert new.history[-1].what == "deadline_recomputed"
    assert recompute(new, published, TUESDAY) is None  # once


def test_recompute_only_drops_the_mark_of_an_unchanged_due_time(tmp_path: Path) -> None:
    old = _rules(tmp_path, "2026", last_year=2026)
    case = open_for_complaint(registered(old, TUESDAY, description=LATE), old, TUESDAY).case
    published = _rules(tmp_path, "2027", last_year=2027)
    decision = recompute(case, published, TUESDAY)
    assert decision is not None and decision.facts == []
    assert decision.case.due == case.due and not decision.case.due_provisional
    assert decision.case.deadline_token == case.deadline_token  # records stay as placed
    assert recompute(case, old, TUESDAY) is None  # still the same estimate: nothing to do


def test_estimates_accepted_by_the_site_are_never_provisional(tmp_path: Path) -> None:
    rules = load_rules(
        write_site(
            tmp_path / "lenient",
            calendar=calendar_block(last_year=2026).replace(
                "  last_year: 2026\n", "  last_year: 2026\n  allow_uncovered_years: true\n"
            ),
        )
    )
    case = open_for_complaint(registered(rules, TUESDAY, description=LATE), rules, TUESDAY).case
    assert case.due == datetime(2027, 1, 4, 1, 0, tzinfo=UTC) and not case.due_provisional


def test_a_clock_counted_into_an_unpublished_year_is_computed_again(tmp_path: Path) -> None:
    # Seed 004's 8D clock: 3 working days from receipt, on a calendar published through 2026.
    def site(name: str, **calendar: object):  # type: ignore[no-untyped-def]
        path = write_site(tmp_path / name, "qds-company.yaml",
                          calendar=calendar_block(**calendar))  # type: ignore[arg-type]
        return load_rules(path)

    old = site("2026", last_year=2026)
    case = open_for_complaint(registered(old, TUESDAY), old, TUESDAY).case
    [run] = [r for r in case.clocks if r.clock == "eight-d"]
    assert run.due == datetime(2027, 1, 4, 1, 0, tzinfo=UTC) and run.provisional
    assert provisional(case)
    published = site("2027", last_year=2027, extra_holidays=(date(2027, 1, 4),))
    decision = recompute(case, published, TUESDAY)
    assert decision is not None
    [moved] = [r for r in decision.case.clocks if r.clock == "eight-d"]
    assert moved.due == datetime(2027, 1, 5, 1, 0, tzinfo=UTC) and not moved.provisional
    changed = [f for f in decision.facts if getattr(f, "clock", None) == "eight-d"]
    assert [(c.previous_due, c.due) for c in changed] == [(run.due, moved.due)]  # type: ignore[attr-defined]
    assert recompute(decision.case, published, TUESDAY) is None  # once
