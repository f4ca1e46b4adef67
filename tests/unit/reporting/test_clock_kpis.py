"""On-time KPIs from case clocks: a site's clock for a KPI (response, 8D, closure) judges
it whatever stage the case was in, in any order of the events."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.common.contracts import cases
from services.reporting.domain import complaint_figures, complaints
from services.reporting.domain.policy import Policy
from tests.support import histories as h

pytestmark = pytest.mark.unit
SITE = "demo"
RECEIVED = h.at("2026-03-02T09:00:00+08:00")


def _stopped(number: str, clock: str, kpi: str | None, met: bool, at: datetime) -> Any:
    fact = cases.CaseClockStopped(
        case_id=f"case-{number}",
        complaint_number=number,
        clock=clock,
        run=1,
        kpi=kpi,
        owner="case_owner",
        started_at=RECEIVED,
        due=RECEIVED + timedelta(hours=24),
        stopped_at=at,
        stopped_by="acknowledge.completed",
        met=met,
        rules_version="test",
    )
    return h.envelope(fact, SITE, at, "/qloop/workflow")


def _clock_missed(number: str, clock: str, kpi: str, at: datetime) -> Any:
    fact = cases.CaseDeadlineMissed(
        case_id=f"case-{number}",
        complaint_number=number,
        stage=f"clock:{clock}",
        due=RECEIVED + timedelta(hours=24),
        owner_department="qa",
        noticed_at=at,
        clock=clock,
        kpi=kpi,
    )
    return h.envelope(fact, SITE, at, "/qloop/workflow")


def _outcomes(events: list[Any]) -> list[dict[str, str | None]]:
    found = []
    for order in itertools.permutations(events):
        state = None
        for event in order:
            state = complaints.fold(state, event)
        assert state is not None
        found.append(complaint_figures.kpi_outcomes(state, Policy()))
    return found


def test_a_response_clock_met_counts_on_time_though_no_stage_deadline_says_so() -> None:
    events = [
        h.registered(SITE, "D-0001", RECEIVED),
        h.opened(SITE, "D-0001", RECEIVED),
        _stopped("D-0001", "respond", "acknowledgement", True, RECEIVED + timedelta(hours=2)),
        _stopped("D-0001", "answer-general", None, False, RECEIVED + timedelta(days=4)),
    ]
    for outcome in _outcomes(events):
        assert outcome["acknowledgement"] == "on_time"
        assert outcome["eight_d"] is None and outcome["closure"] is None


def test_a_clock_missed_while_the_case_sat_in_register_is_late_in_any_order() -> None:
    late = RECEIVED + timedelta(hours=30)
    events = [
        h.opened(SITE, "D-0002", RECEIVED),
        _clock_missed("D-0002", "respond", "acknowledgement", RECEIVED + timedelta(hours=24)),
        _stopped("D-0002", "respond", "acknowledgement", False, late),
        _clock_missed("D-0002", "eight-d", "eight_d", RECEIVED + timedelta(days=2)),
    ]
    for outcome in _outcomes(events):
        assert outcome["acknowledgement"] == "late" and outcome["eight_d"] == "late"


def test_without_clock_events_the_stage_deadlines_judge() -> None:
    due = RECEIVED + timedelta(hours=24)
    events = [
        h.registered(SITE, "D-0003", RECEIVED, deadlines={"acknowledge": due}),
        h.moved(SITE, "D-0003", "acknowledge", "investigate", RECEIVED + timedelta(hours=3)),
    ]
    for outcome in _outcomes(events):
        assert outcome["acknowledgement"] == "on_time"
