"""Case clocks on the real broker and database: a case that sits in `register` is chased on
its 24-hour response clock (counted from receipt), each record firing once across a
restart, and the clock's repetition coming on time after it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.clock import ManualClock
from services.common.settings import ServiceSettings
from services.workflow.app import create_app
from tests.integration import test_workflow as workflow_tests
from tests.integration.test_workflow import Tap, _opened, _registration
from tests.support.services import running
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
FRIDAY = datetime(2025, 3, 7, 1, 0, tzinfo=UTC)  # 09:00 in Shenzhen
# sz: `register` is due 1 working day after receipt (Monday 01:00); the response clock
# 24 hours after it (Saturday 01:00), while the case is still in `register`.
RESPOND_DUE = FRIDAY + timedelta(hours=24)


# The workflow tests' own fixtures (their settings with the shipped rules, and the tap on
# sz case events), bound here under their names.
wf_settings = workflow_tests.wf_settings
tap = workflow_tests.tap
keys = workflow_tests.keys


def _respond(events: list[Any]) -> list[Any]:
    """Distinct events (by id) of the response clock."""
    unique = {e.id: e for e in events}.values()
    return [e for e in unique if getattr(e.data, "clock", None) == "respond"]


async def _respond_events(tap: Tap, case_id: str, want: int) -> list[Any]:
    async def probe() -> list[Any]:
        found = _respond(await tap.events(case_id))
        return found if len(found) >= want else []

    return await eventually(probe, timeout=15)


async def test_a_case_in_register_escalates_its_response_clock_once_across_a_restart(
    wf_settings: ServiceSettings, tap: Tap
) -> None:
    clock = ManualClock(FRIDAY)
    number = f"SZ-C-{uuid.uuid4().hex[:8]}"
    case_id = f"sz:{number}"
    async with running(create_app(wf_settings, clock=clock)) as (_, ctx):
        await tap.publish(_registration(number, FRIDAY))
        case = await _opened(ctx, case_id)
        assert case["stage"] == "register" and case["due"] == FRIDAY + timedelta(days=3)
        (respond,) = [c for c in case["clocks"] if c["clock"] == "respond"]
        assert respond["due"] == RESPOND_DUE and respond["stopped_at"] is None
        clock.set(RESPOND_DUE + timedelta(minutes=5))  # the case is still in register
        # approaching, near-owner, missed, missed-manager: the clock's four records
        first = await _respond_events(tap, case_id, 4)
    kinds = sorted(e.type for e in first)
    assert kinds == [
        "case.deadline_approaching",
        "case.deadline_missed",
        "case.escalated",
        "case.escalated",
    ]
    missed = next(e.data for e in first if e.type == "case.deadline_missed")
    assert missed.stage == "clock:respond" and missed.due == RESPOND_DUE
    assert missed.acting_departments == ("quality",)  # case_owner: the routed department
    escalated = {e.data.rule: e.data for e in first if e.type == "case.escalated"}
    assert escalated["missed-manager"].reason == "deadline_missed"
    # notify: [case_owner, manager]: the routed department and the management office,
    # which holds the manager (seed 003 4.3)
    assert escalated["missed-manager"].departments == ("quality", "management")

    async with running(create_app(wf_settings, clock=clock)) as (_, ctx):
        await asyncio.sleep(1.5)  # three scheduler passes: nothing fires again
        fired = await ctx.db["fired"].count_documents(
            {"case_id": case_id, "stage": "clock:respond"}
        )
        assert fired == 4
        clock.set(RESPOND_DUE + timedelta(days=1, minutes=5))  # missed-manager repeats daily
        await _respond_events(tap, case_id, 5)
        await asyncio.sleep(1.0)  # two scheduler passes: a second firing would be here
    again = _respond(await tap.events(case_id))
    assert len([e for e in again if e.type == "case.deadline_missed"]) == 1
    repeats = sorted((e.data.rule, e.data.occurrence) for e in again if e.type == "case.escalated")
    assert repeats == [("missed-manager", 0), ("missed-manager", 1), ("near-owner", 0)]
