"""Customers' own scorecards on the site's scale, trended; internal samples."""

from __future__ import annotations

import pytest

from services.common.rules import SiteRules
from services.survey.domain import internal, scorecards

pytestmark = pytest.mark.unit


def test_scorecards_go_on_the_site_scale_and_trend(wx: SiteRules) -> None:
    assert scorecards.on_site_scale(wx, 4.2, 5) == 84.0
    assert scorecards.on_site_scale(wx, 91.5, 100) == 91.5
    with pytest.raises(ValueError):
        scorecards.on_site_scale(wx, 6, 5)
    points = scorecards.trend(wx, [("2025-Q2", 91.5), ("2025-Q1", 84.0), ("2025-Q3", 98.0)])
    assert [(p.period, p.score, p.band, p.change) for p in points] == [
        ("2025-Q1", 84.0, "generally_satisfied", None),
        ("2025-Q2", 91.5, "satisfied", 7.5),
        ("2025-Q3", 98.0, "very_satisfied", 6.5),
    ]


@pytest.mark.parametrize(
    ("staff", "share", "size"), [(10, 0.6, 6), (7, 0.6, 5), (1, 0.6, 1), (5, 1.0, 5)]
)
def test_sample_covers_at_least_the_share(staff: int, share: float, size: int) -> None:
    assert internal.sample_size(staff, share) == size
    assert internal.sample_size(staff, share) >= staff * share


def test_sample_is_random_unique_and_reproducible_with_a_seed() -> None:
    staff = [f"E{i:03d}" for i in range(100)] + ["E001"]
    first = internal.draw_sample(staff, 0.6, seed=7)
    assert len(first) == 60 == len(set(first))
    assert first == internal.draw_sample(staff, 0.6, seed=7)
    assert first != internal.draw_sample(staff, 0.6, seed=8)
