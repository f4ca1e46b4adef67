"""Who is surveyed and why: volume thresholds, new products, moulds, named prospects."""

from __future__ import annotations

import pytest

from services.common.rules import SiteRules
from services.survey.domain.eligibility import CustomerActivity, CustomerProfile, assess

pytestmark = pytest.mark.unit

ACTIVITY = {
    "A": CustomerActivity("A", "Big and frequent", 250_000, 4),
    "B": CustomerActivity("B", "Big but rare", 250_000, 2),
    "C": CustomerActivity("C", "Small, new product", 10, 1),
    "F": CustomerActivity("F", "Exactly at the limits", 200_000, 3),
}
PROFILES = {
    "C": CustomerProfile("C", "Small, new product", new_product=True),
    "D": CustomerProfile("D", "Prospect", prospect=True),
    "E": CustomerProfile("E", "Owns a mould", customer_owned_mould=True),
}


def _verdicts(rules: SiteRules) -> dict[str, tuple[bool, tuple[str, ...]]]:
    assert rules.survey is not None
    found = assess(rules.survey.eligibility, ACTIVITY, PROFILES)
    return {v.customer_id: (v.eligible, v.reasons) for v in found}


def test_wx_thresholds_and_groups_with_reasons(wx: SiteRules) -> None:
    verdicts = _verdicts(wx)
    assert verdicts["A"] == (True, ("quantity 250,000 >= 200,000 and 4 deliveries >= 3",))
    assert verdicts["F"] == (True, ("quantity 200,000 >= 200,000 and 3 deliveries >= 3",))
    assert verdicts["B"] == (False, ("quantity 250,000 >= 200,000 and 2 deliveries < 3",))
    assert verdicts["C"] == (True, ("customer of a new product",))
    assert verdicts["D"] == (True, ("prospect named by marketing",))
    assert verdicts["E"] == (True, ("customer-owned mould",))


def test_combine_any_takes_either_threshold(wx: SiteRules) -> None:
    assert wx.survey is not None
    rule = wx.survey.eligibility.model_copy(update={"combine": "any"})
    verdicts = {v.customer_id: v for v in assess(rule, ACTIVITY, PROFILES)}
    assert verdicts["B"].eligible
    assert verdicts["B"].reasons == ("quantity 250,000 >= 200,000 or 2 deliveries < 3",)


def test_groups_not_in_the_rules_do_not_qualify(wx: SiteRules) -> None:
    assert wx.survey is not None
    rule = wx.survey.eligibility.model_copy(
        update={"new_products": False, "named_prospects": False}
    )
    verdicts = {v.customer_id: v for v in assess(rule, ACTIVITY, PROFILES)}
    assert not verdicts["C"].eligible and not verdicts["D"].eligible
    assert verdicts["D"].reasons == ("quantity 0 < 200,000 and 0 deliveries < 3",)


def test_nb_surveys_every_customer(nb: SiteRules) -> None:
    verdicts = _verdicts(nb)
    assert set(verdicts) == {"A", "B", "C", "D", "E", "F"}
    assert all(v == (True, ("every customer is surveyed",)) for v in verdicts.values())
