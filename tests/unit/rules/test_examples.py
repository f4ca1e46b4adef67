"""Each example rule file reproduces its company's variant from domain.md."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.rules import (
    SiteRules,
    classify,
    evaluate_triggers,
    score_band,
    stage_deadlines,
)
from tests.unit.rules.factories import complaint

pytestmark = pytest.mark.unit

CN = "+08:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + CN)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_every_example_loads_with_versions(site_rules: dict[str, SiteRules]) -> None:
    assert {"abc-company.yaml", "qds-company.yaml", "bands-company.yaml", "default.yaml"} <= set(
        site_rules
    )
    sites = {r.site.id for r in site_rules.values()}
    assert sites == {"sz", "nb", "wx", "demo"}
    for rules in site_rules.values():
        declared, digest = rules.rules_version.split("+")
        assert declared == rules.version and digest.startswith("sha256:")


# --- variant 1: the a/b/c company ---------------------------------------------------------


@pytest.fixture
def sz(site_rules: dict[str, SiteRules]) -> SiteRules:
    return site_rules["abc-company.yaml"]


def test_abc_category_a_claim_copied_to_manager_and_gm(sz: SiteRules) -> None:
    c = complaint(
        description="客户要求索赔，产品外观严重划伤", received_at=at("2025-01-24T10:00:00")
    )
    result = classify(sz, c)
    assert (result.nature, result.kind, result.category) == ("quality", "claim", "a")
    assert result.owner_department == "quality"
    assert result.copy_to == ("manager", "general_manager", "finance")
    assert result.matched_rule == "claim-words"
    assert any("索赔" in reason for reason in result.reasons)
    deadlines = stage_deadlines(sz, result, {"received": c.received_at})
    # Friday 10:00 + 1 working day: Sunday 26 January 2025 is a make-up working day (调休).
    assert deadlines["register"] == utc("2025-01-26T02:00:00")
    assert deadlines["acknowledge"] == utc("2025-01-25T02:00:00")
    assert deadlines["reply"] == utc("2025-01-27T02:00:00")  # general: 3 days


def test_abc_category_c_transit_damage(sz: SiteRules) -> None:
    c = complaint(description="运输途中磕碰，外箱有水渍", received_at=at("2025-03-07T09:00:00"))
    result = classify(sz, c)
    assert (result.nature, result.category) == ("delivery", "c")
    assert result.owner_department == "pmc"
    assert result.copy_to == ("logistics", "production", "quality", "supervisor")
    deadlines = stage_deadlines(sz, result, {"received": c.received_at})
    assert deadlines["register"] == utc("2025-03-12T01:00:00")  # Fri + 3 working days = Wed


def test_abc_serious_gets_seven_days(sz: SiteRules) -> None:
    c = complaint(
        description="connector cracked",
        defect_quantity=60,
        products=[{"model": "X1", "quantity": 1000}],
    )
    result = classify(sz, c)
    assert result.severity == "serious"
    assert any("defect_ratio 0.06" in r for r in result.reasons)
    due = stage_deadlines(sz, result, {"received": c.received_at})["reply"]
    assert due == utc("2025-03-11T02:00:00")


def test_abc_discount_pretext_is_non_quality(sz: SiteRules) -> None:
    result = classify(sz, complaint(description="要求降价，否则不再下单"))
    assert (result.kind, result.nature, result.category) == ("non_quality", "service", "d")
    assert result.owner_department == "customer_service"


def test_abc_unmatched_falls_back_to_defaults(sz: SiteRules) -> None:
    result = classify(sz, complaint(description="please call me"))
    assert result.matched_rule is None
    assert (result.nature, result.kind, result.category, result.severity) == (
        "quality",
        "appeal",
        "b",
        "general",
    )
    assert "default nature=quality" in result.reasons


def test_abc_site_holiday_added(sz: SiteRules) -> None:
    cal = sz.working_calendar
    assert not cal.is_working_day(datetime(2025, 7, 14).date())


# --- variant 2: quality / delivery / service ---------------------------------------------


@pytest.fixture
def nb(site_rules: dict[str, SiteRules]) -> SiteRules:
    return site_rules["qds-company.yaml"]


@pytest.mark.parametrize(
    ("text", "nature", "owner"),
    [
        ("外观划伤", "quality", "qa"),
        ("交期延误三天", "delivery", "pmc"),
        ("业务员服务态度差", "service", "sales"),
    ],
)
def test_qds_routes_by_nature(nb: SiteRules, text: str, nature: str, owner: str) -> None:
    result = classify(nb, complaint(site="nb", description=text))
    assert (result.nature, result.owner_department) == (nature, owner)


def test_qds_8d_in_three_working_days_or_customer_deadline(nb: SiteRules) -> None:
    c = complaint(site="nb", description="外观划伤")
    result = classify(nb, c)
    registered = at("2025-09-30T15:00:00")  # Tuesday before National Day week
    due = stage_deadlines(nb, result, {"received": c.received_at, "registered": registered})
    # 1-8 October 2025 are holidays; Saturday 11 October is a make-up working day.
    assert due["reply"] == utc("2025-10-11T07:00:00")
    assert due["investigate"] == utc("2025-10-02T07:00:00")  # 48 hours, calendar-blind
    own = at("2025-10-20T17:00:00")
    due = stage_deadlines(nb, result, {"registered": registered}, customer_deadline=own)
    assert due["reply"] == own


def test_qds_containment_thirty_minutes(nb: SiteRules) -> None:
    result = classify(nb, complaint(site="nb"))
    entered = at("2025-03-04T11:00:00")
    due = stage_deadlines(nb, result, {"containment.entered": entered})
    assert due == {"containment": utc("2025-03-04T03:30:00")}


def test_qds_survey(nb: SiteRules) -> None:
    survey = nb.survey
    assert survey is not None
    assert survey.schedule.cadence == "quarterly" and survey.schedule.months == (3, 6, 9, 12)
    assert survey.response.target_rate == 0.99 and str(survey.response.window) == "5 working days"
    assert survey.response.late_counts_as_not_returned
    assert score_band(nb, 80).id == "grade_a" and score_band(nb, 100).id == "grade_a"
    assert score_band(nb, 79.99).id == "improve" and score_band(nb, 79.99).improvement_report
    hits = evaluate_triggers(
        nb,
        overall_score=85,
        item_scores={"on_time": 70, "pass_rate": 71},
        response_rate=0.985,
        suggestions=("faster quotes",),
    )
    assert [(h.trigger, h.owner, h.subject) for h in hits] == [
        ("item-at-or-below-70", "pmc", "on_time"),
        ("response-below-target", "sales", "response_rate"),
        ("every-suggestion", "sales", "faster quotes"),
    ]


# --- variant 3: the 98 / 90.1 / 75.1 / 60 bands ------------------------------------------


@pytest.fixture
def wx(site_rules: dict[str, SiteRules]) -> SiteRules:
    return site_rules["bands-company.yaml"]


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (100, "very_satisfied"),
        (98, "very_satisfied"),
        (97.99, "satisfied"),
        (90.1, "satisfied"),
        (90, "generally_satisfied"),
        (75.1, "generally_satisfied"),
        (75, "dissatisfied"),
        (60, "dissatisfied"),
        (59.99, "very_dissatisfied"),
        (0, "very_dissatisfied"),
    ],
)
def test_bands_edges(wx: SiteRules, score: float, band: str) -> None:
    assert score_band(wx, score).id == band


def test_bands_company_survey_rules(wx: SiteRules) -> None:
    survey = wx.survey
    assert survey is not None
    assert survey.schedule.cadence == "twice_yearly"
    rules = survey.eligibility
    assert (rules.min_quantity, rules.min_deliveries, rules.combine) == (200_000, 3, "all")
    assert rules.new_products and rules.customer_owned_moulds and rules.named_prospects
    assert survey.response.target_rate == 0.8
    assert survey.target_score == 96
    assert survey.internal is not None and survey.internal.min_sample_share == 0.6
    hits = evaluate_triggers(wx, overall_score=82, customer_scores={"C1": 79.5, "C2": 91})
    assert [(h.trigger, h.subject) for h in hits] == [("customer-below-80", "C1")]


def test_bands_company_three_step_clock(wx: SiteRules) -> None:
    c = complaint(site="wx", received_at=at("2025-05-06T08:00:00"))
    due = stage_deadlines(wx, classify(wx, c), {"received": c.received_at})
    assert due["acknowledge"] == utc("2025-05-07T00:00:00")
    assert due["corrective_action"] == utc("2025-05-09T00:00:00")
    assert due["standardise"] == utc("2025-05-13T00:00:00")


def test_bands_company_extra_working_sunday(wx: SiteRules) -> None:
    assert wx.working_calendar.is_working_day(datetime(2025, 2, 9).date())


# --- the documented default ---------------------------------------------------------------


@pytest.fixture
def demo(site_rules: dict[str, SiteRules]) -> SiteRules:
    return site_rules["default.yaml"]


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (80.01, "very_satisfied"),
        (80, "satisfied"),
        (70, "satisfied"),
        (69.99, "average"),
        (60, "average"),
        (59.99, "dissatisfied"),
    ],
)
def test_default_bands(demo: SiteRules, score: float, band: str) -> None:
    assert score_band(demo, score).id == band


def test_default_reply_uses_earlier_of_rule_and_customer(demo: SiteRules) -> None:
    c = complaint(site="demo", customer_deadline=at("2025-03-05T12:00:00"))
    result = classify(demo, c)
    due = stage_deadlines(
        demo, result, {"received": c.received_at}, customer_deadline=c.customer_deadline
    )
    assert due["reply"] == utc("2025-03-05T04:00:00")
    later = at("2025-04-01T00:00:00")
    due = stage_deadlines(demo, result, {"received": c.received_at}, customer_deadline=later)
    assert due["reply"] == utc("2025-03-07T02:00:00")
