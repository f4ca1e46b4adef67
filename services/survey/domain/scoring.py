"""Weighted scores per dimension and overall, for a response, a customer or a campaign.

Arithmetic is exact (fractions of the rule file's decimal weights); the reported score is
rounded half-up to two decimals, and the band is taken from that reported figure, so what
a customer or manager reads is what was banded (no float noise near a band edge).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from services.common.rules import SiteRules
from services.common.rules.schema_survey import Survey


class AnswerError(ValueError):
    """An answer the rules do not allow (unknown item, outside the scale)."""


@dataclass(frozen=True)
class Score:
    items: dict[str, float]
    dimensions: dict[str, float]
    overall: float | None
    band: str | None
    improvement_report: bool


def reported(value: Fraction) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _exact(value: float) -> Fraction:
    return Fraction(str(value))


def check_answers(survey: Survey, items: Mapping[str, float]) -> None:
    known = {i.id for d in survey.dimensions for i in d.items}
    unknown = sorted(set(items) - known)
    if unknown:
        raise AnswerError(f"unknown item(s): {', '.join(unknown)}")
    low, high = survey.scale.min, survey.scale.max
    for item, value in items.items():
        if not low <= value <= high:
            raise AnswerError(f"{item}: {value} is outside the scale {low:g}-{high:g}")
    if not items:
        raise AnswerError("no item was answered")


def _weighted(pairs: Iterable[tuple[float, Fraction]]) -> Fraction | None:
    listed = [(_exact(w), v) for w, v in pairs]
    total = sum((w for w, _ in listed), Fraction(0))
    if total == 0:
        return None
    return sum((w * v for w, v in listed), Fraction(0)) / total


def score(rules: SiteRules, items: Mapping[str, Fraction | float]) -> Score:
    """Items answered -> dimension scores (item weights) -> overall (dimension weights).
    Items not answered are left out and the remaining weights renormalised, so a short
    follow-up survey is scored on what it asked."""
    survey = rules.survey
    assert survey is not None
    values = {k: v if isinstance(v, Fraction) else _exact(v) for k, v in items.items()}
    dimensions: dict[str, Fraction] = {}
    for dimension in survey.dimensions:
        pairs = [(i.weight, values[i.id]) for i in dimension.items if i.id in values]
        exact = _weighted(pairs)
        if exact is not None:
            dimensions[dimension.id] = exact
    overall = _weighted(
        (d.weight, dimensions[d.id]) for d in survey.dimensions if d.id in dimensions
    )
    shown = reported(overall) if overall is not None else None
    band = rules.band_for(shown) if shown is not None else None
    return Score(
        items={k: reported(v) for k, v in values.items()},
        dimensions={k: reported(v) for k, v in dimensions.items()},
        overall=shown,
        band=band.id if band else None,
        improvement_report=bool(band and band.improvement_report),
    )


def mean_items(answer_sets: Iterable[Mapping[str, float | Fraction]]) -> dict[str, Fraction]:
    """Item by item mean over several answer sets (the contacts of a customer, or the
    customers of a campaign: each customer counts once)."""
    sums: dict[str, Fraction] = {}
    counts: dict[str, int] = {}
    for answers in answer_sets:
        for item, value in answers.items():
            exact = value if isinstance(value, Fraction) else _exact(value)
            sums[item] = sums.get(item, Fraction(0)) + exact
            counts[item] = counts.get(item, 0) + 1
    return {item: total / counts[item] for item, total in sums.items()}
