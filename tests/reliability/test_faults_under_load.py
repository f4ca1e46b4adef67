"""Faults under load on the real stack (four service processes, RabbitMQ, database),
scored with a ledger: nothing confirmed is lost, nothing is registered or numbered twice,
every complaint has one case in a stage its rules define, each deadline is announced
once, and reporting's read models equal a rebuild from its event store.

Each scenario runs short in CI (`pytest -m "not slow"`) and at full load with
`make reliability` (`-m slow`; QLOOP_FAULT_COMPLAINTS sets the load).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.reliability.scoring import FULL_TIMEOUT, drained, scale, score
from tests.support.ledger import Ledger, LoadGenerator
from tests.support.stack import SERVICES, Stack
from tests.support.survey_load import answer_all, open_campaign, tokens

pytestmark = pytest.mark.reliability
VARIANTS = [pytest.param("short"), pytest.param("full", marks=pytest.mark.slow)]


def kill_plan(
    stack: Stack, total: int, kills_each: int
) -> dict[int, Callable[[], Awaitable[None]]]:
    """`kills_each` SIGKILLs of every service, spread over the stream, interleaved."""
    plan: dict[int, Callable[[], Awaitable[None]]] = {}
    victims = [name for _ in range(kills_each) for name in SERVICES]
    one_at_a_time = asyncio.Lock()  # a kill never lands on a service still starting
    for i, name in enumerate(victims):
        at = max(1, total * (i + 1) // (len(victims) + 1))
        while at in plan:
            at += 1

        async def kill(name: str = name) -> None:
            async with one_at_a_time:
                await stack.kill(name)

        plan[at] = kill
    return plan


@pytest.mark.timeout(FULL_TIMEOUT)
@pytest.mark.parametrize("variant", VARIANTS)
async def test_sigkill_every_service_several_times_mid_stream(stack: Stack, variant: str) -> None:
    total = scale(2000, 120, variant)
    kills_each = 3 if variant == "full" else 1
    stack.start()
    ledger, answers = Ledger(stack.site), Ledger(stack.site)
    load = LoadGenerator(stack.url, stack.key, ledger, concurrency=8)
    # Survey answers flow beside the complaints (and the survey service is killed too).
    async with httpx.AsyncClient(timeout=60) as http:
        customers = total // 10
        campaign = await open_campaign(http, stack.url("survey"), stack.key, stack.site, customers)
    client = stack.client()
    invitations = await tokens(client[stack.db_name("survey")], campaign)
    await client.close()
    assert len(invitations) == customers
    await asyncio.gather(
        load.run([load.ref(i) for i in range(total)], faults=kill_plan(stack, total, kills_each)),
        answer_all(lambda: stack.url("survey"), answers, invitations),
    )
    await load.settle()
    await drained(stack, total, timeout=600)
    findings = await score(stack, ledger, f"sigkill-{variant}", answers=(answers, campaign))
    assert sum(stack.kills.values()) == kills_each * len(SERVICES)
    assert findings.registered == total
    assert len(answers.confirmed()) == customers
    assert findings.problems() == {}


CRASH_POINTS = {
    # service -> where it kills itself (services/common/crashpoints.py), in this order
    "intake": [
        "intake.after_accept",  # accepted, no number yet
        "intake.after_claim",  # number claimed, registration not stored
        "outbox.before_publish@complaints",  # stored with its event, not published
        "outbox.after_publish@complaints",  # published, outbox entry not removed
    ],
    "workflow": [
        "consumer.before_handler@complaint.registered",  # before the database write
        "consumer.before_ack@complaint.registered",  # written, not acknowledged
        "consumer.after_ack@complaint.registered",  # acknowledged
        "outbox.after_publish@cases",  # case.opened published, entry not removed
    ],
    "reporting": [
        "consumer.before_ack@case.opened",
        "consumer.before_handler@complaint.registered",
    ],
}
EACH_POINT = [
    pytest.param(service, point, marks=pytest.mark.slow, id=f"{service}-{point}")
    for service, points in CRASH_POINTS.items()
    for point in points
]


async def crash_run(stack: Stack, total: int, scenario: str) -> None:
    stack.start()
    for name in stack.crash_plan:
        await stack.kill(name)  # restart it with its first crash point armed
    ledger = Ledger(stack.site)
    load = LoadGenerator(stack.url, stack.key, ledger, concurrency=4)
    async with stack.supervise():
        await load.run([load.ref(i) for i in range(total)])
        await load.settle()
        await drained(stack, total)
    findings = await score(stack, ledger, scenario)
    assert findings.registered == total
    assert findings.problems() == {}


async def test_crash_once_at_every_chosen_point(stack: Stack) -> None:
    for service, points in CRASH_POINTS.items():
        stack.crash_at(service, *points, after=5)
    await crash_run(stack, 80, "crash-points-short")
    assert stack.crashes == {"intake": 4, "workflow": 4, "survey": 0, "reporting": 2}


@pytest.mark.parametrize(("service", "point"), EACH_POINT)
async def test_crash_three_times_at_one_point(stack: Stack, service: str, point: str) -> None:
    stack.crash_at(service, point, point, point, after=5)
    await crash_run(stack, scale(300, 300, "full") // 4, f"crash-{service}-{point}")
    assert stack.crashes[service] == 3, stack.crashes


async def test_baseline_without_faults(stack: Stack) -> None:
    total = 40
    stack.start()
    ledger = Ledger(stack.site)
    load = LoadGenerator(stack.url, stack.key, ledger, concurrency=8)
    await load.run([load.ref(i) for i in range(total)])
    await load.settle()
    await drained(stack, total)
    findings = await score(stack, ledger, "baseline")
    assert findings.registered == total
    assert findings.problems() == {}
