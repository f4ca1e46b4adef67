"""The deadline scheduler and the workflow's recovery passes: background jobs of the
service. Nothing here sleeps per case or scans a collection in steady state.

- `run_scheduler` every half second reads the hours entering the horizon, fires what the
  agenda holds as due by the injected clock, and moves the watermark (schedule.py).
- `run_catch_up` plans the cases whose planning a crash interrupted (their markers in
  `plans`): at start and every `recovery_scan_seconds`.
- `run_gauges` counts the cases by stage at start (on FerretDB once the outbox relay's
  start-up pass is over; on MongoDB again every `recovery_scan_seconds`: an aggregation
  over every case); in between the gauges follow the facts (gauges.py).
- `run_calendar_watch` computes provisional due times again once the cases are counted
  and after every rule reload (recalendar.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from services.common.runtime import ServiceContext
from services.workflow.handlers import CaseService
from services.workflow.recalendar import CalendarWatch

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
RETRY_SECONDS = 5.0


async def run_scheduler(ctx: ServiceContext) -> None:
    service: CaseService = ctx.state["cases"]
    while True:
        fired = 0
        try:
            fired = await service.schedule.tick(ctx.clock.now())
        except Exception:  # keep scheduling after outages; the documents keep every deadline
            log.exception("scheduler pass failed; will retry")
        if not fired:
            await asyncio.sleep(POLL_SECONDS)


async def run_catch_up(ctx: ServiceContext) -> None:
    service: CaseService = ctx.state["cases"]
    await _every(ctx, service.schedule.catch_up, "planning interrupted cases")


async def run_gauges(ctx: ServiceContext) -> None:
    """Count at start; on MongoDB again every `recovery_scan_seconds`. On FerretDB the
    count scans every case, and the facts of this one instance keep the gauges right."""
    service: CaseService = ctx.state["cases"]
    if ctx.id_filters_only:
        # After the relay's start-up pass, which reads every case too: one scan at a
        # time (two together took the database from the deadlines for minutes).
        while not ctx.relay.full_passes:
            await asyncio.sleep(POLL_SECONDS)
        await _until_done(lambda: refresh_gauges(service), "counting the cases")
        return
    await _every(ctx, lambda: refresh_gauges(service), "counting the cases")


async def run_calendar_watch(ctx: ServiceContext) -> None:
    watch = CalendarWatch(ctx.state["cases"])
    while True:
        if watch.due():
            try:
                await watch.run_pass()
            except Exception:  # the next pass reads every provisional case again
                log.exception("computing provisional due times again failed; will retry")
                await asyncio.sleep(RETRY_SECONDS)
                continue
        await asyncio.sleep(POLL_SECONDS)


async def refresh_gauges(service: CaseService) -> None:
    service.gauges.reset(await service.store.counts())


async def _every(ctx: ServiceContext, job: Callable[[], Awaitable[object]], what: str) -> None:
    while True:
        try:
            await job()
        except Exception:
            log.exception("%s failed; will retry", what)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        await asyncio.sleep(ctx.settings.recovery_scan_seconds)


async def _until_done(job: Callable[[], Awaitable[object]], what: str) -> None:
    while True:
        try:
            await job()
            return
        except Exception:
            log.exception("%s failed; will retry", what)
            await asyncio.sleep(RETRY_SECONDS)
