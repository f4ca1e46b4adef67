"""Campaigns open in the months of the site's cadence, over the months since the last."""

from __future__ import annotations

from datetime import date

import pytest

from services.common.rules import SiteRules
from services.survey.domain.schedule import Period, campaign_id, period_before, scheduled_period

pytestmark = pytest.mark.unit


def test_quarterly_in_march_covers_december_to_february(nb: SiteRules) -> None:
    assert nb.survey is not None
    period = scheduled_period(nb.survey.schedule, date(2025, 3, 3))
    assert period == Period(date(2024, 12, 1), date(2025, 2, 28), "2025-03")
    assert scheduled_period(nb.survey.schedule, date(2025, 4, 1)) is None


def test_twice_yearly_in_june_and_december(wx: SiteRules) -> None:
    assert wx.survey is not None
    period = scheduled_period(wx.survey.schedule, date(2025, 12, 1))
    assert period == Period(date(2025, 6, 1), date(2025, 11, 30), "2025-12")
    assert scheduled_period(wx.survey.schedule, date(2025, 6, 30)) == Period(
        date(2024, 12, 1), date(2025, 5, 31), "2025-06"
    )
    assert scheduled_period(wx.survey.schedule, date(2025, 7, 1)) is None


def test_yearly_in_december_covers_the_twelve_months_before(demo: SiteRules) -> None:
    assert demo.survey is not None
    period = scheduled_period(demo.survey.schedule, date(2025, 12, 15))
    assert period == Period(date(2024, 12, 1), date(2025, 11, 30), "2025-12")


def test_project_stages_are_opened_by_hand(nb: SiteRules) -> None:
    assert nb.survey is not None
    stages = nb.survey.schedule.model_copy(
        update={"cadence": "project_stage", "months": (), "project_stages": ("handover",)}
    )
    assert scheduled_period(stages, date(2025, 3, 3)) is None


def test_monthly_and_ids() -> None:
    assert period_before(date(2025, 1, 20), 1) == Period(
        date(2024, 12, 1), date(2024, 12, 31), "2025-01"
    )
    assert campaign_id("nb", "scheduled", "2025-03") == "nb-2025-03"
    assert campaign_id("nb", "manual", "2025-03") == "nb-manual-2025-03"
