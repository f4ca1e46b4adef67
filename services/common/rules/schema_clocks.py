"""Case clocks: case-wide deadlines counted from an event, whatever stage the case is in.

A stage deadline is watched only while the case is in its stage; a clock runs from its
`start` event (received, registered, `<stage>.entered`, `<stage>.completed`,
`field:<id>` being filled) until one of its `stop` events (`<stage>.entered`,
`<stage>.completed`, `field:<id>` filled, `closed`), however the case moves meanwhile.
Several clocks may run side by side, each with the owner who must act.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from services.common.rules.schema_base import DurationField, Frozen, Id, Names, OneOrMany
from services.common.rules.schema_complaints import ClassMatch, EscalationRule

FIELD_EVENT = "field:"
CLOSED = "closed"
START_EVENTS = ("received", "registered")
CLOCK_OWNER = "clock_owner"  # in a clock's escalation: the clock's owner
# The on-time KPIs the reports compute; a clock may stand for one of them.
Kpi = Literal["acknowledgement", "investigation", "eight_d", "closure"]


class Clock(Frozen):
    id: Id
    names: Names
    start: str
    stop: OneOrMany[str] = Field(min_length=1)  # the first of these events stops the clock
    duration: DurationField
    customer_deadline: Literal["ignore", "earlier", "later", "customer"] = "ignore"
    when: ClassMatch = ClassMatch()  # runs only for complaints so classified
    owner: Id  # a department, a role, or case_owner: who must act before the due time
    escalation: tuple[EscalationRule, ...] | None = None  # None: the site's general rules
    kpi: Kpi | None = None

    @model_validator(mode="after")
    def _no_stage_filters(self) -> Clock:
        if any(rule.stages is not None for rule in self.escalation or ()):
            raise ValueError("a clock's escalation rules apply to the clock: leave out 'stages'")
        return self


def field_of(event: str) -> str | None:
    """The field an event `field:<id>` names (None for any other event)."""
    return event[len(FIELD_EVENT) :] if event.startswith(FIELD_EVENT) else None


def stage_event(event: str) -> tuple[str, str] | None:
    """(stage, entered | completed) for `<stage>.entered` / `<stage>.completed`."""
    stage, _, what = event.rpartition(".")
    return (stage, what) if stage and what in ("entered", "completed") else None
