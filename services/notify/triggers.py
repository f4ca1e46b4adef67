"""Which event tells whom (the defaults of issue 20): the names of departments or roles
each event's people are found under, and the values its message shows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from services.common.contracts.cases import (
    CaseDeadlineApproaching,
    CaseDeadlineMissed,
    CaseEscalated,
    CaseReopened,
    CaseStageChanged,
)
from services.common.contracts.complaints import ComplaintRegistered
from services.common.rules.schema import SiteRules

MANAGEMENT_REVIEW = ("management_rep", "general_manager")


@dataclass(frozen=True)
class Cause:
    """One event's reason to notify: who (names), and what the message says."""

    kind: str
    names: tuple[str, ...]
    number: str
    case_id: str | None
    values: dict[str, str]
    due: datetime | None


def cause_of(fact: BaseModel, rules: SiteRules) -> Cause | None:
    """The notification cause of an event as the site's `notifications` section has it
    (defaults without one), or None when it tells nobody."""
    cause = default_cause(fact, rules)
    if cause is None or rules.notifications is None:
        return cause
    trigger = rules.notifications.trigger(cause.kind)
    if not trigger.enabled:
        return None
    names = trigger.to if trigger.to is not None else cause.names
    return dataclasses.replace(cause, names=tuple(dict.fromkeys((*names, *trigger.also))))


def default_cause(fact: BaseModel, rules: SiteRules) -> Cause | None:
    if isinstance(fact, ComplaintRegistered):
        routed = fact.classification
        return Cause(
            "complaint_registered",
            (routed.owner_department, *routed.copy_to),
            fact.number,
            None,
            {"number": fact.number, "customer": fact.complaint.customer.name},
            fact.registration_due,
        )
    if isinstance(fact, CaseStageChanged):
        actors = rules.stage(fact.to_stage).actors
        values = {"number": fact.complaint_number, "stage": fact.to_stage}
        return Cause("case_stage", actors, fact.complaint_number, fact.case_id, values, fact.due)
    if isinstance(fact, CaseDeadlineApproaching | CaseDeadlineMissed):
        names = fact.acting_departments or (fact.owner_department,)
        reason = "missed" if isinstance(fact, CaseDeadlineMissed) else "approaching"
        values = {"number": fact.complaint_number, "stage": fact.stage, "reason": reason}
        return Cause("case_deadline", names, fact.complaint_number, fact.case_id, values, fact.due)
    if isinstance(fact, CaseEscalated):
        names = (*fact.notify, *fact.departments)
        values = {"number": fact.complaint_number, "reason": fact.reason}
        return Cause("case_escalated", names, fact.complaint_number, fact.case_id, values, fact.due)
    if isinstance(fact, CaseReopened):
        values = {"number": fact.complaint_number, "reason": fact.reason}
        names = MANAGEMENT_REVIEW if fact.reason == "recurrence" else ()
        return Cause("case_reopened", names, fact.complaint_number, fact.case_id, values, None)
    return None
