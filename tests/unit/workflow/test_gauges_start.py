"""On FerretDB the workflow counts its cases only once the outbox relay's start-up pass is
over: both read every case, and two such scans together outlasted the client's socket
timeout at 100,000 cases (retried forever) and slowed the deadlines (docs/performance.md)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from services.workflow.scheduler import run_gauges
from services.workflow.store import CaseCounts


def _ctx(id_filters_only: bool) -> tuple[Any, list[CaseCounts]]:
    reset: list[CaseCounts] = []

    async def counts() -> CaseCounts:
        return CaseCounts(open_by_stage={("sz", "investigation"): 3})

    cases = SimpleNamespace(
        store=SimpleNamespace(counts=counts), gauges=SimpleNamespace(reset=reset.append)
    )
    ctx = SimpleNamespace(
        state={"cases": cases},
        id_filters_only=id_filters_only,
        relay=SimpleNamespace(full_passes=0),
        settings=SimpleNamespace(recovery_scan_seconds=3600),
    )
    return ctx, reset


async def test_on_ferretdb_the_count_waits_for_the_relays_start_up_pass() -> None:
    ctx, reset = _ctx(id_filters_only=True)
    job = asyncio.create_task(run_gauges(ctx))
    try:
        await asyncio.sleep(1.2)  # two polls: the pass is not over, nothing is counted
        assert reset == []
        ctx.relay.full_passes = 1
        await asyncio.wait_for(job, timeout=5)  # counted once, and the job ends
        assert reset == [CaseCounts(open_by_stage={("sz", "investigation"): 3})]
    finally:
        job.cancel()


async def test_on_mongodb_the_count_starts_at_once() -> None:
    ctx, reset = _ctx(id_filters_only=False)
    job = asyncio.create_task(run_gauges(ctx))
    try:
        for _ in range(50):
            if reset:
                break
            await asyncio.sleep(0.02)
        assert len(reset) == 1
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
