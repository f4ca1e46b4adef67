"""A site's working-day calendar.

Public holidays and make-up working days (China's 调休: weekend days that are worked) come from
the maintained ``holidays`` package for the site's country; the rule file adds or removes days on
top. Years outside the covered range are refused unless the rule file allows them, because a
country's official swaps are only published a year ahead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import holidays

from services.common.rules.errors import CalendarCoverageError


def country_calendar(country: str, subdivision: str | None, year: int) -> Any:
    return holidays.country_holidays(country, subdiv=subdivision, years=year)


def published_through(country: str) -> int:
    """Last year the package knows the official make-up days for, else its last year.

    Countries with weekend working days publish them year by year (China's State Council
    notice); the package records one entry per published year.
    """
    calendar = holidays.country_holidays(country, years=[])
    special = getattr(calendar, "special_public_holidays", None)
    if isinstance(special, dict) and special and _has_weekend_workdays(country, max(special)):
        return int(max(special))
    return int(calendar.end_year)


def _has_weekend_workdays(country: str, year: int) -> bool:
    cal = holidays.country_holidays(country, years=year)
    return any(d.year == year for d in getattr(cal, "weekend_workdays", ()))


class WorkingCalendar:
    """Answers "is this a working day?" and counts working days, with per-date caching."""

    def __init__(
        self,
        *,
        country: str,
        subdivision: str | None = None,
        weekend: Iterable[int] | None = None,
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        first_year: int,
        last_year: int,
        allow_uncovered_years: bool = False,
    ) -> None:
        self.country = country
        self.subdivision = subdivision
        self._weekend = frozenset(weekend) if weekend is not None else None
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_working = frozenset(extra_working_days)
        self.first_year, self.last_year = first_year, last_year
        self.allow_uncovered_years = allow_uncovered_years
        self._years: dict[int, frozenset[int]] = {}  # year -> ordinals of non-working days

    def covers(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year

    def is_working_day(self, day: date) -> bool:
        closed = self._years.get(day.year)
        if closed is None:
            closed = self._load_year(day.year)
        return day.toordinal() not in closed

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day strictly after ``day`` (``day`` itself for 0)."""
        current = day
        remaining = count
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            count += self.is_working_day(current)
        return count

    def _load_year(self, year: int) -> frozenset[int]:
        if not self.covers(year) and not self.allow_uncovered_years:
            raise CalendarCoverageError(
                f"the {self.country} working-day calendar covers {self.first_year}-"
                f"{self.last_year}; {year} is outside it (raise calendar.last_year or set "
                "calendar.allow_uncovered_years in the rule file)"
            )
        base = country_calendar(self.country, self.subdivision, year)
        weekend = self._weekend if self._weekend is not None else frozenset(base.weekend)
        make_up = {d for d in getattr(base, "weekend_workdays", ()) if d.year == year}
        closed: set[int] = set()
        day = date(year, 1, 1)
        while day.year == year:
            off = (day.weekday() in weekend and day not in make_up) or day in base
            off = (off or day in self._extra_holidays) and day not in self._extra_working
            if off:
                closed.add(day.toordinal())
            day += timedelta(days=1)
        frozen = frozenset(closed)
        self._years[year] = frozen
        return frozen
