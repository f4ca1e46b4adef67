"""The answer window in working days, late answers, reminders and the response rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.common.rules import SiteRules, due_time


@dataclass(frozen=True)
class Lateness:
    on_time: bool
    counted_as_returned: bool


def answer_due(rules: SiteRules, opened_at: datetime) -> datetime:
    assert rules.survey is not None
    return due_time(rules, opened_at, rules.survey.response.window)


def judge(rules: SiteRules, answered_at: datetime, due: datetime) -> Lateness:
    """Answers after the window are kept; the rules say whether they count as returned."""
    assert rules.survey is not None
    on_time = answered_at <= due
    late_ignored = rules.survey.response.late_counts_as_not_returned
    return Lateness(on_time, on_time or not late_ignored)


def reminder_time(rules: SiteRules, sent_at: datetime, due: datetime) -> datetime | None:
    """One working day before the window closes (same local clock time), if that is
    after the invitation was sent."""
    calendar, zone = rules.working_calendar, rules.zone
    local = due.astimezone(zone)
    day = local.date() - timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    moment = datetime.combine(day, local.timetz().replace(tzinfo=zone)).astimezone(UTC)
    return moment if moment > sent_at else None


def response_rate(sent: int, returned: int) -> float | None:
    """returned / sent x 100, two decimals; None when nothing was sent."""
    if sent == 0:
        return None
    return round(returned * 100 / sent, 2)
