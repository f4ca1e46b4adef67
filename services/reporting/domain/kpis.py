"""KPIs from bucket counters (sums and counts): every rate and average is derived here.

- on-time rate of a stage = stages left by their due time / stages decided x 100
- repeat rate = repeat complaints / complaints received x 100
- share answered = complaints answered (reply sent, explained or closed) / received x 100
- satisfaction index = mean of the customer scores (one per customer and campaign)
- band distribution = customer scores in a band / customer scores x 100 (also per dimension)
- response rate = questionnaires returned in time / sent x 100
- on-time delivery rate = (lots due - late lots) / lots due x 100
Percentages and averages are rounded to two decimals; None when there is nothing to divide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.reporting.domain.complaint_figures import KPI_NAMES

Figures = dict[str, Any]


def ratio(part: float, whole: float, scale: float = 100.0) -> float | None:
    return None if not whole else round(part / whole * scale, 2)


def _prefixed(counters: Mapping[str, int], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: v for k, v in counters.items() if k.startswith(prefix)}


def on_time(counters: Mapping[str, int]) -> Figures:
    rates: Figures = {}
    for name in KPI_NAMES:
        good, late = counters.get(f"{name}_on_time", 0), counters.get(f"{name}_late", 0)
        rates[name] = {"on_time": good, "late": late, "rate": ratio(good, good + late)}
    return rates


def complaint_kpis(counters: Mapping[str, int]) -> Figures:
    received = counters.get("received", 0)
    cents = _prefixed(counters, "claim_cents:")
    return {
        "received": received,
        "open": counters.get("open", 0),
        "closed": counters.get("closed", 0),
        "overdue": counters.get("overdue", 0),
        "repeat": counters.get("repeat", 0),
        "repeat_rate": ratio(counters.get("repeat", 0), received),
        "answered": counters.get("answered", 0),
        "answered_share": ratio(counters.get("answered", 0), received),
        "on_time": on_time(counters),
        "claims": counters.get("claims", 0),
        "claim_amounts": {cur: round(v / 100, 2) for cur, v in sorted(cents.items())},
        "corrective_actions_verified": counters.get("nonconformity", 0),
        "recurred": counters.get("recurred", 0),
        "rejected_submissions": counters.get("submissions_rejected", 0),
    }


def _distribution(counters: Mapping[str, int], prefix: str, whole: int) -> dict[str, float]:
    found = _prefixed(counters, prefix)
    return {band: ratio(n, whole) or 0.0 for band, n in sorted(found.items()) if n}


def satisfaction(counters: Mapping[str, int]) -> Figures:
    scores = counters.get("sat_n", 0)
    dimensions, dimension_bands = {}, {}
    for dimension, n in sorted(_prefixed(counters, "dim_n:").items()):
        if not n:
            continue
        dimensions[dimension] = ratio(counters.get(f"dim_sum:{dimension}", 0), n, 0.01)
        dimension_bands[dimension] = _distribution(counters, f"dim_band:{dimension}:", n)
    sent, returned = counters.get("surveys_sent", 0), counters.get("surveys_returned", 0)
    raised = counters.get("actions_raised", 0)
    return {
        "customer_scores": scores,
        "index": ratio(counters.get("sat_sum", 0), scores, 0.01),
        "dimensions": dimensions,
        "bands": _distribution(counters, "band:", scores),
        "dimension_bands": dimension_bands,
        "responses": counters.get("responses_scored", 0),
        "campaigns_closed": counters.get("campaigns_closed", 0),
        "surveys_sent": sent,
        "surveys_returned": returned,
        "surveys_late": counters.get("surveys_late", 0),
        "response_rate": ratio(returned, sent),
        "actions_raised": raised,
        "actions_effective": counters.get("actions_effective", 0),
        "actions_ineffective": counters.get("actions_ineffective", 0),
    }


def delivery(counters: Mapping[str, int]) -> Figures:
    due, late = counters.get("lots_due", 0), counters.get("lots_late", 0)
    return {"lots_due": due, "lots_late": late, "on_time_rate": ratio(due - late, due)}


def figures(counters: Mapping[str, int]) -> Figures:
    return {
        "complaints": complaint_kpis(counters),
        "satisfaction": satisfaction(counters),
        "delivery": delivery(counters),
    }


def live(counters: Mapping[str, int]) -> Figures:
    """Open and overdue cases by stage, from the site's live bucket."""
    opened, overdue = _prefixed(counters, "open:"), _prefixed(counters, "overdue:")
    stages = sorted(s for s in opened.keys() | overdue.keys() if opened.get(s) or overdue.get(s))
    return {
        "open": sum(opened.values()),
        "overdue": sum(overdue.values()),
        "by_stage": {s: {"open": opened.get(s, 0), "overdue": overdue.get(s, 0)} for s in stages},
    }
