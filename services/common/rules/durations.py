"""Durations as rule files write them, and due times on a site's calendar.

- ``N minutes``, ``N hours`` and ``N days`` are elapsed time, whatever the calendar says.
- ``N working days`` from a time T is the same local clock time on the N-th working day after
  T's local date. When T falls on a non-working day, T first moves to 00:00 local time of the
  next working day: Saturday 10:00 plus 1 working day is Tuesday 00:00 (the end of Monday).

A working-day due time counted through a year the calendar does not cover yet is
*provisional* (calendar.py); elapsed durations never are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from services.common.rules.calendar import WorkingCalendar
from services.common.rules.errors import DurationError


class Unit(StrEnum):
    minutes = "minutes"
    hours = "hours"
    days = "days"
    working_days = "working days"


_PATTERN = re.compile(
    r"^\s*(\d+)\s*(minutes?|mins?|hours?|h|days?|d|working\s+days?|wd)\s*$", re.IGNORECASE
)
_UNITS = {
    "minute": Unit.minutes,
    "minutes": Unit.minutes,
    "min": Unit.minutes,
    "mins": Unit.minutes,
    "hour": Unit.hours,
    "hours": Unit.hours,
    "h": Unit.hours,
    "day": Unit.days,
    "days": Unit.days,
    "d": Unit.days,
    "working day": Unit.working_days,
    "working days": Unit.working_days,
    "wd": Unit.working_days,
}


@dataclass(frozen=True, slots=True)
class Duration:
    amount: int
    unit: Unit

    def __str__(self) -> str:
        singular = self.amount == 1
        word = self.unit.value[:-1] if singular else self.unit.value
        return f"{self.amount} {word}"

    @property
    def elapsed(self) -> timedelta | None:
        """The fixed length, or None for working days (which depend on the calendar)."""
        if self.unit is Unit.minutes:
            return timedelta(minutes=self.amount)
        if self.unit is Unit.hours:
            return timedelta(hours=self.amount)
        if self.unit is Unit.days:
            return timedelta(days=self.amount)
        return None


def parse_duration(text: str) -> Duration:
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if match is None:
        raise DurationError(
            f"{text!r} is not a duration; write 'N minutes', 'N hours', 'N days' "
            "or 'N working days'"
        )
    unit = _UNITS[re.sub(r"\s+", " ", match.group(2).lower())]
    return Duration(int(match.group(1)), unit)


def coerce_duration(value: Any) -> Duration:
    """Pydantic validator: accept a Duration or its text form."""
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise ValueError("a duration must be text such as '3 working days'")
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class DueTime:
    """A due time (aware, UTC) and whether it rests on a calendar year not yet published."""

    at: datetime
    provisional: bool = False


def due_time(
    calendar: WorkingCalendar, zone: ZoneInfo, start: datetime, duration: Duration | str
) -> datetime:
    """When ``duration`` after ``start`` ends, as an aware UTC datetime."""
    return due(calendar, zone, start, duration).at


def due(
    calendar: WorkingCalendar, zone: ZoneInfo, start: datetime, duration: Duration | str
) -> DueTime:
    """When ``duration`` after ``start`` ends, marked provisional when it was counted
    through a year the calendar does not cover."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if isinstance(duration, str):
        duration = parse_duration(duration)
    elapsed = duration.elapsed
    if elapsed is not None:
        return DueTime((start.astimezone(UTC) + elapsed).astimezone(UTC))
    local = start.astimezone(zone)
    first = day = local.date()
    clock = local.timetz().replace(tzinfo=None)
    if not calendar.is_working_day(day):
        day, clock = calendar.next_working_day(day), time(0, 0)
    target = calendar.add_working_days(day, duration.amount)
    at = _local_to_utc(datetime.combine(target, clock), zone)
    return DueTime(at, calendar.provisional_between(first, target))


def _local_to_utc(naive: datetime, zone: ZoneInfo) -> datetime:
    # A wall time skipped by a DST change resolves forward; a repeated one takes the first.
    aware = naive.replace(tzinfo=zone, fold=0)
    roundtrip = aware.astimezone(UTC).astimezone(zone)
    if roundtrip.replace(tzinfo=None) != naive:
        aware = naive.replace(tzinfo=zone, fold=1)
    return aware.astimezone(UTC)
