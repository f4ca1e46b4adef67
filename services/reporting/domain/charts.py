"""The charts of the dashboard and the management review, from monthly bucket counters:
satisfaction trends (overall, per dimension, per customer), on-time rates by month and a
Pareto of defect types."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from services.common.i18n import N_
from services.reporting.domain import kpis
from services.reporting.domain.buckets import Counters
from services.reporting.domain.svg import Series, line_chart, pareto_chart

MonthCounters = Mapping[str, Counters]
Say = Callable[[str], str]


def _same(text: str) -> str:
    return text


def satisfaction_trend(months: MonthCounters, target: float | None, say: Say = _same) -> str:
    labels = sorted(months)
    index = [kpis.satisfaction(months[m])["index"] for m in labels]
    return line_chart(
        say("Satisfaction index (trend)"),
        labels,
        [Series(say("overall"), index)],
        high=100,
        unit="",
        target=target,
        say=say,
    )


def dimension_trend(months: MonthCounters, say: Say = _same, name: Say = _same) -> str:
    """`name`: a dimension id's name (the rule file's, in the reader's language)."""
    labels = sorted(months)
    figures = [kpis.satisfaction(months[m])["dimensions"] for m in labels]
    names = sorted({d for f in figures for d in f})
    series = [Series(name(d), [f.get(d) for f in figures]) for d in names]
    return line_chart(say("Satisfaction per dimension"), labels, series, high=100, say=say)


def customer_trend(
    months: Mapping[str, Mapping[str, Counters]], top: int = 6, say: Say = _same
) -> str:
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
    return line_chart(say("Satisfaction per customer"), labels, series, high=100, say=say)


def on_time_trend(months: MonthCounters, target: float | None, say: Say = _same) -> str:
    labels = sorted(months)
    series = []
    for name, label in (
        ("acknowledgement", N_("ack 24 h")),
        ("investigation", N_("investigation")),
        ("eight_d", N_("8D reply")),
        ("closure", N_("closure")),
    ):
        rates = [kpis.on_time(months[m])[name]["rate"] for m in labels]
        series.append(Series(say(label), rates))
    delivery = [kpis.delivery(months[m])["on_time_rate"] for m in labels]
    series.append(Series(say("delivery"), delivery))
    return line_chart(
        say("On-time rates by month (%)"),
        labels,
        series,
        high=100,
        unit="%",
        target=target,
        say=say,
    )


def defect_pareto(
    by_type: Mapping[str, Mapping[str, Counters]], say: Say = _same, name: Say = _same
) -> str:
    """`by_type`: month -> defect type (tag, else category) -> counters; `name`: a defect
    type's name for the reader."""
    totals: dict[str, int] = {}
    for per_type in by_type.values():
        for kind, counters in per_type.items():
            totals[kind] = totals.get(kind, 0) + counters.get("received", 0)
    found = [(name(k), v) for k, v in totals.items() if v]
    return pareto_chart(say("Pareto of defect types"), found)
