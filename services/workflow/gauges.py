"""The gauges that describe all cases (open cases by stage, repeat rate), kept in memory.

Counting them in the database means one aggregation over every case, a collection scan on
FerretDB 1.24 (seconds at 100,000 cases, during which writers can find the database
locked). So they are counted once at start (`reset`), then moved by the facts this
process stores (`observe`), and counted again every `recovery_scan_seconds`. One
workflow instance writes the cases (see docs/architecture.md), so nothing is missed
between two counts; a fact stored while a count runs is corrected by the next count.
"""

from __future__ import annotations

from services.common.contracts.cases import CaseOpened, CaseStageChanged
from services.common.contracts.envelope import Contract
from services.common.rulebook import Rulebook
from services.workflow.domain.calendar_change import provisional
from services.workflow.domain.case import Case
from services.workflow.metrics import WorkflowMetrics
from services.workflow.store import CaseCounts


class CaseGauges:
    def __init__(self, metrics: WorkflowMetrics, rulebook: Rulebook) -> None:
        self._metrics = metrics
        self._rulebook = rulebook
        self._counts = CaseCounts()
        self.counted = False  # the cases were counted since the start

    def reset(self, counts: CaseCounts) -> None:
        self._counts = counts
        self.counted = True
        m = self._metrics
        m.open_by_stage.clear()
        for (site, stage), n in counts.open_by_stage.items():
            m.open_by_stage.labels(site, stage).set(n)
        m.repeat_rate.clear()
        for site in counts.repeats:
            self._set_rate(site)
        m.provisional.clear()
        for site, ids in counts.provisional.items():
            m.provisional.labels(site).set(len(ids))

    def provisional(self) -> list[str]:
        """The open cases whose current due time is provisional (known once counted)."""
        return [case_id for ids in self._counts.provisional.values() for case_id in ids]

    def track(self, case: Case) -> None:
        """Follow whether a case just stored has a provisional due time."""
        ids = self._counts.provisional.setdefault(case.site, set())
        before = len(ids)
        if provisional(case):
            ids.add(case.id)
        else:
            ids.discard(case.id)
        if len(ids) != before:
            self._metrics.provisional.labels(case.site).set(len(ids))

    def observe(self, site: str, facts: list[Contract]) -> None:
        for fact in facts:
            if isinstance(fact, CaseOpened):
                self._move(site, fact.stage, +1)
                if fact.origin == "complaint":
                    total, repeats = self._counts.repeats.get(site, (0, 0))
                    self._counts.repeats[site] = (total + 1, repeats + int(fact.repeat))
                    self._set_rate(site)
            elif isinstance(fact, CaseStageChanged):
                self._move(site, fact.from_stage, -1)
                self._move(site, fact.to_stage, +1)

    def _move(self, site: str, stage: str, by: int) -> None:
        if self._terminal(site, stage):
            return
        key = (site, stage)
        n = max(self._counts.open_by_stage.get(key, 0) + by, 0)
        self._counts.open_by_stage[key] = n
        self._metrics.open_by_stage.labels(site, stage).set(n)

    def _terminal(self, site: str, stage: str) -> bool:
        try:
            return self._rulebook.for_site(site).stage(stage).terminal
        except LookupError:  # an unknown site (UnknownSite) or stage
            return False

    def _set_rate(self, site: str) -> None:
        total, repeats = self._counts.repeats.get(site, (0, 0))
        self._metrics.repeat_rate.labels(site).set(repeats / total if total else 0.0)
