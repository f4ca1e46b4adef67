"""Case events (the workflow service's facts) and the case command other systems send.

A case is one complaint (or one survey action) handled on its site's procedure. Stage ids,
actions and who is notified come from the site's rule file; these contracts only carry them.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from services.common.contracts.envelope import Contract
from services.common.contracts.registry import register


@register(
    "case.opened",
    1,
    "A case opened once for a registered complaint (or a survey's corrective action), in the "
    "site workflow's initial stage; `repeat` when it matches a closed case (recurrence).",
)
class CaseOpened(Contract):
    case_id: str
    complaint_number: str
    origin: str = Field(description="complaint | survey_action")
    customer_id: str | None
    customer_name: str | None
    nature: str | None
    category: str | None
    severity: str | None
    owner_department: str
    stage: str
    due: AwareDatetime | None = Field(description="Due time of the initial stage, if any.")
    due_provisional: bool = Field(
        default=False,
        description="`due` was counted through a year whose official working-day calendar "
        "is not published yet; `case.deadline_changed` follows if it moves once it is.",
    )
    repeat: bool = False
    repeat_of: str | None = None
    opened_at: AwareDatetime
    rules_version: str


@register(
    "case.stage_changed",
    1,
    "A command moved a case from one stage to another under the site's rules.",
)
class CaseStageChanged(Contract):
    case_id: str
    complaint_number: str
    action: str
    from_stage: str
    to_stage: str
    actor: str
    reason: str | None = None
    review_round: int = Field(ge=0, description="Send-backs for re-analysis so far.")
    due: AwareDatetime | None = Field(description="Due time of the new stage, if any.")
    due_provisional: bool = Field(
        default=False, description="`due` rests on a calendar year not published yet."
    )
    changed_at: AwareDatetime
    rules_version: str


class _DeadlineFact(Contract):
    case_id: str
    complaint_number: str
    stage: str = Field(
        description="The stage whose deadline it is, `case` for a case due, "
        "`clock:<id>` for a case clock or `action:<field>` for a CAPA action item."
    )
    due: AwareDatetime
    owner_department: str
    clock: str | None = Field(default=None, description="The case clock's id, if it is one.")
    action: str | None = Field(
        default=None, description="A CAPA action item's `what` (stage `action:<field>`)."
    )
    action_owner: str | None = Field(default=None, description="The action item's owner.")
    acting_departments: tuple[str, ...] = Field(
        default=(),
        description="Who must act, resolved to departments: a clock's owner, or an action "
        "item's owner when it is a department or role of the site.",
    )
    kpi: str | None = Field(
        default=None, description="The on-time KPI a clock stands for, if the rules say."
    )
    provisional: bool = Field(
        default=False, description="`due` rests on a calendar year not published yet."
    )


@register(
    "case.deadline_changed",
    1,
    "A stage's due time was computed again because the site's working-day calendar changed "
    "(a year's official holidays and make-up days became known): the new due time replaces "
    "the old one and the deadline is rescheduled. Emitted once per change.",
)
class CaseDeadlineChanged(Contract):
    case_id: str
    complaint_number: str
    stage: str
    previous_due: AwareDatetime
    due: AwareDatetime
    previous_provisional: bool
    provisional: bool = Field(description="The new due time still rests on an unpublished year.")
    owner_department: str
    reason: str = Field(description="calendar_changed")
    changed_at: AwareDatetime
    rules_version: str
    clock: str | None = Field(
        default=None, description="The case clock's id when it is a clock's due time."
    )


@register(
    "case.deadline_approaching",
    1,
    "A stage's deadline is near (the rule file's `near` lead); emitted once per stage visit.",
)
class CaseDeadlineApproaching(_DeadlineFact):
    noticed_at: AwareDatetime


@register(
    "case.deadline_missed",
    1,
    "A stage's deadline passed while the case was still in that stage; emitted once per visit.",
)
class CaseDeadlineMissed(_DeadlineFact):
    noticed_at: AwareDatetime


@register(
    "case.escalated",
    1,
    "People were told about a case as the rule file's escalation, review-loop or recurrence "
    "section says; `notify` as written in the rules, `departments` resolved from them.",
)
class CaseEscalated(Contract):
    case_id: str
    complaint_number: str
    stage: str
    reason: str = Field(
        description="deadline_approaching | deadline_missed | review_loop_exceeded | recurrence"
    )
    rule: str | None = None
    notify: tuple[str, ...]
    departments: tuple[str, ...]
    occurrence: int = Field(default=0, ge=0)
    due: AwareDatetime | None = None
    clock: str | None = Field(default=None, description="The case clock's id, if it is one.")
    action: str | None = Field(default=None, description="A CAPA action item's `what`.")
    provisional: bool = Field(
        default=False, description="`due` rests on a calendar year not published yet."
    )
    escalated_at: AwareDatetime


@register(
    "case.action_assigned",
    1,
    "A CAPA action item (an item of a field of type `actions`) was recorded on a case for the "
    "first time: a command recorded it with a `what` and `owner` the field did not hold before. "
    "Emitted once per item (its event id is derived from the case and the item's field, what "
    "and owner), never for an item recorded again unchanged or with only its due time changed. "
    "The site is the envelope's.",
)
class CaseActionAssigned(Contract):
    case_id: str
    complaint_number: str
    field: str = Field(description="The case field of type `actions` that holds the item.")
    action: str = Field(description="The action item's `what`.")
    action_owner: str = Field(
        description="The item's owner as written: a department, a role or a person's id."
    )
    due: AwareDatetime = Field(description="When the item is due (UTC).")
    stage: str = Field(description="The stage the case was in when the item was recorded.")
    owner_department: str
    acting_departments: tuple[str, ...] = Field(
        default=(), description="The owner, when it is a department or role of the site."
    )
    actor: str
    assigned_at: AwareDatetime
    rules_version: str


@register(
    "case.clock_stopped",
    1,
    "A case clock (the rule file's `clocks`: a case-wide deadline from a start event to a "
    "stop event) stopped; `met` when it stopped by its due time. Emitted once per run.",
)
class CaseClockStopped(Contract):
    case_id: str
    complaint_number: str
    clock: str
    run: int = Field(ge=1, description="1 for the first start of this clock on the case.")
    kpi: str | None = Field(
        default=None, description="The on-time KPI the clock stands for, if the rules say."
    )
    owner: str = Field(description="The department or role that had to act.")
    started_at: AwareDatetime
    due: AwareDatetime
    stopped_at: AwareDatetime
    stopped_by: str = Field(description="The stop event: `<stage>.entered`, `field:<id>`, ...")
    met: bool
    rules_version: str


@register(
    "case.closed",
    1,
    "A case reached a closing stage: with a verified corrective action (`nonconformity`) or "
    "a non-quality outcome (explanation, credit note, replacement) that needs none.",
)
class CaseClosed(Contract):
    case_id: str
    complaint_number: str
    customer_id: str
    customer_name: str
    nature: str
    category: str | None
    outcome: str
    nonconformity: bool
    repeat: bool
    closed_at: AwareDatetime
    on_time: bool | None = Field(description="Every stage deadline met; None without deadlines.")
    owner_department: str
    stage: str
    review_rounds: int = Field(ge=0)
    opened_at: AwareDatetime
    rules_version: str


@register(
    "case.reopened",
    1,
    "A closed case came back: a recurrence (a new complaint matched it) or a reopen command.",
)
class CaseReopened(Contract):
    case_id: str
    complaint_number: str
    from_stage: str
    to_stage: str
    reason: str
    by_case_id: str | None = None
    by_complaint_number: str | None = None
    reopened_at: AwareDatetime


@register(
    "case.command",
    1,
    "A request to act on a case on someone's behalf: run a transition (`action`) with "
    "fields. It carries that person's access token from the desk (`token`); the workflow "
    "takes who acts and their roles at the site from the verified token, never from the "
    "message, and refuses a command without a valid token (dead-lettered with the reason).",
)
class CaseCommand(Contract):
    case_id: str = Field(min_length=1)
    action: str | None = Field(
        default=None, description="A transition's action; None records the fields only."
    )
    fields: dict[str, Any] = Field(default_factory=dict)
    token: str | None = Field(
        default=None,
        max_length=8192,
        description="The acting person's access token (a JWT from the desk). Required: "
        "a command without a valid one is refused.",
    )
    actor: str | None = Field(
        default=None,
        max_length=200,
        description="Ignored: the actor is the token's person. Kept for older senders.",
    )
    roles: tuple[str, ...] = Field(
        default=(),
        description="Ignored: roles come from the token. Kept for older senders.",
    )
    reason: str | None = Field(default=None, max_length=2000)
    signature: str | None = Field(
        default=None,
        max_length=8192,
        description="For a signed transition (an approval): the signature token the desk "
        "gave the acting person after they re-entered their password (POST /signatures).",
    )
    expected_version: int | None = Field(default=None, ge=0)
