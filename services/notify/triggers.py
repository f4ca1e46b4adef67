"""Which event tells whom (the defaults of issue 20): the names of departments or roles
each event's people are found under, and the values its message shows.

One event may have several causes in order of precedence (a stage that asks for a
signed approval: the approvers get the approval, the stage's other actors the stage);
each person is told once per event, by the first cause that names them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from services.common.contracts.cases import (
    CaseActionAssigned,
    CaseDeadlineApproaching,
    CaseDeadlineMissed,
    CaseEscalated,
    CaseOpened,
    CaseReopened,
    CaseStageChanged,
)
from services.common.contracts.complaints import ComplaintRegistered
from services.common.rules.schema import SiteRules

MANAGEMENT_REVIEW = ("management_rep", "general_manager")
CASE_OWNER = "case_owner"  # the case's owning department (its team), from case.opened
ACTION_SCOPE = "action:"  # deadlines of CAPA action items (services/workflow action_items)


@dataclass(frozen=True)
class Cause:
    """One event's reason to notify: who (names; `people`: person ids), and what the
    message says."""

    kind: str
    names: tuple[str, ...]
    number: str
    case_id: str | None
    values: dict[str, str]
    due: datetime | None
    people: tuple[str, ...] = ()


def causes_of(fact: BaseModel, rules: SiteRules) -> list[Cause]:
    """The notification causes of an event as the site's `notifications` section has them
    (defaults without one), in order of precedence; empty when it tells nobody."""
    return [c for c in (configured(c, rules) for c in default_causes(fact, rules)) if c]


def configured(cause: Cause, rules: SiteRules) -> Cause | None:
    if rules.notifications is None:
        return cause
    trigger = rules.notifications.trigger(cause.kind)
    if not trigger.enabled:
        return None
    names = trigger.to if trigger.to is not None else cause.names
    return dataclasses.replace(cause, names=tuple(dict.fromkeys((*names, *trigger.also))))


def cause_of(fact: BaseModel, rules: SiteRules) -> Cause | None:
    """The first cause (kept for callers that expect one)."""
    causes = causes_of(fact, rules)
    return causes[0] if causes else None


def default_causes(fact: BaseModel, rules: SiteRules) -> list[Cause]:
    if isinstance(fact, ComplaintRegistered):
        routed = fact.classification
        values = {"number": fact.number, "customer": fact.complaint.customer.name}
        names = (routed.owner_department, *routed.copy_to)
        due = fact.registration_due
        return [Cause("complaint_registered", names, fact.number, None, values, due)]
    if isinstance(fact, CaseStageChanged):
        return _stage_entered(rules, fact.to_stage, fact.complaint_number, fact.case_id, fact.due)
    if isinstance(fact, CaseOpened):  # a complaint's case: its registration told already
        if fact.origin == "survey_action":
            return [_survey_action(fact)]
        entered = _stage_entered(rules, fact.stage, fact.complaint_number, fact.case_id, fact.due)
        return [c for c in entered if c.kind == "approval_requested"]
    if isinstance(fact, CaseDeadlineApproaching | CaseDeadlineMissed):
        return [_deadline(fact, rules)]
    if isinstance(fact, CaseActionAssigned):
        return [_capa_action(fact, fact.action_owner, fact.action, "assigned", rules)]
    if isinstance(fact, CaseEscalated):
        names = (*fact.notify, *fact.departments)
        values = {"number": fact.complaint_number, "reason": fact.reason}
        number, case_id = fact.complaint_number, fact.case_id
        return [Cause("case_escalated", names, number, case_id, values, fact.due)]
    if isinstance(fact, CaseReopened):
        values = {"number": fact.complaint_number, "reason": fact.reason}
        names = (CASE_OWNER, *MANAGEMENT_REVIEW) if fact.reason == "recurrence" else ()
        return [Cause("case_reopened", names, fact.complaint_number, fact.case_id, values, None)]
    return []


def approvers(rules: SiteRules, stage: str) -> tuple[str, ...]:
    """Who may run the signed transitions out of `stage` (none: it asks no approval)."""
    signed = [t for t in rules.transitions_from(stage) if t.signature is not None]
    return tuple(dict.fromkeys(name for t in signed for name in rules.actors_for(t)))


def _stage_entered(
    rules: SiteRules, stage: str, number: str, case_id: str, due: datetime | None
) -> list[Cause]:
    """A case entering `stage`: approvers first (when its transitions are signed), then
    the stage's actors."""
    values = {"number": number, "stage": stage}
    causes = []
    asked = approvers(rules, stage)
    if asked:
        causes.append(Cause("approval_requested", asked, number, case_id, values, due))
    causes.append(Cause("case_stage", rules.stage(stage).actors, number, case_id, values, due))
    return causes


def _survey_action(fact: CaseOpened) -> Cause:
    values = {"number": fact.complaint_number, "customer": fact.customer_name or "-"}
    owner = (fact.owner_department,)
    return Cause("survey_action", owner, fact.complaint_number, fact.case_id, values, fact.due)


def _deadline(fact: CaseDeadlineApproaching | CaseDeadlineMissed, rules: SiteRules) -> Cause:
    reason = "missed" if isinstance(fact, CaseDeadlineMissed) else "approaching"
    number, case_id = fact.complaint_number, fact.case_id
    if not fact.stage.startswith(ACTION_SCOPE):
        names = fact.acting_departments or (fact.owner_department,)
        values = {"number": number, "stage": fact.stage, "reason": reason}
        return Cause("case_deadline", names, number, case_id, values, fact.due)
    return _capa_action(fact, fact.action_owner, fact.action, reason, rules)


def _capa_action(
    fact: CaseActionAssigned | CaseDeadlineApproaching | CaseDeadlineMissed,
    owner: str | None,
    action: str | None,
    reason: str,
    rules: SiteRules,
) -> Cause:
    """A CAPA action item assigned, due or missed: its owner as written (a department, a
    role or a person's id); an owner that is none of the site's names is looked up as a
    person."""
    owner = owner or ""
    known = {d.id for d in rules.departments} | {r.id for r in rules.roles}
    names = (owner,) if owner in known else fact.acting_departments
    people = () if owner in known or not owner else (owner,)
    if not names and not people:
        names = (fact.owner_department,)
    values = {"number": fact.complaint_number, "action": action or "-", "reason": reason}
    number, case_id = fact.complaint_number, fact.case_id
    return Cause("capa_action", names, number, case_id, values, fact.due, people)
