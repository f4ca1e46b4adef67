"""Provisional due times computed again when a site's calendar changes.

The open cases with a provisional due time are known from the case count and followed as
cases are stored (gauges.py). After the start (a newer `holidays` package comes with a new
deployment) and after every rule reload, each of them is read by `_id` and computed again
(domain/calendar_change.py). One that changes is stored like any command, under an event
id per rule version, so a pass interrupted and run again changes each case once; one that
does not change is not written.
"""

from __future__ import annotations

import logging
from datetime import datetime

from services.common.rulebook import UnknownSite
from services.common.rules import SiteRules
from services.workflow.domain.calendar_change import provisional, recompute
from services.workflow.domain.case import Case
from services.workflow.domain.commands import Refused
from services.workflow.domain.decisions import Decision
from services.workflow.handlers import CaseService

log = logging.getLogger(__name__)


class _Unchanged(Exception):
    """The case needs no change (read again inside the command's retry loop)."""


class CalendarWatch:
    def __init__(self, service: CaseService) -> None:
        self._service = service
        self._seen: dict[str, str] | None = None  # rule versions of the last full pass

    def due(self) -> bool:
        """A pass is needed: the cases were counted and the rules changed since the last."""
        service = self._service
        return service.gauges.counted and service.rulebook.versions() != self._seen

    async def run_pass(self) -> int:
        """Compute every provisional due time again; returns how many cases changed."""
        service = self._service
        versions = service.rulebook.versions()
        changed = 0
        for case_id in service.gauges.provisional():
            changed += await self._recompute(case_id)
        self._seen = versions
        if changed:
            log.warning("calendar change: %d provisional due times computed again", changed)
        return changed

    async def _recompute(self, case_id: str) -> int:
        service = self._service

        def decide(case: Case, rules: SiteRules, now: datetime) -> Decision:
            decision = recompute(case, rules, now)
            if decision is None:
                raise _Unchanged
            return decision

        case = await service.store.get(case_id)
        if case is None:
            return 0
        try:
            rules = service.rulebook.for_site(case.site)
        except UnknownSite:
            return 0
        if not provisional(case):
            service.gauges.track(case)  # closed or moved on since it was counted
            return 0
        try:
            saved, stored = await service.run(
                case_id, decide, event_id=f"calendar:{case_id}:{rules.rules_version}"
            )
        except (_Unchanged, Refused):
            return 0
        if not stored:
            return 0
        moved = saved.due_revisions != case.due_revisions or any(
            a.due != b.due for a, b in zip(saved.clocks, case.clocks, strict=False)
        )
        service.metrics.deadline_changes.labels(
            saved.site, "moved" if moved else "confirmed"
        ).inc()
        return 1
