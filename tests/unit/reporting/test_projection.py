"""Projections from scripted histories, with exact figures for every formula."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from services.common.rulebook import Rulebook
from services.reporting.domain import kpis
from services.reporting.domain.buckets import ALL, BucketKey
from services.reporting.domain.periods import LIVE
from services.reporting.domain.policy import Policy
from services.reporting.domain.replay import Replay
from services.reporting.sites import RuleSites
from services.workflow.domain.opening import open_for_complaint
from tests.support import histories as h
from tests.unit.workflow.builders import registered

pytestmark = pytest.mark.unit
RULES = Path(__file__).resolve().parents[3] / "rules"
SITE = "demo"  # rules/default.yaml: Asia/Shanghai, bands >80 / 70-80 / 60-70 / <60


@pytest.fixture(scope="module")
def sites() -> RuleSites:
    return RuleSites(Rulebook.load(RULES))


def project(sites: RuleSites, events: list) -> dict[BucketKey, dict[str, int]]:  # type: ignore[type-arg]
    return Replay(sites, Policy()).apply_all(events).buckets()


def march(sites: RuleSites, dimension: str = ALL, value: str = ALL) -> kpis.Figures:
    buckets = project(sites, h.march_complaints(SITE) + h.march_feedback(SITE))
    return kpis.figures(buckets.get(BucketKey(SITE, "2026-03", dimension, value), {}))


def test_complaint_kpis_of_the_month(sites: RuleSites) -> None:
    c = march(sites)["complaints"]
    assert (c["received"], c["open"], c["closed"], c["overdue"]) == (4, 2, 2, 1)
    assert (c["repeat"], c["repeat_rate"]) == (1, 25.0)  # 1 / 4 x 100
    assert (c["answered"], c["answered_share"]) == (2, 50.0)  # replied + explained
    assert c["on_time"] == {
        "acknowledgement": {"on_time": 2, "late": 1, "rate": 66.67},
        "investigation": {"on_time": 1, "late": 2, "rate": 33.33},
        "eight_d": {"on_time": 1, "late": 0, "rate": 100.0},  # undecided ones not counted
        "closure": {"on_time": 1, "late": 1, "rate": 50.0},
    }
    assert (c["claims"], c["claim_amounts"]) == (1, {"CNY": 1000.5})
    assert c["corrective_actions_verified"] == 1


def test_months_follow_the_sites_timezone(sites: RuleSites) -> None:
    buckets = project(sites, h.march_complaints(SITE))
    # 31 March 23:30 in Shanghai is March; 1 April 00:30 there (31 March UTC) is April.
    assert buckets[BucketKey(SITE, "2026-03", "category", "b")]["received"] == 1
    assert buckets[BucketKey(SITE, "2026-04", ALL, ALL)]["received"] == 1


def test_figures_per_customer_product_nature_category_department(sites: RuleSites) -> None:
    assert march(sites, "customer", "C-1")["complaints"]["received"] == 2
    assert march(sites, "customer", "C-2")["complaints"]["repeat_rate"] == 50.0
    assert march(sites, "product", "BX-200")["complaints"]["received"] == 4
    assert march(sites, "nature", "quality")["complaints"]["received"] == 4
    assert march(sites, "category", "a")["complaints"]["received"] == 3
    assert march(sites, "department", "qa")["complaints"]["claims"] == 1


def test_open_and_overdue_by_stage_live(sites: RuleSites) -> None:
    buckets = project(sites, h.march_complaints(SITE))
    live = kpis.live(buckets[BucketKey(SITE, LIVE, ALL, ALL)])
    assert live == {
        "open": 3,
        "overdue": 1,
        "by_stage": {
            "awaiting_case": {"open": 2, "overdue": 0},
            "investigate": {"open": 1, "overdue": 1},
        },
    }


def test_satisfaction_index_bands_dimensions_and_response_rate(sites: RuleSites) -> None:
    s = march(sites)["satisfaction"]
    assert s["index"] == 81.7  # (6 x 85 + 95 + 75 + 72 + 65) / 10
    assert s["bands"] == {"average": 10.0, "satisfied": 20.0, "very_satisfied": 70.0}
    assert s["dimensions"] == {"delivery": 80.0, "quality": 81.7}
    assert s["dimension_bands"]["delivery"] == {"satisfied": 50.0, "very_satisfied": 50.0}
    assert s["responses"] == 1  # response scores are counted, not in the index
    assert (s["surveys_sent"], s["surveys_returned"], s["response_rate"]) == (10, 7, 70.0)
    assert (s["actions_raised"], s["actions_effective"]) == (1, 1)
    assert march(sites, "customer", "C-7")["satisfaction"]["index"] == 95.0


def test_on_time_delivery_rate(sites: RuleSites) -> None:
    d = march(sites)["delivery"]
    # (lots due - late lots) / lots due x 100; the resent lot counts once, no due date: not a lot
    assert d == {"lots_due": 10, "lots_late": 1, "on_time_rate": 90.0}
    april = project(sites, h.march_feedback(SITE))[BucketKey(SITE, "2026-04", ALL, ALL)]
    assert kpis.delivery(april) == {"lots_due": 1, "lots_late": 1, "on_time_rate": 0.0}


def test_order_and_duplicates_do_not_change_any_figure(sites: RuleSites) -> None:
    history = h.march_complaints(SITE) + h.march_feedback(SITE)
    expected = project(sites, history)
    for seed in range(5):
        shuffled = history + history[::3]  # redelivered duplicates
        random.Random(seed).shuffle(shuffled)
        assert project(sites, shuffled) == expected


def test_reopened_case_is_open_again_and_counts_as_recurred(sites: RuleSites) -> None:
    history = h.march_complaints(SITE)
    history.append(h.reopened(SITE, "DEMO-0001", h.at("2026-04-20T09:00:00+08:00")))
    c = kpis.complaint_kpis(project(sites, history)[BucketKey(SITE, "2026-03", ALL, ALL)])
    assert (c["open"], c["closed"], c["recurred"]) == (3, 1, 1)
    assert c["on_time"]["closure"] == {"on_time": 0, "late": 1, "rate": 0.0}


def test_rates_are_none_without_a_denominator() -> None:
    assert kpis.ratio(0, 0) is None
    assert kpis.delivery({}) == {"lots_due": 0, "lots_late": 0, "on_time_rate": None}
    assert kpis.satisfaction({})["index"] is None


def test_a_due_time_computed_again_replaces_the_registered_one() -> None:
    # A provisional due time that moved once the calendar was published: the on-time
    # figures judge the stage against the new due time, whichever event comes first.
    from datetime import UTC, datetime

    from services.common.contracts.cases import CaseDeadlineChanged
    from services.common.contracts.registry import new_event
    from services.reporting.domain import complaint_figures, complaints

    old, new = datetime(2027, 1, 6, 1, tzinfo=UTC), datetime(2027, 1, 7, 1, tzinfo=UTC)
    changes = [
        CaseDeadlineChanged(
            case_id="demo:N-1",
            complaint_number="N-1",
            stage="register",
            previous_due=old,
            due=due,
            previous_provisional=True,
            provisional=False,
            owner_department="quality",
            reason="calendar_changed",
            changed_at=at,
            rules_version="1+x",
        )
        for due, at in (
            (old, datetime(2027, 1, 1, tzinfo=UTC)),
            (new, datetime(2027, 1, 2, tzinfo=UTC)),
        )
    ]
    events = [
        new_event(c, site=SITE, source="/t", time=c.changed_at, subject="demo:N-1") for c in changes
    ]
    for order in (events, events[::-1]):
        state = None
        for event in order:
            state = complaints.fold(state, event)
        assert state is not None
        state["registered_due"]["register"] = old
        assert complaint_figures.due(state, "register") == new


def test_an_imported_row_with_its_outcome_counts_closed_not_open(sites: RuleSites) -> None:
    rules = sites.rulebook.for_site(SITE)
    received, imported_at = h.at("2026-03-02T09:00:00+08:00"), h.at("2026-11-30T09:00:00+08:00")
    fact = registered(rules, received, number="DEMO-H-1").model_copy(
        update={
            "imported": True,
            "registered_at": imported_at,
            "closed_outcome": "corrected",
            "closed_at": h.at("2026-03-20T18:00:00+08:00"),
        }
    )
    decision = open_for_complaint(fact, rules, imported_at)
    events = [h.envelope(fact, SITE, imported_at)]
    events += [h.envelope(f, SITE, imported_at) for f in decision.facts]
    buckets = project(sites, events)
    c = kpis.complaint_kpis(buckets[BucketKey(SITE, "2026-03", ALL, ALL)])
    assert (c["received"], c["open"], c["closed"], c["overdue"]) == (1, 0, 1, 0)
    assert not any(k.startswith("open:") for k in buckets.get(BucketKey(SITE, LIVE, ALL, ALL), {}))
