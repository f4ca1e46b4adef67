"""Intake's use cases: register a submission exactly once, refuse one with reasons, and
finish registrations interrupted by a crash. HTTP, broker and bulk import all call these.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.common.clock import Clock
from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.complaints import ComplaintRejected, FieldError
from services.common.contracts.envelope import SITE_PATTERN
from services.common.contracts.registry import new_event
from services.common.crashpoints import crashpoint
from services.common.rulebook import Rulebook
from services.common.storage.outbox import Kick
from services.intake import closure as closures
from services.intake import domain
from services.intake.closure import ImportedClosure
from services.intake.metrics import IntakeMetrics
from services.intake.store import (
    COMPLAINTS,
    REJECTIONS,
    STALE_AFTER,
    Accepted,
    ComplaintStore,
    series_of,
)

log = logging.getLogger(__name__)
SOURCE = "/qloop/intake"


@dataclass(frozen=True)
class Outcome:
    registration: dict[str, Any]
    created: bool


@dataclass
class Intake:
    """Everything the use cases talk to, passed in by the composition root."""

    store: ComplaintStore
    rulebook: Rulebook
    clock: Clock
    metrics: IntakeMetrics
    kick: Kick | None = None  # hands what was just stored to the outbox relay
    # Complaints being registered fresh (just accepted) -> set when done.
    _registering: dict[str, asyncio.Event] = field(default_factory=dict, init=False)
    # Complaints whose registration failed in this process, for `recover_known`.
    interrupted: set[str] = field(default_factory=set, init=False)

    async def submit(
        self,
        submission: ComplaintSubmission,
        *,
        source: str,
        reference: str | None = None,
        correlation_id: str | None = None,
        imported: bool = False,
        closure: ImportedClosure | None = None,
    ) -> Outcome:
        """Register `submission` once. `reference` (external ref or Idempotency-Key) with
        `source` identifies resubmissions. `imported`: a row of a history import, whose
        times are history (domain.registration), and `closure` the outcome it may carry.
        Raises UnknownSite for a site without rules."""
        self.metrics.received.labels(submission.site, submission.channel.value).inc()
        self.rulebook.for_site(submission.site)
        key = domain.complaint_key(submission.site, source, reference or submission.external_ref)
        accepted, created = await self.store.accept(
            key,
            submission,
            source=source,
            now=self.clock.now(),
            imported=imported,
            closure=closure,
        )
        if not created and accepted.number is not None:
            self.metrics.duplicates.labels(submission.site).inc()
            self._kick_stored(key)
            return Outcome(await self._view(accepted), created=False)
        crashpoint("intake.after_accept", accepted.key)
        # Just accepted here: nobody else registers it within the recovery delay.
        done = await self._register(accepted, correlation_id=correlation_id, fresh=created)
        if done is None:  # registered by someone else meanwhile
            done = await self.store.get(key)
        assert done is not None and done.number is not None
        return Outcome(await self._view(done), created=created)

    async def _register(
        self,
        accepted: Accepted,
        *,
        correlation_id: str | None,
        series: domain.NumberSeries | None = None,
        fresh: bool = False,
    ) -> Accepted | None:
        """Number and register `accepted` (read again first unless `fresh`: accepted by
        this very call); the complaint as registered by this call, None if it was
        registered otherwise. While a fresh registration runs, every other registration of
        the same complaint in this process waits for it (a duplicate, recovery)."""
        try:
            if fresh:
                self._registering[accepted.key] = done = asyncio.Event()
                try:
                    return await self._register_now(accepted, correlation_id, series, fresh=True)
                finally:
                    del self._registering[accepted.key]
                    done.set()
            while (running := self._registering.get(accepted.key)) is not None:
                await running.wait()
            return await self._register_now(accepted, correlation_id, series, fresh=False)
        except BaseException:
            self.interrupted.add(accepted.key)  # maybe a number claimed, not registered
            raise

    async def _register_now(
        self,
        accepted: Accepted,
        correlation_id: str | None,
        series: domain.NumberSeries | None,
        *,
        fresh: bool,
    ) -> Accepted | None:
        if not fresh:
            current = await self.store.get(accepted.key)
            if current is not None and current.number is not None:
                self._kick_stored(accepted.key)
                return None  # registered meanwhile: never claim a second number
        rules = self.rulebook.for_site(accepted.site)
        # The series follows acceptance time, so a retry after midnight on 31 December
        # still takes its number from the year it was accepted in.
        series = series or domain.number_series(rules, accepted.document["accepted_at"])
        seq = await self.store.claim_number(series, accepted.key, now=self.clock.now(), fresh=fresh)
        crashpoint("intake.after_claim", accepted.key)
        registered_at = self.clock.now()
        fact = domain.registration(
            accepted.submission,
            rules,
            series=series,
            seq=seq,
            source=accepted.source,
            registered_at=registered_at,
            imported=accepted.document.get("imported", False),
            closure=closures.from_document(accepted.document.get("imported_closure")),
        )
        event = new_event(
            fact,
            site=accepted.site,
            source=SOURCE,
            time=registered_at,
            subject=fact.number,
            correlation_id=correlation_id,
        )
        registered = await self.store.complete(
            accepted.key, fact, [event], fresh=accepted if fresh else None
        )
        if registered is not None:
            self.count_registered(fact)
            if self.kick:
                self.kick(COMPLAINTS, accepted.key, [event])
            await self.store.release_claim(series, seq, accepted.key)
            return registered
        # Someone registered it meanwhile (a concurrent duplicate, or recovery).
        self._kick_stored(accepted.key)
        current = await self.store.get(accepted.key)
        if current is not None and current.number == fact.number:
            await self.store.release_claim(series, seq, accepted.key)
        else:
            await self.store.return_number(series, seq, accepted.key)
        return None

    def _kick_stored(self, key: str) -> None:
        """A registration found stored already: its events may still wait in its outbox (a
        request or delivery cancelled between storing and kicking the relay)."""
        if self.kick:
            self.kick(COMPLAINTS, key, None)

    def count_registered(self, fact: Any) -> None:
        c, site = fact.classification, fact.complaint.site
        self.metrics.registered.labels(
            site, fact.complaint.channel.value, c.nature, c.category or "none"
        ).inc()
        if not fact.imported:  # an import's registration time is not a latency
            latency = (fact.registered_at - fact.complaint.received_at).total_seconds()
            self.metrics.registration_seconds.labels(site).observe(max(latency, 0.0))
        if fact.registration_on_time is False:
            self.metrics.registered_late.labels(site).inc()

    async def _view(self, accepted: Accepted) -> dict[str, Any]:
        document = accepted.document
        if accepted.number is None or "registration" not in document:
            fresh = await self.store.get(accepted.key)
            assert fresh is not None
            document = fresh.document
        return view(document)

    async def reject(
        self,
        *,
        site: str | None,
        source: str,
        reason: str,
        errors: list[FieldError],
        external_ref: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Record a refused submission and emit complaint.rejected for its sender."""
        now = self.clock.now()
        known = site if site and _valid_site(site) else "unknown"
        fact = ComplaintRejected(
            source=source,
            external_ref=external_ref,
            reason=reason,
            errors=tuple(errors),
            rejected_at=now,
        )
        event = new_event(fact, site=known, source=SOURCE, time=now, correlation_id=correlation_id)
        rejection_id = str(uuid.uuid4())
        await self.store.record_rejection(
            {
                "_id": rejection_id,
                "site": known,
                "source": source,
                "reason": reason,
                "errors": [e.model_dump() for e in errors],
                "external_ref": external_ref,
                "rejected_at": now,
            },
            [event],
        )
        self.metrics.rejected.labels(known, reason.split(":")[0][:40]).inc()
        if self.kick:
            self.kick(REJECTIONS, rejection_id, [event])

    async def recover_known(self) -> int:
        """Finish the registrations that failed in this process (read by `_id`, no scan);
        returns how many were finished. A failing one stays for the next call."""
        finished = 0
        for key in sorted(self.interrupted):
            accepted = await self.store.get(key)
            if accepted is not None and accepted.number is None:
                finished += await self._register(accepted, correlation_id=None) is not None
            self.interrupted.discard(key)
        return finished

    async def recover(self) -> int:
        """Finish registrations a crash interrupted; returns how many were finished.
        Reads every stale claim and unnumbered complaint: a scan on FerretDB."""
        older_than = self.clock.now() - STALE_AFTER
        finished = 0
        for counter_id, seq, key in await self.store.stale_claims(older_than):
            accepted = await self.store.get(key)
            series = series_of(counter_id)
            if accepted is not None and accepted.number is None:
                await self._register(accepted, correlation_id=None, series=series)
                finished += 1
            elif accepted is not None and accepted.document.get("sequence") == seq:
                await self.store.release_claim(series, seq, key)
                self._kick_stored(key)
            else:
                await self.store.return_number(series, seq, key)
        for key in await self.store.unnumbered(older_than):
            accepted = await self.store.get(key)
            if accepted is not None and accepted.number is None:
                await self._register(accepted, correlation_id=None)
                finished += 1
        return finished


def _valid_site(site: str) -> bool:
    import re

    return re.fullmatch(SITE_PATTERN, site) is not None


def view(document: dict[str, Any]) -> dict[str, Any]:
    """The public shape of a registered complaint (API responses, exports)."""
    registration = document.get("registration") or {}
    return {
        "number": document.get("number"),
        "site": document["site"],
        "status": document["status"],
        "source": document["source"],
        "external_ref": document.get("external_ref"),
        "complaint": document["submission"],
        "classification": registration.get("classification"),
        "rules_version": registration.get("rules_version"),
        "registered_at": registration.get("registered_at"),
        "registration_due": registration.get("registration_due"),
        "registration_on_time": registration.get("registration_on_time"),
        "deadlines": registration.get("deadlines", {}),
        "deadline_problems": registration.get("deadline_problems", []),
        "provisional_deadlines": registration.get("provisional_deadlines", []),
    }


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
