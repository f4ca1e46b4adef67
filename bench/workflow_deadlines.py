"""How fast the workflow reports a missed deadline with many open cases.

    set -a; eval "$(deploy/local/infra.sh up)"; set +a
    .venv/bin/python -m bench.workflow_deadlines [N]

Stores N open cases (site sz, each in its first stage with its planned deadline records
in the hour documents the service keeps them in),
starts the workflow service on that database with a manual clock, moves the clock just past
one case's due time and measures the wall time until `case.deadline_missed` for that case is
on the broker.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
from prometheus_client import generate_latest
from pymongo import AsyncMongoClient

from bench.report import (
    COMMAND_HEADER,
    CPU_HEADER,
    command_rows,
    command_totals,
    cpu_rows,
    cpu_seconds,
    delete_queues,
    machine,
    table,
    update_section,
)
from services.common.clock import ManualClock
from services.common.contracts.registry import parse_event
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.rules import load_rules
from services.common.settings import ServiceSettings
from services.workflow.app import create_app
from services.workflow.domain import deadlines
from services.workflow.domain.case import Case
from services.workflow.domain.opening import open_for_complaint
from services.workflow.slots import (
    SLOTS,
    WATERMARK,
    entry_key,
    shard_id,
    shard_ids,
    slot_of,
    to_entry,
)
from services.workflow.store import INDEX_BUILT, RECURRENCE, from_document, to_document
from tests.support.services import running
from tests.unit.workflow.builders import registered

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def _documents(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """The cases, the hour documents holding their deadline records (slots.py) with the
    watermark, and the number of records."""
    rules = load_rules(ROOT / "rules" / "abc-company.yaml")
    template = open_for_complaint(registered(rules, T0, number="B-0"), rules, T0).case
    cases: list[dict[str, Any]] = []
    hours: dict[str, dict[str, Any]] = {}
    records = 0
    for i in range(n):
        # Case 0 is due first; the others days later, spread over the following weeks.
        shift = timedelta(0) if i == 0 else timedelta(days=2, seconds=20 * i)
        case = template.model_copy(deep=True, update={"id": f"sz:B-{i}", "reference": f"B-{i}"})
        case.due = case.visits[0].due = (template.due or T0) + shift
        cases.append(
            {"_id": case.id, **to_document(case), "history": [h.model_dump() for h in case.history]}
        )
        for d in deadlines.plan(case, rules):
            shard = shard_id(slot_of(d.fire_at), d.case_id)
            hours.setdefault(shard, {})[entry_key(d.id)] = to_entry(d)
            records += 1
    slots: list[dict[str, Any]] = [
        {"_id": shard, "entries": entries} for shard, entries in sorted(hours.items())
    ]
    slots.append({"_id": WATERMARK, "until": slot_of(T0)})
    return cases, slots, records


async def _seed(db: Any, n: int) -> tuple[list[dict[str, Any]], int]:
    cases, slots, records = _documents(n)
    for collection, docs in (("cases", cases), (SLOTS, slots)):
        for i in range(0, len(docs), 2000):
            await db[collection].insert_many(docs[i : i + 2000])
    # An existing deployment has listed its closed cases for recurrence already.
    await db[RECURRENCE].insert_one({"_id": INDEX_BUILT, "cases": []})
    return cases, records


async def main(n: int) -> None:
    lines: list[str] = []
    commands: list[list[str]] = []
    cpu: list[list[str]] = []

    def say(text: str) -> None:
        print(text)
        lines.append(f"- {text}")

    settings = ServiceSettings(
        rules_dir=ROOT / "rules",
        database=f"bench_{uuid.uuid4().hex[:6]}",
        queue_prefix=f"b{uuid.uuid4().hex[:6]}.",
        outbox_poll_seconds=0.2,
    )
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = client[f"{settings.database}_workflow"]
    started = time.perf_counter()
    cases, records = await _seed(db, n)
    say(
        f"stored {n} open cases and their {records} deadline records "
        f"in {time.perf_counter() - started:.1f} s"
    )
    first = from_document(cases[0])
    assert first.due is not None
    t = time.perf_counter()
    for shard in shard_ids(slot_of(first.due)):
        await db[SLOTS].find_one({"_id": shard})
    say(f"reading the records of one hour by _id: {(time.perf_counter() - t) * 1000:.0f} ms")
    connection = await aio_pika.connect(settings.amqp_url)
    clock = ManualClock(T0)
    try:
        channel = await connection.channel()
        tap = await channel.declare_queue(exclusive=True)
        for kind in ("approaching", "missed"):
            await tap.bind(EVENTS_EXCHANGE, routing_key=f"sz.case.deadline_{kind}")
        t = time.perf_counter()
        async with running(create_app(settings, clock=clock)) as (_, ctx):
            service = await _hours_read(ctx)
            say(f"service start, deadline hours read: {time.perf_counter() - t:.1f} s")
            delay, _ = await _missed_after(clock, tap, from_document(cases[0]))
            say(
                f"missed deadline on the broker {delay:.2f} s after the clock passed it, "
                f"right after start ({n} open cases)"
            )
            t = time.perf_counter()
            relays = (ctx.relay, ctx.state["fired_relay"])
            while not all(r.full_passes for r in relays):  # the start-up passes
                await asyncio.sleep(0.5)
            say(f"start-up outbox passes over {time.perf_counter() - t:.1f} s later")
            while not service.gauges.counted:  # on FerretDB it reads every case after them
                await asyncio.sleep(0.5)
            say(f"cases counted for the gauges {time.perf_counter() - t:.1f} s after the start")
            await asyncio.sleep(5)
            second = from_document(cases[1])
            assert second.due is not None
            # Everything due before it first (about 1,500 records: the approaching events
            # of the cases due within 4 hours after it), then the clock passes its due time.
            before = command_totals("workflow", generate_latest(ctx.registry).decode())
            cpu_before, wall = cpu_seconds({}), time.perf_counter()
            clock.set(second.due - timedelta(seconds=1))
            t = time.perf_counter()

            def busy() -> bool:
                due = service.agenda.next_at()
                return (due is not None and due <= clock.now()) or not all(r.idle for r in relays)

            drained = await _drain(tap, busy)
            say(
                f"{drained} deadline events due before it, fired in "
                f"{time.perf_counter() - t - QUIET:.1f} s"
            )
            after = command_totals("workflow", generate_latest(ctx.registry).decode())
            commands = command_rows(before, after, max(drained, 1))
            cpu = cpu_rows(cpu_before, cpu_seconds({}), max(drained, 1), time.perf_counter() - wall)
            delay, others = await _missed_after(clock, tap, second)
            say(
                f"missed deadline on the broker {delay:.2f} s after the clock passed it, "
                f"steady state ({n} open cases; {others} other events came first)"
            )
        # A restart with the clock just before a case's due time: the hours are read at
        # start, no jump; the deadline comes due while the start-up passes run.
        third = from_document(cases[2])
        assert third.due is not None
        clock.set(third.due - timedelta(seconds=5))
        t = time.perf_counter()
        async with running(create_app(settings, clock=clock)) as (_, ctx):
            await _hours_read(ctx)
            say(f"restart, deadline hours read: {time.perf_counter() - t:.1f} s")
            delay, others = await _missed_after(clock, tap, third)
            passes = all(r.full_passes for r in (ctx.relay, ctx.state["fired_relay"]))
            say(
                f"missed deadline on the broker {delay:.2f} s after the clock passed it, "
                f"right after that restart, no clock jump ({n} open cases; {others} other "
                f"events came first; start-up passes {'over' if passes else 'still running'})"
            )
    finally:
        await connection.close()
        await asyncio.to_thread(delete_queues, settings.amqp_url, settings.queue_prefix)
        await client.drop_database(f"{settings.database}_workflow")
        await client.close()
    update_section(
        "Deadline scheduler",
        f"Measured {machine()} with `bench/workflow_deadlines.py {n}` on the database "
        "QLOOP_MONGODB_URL names (FerretDB 1.24 SQLite here), RabbitMQ on the same machine. "
        "Goal: a deadline event <= 2 s after it is due.\n\n"
        + "\n".join(lines)
        + "\n\nCPU per deadline event while the backlog fired (the service runs in the "
        "benchmark process):\n\n"
        + table(CPU_HEADER, cpu)
        + "\n\nDatabase commands per deadline event while the backlog fired:\n\n"
        + table(COMMAND_HEADER, commands),
    )


async def _hours_read(ctx: Any) -> Any:
    """Wait until the started service has read the deadline hours up to its horizon; its
    case service."""
    service = ctx.state["cases"]
    while service.schedule.read_until is None:
        await asyncio.sleep(0.05)
    return service


QUIET = 3.0  # seconds without a deadline event: the scheduler has caught up


async def _drain(tap: Any, busy: Any) -> int:
    """Take deadline events off the tap until the service has nothing due and nothing to
    relay, and none came for `QUIET` seconds; how many."""
    count, last = 0, time.perf_counter()
    while busy() or time.perf_counter() - last < (QUIET if count else 10 * QUIET):
        message = await tap.get(no_ack=True, fail=False)
        if message is None:
            await asyncio.sleep(0.05)
        else:
            count, last = count + 1, time.perf_counter()
    return count


async def _missed_after(clock: ManualClock, tap: Any, case: Case) -> tuple[float, int]:
    """Move the clock 1 s past the case's due time; seconds until its deadline_missed is on
    the broker, and how many other deadline events came first."""
    assert case.due is not None
    clock.set(case.due + timedelta(seconds=1))
    started, others = time.perf_counter(), 0
    while True:
        message = await tap.get(no_ack=True, fail=False)
        if message is None:
            await asyncio.sleep(0.01)
        elif (event := parse_event(message.body)).subject == case.id and (
            event.type == "case.deadline_missed"
        ):
            return time.perf_counter() - started, others
        else:
            others += 1


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
