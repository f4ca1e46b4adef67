"""The answer window on working days, late answers, reminders, response rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.rules import SiteRules
from services.survey.domain import window

pytestmark = pytest.mark.unit


def test_nb_window_is_five_working_days_across_national_day(nb: SiteRules) -> None:
    # Tuesday 30 September 2025 15:00 Ningbo: 1-8 October are holidays; 9, 10, Saturday 11
    # (a make-up working day), 13 and 14 count -> Tuesday 14 October 15:00 local.
    opened = datetime(2025, 9, 30, 7, 0, tzinfo=UTC)
    assert window.answer_due(nb, opened) == datetime(2025, 10, 14, 7, 0, tzinfo=UTC)


def test_nb_window_over_a_weekend(nb: SiteRules) -> None:
    opened = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # Monday 10:00 local
    assert window.answer_due(nb, opened) == datetime(2025, 3, 10, 2, 0, tzinfo=UTC)


def test_wx_window_is_ten_working_days(wx: SiteRules) -> None:
    opened = datetime(2025, 6, 3, 1, 0, tzinfo=UTC)  # Tuesday 3 June 2025 09:00 local
    assert window.answer_due(wx, opened) == datetime(2025, 6, 17, 1, 0, tzinfo=UTC)


def test_a_window_opened_on_a_holiday_starts_the_next_working_day(wx: SiteRules) -> None:
    # Monday 2 June 2025 is the Dragon Boat holiday: the count starts at 00:00 on Tuesday
    # 3 June, so 10 working days end at 00:00 on Tuesday 17 June local (16:00 UTC on 16th).
    opened = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
    assert window.answer_due(wx, opened) == datetime(2025, 6, 16, 16, 0, tzinfo=UTC)


def test_late_answers_are_kept_but_not_returned(nb: SiteRules) -> None:
    due = datetime(2025, 10, 14, 7, 0, tzinfo=UTC)
    assert window.judge(nb, due, due) == window.Lateness(True, True)
    late = window.judge(nb, due + timedelta(seconds=1), due)
    assert late == window.Lateness(on_time=False, counted_as_returned=False)


def test_late_answers_count_when_the_rules_say_so(nb: SiteRules) -> None:
    assert nb.survey is not None
    response = nb.survey.response.model_copy(update={"late_counts_as_not_returned": False})
    survey = nb.survey.model_copy(update={"response": response})
    lenient = nb.model_copy(update={"survey": survey})
    due = datetime(2025, 10, 14, 7, 0, tzinfo=UTC)
    assert window.judge(lenient, due + timedelta(days=1), due) == window.Lateness(False, True)


def test_reminder_is_one_working_day_before_the_window_closes(nb: SiteRules) -> None:
    sent = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
    due = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)  # Monday -> reminder Friday 7 March
    assert window.reminder_time(nb, sent, due) == datetime(2025, 3, 7, 2, 0, tzinfo=UTC)
    # Due Thursday 9 October 2025 (first day after the holidays): reminder 30 September.
    due = datetime(2025, 10, 9, 7, 0, tzinfo=UTC)
    assert window.reminder_time(nb, sent, due) == datetime(2025, 9, 30, 7, 0, tzinfo=UTC)


def test_no_reminder_when_the_window_is_too_short(nb: SiteRules) -> None:
    sent = datetime(2025, 3, 7, 3, 0, tzinfo=UTC)
    assert window.reminder_time(nb, sent, datetime(2025, 3, 10, 2, 0, tzinfo=UTC)) is None


def test_response_rate_is_returned_over_sent_times_100() -> None:
    assert window.response_rate(3, 2) == 66.67
    assert window.response_rate(200, 198) == 99.0
    assert window.response_rate(0, 0) is None
