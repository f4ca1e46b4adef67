"""Faults of the servers under load, on PRIVATE servers (tests/support/private_infra.py):
RabbitMQ and the database restarted mid-stream, RabbitMQ's memory and disk alarms
blocking publishers, and added latency on the broker and database links (a TCP proxy).
Scored with the ledger as in test_faults_under_load.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from services.common.settings import ServiceSettings
from tests.reliability.conftest import stack_on
from tests.reliability.scoring import FULL_TIMEOUT, drained, scale, score
from tests.support.ledger import Ledger, LoadGenerator
from tests.support.private_infra import PrivateFerret, PrivateRabbit
from tests.support.proxy import LatencyProxy
from tests.support.stack import Stack
from tests.support.waiting import eventually

pytestmark = pytest.mark.reliability
VARIANTS = [pytest.param("short"), pytest.param("full", marks=pytest.mark.slow)]


@pytest.mark.timeout(FULL_TIMEOUT)
@pytest.mark.parametrize("variant", VARIANTS)
async def test_broker_and_database_restarted_mid_stream(
    private_stack: Stack,
    private_rabbit: PrivateRabbit,
    private_ferret: PrivateFerret,
    variant: str,
) -> None:
    total = scale(1000, 60, variant)
    rounds = 2 if variant == "full" else 1
    restarts = {"rabbitmq": 0, "database": 0}
    one_at_a_time = asyncio.Lock()

    async def restart_rabbit() -> None:
        async with one_at_a_time:
            await asyncio.to_thread(private_rabbit.restart)
            restarts["rabbitmq"] += 1

    async def restart_database() -> None:
        async with one_at_a_time:
            # The full run kills it (-9) the second time: no clean shutdown of SQLite files.
            kill = restarts["database"] == 1
            await asyncio.to_thread(private_ferret.restart, kill=kill)
            restarts["database"] += 1

    faults = {}
    for r in range(rounds):
        faults[total * (2 * r + 1) // (2 * rounds + 1)] = restart_rabbit
        faults[total * (2 * r + 2) // (2 * rounds + 1)] = restart_database
    private_stack.start()
    ledger = Ledger(private_stack.site)
    load = LoadGenerator(private_stack.url, private_stack.key, ledger, concurrency=8)
    # Busy services may not get their database connections back after its restart (see
    # docs/reliability.md, "Faults"): restarted when unready for a minute, and counted.
    async with private_stack.supervise(unready_after=60):
        await load.run([load.ref(i) for i in range(total)], faults=faults)
        await load.settle()
        await drained(private_stack, total)
    findings = await score(private_stack, ledger, f"infra-restarts-{variant}", restarts=restarts)
    assert restarts == {"rabbitmq": rounds, "database": rounds}
    assert findings.registered == total
    assert findings.problems() == {}


@pytest.mark.parametrize("variant", VARIANTS)
async def test_alarms_block_publishers_and_intake_never_drops(
    private_stack: Stack,
    private_rabbit: PrivateRabbit,
    private_ferret: PrivateFerret,
    variant: str,
) -> None:
    stack, per_alarm = private_stack, scale(1000, 60, variant) // 2
    stack.start()
    ledger = Ledger(stack.site)
    load = LoadGenerator(stack.url, stack.key, ledger, concurrency=4)
    client = stack.client()
    complaints = client[stack.db_name("intake")]["complaints"]
    cases = client[stack.db_name("workflow")]["cases"]
    held_back = {}
    try:
        for n, (alarm, clear) in enumerate(
            [
                (
                    lambda: private_rabbit.memory_alarm(True),
                    lambda: private_rabbit.memory_alarm(False),
                ),
                (lambda: private_rabbit.disk_alarm(True), lambda: private_rabbit.disk_alarm(False)),
            ]
        ):
            await asyncio.to_thread(alarm)
            await eventually(lambda: asyncio.to_thread(private_rabbit.alarms), timeout=30)
            before = await cases.count_documents({})
            refs = [load.ref(i) for i in range(n * per_alarm, (n + 1) * per_alarm)]
            await load.run(refs)
            # Intake took every complaint (stored, its event in the outbox) while the
            # broker refused to take messages: nothing was published, nothing dropped.
            assert [ledger.states[r] for r in refs] == ["confirmed"] * per_alarm
            pending = await complaints.count_documents({"outbox_n": {"$gt": 0}})
            held_back[f"alarm{n}"] = pending
            assert pending == per_alarm
            assert await cases.count_documents({}) == before
            await asyncio.to_thread(clear)
            await drained(stack, (n + 1) * per_alarm, timeout=300)
    finally:
        await client.close()
    findings = await score(stack, ledger, f"alarms-{variant}", held_back=held_back)
    assert findings.registered == 2 * per_alarm
    assert findings.problems() == {}


@pytest.mark.parametrize("variant", VARIANTS)
async def test_latency_on_broker_and_database_links(
    settings: ServiceSettings,
    site: str,
    tmp_path: Path,
    private_rabbit: PrivateRabbit,
    variant: str,
) -> None:
    total = scale(500, 40, variant)
    delay = 0.05 if variant == "full" else 0.02
    mongo_port = int(settings.mongodb_url.rsplit(":", 1)[1].split("/")[0])
    with (
        LatencyProxy(private_rabbit.port, delay) as broker,
        LatencyProxy(mongo_port, delay) as database,
    ):
        stack = stack_on(
            tmp_path,
            site,
            rabbit=private_rabbit,
            amqp_url=f"amqp://guest:guest@127.0.0.1:{broker.port}/",
            mongodb_url=f"mongodb://127.0.0.1:{database.port}/",
            database=settings.database,  # dropped by the shared fixture afterwards
        )
        try:
            stack.start()
            ledger = Ledger(stack.site)
            load = LoadGenerator(stack.url, stack.key, ledger, concurrency=8)
            await load.run([load.ref(i) for i in range(total)])
            await load.settle()
            await drained(stack, total)
            findings = await score(stack, ledger, f"latency-{variant}", delay_ms=delay * 1000)
        finally:
            stack.stop()
        assert broker.connections > 0 and database.connections > 0  # the links were proxied
    assert findings.registered == total
    assert findings.problems() == {}
