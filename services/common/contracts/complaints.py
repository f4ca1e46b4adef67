"""Complaint events: what other systems send in, and what intake decides."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.envelope import Contract
from services.common.contracts.registry import register


@register(
    "complaint.submitted",
    1,
    "A complaint sent by another system (ERP, CRM, e-commerce, dealer portal). Intake "
    "validates, numbers and classifies it; `external_ref` (with the envelope's `source`) "
    "makes resubmission idempotent, else the event id does.",
)
class ComplaintSubmitted(Contract):
    complaint: ComplaintSubmission


class ClassificationRecord(Contract):
    nature: str
    kind: str
    category: str | None
    severity: str
    tags: tuple[str, ...] = ()
    owner_department: str
    copy_to: tuple[str, ...] = ()
    matched_rule: str | None
    reasons: tuple[str, ...] = ()


@register(
    "complaint.registered",
    1,
    "A complaint registered once under its site's sequential number, classified and routed "
    "under the recorded rule version.",
)
class ComplaintRegistered(Contract):
    number: str
    sequence: int = Field(ge=1)
    complaint: ComplaintSubmission
    classification: ClassificationRecord
    rules_version: str
    source: str
    external_ref: str | None = None
    registered_at: AwareDatetime
    registration_due: AwareDatetime | None = None
    registration_on_time: bool | None = None
    deadlines: dict[str, datetime] = Field(
        default_factory=dict, description="Stage id -> due time (UTC) known at registration."
    )
    deadline_problems: tuple[str, ...] = Field(
        default=(),
        description="Deadlines that could not be computed, each as 'stage: reason'. The "
        "complaint is registered anyway. (A year the site's calendar does not cover yet is "
        "no longer a problem: see `provisional_deadlines`.)",
    )
    provisional_deadlines: tuple[str, ...] = Field(
        default=(),
        description="Stage ids whose due time in `deadlines` (and `registration_due` when "
        "`register` is listed) is provisional: counted through a year whose official "
        "working-day calendar is not published yet. Recomputed once it is.",
    )
    imported: bool = Field(
        default=False,
        description="Registered from a history import (`qloop intake import`): its times "
        "are history. Deadlines count from the receipt (`registered` as `received`), "
        "registration is on time against the receipt, and the workflow records in the case "
        "history, rather than announces, what was over before the import.",
    )
    closed_outcome: str | None = Field(
        default=None,
        description="An imported row's recorded outcome (a workflow outcome id, or "
        "`corrected`), where the site's rules let imported rows carry it "
        "(`workflow.history_import`): the case opens closed, with nothing to chase.",
    )
    closed_at: AwareDatetime | None = Field(
        default=None, description="When an imported row's case was closed (with `closed_outcome`)."
    )


class FieldError(Contract):
    field: str
    message: str


@register(
    "complaint.rejected",
    1,
    "A submission intake refused, with every reason; nothing was registered.",
)
class ComplaintRejected(Contract):
    source: str
    external_ref: str | None = None
    reason: str
    errors: tuple[FieldError, ...] = ()
    rejected_at: AwareDatetime
