"""Case clocks on the site calendar: which clocks a complaint runs, and when one is due."""

from __future__ import annotations

from datetime import datetime

from services.common.rules.durations import DueTime
from services.common.rules.engine import due, with_customer_deadline
from services.common.rules.schema import SiteRules
from services.common.rules.schema_clocks import Clock
from services.common.rules.schema_complaints import Classification, ClassMatch

NO_CONDITION = ClassMatch()


def clocks_for(rules: SiteRules, classification: Classification | None) -> tuple[Clock, ...]:
    """The clocks whose `when` the classification meets (a case without one, such as a
    survey action, runs the clocks that name no condition)."""
    return tuple(
        c
        for c in rules.clocks
        if (classification.is_matched_by(c.when) if classification else c.when == NO_CONDITION)
    )


def clock_due(
    rules: SiteRules, clock: Clock, started_at: datetime, customer_deadline: datetime | None
) -> DueTime:
    """When a clock started at `started_at` is due: its duration on the site calendar
    (through ``due``, like stage deadlines: provisional when counted through a year the
    calendar does not cover yet), or the customer's own deadline where the clock takes it
    (engine.with_customer_deadline: `customer`, `earlier`, `later`)."""
    counted = due(rules, started_at, clock.duration)
    return with_customer_deadline(counted, customer_deadline, clock.customer_deadline)
