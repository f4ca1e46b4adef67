"""Consumers down while their queues grow, then the backlog drained; and a poison message
that kills its consumer on every delivery until the queue's delivery limit
dead-letters it, while the rest of the stream flows."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest

from services.common.contracts.registry import new_event, to_json
from services.common.rules import load_rules
from tests.reliability.scoring import FULL_TIMEOUT, drained, scale, score
from tests.support.ledger import Ledger, LoadGenerator
from tests.support.stack import Stack
from tests.unit.workflow.builders import registered

pytestmark = pytest.mark.reliability
VARIANTS = [pytest.param("short"), pytest.param("full", marks=pytest.mark.slow)]


@pytest.mark.timeout(FULL_TIMEOUT)
@pytest.mark.parametrize("variant", VARIANTS)
async def test_backlog_drained_after_consumers_were_down(stack: Stack, variant: str) -> None:
    total = scale(1500, 60, variant)
    down_for = 180.0 if variant == "full" else 10.0
    stack.start()
    stack.stop("workflow", "reporting")  # their queues keep filling meanwhile
    ledger = Ledger(stack.site)
    load = LoadGenerator(stack.url, stack.key, ledger, concurrency=8)
    stopped = time.monotonic()
    await load.run([load.ref(i) for i in range(total)])
    await load.settle()
    queue = f"{stack.queue_prefix}workflow.complaints"
    depths: list[int] = []

    async def grown() -> bool:
        depths.append((await asyncio.to_thread(stack.depths)).get(queue, 0))
        return depths[-1] >= total

    while not await grown() or time.monotonic() - stopped < down_for:
        await asyncio.sleep(2.0)
    restarted = time.monotonic()
    stack.start("workflow", "reporting")
    await drained(stack, total)
    drain_seconds = round(time.monotonic() - restarted)
    findings = await score(
        stack,
        ledger,
        f"backlog-{variant}",
        down_seconds=round(restarted - stopped),
        max_depth=max(depths),
        drain_seconds=drain_seconds,
    )
    # Every registration waited in the queue, none dropped (a few may be there twice:
    # the outbox relay publishes at least once).
    assert max(depths) >= total
    assert findings.registered == total
    assert findings.problems() == {}


async def test_poison_message_reaches_the_delivery_limit(stack: Stack) -> None:
    total, poison_number = 40, "POISON-0001"
    # The workflow dies whenever it gets to this message (before its handler runs).
    stack.crash_at("workflow", *[f"consumer.before_handler@{poison_number}"] * 20)
    stack.start()
    ledger = Ledger(stack.site)
    load = LoadGenerator(stack.url, stack.key, ledger, concurrency=4)
    rules = load_rules(stack.rules_dir / "qds-company.yaml")
    now = datetime.now(UTC)
    fact = registered(rules, now, number=poison_number)
    poison = new_event(fact, site=stack.site, source="/test", time=now, subject=poison_number)
    queue = f"{stack.queue_prefix}workflow.complaints"
    connection = await aio_pika.connect(stack.env["QLOOP_AMQP_URL"])
    async with connection, stack.supervise():
        channel = await connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(to_json(poison), message_id=str(poison.id)), routing_key=queue
        )
        await load.run([load.ref(i) for i in range(total)])
        await load.settle()
        await drained(stack, total)
        dead = await dead_letters(channel, f"{queue}.dead")
    others = [m["subject"] for m in dead if m["subject"] != poison_number]
    findings = await score(
        stack,
        ledger,
        "poison",
        workflow_crashes=stack.crashes["workflow"],
        dead_lettered_with_it=len(others),
    )
    poisoned = [m for m in dead if m["subject"] == poison_number]
    # RabbitMQ itself dead-lettered it: the consumer never lived to decide. (Seen twice in
    # one run: RabbitMQ's dead-lettering is at least once.)
    assert poisoned and all(m["x-death"][0]["reason"] == "delivery_limit" for m in poisoned)
    assert 1 <= stack.crashes["workflow"] <= int(stack.env.get("QLOOP_DELIVERY_LIMIT", 5)) + 1
    assert findings.registered == total
    assert findings.problems() == {}


async def dead_letters(channel: Any, queue: str) -> list[dict[str, Any]]:
    box = await channel.declare_queue(queue, passive=True)
    found = []
    while (message := await box.get(no_ack=False, fail=False)) is not None:
        body = json.loads(message.body)
        found.append({"subject": body.get("subject"), "x-death": message.headers.get("x-death")})
        await message.nack(requeue=True)
        if len(found) > 100:
            break
    return found
