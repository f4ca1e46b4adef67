"""Deadlines past the published calendar, on the real broker and database.

A CN site whose working-day calendar is published through 2026 registers complaints in the
last days of December: intake computes their January deadlines on the best calendar there
is and marks them provisional, the workflow opens the cases (it used to refuse and dead-
letter them). Then the site writes 2027's notice into its rule file: the provisional due
times are computed again; the one that moved is announced once and rescheduled, the one
that did not only loses its mark; restarts in between change nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from services.common.clock import ManualClock
from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.registry import new_event, parse_event, to_json
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.rules import load_rules
from services.common.runtime import ServiceContext
from services.common.settings import ServiceSettings
from services.intake import domain as intake
from services.workflow.app import create_app
from tests.support.calendars import calendar_block, write_site
from tests.support.complaints import complaint
from tests.support.infra import Infra
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
LOCAL = "+08:00"
TUESDAY = datetime.fromisoformat(f"2026-12-29T09:00:00{LOCAL}")  # + 3 working days: Mon 4 Jan
THURSDAY = datetime.fromisoformat(f"2026-12-31T09:00:00{LOCAL}")  # + 3 working days: Wed 6 Jan
SEVEN_WD = (
    "{id: reply-cd-7wd, stage: reply, from: received, duration: 7 working days, "
    "when: {category: [c, d]}}"
)
# What the test writes as 2027's notice: the year is published, and 5 January is a holiday.
NOTICE = calendar_block(last_year=2027, extra_holidays=(date(2027, 1, 5),))


class Tap:
    """The case events of site sz on the broker, and direct delivery to the workflow."""

    def __init__(self, channel: Any, queue: Any, prefix: str) -> None:
        self.channel, self.queue, self.prefix, self.seen = channel, queue, prefix, []

    async def events(self, kind: str, subject: str, want: int = 0) -> list[Any]:
        async def probe() -> bool:
            while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
                self.seen.append(parse_event(message.body))
            return len(self._of(kind, subject)) >= want

        await eventually(probe, timeout=20)
        return self._of(kind, subject)

    def _of(self, kind: str, subject: str) -> list[Any]:
        unique = {e.id: e for e in self.seen if e.type == kind and e.subject == subject}
        # Stage deadlines only (the site's case clocks announce theirs with the same types).
        return [e for e in unique.values() if getattr(e.data, "stage", "register") == "register"]

    async def register(self, fact: Any) -> None:
        envelope = new_event(
            fact, site="sz", source="/qloop/intake", time=fact.registered_at, subject=fact.number
        )
        message = aio_pika.Message(to_json(envelope), content_type="application/json")
        await self.channel.default_exchange.publish(
            message, routing_key=f"{self.prefix}workflow.complaints"
        )


@pytest.fixture
async def tap(infra: Infra, settings: ServiceSettings) -> AsyncIterator[Tap]:
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key="sz.case.*")
        yield Tap(channel, queue, settings.queue_prefix)


def _registered(rules_file: Path, received: datetime, seq: int) -> Any:
    rules = load_rules(rules_file)
    submission = ComplaintSubmission.model_validate(
        complaint(
            received_at=received.isoformat(),
            description="物流延误 logistics late",  # delivery, category c: 3 working days
            external_ref=f"CRM-{uuid.uuid4().hex[:8]}",
        )
    )
    return intake.registration(
        submission,
        rules,
        series=intake.number_series(rules, received),
        seq=seq,
        source="crm",
        registered_at=received + timedelta(minutes=10),
    ).model_copy(update={"number": f"SZ-T-{uuid.uuid4().hex[:8]}"})


async def _case(ctx: ServiceContext, case_id: str, **want: Any) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        case = await ctx.db["cases"].find_one({"_id": case_id})
        if case is None or any(case.get(k) != v for k, v in want.items()):
            return None
        return case

    found: dict[str, Any] = await eventually(probe, timeout=20)
    return found


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def test_cases_open_past_the_calendar_and_follow_its_publication(
    settings: ServiceSettings, tmp_path: Path, tap: Tap
) -> None:
    rules_dir = tmp_path / "rules"
    site_file = write_site(rules_dir, calendar=calendar_block(last_year=2026),
                           extra_deadlines=(SEVEN_WD,))
    keys = write_key_file(tmp_path / "keys.yaml", {"qa-sz": (["sz"], ["read", "quality"])})
    reader = {"X-API-Key": keys["qa-sz"]}
    settings = settings.model_copy(
        update={
            "rules_dir": rules_dir,
            "rules_reload_seconds": 0.1,
            "api_keys_file": tmp_path / "keys.yaml",
        }
    )
    clock = ManualClock(datetime(2026, 12, 31, 2, 0, tzinfo=UTC))
    a, b = _registered(site_file, TUESDAY, 1), _registered(site_file, THURSDAY, 2)
    # Intake: every deadline computed, the January ones marked provisional.
    assert a.deadlines["register"] == _utc("2027-01-04T09:00:00+08:00")
    assert a.deadlines["reply"] == _utc("2027-01-08T09:00:00+08:00")  # 7 working days
    assert set(a.provisional_deadlines) == {"register", "reply"}
    assert "acknowledge" in a.deadlines and "acknowledge" not in a.provisional_deadlines
    case_a, case_b = f"sz:{a.number}", f"sz:{b.number}"

    async with running(create_app(settings, clock=clock)) as (client, ctx):
        await tap.register(a)
        await tap.register(b)
        opened_a = await _case(ctx, case_a)
        opened_b = await _case(ctx, case_b)
        assert opened_a["due"] == _utc("2027-01-04T09:00:00+08:00")
        assert opened_b["due"] == _utc("2027-01-06T09:00:00+08:00")
        assert opened_a["due_provisional"] and opened_b["due_provisional"]
        [event] = await tap.events("case.opened", case_a, 1)
        assert event.data.due_provisional is True
        view = (await client.get(f"/cases/{case_a}", headers=reader)).json()
        assert view["due_provisional"] is True

        async def gauge() -> bool:
            text = (await client.get("/metrics")).text
            return 'qloop_workflow_provisional_deadlines{site="sz"} 2.0' in text

        await eventually(gauge, timeout=20)

    # A restart before the calendar is known: still the same estimates, nothing written.
    async with running(create_app(settings, clock=clock)) as (_, ctx):
        await asyncio.sleep(1.5)  # the start-up count and a recomputation pass
        assert (await ctx.db["cases"].find_one({"_id": case_b}))["version"] == opened_b["version"]

    async with running(create_app(settings, clock=clock)) as (client, ctx):
        site_file.write_text(  # the site writes 2027's notice and raises last_year
            site_file.read_text(encoding="utf-8").replace(
                calendar_block(last_year=2026), NOTICE
            ),
            encoding="utf-8",
        )
        moved = await _case(ctx, case_b, due_provisional=False)
        kept = await _case(ctx, case_a, due_provisional=False)
        assert moved["due"] == _utc("2027-01-07T09:00:00+08:00")
        assert kept["due"] == opened_a["due"] and kept["version"] == opened_a["version"] + 1
        [changed] = await tap.events("case.deadline_changed", case_b, 1)
        assert changed.data.previous_due == _utc("2027-01-06T09:00:00+08:00")
        assert changed.data.due == _utc("2027-01-07T09:00:00+08:00")
        assert changed.data.previous_provisional and not changed.data.provisional
        assert [h["what"] for h in moved["history"]][-1] == "deadline_recomputed"

        # Rescheduled: past the old due time nothing is missed, past the new one once.
        clock.set(_utc("2027-01-06T09:05:00+08:00"))
        missed_a = await tap.events("case.deadline_missed", case_a, 1)
        assert [m.data.provisional for m in missed_a] == [False]
        await asyncio.sleep(1.5)  # scheduler passes: B's old record must stay silent
        assert await tap.events("case.deadline_missed", case_b) == []
        clock.set(_utc("2027-01-07T09:05:00+08:00"))
        [missed_b] = await tap.events("case.deadline_missed", case_b, 1)
        assert missed_b.data.due == _utc("2027-01-07T09:00:00+08:00")

    async with running(create_app(settings, clock=clock)) as (_, ctx):
        await asyncio.sleep(1.5)  # another start-up pass on the published calendar
        assert (await ctx.db["cases"].find_one({"_id": case_b}))["version"] == moved["version"]
    assert len(await tap.events("case.deadline_changed", case_b)) == 1
    assert await tap.events("case.deadline_changed", case_a) == []
