"""Report use cases: read one period's buckets and entities, hand them to the domain.

A scope is one site or, for HQ keys, every site (`*`): the same buckets summed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common.rulebook import Rulebook, UnknownSite
from services.reporting.domain import kpis, reports
from services.reporting.domain.buckets import ALL, Counters, add, summed
from services.reporting.domain.periods import LIVE, following_months, months_of_year
from services.reporting.domain.projection import ACTION, CAMPAIGN, COMPLAINT, SCORE
from services.reporting.domain.targets import Target
from services.reporting.settings import ReportingSettings
from services.reporting.store import ReadModelStore

HQ = "*"
FOLLOW_UP_MONTHS = 3


@dataclass(frozen=True)
class Scope:
    label: str
    sites: list[str] | None  # None: every site (HQ roll-up)


class Reports:
    def __init__(
        self, *, store: ReadModelStore, rulebook: Rulebook, settings: ReportingSettings
    ) -> None:
        self.store, self.rulebook, self.settings = store, rulebook, settings
        self.policy = settings.policy()

    def targets(self, scope: Scope) -> list[Target]:
        rules = None
        if scope.sites and len(scope.sites) == 1:
            try:
                rules = self.rulebook.for_site(scope.sites[0])
            except UnknownSite:
                rules = None
        return self.settings.targets(rules)

    async def totals(
        self, scope: Scope, months: list[str], dimension: str = ALL
    ) -> dict[str, dict[str, Counters]]:
        """month -> dimension value -> counters, summed over the scope's sites."""
        found: dict[str, dict[str, Counters]] = {}
        for bucket in await self.store.buckets(scope.sites, months, dimension):
            add(
                found.setdefault(bucket["month"], {}).setdefault(bucket["value"], {}),
                bucket["counters"],
            )
        return found

    async def kpis(self, scope: Scope, month: str, dimension: str) -> dict[str, Any]:
        values = (await self.totals(scope, [month], dimension)).get(month, {})
        return {
            "site": scope.label,
            "month": month,
            "dimension": dimension,
            "values": [{"value": v, **kpis.figures(c)} for v, c in sorted(values.items())],
        }

    async def live(self, scope: Scope) -> dict[str, Any]:
        live = (await self.totals(scope, [LIVE])).get(LIVE, {}).get(ALL, {})
        return {"site": scope.label, **kpis.live(live)}

    async def monthly(self, scope: Scope, month: str) -> dict[str, Any]:
        buckets = await self.store.buckets(scope.sites, [month])
        complaints = [
            d["state"] for d in await self.store.entities_of(COMPLAINT, scope.sites, [month])
        ]
        actions = [d["state"] for d in await self.store.entities_of(ACTION, scope.sites, [month])]
        total = summed(b["counters"] for b in buckets if b["dimension"] == ALL)
        merged: dict[tuple[str, str], Counters] = {}
        for b in buckets:
            if b["dimension"] != ALL:
                add(merged.setdefault((b["dimension"], b["value"]), {}), b["counters"])
        rows = [{"dimension": d, "value": v, "counters": c} for (d, v), c in merged.items()]
        return reports.monthly(
            label=scope.label,
            month=month,
            total=total,
            buckets=rows,
            complaints=complaints,
            actions=actions,
            satisfaction_of=await self._satisfaction_of(complaints, merged, month, scope.sites),
            policy=self.policy,
        )

    async def _satisfaction_of(
        self,
        complaints: list[dict[str, Any]],
        merged: dict[tuple[str, str], Counters],
        month: str,
        sites: list[str] | None,
    ) -> dict[str, tuple[float, str]]:
        """A follow-up survey's score of the case where there is one, else the customer's
        satisfaction index of the month."""
        found: dict[str, tuple[float, str]] = {}
        by_case = {s["case_id"]: s["number"] for s in complaints if s.get("case_id")}
        # Follow-up campaigns open after the closure: look in this month and the next three.
        after = following_months(month, FOLLOW_UP_MONTHS)
        campaigns = await self.store.linked(CAMPAIGN, list(by_case), sites, after)
        follow_ups = {d["state"]["campaign_id"]: d["state"]["follow_up_of_case"] for d in campaigns}
        for score in await self.store.linked(SCORE, list(follow_ups), sites, after):
            state = score["state"]
            if state["overall"] is not None and state["scope"] != "campaign":
                number = by_case[follow_ups[state["campaign_id"]]]
                found[number] = (state["overall"], "follow-up survey")
        for s in complaints:
            index = kpis.satisfaction(merged.get(("customer", s.get("customer_id") or ""), {}))[
                "index"
            ]
            if s["number"] not in found and index is not None:
                found[s["number"]] = (index, "customer index of the month")
        return found

    async def trends(self, scope: Scope, months: list[str]) -> dict[str, Any]:
        """Per month: site totals, per-customer counters and defect types (tags, else
        categories) for the charts."""
        totals = await self.totals(scope, months)
        tags = await self.totals(scope, months, "tag")
        customers = await self.totals(scope, months, "customer")
        types = tags if any(tags.values()) else await self.totals(scope, months, "category")
        return {
            "all": {m: totals.get(m, {}).get(ALL, {}) for m in months},
            "customer": {m: customers.get(m, {}) for m in months},
            "defect_types": types,
        }

    async def yearly(self, scope: Scope, year: int) -> dict[str, Any]:
        months = await self.totals(scope, months_of_year(year))
        per_month = {m: months.get(m, {}).get(ALL, {}) for m in months_of_year(year)}
        return reports.yearly(
            label=scope.label, year=year, months=per_month, targets=self.targets(scope)
        )

    async def review(self, scope: Scope, year: int) -> dict[str, Any]:
        months = months_of_year(year)
        totals = await self.totals(scope, months)
        per_month = {m: totals.get(m, {}).get(ALL, {}) for m in months}
        customers = await self.totals(scope, months, "customer")
        before = await self.totals(scope, months_of_year(year - 1), "customer")
        complaints = await self.store.entities_of(COMPLAINT, scope.sites, months)
        actions = await self.store.entities_of(ACTION, scope.sites, months)
        live = (await self.totals(scope, [LIVE])).get(LIVE, {}).get(ALL, {})
        return reports.review_pack(
            label=scope.label,
            year=year,
            total=summed(per_month.values()),
            months=per_month,
            customers=_by_value(customers),
            customers_before=_by_value(before),
            repeated=[d["state"] for d in complaints if d["state"].get("repeat")],
            live=live,
            actions=[d["state"] for d in actions],
            targets=self.targets(scope),
            policy=self.policy,
        )


def _by_value(totals: dict[str, dict[str, Counters]]) -> dict[str, Counters]:
    found: dict[str, Counters] = {}
    for values in totals.values():
        for value, counters in values.items():
            add(found.setdefault(value, {}), counters)
    return found
