"""Targets a site's figures are judged against: from its rule file where the rule file
says (satisfaction target score, response-rate target), else the reporting settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    kpi: str
    label: str
    target: float
    at_most: bool = False  # repeat rate: lower is better
    source: str = "reporting settings"

    def met(self, actual: float | None) -> bool | None:
        if actual is None:
            return None
        return actual <= self.target if self.at_most else actual >= self.target


def judged(targets: list[Target], actuals: dict[str, float | None]) -> list[dict[str, Any]]:
    return [
        {
            "kpi": t.kpi,
            "label": t.label,
            "target": t.target,
            "comparison": "<=" if t.at_most else ">=",
            "actual": actuals.get(t.kpi),
            "met": t.met(actuals.get(t.kpi)),
            "source": t.source,
        }
        for t in targets
    ]


def headline(figures: dict[str, Any]) -> dict[str, float | None]:
    """The figures targets are set on, by KPI name."""
    c, s, d = figures["complaints"], figures["satisfaction"], figures["delivery"]
    return {
        "acknowledgement": c["on_time"]["acknowledgement"]["rate"],
        "investigation": c["on_time"]["investigation"]["rate"],
        "eight_d": c["on_time"]["eight_d"]["rate"],
        "closure": c["on_time"]["closure"]["rate"],
        "answered": c["answered_share"],
        "repeat_rate": c["repeat_rate"],
        "satisfaction": s["index"],
        "response_rate": s["response_rate"],
        "delivery": d["on_time_rate"],
    }
