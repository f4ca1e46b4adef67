"""Working-day calendar and durations, with hypothesis properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.rules import (
    DurationError,
    SiteRules,
    WorkingCalendar,
    due_time,
    parse_duration,
)
from services.common.rules.durations import due as raw_due_time
from services.common.rules.durations import due_time as raw_due

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = WorkingCalendar(country="CN", first_year=2020, last_year=2026)
MAKE_UP_DAYS = [date(2024, 2, 4), date(2024, 2, 18), date(2025, 1, 26), date(2025, 10, 11)]

moments = st.datetimes(
    min_value=datetime(2021, 1, 1), max_value=datetime(2025, 12, 1), timezones=st.just(SHANGHAI)
)


@pytest.fixture
def demo(site_rules: dict[str, SiteRules]) -> SiteRules:
    return site_rules["default.yaml"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("48 hours", "48 hours"),
        ("1 working day", "1 working day"),
        ("7 Days", "7 days"),
        ("30 minutes", "30 minutes"),
        ("3  working days", "3 working days"),
    ],
)
def test_parse_duration(text: str, expected: str) -> None:
    assert str(parse_duration(text)) == expected


@pytest.mark.parametrize("text", ["3 weeks", "working days", "-1 days", "1.5 hours", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_saturday_plus_one_working_day_is_tuesday_midnight(demo: SiteRules) -> None:
    saturday = datetime(2025, 3, 8, 10, 0, tzinfo=SHANGHAI)
    due = due_time(demo, saturday, "1 working day")
    assert due.astimezone(SHANGHAI) == datetime(2025, 3, 11, 0, 0, tzinfo=SHANGHAI)
    assert due.tzinfo is UTC


def test_working_day_keeps_clock_time(demo: SiteRules) -> None:
    tuesday = datetime(2025, 3, 4, 16, 45, tzinfo=SHANGHAI)
    due = due_time(demo, tuesday, "3 working days")
    assert due.astimezone(SHANGHAI) == datetime(2025, 3, 7, 16, 45, tzinfo=SHANGHAI)


def test_hours_and_days_are_elapsed(demo: SiteRules) -> None:
    friday = datetime(2025, 3, 7, 18, 0, tzinfo=SHANGHAI)
    assert due_time(demo, friday, "48 hours") == friday + timedelta(hours=48)
    assert due_time(demo, friday, "7 days") == friday + timedelta(days=7)


def test_timezone_correct_in_daylight_saving_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    cal = WorkingCalendar(country="DE", first_year=2024, last_year=2026)
    friday = datetime(2025, 3, 28, 9, 0, tzinfo=berlin)  # clocks go forward on Sunday 30th
    due = raw_due(cal, berlin, friday, "1 working day")
    assert due.astimezone(berlin) == datetime(2025, 3, 31, 9, 0, tzinfo=berlin)
    assert due == datetime(2025, 3, 31, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize("day", MAKE_UP_DAYS)
def test_make_up_days_are_working_days(day: date) -> None:
    assert day.weekday() >= 5
    assert CN.is_working_day(day)


def test_spring_festival_is_not_working() -> None:
    assert not any(CN.is_working_day(date(2025, 1, 28) + timedelta(days=i)) for i in range(8))
    assert CN.add_working_days(date(2025, 1, 27), 1) == date(2025, 2, 5)


def test_years_outside_the_calendar_are_estimated_and_marked_provisional() -> None:
    # 2027 has no published notice in a calendar through 2026: computed all the same, on
    # the statutory holidays the package computes (1 Jan) and the weekend.
    assert CN.add_working_days(date(2026, 12, 30), 5) == date(2027, 1, 7)
    assert CN.provisional(2027) and not CN.provisional(2026)
    start = datetime(2026, 12, 29, 9, 0, tzinfo=SHANGHAI)
    computed = raw_due_time(CN, SHANGHAI, start, "3 working days")
    assert computed.at == datetime(2027, 1, 4, 1, 0, tzinfo=UTC) and computed.provisional
    assert not raw_due_time(CN, SHANGHAI, start, "2 working days").provisional  # 31 Dec
    assert not raw_due_time(CN, SHANGHAI, start, "72 hours").provisional
    lenient = WorkingCalendar(
        country="CN", first_year=2020, last_year=2026, allow_uncovered_years=True
    )
    assert lenient.add_working_days(date(2026, 12, 30), 5) > date(2027, 1, 1)
    assert not raw_due_time(lenient, SHANGHAI, start, "3 working days").provisional


def test_a_published_year_replaces_the_estimate() -> None:
    # The site writes 2027's make-up day (a Saturday worked) and raises last_year.
    published = WorkingCalendar(
        country="CN", first_year=2020, last_year=2027, extra_working_days=[date(2027, 1, 2)]
    )
    start = datetime(2026, 12, 29, 9, 0, tzinfo=SHANGHAI)
    computed = raw_due_time(published, SHANGHAI, start, "3 working days")
    assert computed.at == datetime(2027, 1, 2, 1, 0, tzinfo=UTC) and not computed.provisional
    assert published.coverage_end(SHANGHAI) == datetime(2028, 1, 1, tzinfo=SHANGHAI)


@settings(max_examples=300, deadline=None)
@given(start=moments, n=st.integers(min_value=0, max_value=30), m=st.integers(0, 30))
def test_working_days_monotonic(start: datetime, n: int, m: int) -> None:
    cal_zone = SHANGHAI
    a = raw_due(CN, cal_zone, start, f"{min(n, m)} working days")
    b = raw_due(CN, cal_zone, start, f"{max(n, m)} working days")
    assert a <= b
    later = raw_due(CN, cal_zone, start + timedelta(hours=7), f"{n} working days")
    assert raw_due(CN, cal_zone, start, f"{n} working days") <= later


@settings(max_examples=300, deadline=None)
@given(start=moments, n=st.integers(min_value=1, max_value=30))
def test_never_lands_on_a_non_working_day(start: datetime, n: int) -> None:
    due = raw_due(CN, SHANGHAI, start, f"{n} working days").astimezone(SHANGHAI)
    assert CN.is_working_day(due.date())
    assert CN.working_days_between(start.date(), due.date()) == n or not CN.is_working_day(
        start.date()
    )


@settings(max_examples=200, deadline=None)
@given(day=st.sampled_from(MAKE_UP_DAYS))
def test_make_up_days_count(day: date) -> None:
    before = day - timedelta(days=1)
    while not CN.is_working_day(before):
        before -= timedelta(days=1)
    counted = CN.working_days_between(before, day)
    assert counted == 1
    assert CN.add_working_days(before, 1) == day
