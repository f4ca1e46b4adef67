"""Deadlines besides the current stage's that the scheduler chases: case clocks and CAPA
action items. deadlines.py plans and fires their records like a stage's; this module says,
for each record token, what it stands for, who is told and what its facts add."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.rules import SiteRules
from services.common.rules.schema_clocks import CLOCK_OWNER
from services.common.rules.schema_complaints import EscalationRule
from services.workflow.domain import action_items, clocks
from services.workflow.domain.case import Case
from services.workflow.domain.people import recipients


@dataclass(frozen=True)
class Chase:
    scope: str  # the `stage` its records and events name: `clock:<id>`, `action:<field>`
    token: str
    due: datetime
    since: datetime  # approaching notices only from here (never for a due already past)
    escalations: tuple[EscalationRule, ...]


def chases(case: Case, rules: SiteRules) -> list[Chase]:
    """Running clocks the rules still have, and open action items."""
    found = []
    specs = {c.id: c for c in rules.clocks}
    for run in clocks.running(case):
        spec = specs.get(run.clock)
        if spec is not None:
            since = clocks.since(run, case)
            rules_ = clocks.escalations(spec, rules)
            found.append(Chase(clocks.scope(run), clocks.token(run), run.due, since, rules_))
    for item in action_items.open_items(case, rules):
        since = action_items.since(case)
        rules_ = action_items.escalations(rules)
        found.append(Chase(item.scope, item.token, item.due, since, rules_))
    return found


def is_chased(deadline_token: str) -> bool:
    return clocks.is_clock(deadline_token) or action_items.is_item(deadline_token)


def applies(case: Case, deadline_token: str, due: datetime) -> bool:
    if clocks.is_clock(deadline_token):
        return clocks.applies(case, deadline_token, due)
    return action_items.is_open(case, deadline_token)


def escalation_rules(
    case: Case, deadline_token: str, rules: SiteRules
) -> tuple[EscalationRule, ...]:
    """The escalation rules a record of this token may name (a stage's: the site's)."""
    if action_items.is_item(deadline_token):
        return action_items.escalations(rules)
    run = clocks.run_of(case, deadline_token) if clocks.is_clock(deadline_token) else None
    spec = next((c for c in rules.clocks if run and c.id == run.clock), None)
    return rules.escalation if spec is None else clocks.escalations(spec, rules)


def notified(
    rules: SiteRules, case: Case, deadline_token: str, notify: Iterable[str]
) -> tuple[str, ...]:
    """Departments to tell; `clock_owner` is the clock's owner."""
    run = clocks.run_of(case, deadline_token) if clocks.is_clock(deadline_token) else None
    names = [run.owner if run and name == CLOCK_OWNER else name for name in notify]
    return recipients(rules, case, names)


def fact_fields(case: Case, deadline_token: str, rules: SiteRules) -> dict[str, Any]:
    """What the facts of a clock's or an action item's record add: which, and who acts."""
    if action_items.is_item(deadline_token):
        item = action_items.item_of(case, rules, deadline_token)
        return {} if item is None else action_items.fact_fields(item, case, rules)
    run = clocks.run_of(case, deadline_token) if clocks.is_clock(deadline_token) else None
    if run is None:
        return {}
    spec = next((c for c in rules.clocks if c.id == run.clock), None)
    return {
        "clock": run.clock,
        "kpi": spec.kpi if spec else None,
        "provisional": run.provisional,
        "acting_departments": recipients(rules, case, [run.owner]),
    }
