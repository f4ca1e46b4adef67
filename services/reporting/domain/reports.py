"""The reports of domain.md section 7, assembled from buckets and one period's entities
(never from history): monthly summary, yearly summary against targets, and the
management-review pack. Plain JSON-able dicts; the views render them as HTML, CSV, XLSX.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.reporting.domain import complaint_figures as cf
from services.reporting.domain import kpis
from services.reporting.domain.buckets import Counters
from services.reporting.domain.policy import Policy
from services.reporting.domain.targets import Target, headline, judged

State = dict[str, Any]


def improvement_effect(state: State) -> str:
    if state.get("recurred"):
        return "recurred: actions not effective, re-examined"
    if cf.is_open(state):
        return f"in progress ({cf.current_stage(state)})"
    if state.get("nonconformity"):
        return "corrective action verified and standardised"
    return f"closed: {state.get('outcome') or 'no action needed'}"


def complaint_item(
    state: State, policy: Policy, satisfaction: float | None, satisfaction_source: str | None
) -> dict[str, Any]:
    outcomes = cf.kpi_outcomes(state, policy)
    return {
        "site": state["site"],
        "number": state["number"],
        "received_at": state.get("received_at"),
        "customer": state.get("customer_name") or state.get("customer_id"),
        "customer_id": state.get("customer_id"),
        "product": state.get("product"),
        "nature": state.get("nature"),
        "category": state.get("category"),
        "department": state.get("department"),
        "repeat": bool(state.get("repeat")),
        "stage": cf.current_stage(state),
        "status": "open" if cf.is_open(state) else "closed",
        "overdue": cf.is_overdue(state),
        "acknowledged_on_time": outcomes["acknowledgement"],
        "eight_d_on_time": outcomes["eight_d"],
        "closed_on_time": outcomes["closure"],
        "improvement_effect": improvement_effect(state),
        "satisfaction": satisfaction,
        "satisfaction_source": satisfaction_source,
        "unfinished": cf.is_open(state),
    }


def action_item(state: State) -> dict[str, Any]:
    effect = state.get("effect") or {}
    return {
        "action_id": state["action_id"],
        "customer": state.get("customer_name") or state.get("customer_id"),
        "trigger": state.get("trigger"),
        "what": state.get("what"),
        "department": state.get("department"),
        "raised_at": state.get("raised_at"),
        "before": effect.get("before"),
        "after": effect.get("after"),
        "effective": effect.get("effective"),
        "unfinished": effect.get("effective") is not True,
    }


def breakdown(buckets: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per dimension value: the headline figures, largest first."""
    found: dict[str, list[dict[str, Any]]] = {}
    for bucket in buckets:
        if bucket["dimension"] == "all":
            continue
        figures = kpis.figures(bucket["counters"])
        found.setdefault(bucket["dimension"], []).append(
            {
                "value": bucket["value"],
                "received": figures["complaints"]["received"],
                **headline(figures),
            }
        )
    for rows in found.values():
        rows.sort(key=lambda r: (-r["received"], r["value"]))
    return found


def monthly(
    *,
    label: str,
    month: str,
    total: Counters,
    buckets: Sequence[Mapping[str, Any]],
    complaints: Sequence[State],
    actions: Sequence[State],
    satisfaction_of: Mapping[str, tuple[float, str]],
    policy: Policy,
) -> dict[str, Any]:
    """`satisfaction_of`: complaint number -> (score, where it comes from)."""
    items = [
        complaint_item(s, policy, *satisfaction_of.get(s["number"], (None, None)))
        for s in sorted(complaints, key=lambda s: (s["site"], s["number"]))
    ]
    return {
        "report": "monthly",
        "site": label,
        "month": month,
        "kpis": kpis.figures(total),
        "breakdown": breakdown(buckets),
        "items": items,
        "survey_actions": [action_item(a) for a in sorted(actions, key=lambda a: a["action_id"])],
        "unfinished": sum(1 for i in items if i["unfinished"]),
    }


def yearly(
    *, label: str, year: int, months: Mapping[str, Counters], targets: list[Target]
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    total: Counters = {}
    for month, counters in sorted(months.items()):
        figures = kpis.figures(counters)
        rows.append(
            {"month": month, "received": figures["complaints"]["received"], **headline(figures)}
        )
        for name, n in counters.items():
            total[name] = total.get(name, 0) + n
    figures = kpis.figures(total)
    return {
        "report": "yearly",
        "site": label,
        "year": year,
        "months": rows,
        "kpis": figures,
        "against_targets": judged(targets, headline(figures)),
    }


def review_pack(
    *,
    label: str,
    year: int,
    total: Counters,
    months: Mapping[str, Counters],
    customers: Mapping[str, Counters],
    customers_before: Mapping[str, Counters],
    repeated: Sequence[State],
    live: Counters,
    actions: Sequence[State],
    targets: list[Target],
    policy: Policy,
) -> dict[str, Any]:
    figures = kpis.figures(total)
    by_customer = []
    for customer, counters in sorted(customers.items()):
        now = kpis.satisfaction(counters)["index"]
        before = kpis.satisfaction(customers_before.get(customer, {}))["index"]
        if now is None:
            continue
        change = None if before is None else round(now - before, 2)
        by_customer.append(
            {
                "customer": customer,
                "index": now,
                "previous_year": before,
                "change": change,
                "declined": change is not None and change < 0,
            }
        )
    return {
        "report": "management_review",
        "site": label,
        "year": year,
        "satisfaction_analysis": {
            **figures["satisfaction"],
            "trend": [
                {"month": m, "index": kpis.satisfaction(c)["index"]}
                for m, c in sorted(months.items())
            ],
            "by_customer": by_customer,
        },
        "repeated_complaints": [
            complaint_item(s, policy, None, None)
            for s in sorted(repeated, key=lambda s: (s["site"], s["number"]))
        ],
        "improvement_status": {
            "live": kpis.live(live),
            "complaints": figures["complaints"],
            "survey_actions": [
                action_item(a) for a in sorted(actions, key=lambda a: a["action_id"])
            ],
        },
        "against_targets": judged(targets, headline(figures)),
    }
