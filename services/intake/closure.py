"""An imported history row's recorded end: its outcome and when its case was closed.

Pure: a row's `outcome` and `closed_at` columns checked against the site's rules. A site
lets imported rows carry them with `workflow.history_import` (docs/rules.md); the outcome
is one of the workflow's `outcomes` or `corrected` (closed through the corrective-action
path). `closed_at` is an ISO date (the end of that day in the site's zone, as an action
item's due date) or time (without an offset: the site's local time), not before the
receipt and not after the import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from services.common.rules import SiteRules
from services.common.rules.schema_workflow import CORRECTED

COLUMNS = ("outcome", "closed_at")


@dataclass(frozen=True)
class ImportedClosure:
    outcome: str
    closed_at: datetime  # aware, UTC

    def as_document(self) -> dict[str, object]:
        return {"outcome": self.outcome, "closed_at": self.closed_at}


def from_document(document: dict[str, object] | None) -> ImportedClosure | None:
    if not document:
        return None
    closed_at = document["closed_at"]
    assert isinstance(closed_at, datetime)
    return ImportedClosure(str(document["outcome"]), _utc(closed_at))


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC at millisecond precision (a naive one, as read back from BSON, is UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    moment = aware.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def imported_closure(
    rules: SiteRules,
    outcome: str | None,
    closed_at: str | None,
    *,
    received_at: datetime,
    now: datetime,
) -> tuple[ImportedClosure | None, list[str]]:
    """The row's closure (None when it gives neither column) or its problems, each as
    `field: message`."""
    if outcome is None and closed_at is None:
        return None, []
    if rules.workflow.history_import is None:
        return None, [
            f"{name}: site {rules.site.id!r} does not let imported rows carry their outcome "
            "(its rules have no workflow.history_import)"
            for name, value in zip(COLUMNS, (outcome, closed_at), strict=True)
            if value is not None
        ]
    problems = []
    known = [CORRECTED, *(o.id for o in rules.workflow.outcomes)]
    if outcome is None:
        problems.append("outcome: required with closed_at")
    elif outcome not in known:
        problems.append(f"outcome: unknown outcome {outcome!r} (known: {', '.join(known)})")
    moment = None if closed_at is None else _moment(rules, closed_at)
    if closed_at is None:
        problems.append("closed_at: required with outcome")
    elif moment is None:
        problems.append(f"closed_at: {closed_at!r} is not an ISO date or time")
    elif moment < received_at:
        problems.append(f"closed_at: {closed_at} is before the complaint was received")
    elif moment > now:
        problems.append(f"closed_at: {closed_at} is after the import")
    if problems or outcome is None or moment is None:
        return None, problems
    return ImportedClosure(outcome, moment), []


def _moment(rules: SiteRules, text: str) -> datetime | None:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return _utc(datetime.combine(day, time.max, tzinfo=rules.zone))
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return _utc(moment if moment.tzinfo is not None else moment.replace(tzinfo=rules.zone))
