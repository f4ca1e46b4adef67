"""The triggers beyond registration, escalation and deadlines: an approval requested, a CAPA
action item assigned, due or missed, a survey action assigned, a campaign's response rate below
target before its window ends, and a case reopened by recurrence (its team too)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from services.common.clock import ManualClock
from services.common.contracts.cases import (
    CaseActionAssigned,
    CaseDeadlineMissed,
    CaseOpened,
    CaseReopened,
    CaseStageChanged,
)
from services.common.contracts.envelope import Envelope, dataschema_urn
from services.common.contracts.surveys import (
    SurveyAnswered,
    SurveyCampaignClosed,
    SurveyCampaignOpened,
)
from services.common.rulebook import Rulebook
from services.common.rules.durations import parse_duration
from services.notify import campaigns
from services.notify.directory import StaticDirectory
from services.notify.metrics import notify_metrics
from services.notify.service import Notifier
from services.notify.store import InMemoryNotificationStore
from tests.unit.notify.test_notify_email import PEOPLE, RULES, START

pytestmark = pytest.mark.unit
STAFF: list[dict[str, Any]] = [
    *PEOPLE,
    # In the management department without a role of their own: holds its roles (the desk's
    # rule), so is asked to approve.
    {"id": "rep", "name": "Zhao Rep", "email": "rep@abc.test", "language": "zh",
     "grants": [{"site": "sz", "departments": ["management"]}]},
    {"id": "line", "name": "Line Lead", "email": "line@abc.test", "language": "en",
     "grants": [{"site": "sz", "departments": ["production"], "roles": ["production"]}]},
    {"id": "mkt", "name": "Ma Marketing", "email": "mkt@wx.test", "language": "zh",
     "grants": [{"site": "wx", "departments": ["marketing"]}]},
]  # fmt: skip


def envelope(type_: str, data: Any, site: str = "sz") -> Envelope[Any]:
    return Envelope[Any](
        id=uuid.uuid4(), source="/qloop/test", type=type_, time=START,
        dataschema=dataschema_urn(type_, 1), site=site, correlationid="c1", data=data,
    )  # fmt: skip


def notifier_at(clock: ManualClock | None = None) -> Notifier:
    return Notifier(
        InMemoryNotificationStore(), StaticDirectory(STAFF), Rulebook.load(RULES),
        clock or ManualClock(START), notify_metrics(CollectorRegistry()), "http://desk.test",
    )  # fmt: skip


def told(notifier: Notifier) -> dict[str, str]:
    store = notifier.store
    assert isinstance(store, InMemoryNotificationStore)
    return {n.person_id: n.cause for n in store.items.values()}


def opened(origin: str = "complaint", owner: str = "quality") -> CaseOpened:
    return CaseOpened(
        case_id="sz-case-1", complaint_number="SZ-000001", origin=origin, customer_id="C-1",
        customer_name="Acme Auto", nature="quality", category="a", severity="general",
        owner_department=owner, stage="register", due=START + timedelta(days=20),
        opened_at=START, rules_version="t",
    )  # fmt: skip


def stage_changed(to: str) -> CaseStageChanged:
    return CaseStageChanged(
        case_id="sz-case-1", complaint_number="SZ-000001", action="accept_answer",
        from_stage="review", to_stage=to, actor="cs", review_round=0, due=None,
        changed_at=START, rules_version="t",
    )  # fmt: skip


def test_entering_a_signed_stage_asks_the_approvers() -> None:
    notifier = notifier_at()
    asyncio.run(notifier.record(envelope("case.stage_changed", stage_changed("approval"))))
    # The approval stage's signed transitions are run by management_rep / general_manager,
    # roles of the management department: everyone in it is asked.
    asked = {"gm": "approval_requested", "mgr": "approval_requested", "rep": "approval_requested"}
    assert told(notifier) == asked
    store = notifier.store
    assert isinstance(store, InMemoryNotificationStore)
    mail = store.items[next(i for i in store.items if "|gm|" in i)]
    assert mail.subject == "案件 SZ-000001 待您批准（批准）"
    assert "http://desk.test/cases/sz-case-1" in mail.text


def test_an_unsigned_stage_tells_its_actors_as_before() -> None:
    notifier = notifier_at()
    asyncio.run(notifier.record(envelope("case.stage_changed", stage_changed("containment"))))
    assert told(notifier) == {"qe": "case_stage", "line": "case_stage"}


def missed_item(owner: str) -> CaseDeadlineMissed:
    return CaseDeadlineMissed(
        case_id="sz-case-1", complaint_number="SZ-000001", stage="action:actions",
        due=START, owner_department="quality", action="Replace the die", action_owner=owner,
        acting_departments=("production",) if owner == "production" else (),
        noticed_at=START,
    )  # fmt: skip


def test_a_capa_item_missed_tells_its_owner_a_person_or_a_department() -> None:
    by_person = notifier_at()
    asyncio.run(by_person.record(envelope("case.deadline_missed", missed_item("line"))))
    assert told(by_person) == {"line": "capa_action"}
    store = by_person.store
    assert isinstance(store, InMemoryNotificationStore)
    (mail,) = store.items.values()
    assert mail.subject == "Case SZ-000001: action missed: Replace the die"
    by_department = notifier_at()
    asyncio.run(by_department.record(envelope("case.deadline_missed", missed_item("production"))))
    assert told(by_department) == {"line": "capa_action"}


def assigned_item(owner: str) -> CaseActionAssigned:
    return CaseActionAssigned(
        case_id="sz-case-1", complaint_number="SZ-000001", field="actions",
        action="更换模具镶件", action_owner=owner, due=START + timedelta(days=10),
        stage="analysis", owner_department="quality", actor="cs", assigned_at=START,
        rules_version="t",
    )  # fmt: skip


def test_a_capa_item_assigned_tells_its_owner_in_their_language() -> None:
    notifier = notifier_at()
    asyncio.run(notifier.record(envelope("case.action_assigned", assigned_item("qe"))))
    assert told(notifier) == {"qe": "capa_action"}  # a person's id: that person only
    store = notifier.store
    assert isinstance(store, InMemoryNotificationStore)
    (mail,) = store.items.values()
    assert mail.subject == "案件 SZ-000001：措施 已指派：更换模具镶件"
    assert "http://desk.test/cases/sz-case-1" in mail.text
    by_department = notifier_at()
    fact = assigned_item("production").model_copy(update={"action": "Replace the die"})
    asyncio.run(by_department.record(envelope("case.action_assigned", fact)))
    assert told(by_department) == {"line": "capa_action"}
    assert isinstance(by_department.store, InMemoryNotificationStore)
    (mail,) = by_department.store.items.values()
    assert mail.subject == "Case SZ-000001: action assigned: Replace the die"


def test_a_survey_action_case_tells_its_owner() -> None:
    notifier = notifier_at()
    fact = opened(origin="survey_action", owner="production")
    asyncio.run(notifier.record(envelope("case.opened", fact)))
    assert told(notifier) == {"line": "survey_action"}


def test_a_complaint_case_opening_tells_nobody_its_registration_told() -> None:
    notifier = notifier_at()
    assert asyncio.run(notifier.record(envelope("case.opened", opened()))) == 0


def reopened() -> CaseReopened:
    return CaseReopened(
        case_id="sz-case-1", complaint_number="SZ-000001", from_stage="closed",
        to_stage="investigate", reason="recurrence", by_case_id="sz-case-9",
        reopened_at=START,
    )  # fmt: skip


def test_a_recurrence_reopening_tells_the_case_team_and_management_review() -> None:
    notifier = notifier_at()

    async def run() -> None:
        await notifier.record(envelope("case.opened", opened(owner="quality")))
        await notifier.record(envelope("case.reopened", reopened()))

    asyncio.run(run())
    assert told(notifier) == {
        "qe": "case_reopened", "gm": "case_reopened", "mgr": "case_reopened",
        "rep": "case_reopened",
    }  # fmt: skip


def campaign_opened(
    invitations: int, answer_due: datetime, kind: Any = "scheduled"
) -> SurveyCampaignOpened:
    return SurveyCampaignOpened(
        campaign_id="wx-2026-1", kind=kind, period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30), opened_at=START, answer_due=answer_due, eligible=(),
        invitations=invitations, rules_version="t",
    )  # fmt: skip


def answered(n: int) -> SurveyAnswered:
    return SurveyAnswered(
        invitation_id=f"inv-{n}", campaign_id="wx-2026-1", customer_id=f"C-{n}",
        customer_name="Customer", answered_at=START, on_time=True, counted_as_returned=True,
        items={"quality": 90.0}, via="form",
    )  # fmt: skip


def test_a_low_response_rate_tells_the_survey_owner_once_a_working_day_before_the_end() -> None:
    # Window ends Friday 2026-03-13 17:00 Shanghai: judged Thursday 17:00.
    due = datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
    clock = ManualClock(START)
    notifier = notifier_at(clock)

    async def run() -> list[int]:
        await notifier.record(envelope("survey.campaign_opened", campaign_opened(10, due), "wx"))
        for n in (1, 2, 2):  # a redelivered answer counts once
            await notifier.record(envelope("survey.answered", answered(n), "wx"))
        early = await notifier.judge_campaigns()
        clock.set(datetime(2026, 3, 12, 9, 0, tzinfo=UTC))
        on_time = await notifier.judge_campaigns()
        again = await notifier.judge_campaigns()
        return [early, on_time, again]

    assert asyncio.run(run()) == [0, 1, 0]
    store = notifier.store
    assert isinstance(store, InMemoryNotificationStore)
    (mail,) = store.items.values()
    assert mail.person_id == "mkt" and mail.cause == "campaign_response_low"
    assert mail.subject == "满意度调查 wx-2026-1：回收率 20% 低于目标 80%"


def test_a_campaign_on_target_or_closed_tells_nobody() -> None:
    due = datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
    clock = ManualClock(START)
    notifier = notifier_at(clock)

    async def run() -> int:
        await notifier.record(envelope("survey.campaign_opened", campaign_opened(2, due), "wx"))
        for n in (1, 2):
            await notifier.record(envelope("survey.answered", answered(n), "wx"))
        clock.set(due)
        on_target = await notifier.judge_campaigns()
        closed = SurveyCampaignClosed(
            campaign_id="wx-2026-1", closed_at=due, sent=2, returned=0, late=0,
            response_rate=0, target_rate=80, target_met=False, overall=None, band=None,
            actions_raised=0,
        )  # fmt: skip
        await notifier.record(envelope("survey.campaign_closed", closed, "wx"))
        return on_target + len(await notifier.tracking.campaigns())

    assert asyncio.run(run()) == 0


def test_check_time_counts_working_days_back_over_a_weekend() -> None:
    rules = Rulebook.load(RULES).for_site("wx")
    monday = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    friday = datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
    assert campaigns.check_time(rules, monday, parse_duration("1 working day")) == friday
    hours = campaigns.check_time(rules, monday, parse_duration("6 hours"))
    assert hours == monday - timedelta(hours=6)


def test_a_follow_up_survey_has_no_rate_to_judge() -> None:
    due = datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
    clock = ManualClock(START)
    notifier = notifier_at(clock)
    follow_up = campaign_opened(1, due, kind="follow_up")

    async def run() -> int:
        await notifier.record(envelope("survey.campaign_opened", follow_up, "wx"))
        clock.set(due)
        return await notifier.judge_campaigns() + len(await notifier.tracking.campaigns())

    assert asyncio.run(run()) == 0
