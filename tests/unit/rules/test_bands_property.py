"""Every score on the scale falls in exactly one band, in every example file."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.rules import SiteRules, load_rules
from tests.unit.rules.conftest import EXAMPLES, RULES_DIR

pytestmark = pytest.mark.unit

SURVEYED = [rules for rules in (load_rules(RULES_DIR / name) for name in EXAMPLES) if rules.survey]
EDGES = sorted({e for r in SURVEYED for b in r.survey.bands for e in (b.min, b.max)})  # type: ignore[union-attr]

scores = st.one_of(
    st.floats(min_value=0, max_value=100, allow_nan=False),
    st.sampled_from(EDGES),
    st.integers(min_value=0, max_value=100).map(float),
    st.sampled_from(EDGES).map(lambda e: e + 0.01).filter(lambda e: e <= 100),
)


@pytest.mark.parametrize("rules", SURVEYED, ids=lambda r: r.site.id)
@settings(max_examples=400, deadline=None)
@given(score=scores)
def test_exactly_one_band(rules: SiteRules, score: float) -> None:
    assert rules.survey is not None
    holding = [band.id for band in rules.survey.bands if band.contains(score)]
    assert len(holding) == 1, (score, holding)
    assert rules.band_for(score).id == holding[0]


def test_scores_off_the_scale_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the scale"):
        SURVEYED[0].band_for(100.5)
