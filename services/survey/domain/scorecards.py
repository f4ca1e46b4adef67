"""Customers' own supplier scorecards, put on the site's scale and trended."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from services.common.rules import SiteRules
from services.survey.domain.scoring import reported


@dataclass(frozen=True)
class TrendPoint:
    period: str
    score: float  # on the site's scale
    band: str | None
    change: float | None  # against the previous period


def on_site_scale(rules: SiteRules, score: float, out_of: float) -> float:
    """A scorecard's `score` out of `out_of` (e.g. 4.2 of 5) on the site's scale."""
    assert rules.survey is not None
    if out_of <= 0 or not 0 <= score <= out_of:
        raise ValueError(f"score {score} must lie between 0 and out_of {out_of}")
    low, high = Fraction(str(rules.survey.scale.min)), Fraction(str(rules.survey.scale.max))
    return reported(low + (high - low) * Fraction(str(score)) / Fraction(str(out_of)))


def trend(rules: SiteRules, points: list[tuple[str, float]]) -> list[TrendPoint]:
    """Period -> site-scale score, ordered by period, with the change from the last one."""
    out: list[TrendPoint] = []
    for period, value in sorted(points):
        change = round(value - out[-1].score, 2) if out else None
        out.append(TrendPoint(period, value, rules.band_for(value).id, change))
    return out
