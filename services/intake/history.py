"""Registering a history import's rows in batches: what `Intake.submit(imported=True)` does
for one row, in a few database commands for a batch of them.

One complaint at a time, an import makes four round trips per row (accept, claim,
register, settle the claim): about 60 rows/s on FerretDB. A batch reads its keys together
(rows stored already go the one-row way: a re-run, a registration a crash interrupted),
claims consecutive numbers in file order in one insert, stores the complaints accepted and
registered at once with their events in one insert (its unique `_id` is the same decision
`accept` makes) and settles the claims together. A crash in between leaves what the
one-row way leaves: claims not settled, which intake's recovery settles or hands back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.registry import new_event
from services.intake import domain
from services.intake.closure import ImportedClosure
from services.intake.handlers import SOURCE, Intake
from services.intake.store import COMPLAINTS, Registration


@dataclass(frozen=True)
class BatchOutcome:
    registered: int = 0
    already_registered: int = 0


HistoryRow = tuple[ComplaintSubmission, str, ImportedClosure | None]


async def register_history(
    intake: Intake, rows: Sequence[HistoryRow], *, source: str
) -> BatchOutcome:
    """Register `rows` (submission, reference, the outcome it carries) of one site as
    imported history, numbered in their order. Raises UnknownSite for a site without
    rules."""
    if not rows:
        return BatchOutcome()
    site = rows[0][0].site
    rules = intake.rulebook.for_site(site)
    now = intake.clock.now()
    keyed: dict[str, ComplaintSubmission] = {}  # in file order, a repeated row once
    references: dict[str, str] = {}
    closures: dict[str, ImportedClosure | None] = {}
    for submission, reference, closure in rows:
        key = domain.complaint_key(site, source, reference)
        keyed.setdefault(key, submission)
        references.setdefault(key, reference)
        closures.setdefault(key, closure)
    repeated = len(rows) - len(keyed)  # the same complaint twice in the batch
    known = await intake.store.known(list(keyed))
    fresh = [key for key in keyed if key not in known]
    series = domain.number_series(rules, now)
    seqs = await intake.store.claim_numbers(series, fresh, now=now)
    registrations = []
    for key, seq in zip(fresh, seqs, strict=False):
        fact = domain.registration(
            keyed[key],
            rules,
            series=series,
            seq=seq,
            source=source,
            registered_at=now,
            imported=True,
            closure=closures[key],
        )
        event = new_event(fact, site=site, source=SOURCE, time=now, subject=fact.number)
        registrations.append(Registration(key, source, fact, [event]))
    stored_meanwhile = await intake.store.insert_registered(registrations, now=now)
    done = [r for r in registrations if r.key not in stored_meanwhile]
    for r in registrations:
        if r.key in stored_meanwhile:  # its number goes to the next complaint
            await intake.store.return_number(series, r.fact.sequence, r.key)
    # One after the other: FerretDB takes about 1,000 such updates a second in sequence,
    # half as many when they come together (its writers wait on one another).
    for r in done:
        await intake.store.release_claim(series, r.fact.sequence, r.key)
    for r in done:
        intake.metrics.received.labels(site, r.fact.complaint.channel.value).inc()
        intake.count_registered(r.fact)
        if intake.kick:
            intake.kick(COMPLAINTS, r.key, r.events)
    registered, already = len(done), repeated
    numbered = {r.key for r in done}
    for key in (key for key in keyed if key not in numbered):
        # Stored already (a re-run, an interrupted registration), or not numbered here.
        result = await intake.submit(
            keyed[key],
            source=source,
            reference=references[key],
            imported=True,
            closure=closures[key],
        )
        registered, already = registered + result.created, already + (not result.created)
    return BatchOutcome(registered, already)
