"""The workflow's use cases: open cases, run commands, keep the deadline schedule.
HTTP routes, broker consumers and the scheduler all call these.

A command reads the case, lets the domain decide, and stores the new case with its history
and events in one update guarded by the case's version; on a version conflict it reads
again and decides again (a caller's own `expected_version` is never retried).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.common.clock import Clock
from services.common.contracts.cases import CaseClosed, CaseEscalated, CaseStageChanged
from services.common.contracts.complaints import ComplaintRegistered
from services.common.contracts.envelope import Contract, Envelope
from services.common.contracts.registry import new_event
from services.common.contracts.surveys import SurveyScored
from services.common.rulebook import Rulebook
from services.common.rules import SiteRules
from services.common.storage.outbox import Kick
from services.workflow.agenda import Agenda
from services.workflow.domain import action_items, clocks, recurrence, survey_verification
from services.workflow.domain.case import Case
from services.workflow.domain.commands import CorrectiveActionRequest, Refused
from services.workflow.domain.deadlines import Deadline
from services.workflow.domain.decisions import Decision
from services.workflow.domain.opening import open_for_action, open_for_complaint
from services.workflow.gauges import CaseGauges
from services.workflow.metrics import WorkflowMetrics
from services.workflow.schedule import Schedule
from services.workflow.store import CASES, CaseStore, VersionConflict

log = logging.getLogger(__name__)
SOURCE = "/qloop/workflow"
RETRIES = 5

Decide = Callable[[Case, SiteRules, datetime], Decision]


@dataclass
class CaseService:
    store: CaseStore
    rulebook: Rulebook
    clock: Clock
    metrics: WorkflowMetrics
    kick: Kick | None = None  # wakes the outbox relay: kick(collection, id, events)
    agenda: Agenda = field(default_factory=Agenda)
    kick_fired: Kick | None = None  # wakes the relay of deadline events
    schedule: Schedule = field(init=False)
    gauges: CaseGauges = field(init=False)

    def __post_init__(self) -> None:
        self.schedule = Schedule(self)
        self.gauges = CaseGauges(self.metrics, self.rulebook)

    # --- opening ------------------------------------------------------------------------
    async def open_for_complaint(
        self, registered: ComplaintRegistered, *, correlation_id: str, causation_id: str
    ) -> bool:
        """Open the complaint's case once; link (and reopen) the case it repeats."""
        site = registered.complaint.site
        rules = self.rulebook.for_site(site)
        now = self.clock.now()
        # The deadline records are placed while the earlier cases are read: one database
        # round trip fewer before the case is stored. They are planned for the case as if
        # it repeated nothing; a repeat changes none of its due times today, and if it
        # ever does, the records of the case as opened are placed before it is stored.
        guess = open_for_complaint(registered, rules, now)
        # Both run to their end before a failure is raised: the handler's retry and dead-
        # letter decisions see the failure itself, not a group of them.
        reading, placing = await asyncio.gather(
            self._earlier(rules, registered),
            self.schedule.plan_opening(guess.case),
            return_exceptions=True,
        )
        for result in (reading, placing):
            if isinstance(result, BaseException):
                raise result
        assert not isinstance(reading, BaseException) and not isinstance(placing, BaseException)
        earlier, plan = reading, placing
        decision = guess
        if earlier:
            decision = open_for_complaint(registered, rules, now, earlier=earlier)
            if self.schedule.planned(decision.case) != plan[0]:
                plan = await self.schedule.plan_opening(decision.case)
        created = await self._open(decision, correlation_id, causation_id, plan=plan)
        stored = decision.case if created else await self.store.get(decision.case.id)
        if stored is not None and stored.repeat_of is not None:
            await self._link_repeat(stored, rules, correlation_id)
        return created

    async def _earlier(self, rules: SiteRules, registered: ComplaintRegistered) -> list[Case]:
        key = recurrence.key_of(rules, registered)
        since = recurrence.window_start(rules, registered.registered_at)
        if key is None or since is None:
            return []
        return await self.store.closed_matching(rules.site.id, key, since)

    async def open_for_action(
        self,
        request: CorrectiveActionRequest,
        site: str,
        *,
        correlation_id: str,
        causation_id: str,
    ) -> bool:
        rules = self.rulebook.for_site(site)
        decision = open_for_action(request, site, rules, self.clock.now())
        return await self._open(decision, correlation_id, causation_id)

    async def verify_survey_actions(
        self, scored: SurveyScored, site: str, *, event_id: str, correlation_id: str
    ) -> int:
        """Record a customer's new survey result on each survey action of that customer
        that waits for it, once per event (its id goes with each case's update), and move
        it on; how many it moved."""
        key = survey_verification.result_key(site, scored)
        if key is None:
            return 0
        rules = self.rulebook.for_site(site)
        moved = 0
        for case_id in await self.store.awaiting_survey(key):
            case = await self.store.get(case_id)
            if case is None or survey_verification.verdict(case, scored, rules) is None:
                continue  # listed, but it no longer waits (or not for this result)

            def decide(case: Case, rules: SiteRules, now: datetime) -> Decision:
                return survey_verification.record(case, scored, event_id, rules, now)

            try:
                _, stored = await self.run(
                    case_id, decide, event_id=event_id, correlation_id=correlation_id
                )
            except Refused as refusal:
                if refusal.code == "wrong_stage":  # moved on meanwhile
                    continue
                raise
            moved += stored
        return moved

    async def _open(
        self,
        decision: Decision,
        correlation_id: str,
        causation_id: str,
        *,
        plan: tuple[list[Deadline], dict[str, datetime]] | None = None,
    ) -> bool:
        """Store the decided case with its events. `plan`: its deadline records, placed
        already (`Schedule.plan_opening`); else they are placed first."""
        case = decision.case
        events = self.events_for(case, decision.facts, correlation_id, causation_id)
        planned, placed = plan or await self.schedule.plan_opening(case)
        created = await self.store.open(case, events)
        if created:
            self.metrics.opened.labels(case.site, case.origin, str(case.repeat).lower()).inc()
            self.observe(case, decision.facts)
            self.kick_relay(case.id, events)
            self.schedule.hold(planned, placed)
        else:
            self.kick_relay(case.id, None)  # maybe stored by a handler cancelled before its kick
        return created

    async def _link_repeat(self, new_case: Case, rules: SiteRules, correlation_id: str) -> None:
        assert new_case.repeat_of is not None

        def link(old: Case, rules: SiteRules, now: datetime) -> Decision:
            return recurrence.link_repeat(old, new_case, rules, now)

        await self.run(
            new_case.repeat_of,
            link,
            event_id=f"repeat:{new_case.id}",
            correlation_id=correlation_id,
        )

    # --- commands -----------------------------------------------------------------------
    async def run(
        self,
        case_id: str,
        decide: Decide,
        *,
        expected_version: int | None = None,
        event_id: str | None = None,
        correlation_id: str | None = None,
    ) -> tuple[Case, bool]:
        """Apply one decision to a case: (the case now, whether this call changed it).
        Refused when the rules say no; (case, False) when `event_id` was applied before."""
        for _ in range(RETRIES):
            case = await self.store.get(case_id)
            if case is None:
                raise Refused("not_found", f"no case {case_id!r}")
            if expected_version is not None and case.version != expected_version:
                raise Refused(
                    "conflict",
                    f"case {case_id} is at version {case.version}, "
                    f"not {expected_version}: read it again",
                )
            rules = self.rulebook.for_site(case.site)
            try:
                decision = decide(case, rules, self.clock.now())
            except Refused as refusal:
                self.metrics.refused.labels(case.site, refusal.code).inc()
                raise
            try:
                return await self._store(decision, case, event_id, correlation_id)
            except VersionConflict:
                if expected_version is not None:
                    raise Refused("conflict", f"case {case_id} changed meanwhile") from None
        raise Refused("conflict", f"case {case_id} keeps changing; try again")

    async def _store(
        self, decision: Decision, base: Case, event_id: str | None, correlation_id: str | None
    ) -> tuple[Case, bool]:
        case = decision.case
        cid = correlation_id or base.id
        events = self.events_for(case, decision.facts, cid, event_id)
        if not await self.store.save(case, base=base, events=events, event_id=event_id):
            self.kick_relay(base.id, None)  # applied before, maybe by a cancelled handler
            return base, False
        saved = case.model_copy(update={"version": base.version + 1})
        self.observe(saved, decision.facts)
        self.kick_relay(saved.id, events)
        await self.schedule.plan(saved)
        return saved, True

    # --- shared -------------------------------------------------------------------------
    def events_for(
        self, case: Case, facts: list[Contract], correlation_id: str, causation_id: str | None
    ) -> list[Envelope[BaseModel]]:
        return [
            new_event(
                fact,
                site=case.site,
                source=SOURCE,
                time=self.clock.now(),
                subject=case.id,
                correlation_id=correlation_id,
                causation_id=causation_id,
                event_id=action_items.assigned_event_id(fact),
            )
            for fact in facts
        ]

    def observe(self, case: Case, facts: list[Contract]) -> None:
        m = self.metrics
        self.gauges.observe(case.site, facts)
        self.gauges.track(case)
        for fact in facts:
            if isinstance(fact, CaseStageChanged):
                m.transitions.labels(case.site, fact.to_stage).inc()
                left = [v for v in case.visits if v.left_at is not None]
                if left and left[-1].left_at is not None:
                    spent = (left[-1].left_at - left[-1].entered_at).total_seconds()
                    m.stage_seconds.labels(case.site, left[-1].stage).observe(spent)
            elif isinstance(fact, CaseClosed):
                on_time = "none" if fact.on_time is None else str(fact.on_time).lower()
                m.closed.labels(case.site, fact.outcome, on_time).inc()
            elif isinstance(fact, CaseEscalated):
                m.escalations.labels(case.site, fact.reason).inc()

    def kick_relay(self, case_id: str, events: list[Envelope[BaseModel]] | None) -> None:
        """Hand the events just stored with the case to the outbox relay (None: the case
        was written before; the relay reads what it still holds)."""
        if self.kick is not None:
            self.kick(CASES, case_id, events)


def view(case: Case, now: datetime) -> dict[str, Any]:
    """The public shape of a case (the history has its own route)."""
    body = case.model_dump(mode="json", exclude={"history", "complaint"})
    body["deadline_token"] = case.deadline_token
    body["overdue"] = case.overdue(now)
    body["history_length"] = len(case.history)
    body["history_head"] = case.history[-1].hash if case.history else None
    body["clocks"] = clocks.time_left(case, now)  # each run, with the seconds left
    return body
