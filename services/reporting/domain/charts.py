"""The charts of the dashboard and the management review, from monthly bucket counters:
satisfaction trends (overall, per dimension, per customer), on-time rates by month and a
Pareto of defect types."""

from __future__ import annotations

from collections.abc import Mapping

from services.reporting.domain import kpis
from services.reporting.domain.buckets import Counters
from services.reporting.domain.svg import Series, line_chart, pareto_chart

MonthCounters = Mapping[str, Counters]


def satisfaction_trend(months: MonthCounters, target: float | None) -> str:
    labels = sorted(months)
    index = [kpis.satisfaction(months[m])["index"] for m in labels]
    return line_chart(
        "Satisfaction index (推移图)",
        labels,
        [Series("overall", index)],
        high=100,
        unit="",
        target=target,
    )


def dimension_trend(months: MonthCounters) -> str:
    labels = sorted(months)
    figures = [kpis.satisfaction(months[m])["dimensions"] for m in labels]
    names = sorted({d for f in figures for d in f})
    series = [Series(d, [f.get(d) for f in figures]) for d in names]
    return line_chart("Satisfaction per dimension", labels, series, high=100)


def customer_trend(months: Mapping[str, Mapping[str, Counters]], top: int = 6) -> str:
    """The customers with the most scores in the period, one line each."""
    labels = sorted(months)
    scores: dict[str, int] = {}
    for per_customer in months.values():
        for customer, counters in per_customer.items():
            scores[customer] = scores.get(customer, 0) + counters.get("sat_n", 0)
    chosen = sorted((c for c, n in scores.items() if n), key=lambda c: (-scores[c], c))[:top]
    series = [
        Series(c, [kpis.satisfaction(months[m].get(c, {}))["index"] for m in labels])
        for c in chosen
    ]
    return line_chart("Satisfaction per customer", labels, series, high=100)


def on_time_trend(months: MonthCounters, target: float | None) -> str:
    labels = sorted(months)
    series = []
    for name, label in (
        ("acknowledgement", "ack 24 h"),
        ("investigation", "investigation"),
        ("eight_d", "8D reply"),
        ("closure", "closure"),
    ):
        series.append(Series(label, [kpis.on_time(months[m])[name]["rate"] for m in labels]))
    series.append(Series("delivery", [kpis.delivery(months[m])["on_time_rate"] for m in labels]))
    return line_chart(
        "On-time rates by month (%)", labels, series, high=100, unit="%", target=target
    )


def defect_pareto(by_type: Mapping[str, Mapping[str, Counters]]) -> str:
    """`by_type`: month -> defect type (tag, else category) -> counters."""
    totals: dict[str, int] = {}
    for per_type in by_type.values():
        for name, counters in per_type.items():
            totals[name] = totals.get(name, 0) + counters.get("received", 0)
    return pareto_chart("Pareto of defect types", [(k, v) for k, v in totals.items() if v])
