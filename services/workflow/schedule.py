"""Keeping each case's deadline records in line with the case, and firing them.

Records are stored by the hour they fire in (slots.py). The scheduler reads the hours up to
`HORIZON` ahead into the agenda (agenda.py), fires what comes due, and moves the watermark
past hours whose records are all gone. A record planned inside the read horizon goes to the
agenda at once.

Exactly once: a deadline's events are stored by inserting `fired/<deadline id>` (see
store.py); a second attempt (a restart, the re-read of an hour a failed firing left behind)
finds the marker and only tidies up. Stale records (the case moved on, got an extension,
closed) are dropped without an event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from services.common.contracts.cases import CaseDeadlineApproaching, CaseDeadlineMissed
from services.common.contracts.envelope import Contract
from services.common.rulebook import UnknownSite
from services.common.storage.mongo import is_transient
from services.workflow.domain import deadlines
from services.workflow.domain.case import Case, instant
from services.workflow.domain.deadlines import Deadline
from services.workflow.slots import SLOT, slot_of
from services.workflow.store import FIRED

if TYPE_CHECKING:
    from services.workflow.handlers import CaseService

log = logging.getLogger(__name__)
HORIZON = timedelta(minutes=30)  # records this far ahead are held in memory
SETTLE_EVERY = 10.0  # seconds between attempts to move the watermark
SETTLE_GRACE = timedelta(minutes=5)  # an hour is settled this long after it ended
JUMP = timedelta(hours=6)  # more hours to read than this: one range query
FIRING = 8  # deadlines fired at once (more only meets a locked database on FerretDB)


class Schedule:
    def __init__(self, service: CaseService) -> None:
        self._service = service
        self._read_until: datetime | None = None  # hours before this are in the agenda
        self._last_settle = 0.0

    async def plan(self, case: Case) -> None:
        service = self._service
        try:
            rules = service.rulebook.for_site(case.site)
        except UnknownSite:
            log.error("case %s: no rules for site %s; not scheduled", case.id, case.site)
            return
        planned = deadlines.plan(case, rules)
        placed = await service.store.schedule(case, planned, service.clock.now())
        self._hold([d for d in planned if d.id in placed], placed)

    def planned(self, case: Case) -> list[Deadline]:
        """The records `case` needs now (none for a site without rules)."""
        try:
            rules = self._service.rulebook.for_site(case.site)
        except UnknownSite:
            log.error("case %s: no rules for site %s; not scheduled", case.id, case.site)
            return []
        return deadlines.plan(case, rules)

    async def plan_opening(self, case: Case) -> tuple[list[Deadline], dict[str, datetime]]:
        """Store the records of a case about to be inserted, before it is: no plan marker
        is needed (a crash before the insert leaves records of a case that does not exist,
        dropped without an event when they come due, and the redelivered event plans
        again). Pass the result to `hold` once the case is stored: a record the agenda
        held earlier could fire before its case exists, and be dropped."""
        planned = self.planned(case)
        if not planned:
            return [], {}
        return planned, await self._service.store.place(planned, self._service.clock.now())

    def hold(self, planned: list[Deadline], placed: dict[str, datetime]) -> None:
        self._hold([d for d in planned if d.id in placed], placed)

    def _hold(self, planned: list[Deadline], placed: dict[str, datetime]) -> None:
        """Records stored in hours already read go to the agenda now."""
        if self._read_until is not None:
            read_until = self._read_until
            self._service.agenda.add(d for d in planned if placed[d.id] < read_until)

    async def tick(self, now: datetime) -> int:
        """Read the hours entering the horizon, fire what is due, move the watermark;
        returns how many deadlines fired."""
        store = self._service.store
        if self._read_until is None:
            self._read_until = await store.deadline_floor(now)
        last = slot_of(now + HORIZON)
        if last - self._read_until > JUMP:  # downtime or a clock jump: one range query
            start, self._read_until = self._read_until, last + SLOT
            self._service.agenda.add(await store.deadlines_between(start, last + SLOT))
        while self._read_until <= last:
            start = self._read_until
            self._read_until = start + SLOT  # first: records planned meanwhile go to the agenda
            self._service.agenda.add(await store.deadlines_in(start))
        fired = await self.fire_due(now)
        if time.monotonic() - self._last_settle >= SETTLE_EVERY:
            self._last_settle = time.monotonic()
            await self._settle_hours(now)
        return fired

    async def _settle_hours(self, now: datetime) -> None:
        store = self._service.store
        assert self._read_until is not None
        until = min(now - SETTLE_GRACE, self._read_until)
        floor = await store.settle_hours(until)
        if floor + SLOT <= until:
            # A firing failed and left records behind in the hour at `floor`: again.
            self._service.agenda.add(await store.deadlines_in(floor))

    async def fire_due(self, now: datetime, limit: int = 1000) -> int:
        """Fire what the agenda holds as due, `FIRING` at a time, then take the fired
        records out of their hours in one write per hour; returns how many fired now. A
        firing that fails leaves its record in its hour, to be tried again (`tick`)."""
        due = self._service.agenda.take_due(now, limit)
        if not due:
            return 0
        gate = asyncio.Semaphore(FIRING)

        async def one(deadline: Deadline) -> tuple[int, Deadline | None]:
            async with gate:
                return await self._fire(deadline)

        results = await asyncio.gather(*(one(d) for d in due), return_exceptions=True)
        done: list[Deadline] = []
        follow_ups: list[Deadline] = []
        fired = 0
        retry: list[Deadline] = []
        for deadline, result in zip(due, results, strict=True):
            if isinstance(result, BaseException):
                if is_transient(result):  # e.g. a locked database: again at the next pass
                    retry.append(deadline)
                else:
                    log.error("firing %s failed: %r; will retry", deadline.id, result)
                continue
            stored, follow_up = result
            fired += stored
            done.append(deadline)
            if follow_up is not None:
                follow_ups.append(follow_up)
        placed = await self._service.store.settle(done, follow_ups)
        self._hold(follow_ups, placed)
        self._service.agenda.add(retry)
        return fired

    async def _fire(self, deadline: Deadline) -> tuple[int, Deadline | None]:
        """Store the record's events once (1 if this call did); its next repetition."""
        service = self._service
        case = await service.store.get(deadline.case_id)
        if case is None or not deadlines.applies(deadline, case):
            return 0, None
        now = instant(service.clock.now())
        rules = service.rulebook.for_site(case.site)
        facts, follow_up = deadlines.fire(deadline, case, rules, now)
        events = service.events_for(case, facts, case.id, None)
        stored = await service.store.fire(deadline, events, now)
        if stored:
            self._count(case, facts, deadline, now)
        if service.kick_fired is not None:  # not stored now: fired before (read it again)
            service.kick_fired(FIRED, deadline.id, events if stored else None)
        return int(stored), follow_up

    def _count(self, case: Case, facts: list[Contract], deadline: Deadline, now: datetime) -> None:
        m = self._service.metrics
        for fact in facts:
            if isinstance(fact, CaseDeadlineMissed):
                m.deadlines_missed.labels(case.site, deadline.stage).inc()
            elif isinstance(fact, CaseDeadlineApproaching):
                m.deadlines_approaching.labels(case.site, deadline.stage).inc()
        self._service.observe(case, facts)
        m.scheduler_delay_seconds.observe(max((now - deadline.fire_at).total_seconds(), 0.0))

    async def catch_up(self) -> int:
        """Plan the cases whose planning a crash interrupted; how many."""
        pending = await self._service.store.pending_plans(500)
        for case in pending:
            await self.plan(case)
        return len(pending)

    @property
    def read_until(self) -> datetime | None:
        """The end of the hours read into the agenda (None before the first pass)."""
        return self._read_until
