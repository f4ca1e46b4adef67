"""Months in a site's own calendar: a complaint received at 23:30 on 31 March in Shenzhen
belongs to March there, whatever UTC says."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
LIVE = "live"  # the pseudo-month of live figures (open and overdue now)


def month_of(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.year:04d}-{local.month:02d}"


def month_of_day(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_of_year(year: int) -> list[str]:
    return [f"{year:04d}-{m:02d}" for m in range(1, 13)]


def checked_month(text: str) -> str:
    if not MONTH.match(text):
        raise ValueError(f"month {text!r} is not YYYY-MM (for example 2026-03)")
    return text


def previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year - 1:04d}-12" if number == 1 else f"{year:04d}-{number - 1:02d}"


def instant(moment: datetime) -> datetime:
    """UTC, truncated to milliseconds: what the database keeps, so that a state folded in
    memory (rebuild) and one read back from the database (incremental) compare equal."""
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def trailing_months(month: str, count: int = 12) -> list[str]:
    """`count` months ending with `month`, oldest first."""
    found = [month]
    while len(found) < count:
        found.append(previous_month(found[-1]))
    return found[::-1]


def following_months(month: str, count: int) -> list[str]:
    """`month` and the `count` months after it."""
    found = [month]
    for _ in range(count):
        year, number = int(found[-1][:4]), int(found[-1][5:])
        found.append(f"{year + 1:04d}-01" if number == 12 else f"{year:04d}-{number + 1:02d}")
    return found
