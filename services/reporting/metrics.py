"""Reporting's gauges: live figures refreshed from the read models (explicit registry,
labels site and stage/kpi only, so cardinality stays low)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

RATES = ("acknowledgement", "investigation", "eight_d", "closure")


@dataclass(frozen=True)
class ReportingMetrics:
    open_cases: Gauge
    overdue_cases: Gauge
    on_time_rate: Gauge
    satisfaction_index: Gauge
    response_rate: Gauge
    delivery_rate: Gauge

    def show_live(self, site: str, live: dict[str, Any]) -> None:
        for stage, figures in live["by_stage"].items():
            self.open_cases.labels(site, stage).set(figures["open"])
            self.overdue_cases.labels(site, stage).set(figures["overdue"])

    def show_month(self, site: str, figures: dict[str, Any]) -> None:
        for kpi in RATES:
            rate = figures["complaints"]["on_time"][kpi]["rate"]
            if rate is not None:
                self.on_time_rate.labels(site, kpi).set(rate)
        for gauge, value in (
            (self.satisfaction_index, figures["satisfaction"]["index"]),
            (self.response_rate, figures["satisfaction"]["response_rate"]),
            (self.delivery_rate, figures["delivery"]["on_time_rate"]),
        ):
            if value is not None:
                gauge.labels(site).set(value)


def reporting_metrics(registry: CollectorRegistry) -> ReportingMetrics:
    def gauge(name: str, text: str, labels: list[str]) -> Gauge:
        return Gauge(name, text, labels, registry=registry)

    return ReportingMetrics(
        open_cases=gauge(
            "qloop_reporting_open_cases", "Open cases now, by stage.", ["site", "stage"]
        ),
        overdue_cases=gauge(
            "qloop_reporting_overdue_cases",
            "Open cases past their stage deadline.",
            ["site", "stage"],
        ),
        on_time_rate=gauge(
            "qloop_reporting_on_time_rate_percent", "On-time rate this month.", ["site", "kpi"]
        ),
        satisfaction_index=gauge(
            "qloop_reporting_satisfaction_index", "Satisfaction index this month.", ["site"]
        ),
        response_rate=gauge(
            "qloop_reporting_survey_response_rate_percent",
            "Survey response rate this month.",
            ["site"],
        ),
        delivery_rate=gauge(
            "qloop_reporting_on_time_delivery_rate_percent",
            "On-time delivery rate this month.",
            ["site"],
        ),
    )
