"""Intake's pure decisions: the complaint's key, its number, its registration record.

No I/O here: the store allocates sequence numbers, this module turns them into numbers
and a `ComplaintRegistered` fact under the site's rules.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.complaints import ClassificationRecord, ComplaintRegistered
from services.common.rules import SiteRules, classify, stage_due_times
from services.intake.closure import ImportedClosure

REGISTER_STAGE = "register"  # the stage whose deadline is the registration deadline, if any


def complaint_key(site: str, source: str, reference: str | None) -> str:
    """Identity of a submission: the same reference from the same source is the same
    complaint. Without a reference every submission is new."""
    if reference is None:
        return f"{site}|{uuid.uuid4()}"
    digest = hashlib.sha256(f"{source}\x00{reference}".encode()).hexdigest()[:32]
    return f"{site}|{digest}"


@dataclass(frozen=True)
class NumberSeries:
    """Which counter a number comes from: one per site, or per site and year/month when
    the site's number format contains {year} / {month}."""

    site: str
    year: int | None
    month: int | None

    @property
    def counter_id(self) -> str:
        parts = [self.site, str(self.year or ""), str(self.month or "")]
        return "|".join(parts)


def number_series(rules: SiteRules, now: datetime) -> NumberSeries:
    local = now.astimezone(rules.zone)
    fmt = rules.site.number_format
    return NumberSeries(
        site=rules.site.id,
        year=local.year if "{year" in fmt or "{month" in fmt else None,
        month=local.month if "{month" in fmt else None,
    )


def format_number(rules: SiteRules, series: NumberSeries, seq: int) -> str:
    return rules.site.number_format.format(
        site=series.site, year=series.year or 0, month=series.month or 0, seq=seq
    )


def registration(
    submission: ComplaintSubmission,
    rules: SiteRules,
    *,
    series: NumberSeries,
    seq: int,
    source: str,
    registered_at: datetime,
    imported: bool = False,
    closure: ImportedClosure | None = None,
) -> ComplaintRegistered:
    """The registration fact: number, classification, routing, deadlines, timeliness.

    `imported`: a row of a history import. It was registered back then, in the system it
    comes from, not at `registered_at` (the import): its deadlines count from the receipt
    and its registration is judged on time against the receipt. `closure`: the outcome and
    closing time the imported row carries (closure.py): the workflow opens its case closed."""
    decided = classify(rules, submission)
    registered = submission.received_at if imported else registered_at
    # Never refused over the calendar: a due time in a year not published yet is estimated
    # and listed as provisional (the workflow recomputes it once the year is known).
    times = stage_due_times(
        rules,
        decided,
        {"received": submission.received_at, "registered": registered},
        customer_deadline=submission.customer_deadline,
    )
    deadlines = {stage: due.at for stage, due in times.items()}
    due = deadlines.get(REGISTER_STAGE)
    return ComplaintRegistered(
        number=format_number(rules, series, seq),
        sequence=seq,
        complaint=submission,
        classification=ClassificationRecord(
            nature=decided.nature,
            kind=decided.kind,
            category=decided.category,
            severity=decided.severity,
            tags=decided.tags,
            owner_department=decided.owner_department,
            copy_to=decided.copy_to,
            matched_rule=decided.matched_rule,
            reasons=decided.reasons,
        ),
        rules_version=decided.rules_version,
        source=source,
        external_ref=submission.external_ref,
        registered_at=registered_at,
        registration_due=due,
        registration_on_time=None if due is None else registered <= due,
        deadlines=deadlines,
        provisional_deadlines=tuple(stage for stage, due in times.items() if due.provisional),
        imported=imported,
        closed_outcome=None if closure is None else closure.outcome,
        closed_at=None if closure is None else closure.closed_at,
    )
