"""A site's working-day calendar.

Public holidays and make-up working days (China's 调休: weekend days that are worked) come from
the maintained ``holidays`` package for the site's country; the rule file adds or removes days on
top. A country's official swaps are only published a year ahead (China's State Council notice
comes out late in the year before), so a year outside the covered range is still computed, on
the best calendar there is: the statutory holidays the package computes for that year (fixed
and lunar dates), the rule file's own days and the weekend. Such a year is *provisional*: a
due time counted through it is marked so, and recomputed once the year is covered (a newer
package, or the site writing the year's make-up days and raising ``last_year``). A rule file
with ``allow_uncovered_years`` takes these estimates as final (never provisional).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays


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

    def provisional(self, year: int) -> bool:
        """Whether days of ``year`` are estimates that a published notice may still change."""
        return not self.covers(year) and not self.allow_uncovered_years

    def provisional_between(self, first: date, last: date) -> bool:
        """Whether any day from ``first`` to ``last`` (inclusive) is provisional."""
        return any(self.provisional(year) for year in range(first.year, last.year + 1))

    def coverage_end(self, zone: ZoneInfo) -> datetime:
        """The first moment (in the site's zone) the published calendar no longer covers."""
        return datetime(self.last_year + 1, 1, 1, tzinfo=zone)

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
        # Uncovered years load the same way: the package computes their statutory holidays
        # (it has no make-up days for them); callers mark what they count as provisional.
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
