"""Weighted scores and bands for each example site, with exact figures and band edges."""

from __future__ import annotations

from fractions import Fraction

import pytest

from services.common.rules import SiteRules
from services.common.rules.schema_survey import Survey
from services.survey.domain import scoring

pytestmark = pytest.mark.unit


def _survey(rules: SiteRules) -> Survey:
    assert rules.survey is not None
    return rules.survey


def test_wx_weighted_per_dimension_and_overall(wx: SiteRules) -> None:
    answers = {
        "pass_rate": 100, "failure_rate": 90, "characteristics": 80,  # 40 + 27 + 24 = 91
        "price_level": 70,  # 70
        "quantity": 100, "on_time": 90, "intact": 80, "freight": 70,  # 85
        "response": 60, "returns": 90, "compensation": 100,  # 24 + 27 + 30 = 81
        "attitude": 95, "after_sales": 85, "brand": 100,  # 38 + 34 + 20 = 92
    }  # fmt: skip
    s = scoring.score(wx, answers)
    assert s.dimensions == {
        "product_quality": 91.0, "price": 70.0, "delivery": 85.0,
        "corrective_action": 81.0, "service": 92.0,
    }  # fmt: skip
    # 0.3*91 + 0.1*70 + 0.2*85 + 0.2*81 + 0.2*92
    assert s.overall == 85.9
    assert s.band == "generally_satisfied" and not s.improvement_report


def test_nb_weighted_score(nb: SiteRules) -> None:
    s = scoring.score(
        nb,
        {"pass_rate": 90, "failure_rate": 80, "on_time": 70, "intact": 100,
         "response_speed": 60, "attitude": 90},
    )  # fmt: skip
    # quality 85 (x0.4), delivery 0.6*70 + 0.4*100 = 82 (x0.3), service 75 (x0.3)
    assert s.dimensions == {"quality": 85.0, "delivery": 82.0, "service": 75.0}
    assert s.overall == 81.1 and s.band == "grade_a"


def test_demo_weighted_score(demo: SiteRules) -> None:
    s = scoring.score(demo, {"quality_overall": 90, "delivery_overall": 70, "service_overall": 60})
    assert s.overall == 77.5 and s.band == "satisfied"  # 45 + 17.5 + 15


def test_exact_arithmetic_lands_on_the_edge(wx: SiteRules) -> None:
    """Every item at 98 is 98, not 97.99999999999999 (which float sums give here)."""
    items = {i.id: 98 for d in _survey(wx).dimensions for i in d.items}
    s = scoring.score(wx, items)
    assert s.overall == 98.0 and s.band == "very_satisfied"


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (100, "very_satisfied"), (98, "very_satisfied"), (97.99, "satisfied"),
        (90.01, "satisfied"), (90, "generally_satisfied"), (75.01, "generally_satisfied"),
        (75, "dissatisfied"), (60, "dissatisfied"), (59.99, "very_dissatisfied"),
        (0, "very_dissatisfied"),
    ],
)  # fmt: skip
def test_wx_band_edges(wx: SiteRules, score: float, band: str) -> None:
    assert wx.band_for(score).id == band


@pytest.mark.parametrize(
    ("score", "band"), [(100, "grade_a"), (80, "grade_a"), (79.99, "improve"), (0, "improve")]
)
def test_nb_band_edges(nb: SiteRules, score: float, band: str) -> None:
    assert nb.band_for(score).id == band
    assert nb.band_for(score).improvement_report is (band == "improve")


@pytest.mark.parametrize(
    ("score", "band"),
    [(80.01, "very_satisfied"), (80, "satisfied"), (70, "satisfied"), (69.99, "average"),
     (60, "average"), (59.99, "dissatisfied")],
)  # fmt: skip
def test_demo_band_edges(demo: SiteRules, score: float, band: str) -> None:
    assert demo.band_for(score).id == band


def test_reported_figure_is_rounded_half_up_and_banded_as_shown(nb: SiteRules) -> None:
    assert scoring.reported(Fraction("79.995")) == 80.0
    assert scoring.reported(Fraction("79.994")) == 79.99
    # pass_rate 79.99 and failure_rate 80 -> quality 79.995 -> shown and banded as 80.00
    s = scoring.score(nb, {"pass_rate": 79.99, "failure_rate": 80})
    assert s.dimensions == {"quality": 80.0} and s.overall == 80.0 and s.band == "grade_a"


def test_unanswered_items_are_left_out_and_weights_renormalised(nb: SiteRules) -> None:
    s = scoring.score(nb, {"response_speed": 60, "attitude": 90})  # a follow-up survey
    assert s.dimensions == {"service": 75.0} and s.overall == 75.0


def test_mean_items_counts_each_set_once() -> None:
    means = scoring.mean_items([{"a": 90, "b": 70}, {"a": 80}])
    assert means == {"a": Fraction(85), "b": Fraction(70)}


def test_answers_outside_the_scale_or_unknown_are_refused(nb: SiteRules) -> None:
    survey = _survey(nb)
    with pytest.raises(scoring.AnswerError, match="outside the scale 0-100"):
        scoring.check_answers(survey, {"pass_rate": 101})
    with pytest.raises(scoring.AnswerError, match="unknown item"):
        scoring.check_answers(survey, {"price": 50})
    with pytest.raises(scoring.AnswerError, match="no item"):
        scoring.check_answers(survey, {})
