"""The clock jumping against deadlines (abc-company rules: a case is due a day after
opening): forward past every due time at once, back, a
restart, forward again. Each stage visit's deadline is announced exactly once.

The workflow runs in-process here (its real lifespan, broker and database) so that its
clock can jump; service processes read the system clock, which the machine shares."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from services.common.clock import ManualClock
from services.common.contracts.registry import new_event, parse_event, to_json
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.rules import load_rules
from services.common.settings import ServiceSettings
from services.workflow.app import create_app
from tests.support.services import running
from tests.support.surveys import site_rules
from tests.support.waiting import eventually
from tests.unit.workflow.builders import registered

pytestmark = pytest.mark.reliability
CASES = 30
DEADLINES = ("case.deadline_missed", "case.deadline_approaching")


class Announcements:
    """Every case event of one site that reaches the broker, kept by event id."""

    def __init__(self, queue: Any) -> None:
        self.queue, self.events = queue, {}

    async def pull(self) -> dict[str, Any]:
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            event = parse_event(message.body)
            self.events[str(event.id)] = event
        return self.events

    def deadlines(self) -> collections.Counter[tuple[str, str, str, str]]:
        return collections.Counter(
            (e.type, e.data.case_id, e.data.stage, e.data.due.isoformat())
            for e in self.events.values()
            if e.type in DEADLINES
        )


@pytest.fixture
async def announcements(settings: ServiceSettings, site: str) -> AsyncIterator[Announcements]:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key=f"{site}.case.*")
        yield Announcements(queue)


async def test_each_deadline_fires_once_across_clock_jumps_and_a_restart(
    settings: ServiceSettings, site: str, tmp_path: Path, announcements: Announcements
) -> None:
    rules_dir = site_rules(tmp_path, "abc-company", site, any_year=True)
    rules = load_rules(rules_dir / "abc-company.yaml")
    configured = settings.model_copy(update={"rules_dir": rules_dir})
    start = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(start)
    numbers = [f"JUMP-{i:04d}" for i in range(CASES)]
    async with running(create_app(configured, clock=clock)) as (_, ctx):
        connection = await aio_pika.connect(settings.amqp_url)
        async with connection:
            channel = await connection.channel()
            for number in numbers:
                fact = registered(rules, start, number=number)
                event = new_event(fact, site=site, source="/test", time=start, subject=number)
                await channel.default_exchange.publish(
                    aio_pika.Message(to_json(event), message_id=str(event.id)),
                    routing_key=f"{settings.queue_prefix}workflow.complaints",
                )

        async def opened() -> bool:
            return await ctx.db["cases"].count_documents({"site": site}) == CASES

        await eventually(opened, timeout=120)
        clock.advance(timedelta(days=40))  # past every due time at once

        async def all_missed() -> bool:
            await announcements.pull()
            missed = {k[1] for k in announcements.deadlines() if k[0] == DEADLINES[0]}
            return len(missed) == CASES

        try:
            await eventually(all_missed, timeout=180, interval=0.5)
        except AssertionError:
            planned = (
                await ctx.db["deadlines"].find({}, {"kind": 1, "stage": 1, "fire_at": 1}).to_list()
            )
            seen = collections.Counter(e.type for e in announcements.events.values())
            raise AssertionError(
                f"now {clock.now()}: planned {planned[:5]} ({len(planned)}), seen {seen}"
            ) from None
        clock.set(start + timedelta(days=10))  # back: nothing fired may fire again
    # A restart with the clock behind what already fired, then far ahead of it.
    async with running(create_app(configured, clock=clock)) as (_, ctx):
        clock.set(start + timedelta(days=90))

        last: list[int] = []

        async def settled() -> bool:
            # Whatever the restarted scheduler fires, it has fired and published once the
            # markers stop growing and none holds an unpublished event.
            last.append(await ctx.db["fired"].count_documents({}))
            pending = await ctx.db["fired"].count_documents({"outbox_n": {"$gt": 0}})
            return pending == 0 and len(last) >= 5 and len(set(last[-5:])) == 1

        await eventually(settled, timeout=300, interval=2.0)
        fired = await ctx.db["fired"].find({}, {"_id": 1}).to_list()
    await announcements.pull()
    counts = announcements.deadlines()
    assert len({k[1] for k in counts if k[0] == DEADLINES[0]}) == CASES  # each case missed
    assert [k for k, n in counts.items() if n != 1] == []  # exactly once per stage visit
    assert len(fired) >= len(counts)  # every announcement has its fired marker
    print(f"clock jumps: {CASES} cases, {len(counts)} deadline events, {len(fired)} fired")  # noqa: T201
