"""When campaigns open and which activity period each one looks at.

A scheduled campaign opens in each month of the site's cadence (from its first day,
local time) and covers the full months since the previous one: a December yearly
campaign covers December of the year before to November; a quarterly campaign in March
covers December to February. Campaigns by project stage, after an incident, or at any
other time are opened by hand over the same span unless a period is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.common.rules.schema_survey import Schedule

SPAN_MONTHS = {"yearly": 12, "twice_yearly": 6, "quarterly": 3, "monthly": 1, "project_stage": 12}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str  # the month the campaign opens in, e.g. "2025-12"


def _month_start(year: int, month: int) -> date:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, 1)


def period_before(opening: date, months: int) -> Period:
    """The `months` full months before `opening`'s month."""
    first = _month_start(opening.year, opening.month)
    start = _month_start(opening.year, opening.month - months)
    return Period(start, first - timedelta(days=1), f"{opening.year}-{opening.month:02d}")


def scheduled_period(schedule: Schedule, today: date) -> Period | None:
    """The period of the campaign due this month, or None (no scheduled campaign now)."""
    if schedule.cadence == "project_stage":
        return None  # project stages are reached by hand, not by the calendar
    if schedule.cadence != "monthly" and today.month not in schedule.months:
        return None
    return period_before(today, SPAN_MONTHS[schedule.cadence])


def campaign_id(site: str, kind: str, label: str) -> str:
    """Scheduled campaigns have one id per site and month: opening is a unique insert."""
    return f"{site}-{label}" if kind == "scheduled" else f"{site}-{kind}-{label}"
