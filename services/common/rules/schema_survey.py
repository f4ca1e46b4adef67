"""Rule-file section for customer (and internal) satisfaction surveys."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from services.common.rules.durations import Duration
from services.common.rules.schema_base import DurationField, Frozen, Id, Names, OneOrMany


class Schedule(Frozen):
    """When campaigns run; ``months`` are the months of a yearly/twice-yearly/quarterly cadence."""

    cadence: Literal["yearly", "twice_yearly", "quarterly", "monthly", "project_stage"]
    months: tuple[int, ...] = ()
    project_stages: tuple[Id, ...] = ()
    ad_hoc_after_major_incident: bool = False

    @model_validator(mode="after")
    def _months_fit_cadence(self) -> Schedule:
        expected = {"yearly": 1, "twice_yearly": 2, "quarterly": 4}.get(self.cadence)
        if any(not 1 <= m <= 12 for m in self.months):
            raise ValueError("months are 1-12")
        if expected is not None and len(self.months) != expected:
            raise ValueError(f"cadence {self.cadence!r} needs exactly {expected} month(s)")
        if (self.cadence == "project_stage") != bool(self.project_stages):
            raise ValueError("'project_stages' is required for, and only for, project_stage")
        return self


class FollowUp(Frozen):
    """A short survey sent after a complaint case is closed."""

    enabled: bool = True
    delay: DurationField
    items: tuple[Id, ...] = ()


class Eligibility(Frozen):
    """Customers surveyed: volume thresholds (combined with ``combine``) or any listed group."""

    min_quantity: int | None = Field(default=None, ge=0)
    min_deliveries: int | None = Field(default=None, ge=0)
    combine: Literal["all", "any"] = "all"
    new_products: bool = False
    customer_owned_moulds: bool = False
    named_prospects: bool = False
    everyone: bool = False


class Item(Frozen):
    id: Id
    names: Names
    weight: float = Field(gt=0, le=1)


class Dimension(Frozen):
    id: Id
    names: Names
    weight: float = Field(gt=0, le=1)
    owner: Id
    items: tuple[Item, ...] = Field(min_length=1)


class Scale(Frozen):
    min: float = 0
    max: float = 100


class ResponsePolicy(Frozen):
    window: DurationField
    target_rate: float = Field(gt=0, le=1)
    late_counts_as_not_returned: bool = True
    period: Literal["campaign", "quarter", "year"] = "campaign"
    below_target_owner: Id | None = None


class Band(Frozen):
    """Scores from ``min`` to ``max``; each edge says whether it belongs to this band."""

    id: Id
    names: Names
    min: float
    max: float
    min_inclusive: bool
    max_inclusive: bool
    improvement_report: bool = False

    def contains(self, score: float) -> bool:
        above = score >= self.min if self.min_inclusive else score > self.min
        below = score <= self.max if self.max_inclusive else score < self.max
        return above and below


TriggerKind = Literal[
    "overall_score",
    "customer_score",
    "dimension_score",
    "item_score",
    "response_rate",
    "suggestion",
]


class Trigger(Frozen):
    """Fires when the measured value compares ``op`` with ``threshold`` (suggestion: always)."""

    id: Id
    kind: TriggerKind
    op: Literal["lt", "lte"] | None = None
    threshold: float | None = None
    action: Id
    owner: Id  # a department or role id; "dimension_owner" means the dimension's owner
    names: Names | None = None
    due: DurationField | None = None  # the action's due time; default: `survey.action_due`

    @model_validator(mode="after")
    def _threshold_unless_suggestion(self) -> Trigger:
        needs = self.kind != "suggestion"
        if needs != (self.op is not None and self.threshold is not None):
            raise ValueError(
                "'op' and 'threshold' are required for score and rate triggers "
                "and not allowed for 'suggestion'"
            )
        return self


class InternalSurvey(Frozen):
    cadence: Literal["yearly", "twice_yearly", "quarterly"] = "yearly"
    anonymous: bool = True
    min_sample_share: float = Field(gt=0, le=1)


class Survey(Frozen):
    schedule: Schedule
    follow_up_after_closure: FollowUp | None = None
    eligibility: Eligibility
    channels: OneOrMany[
        Literal["visit", "letter", "phone", "email", "online", "customer_scorecard"]
    ]
    scale: Scale = Scale()
    dimensions: tuple[Dimension, ...] = Field(min_length=1)
    response: ResponsePolicy
    bands: tuple[Band, ...] = Field(min_length=1)
    triggers: tuple[Trigger, ...] = ()
    # How long the owner of a survey action has to act (from the moment it is raised, and
    # again from a verification that found it not effective); a trigger's `due` overrides.
    # None: survey actions get no due time.
    action_due: DurationField | None = None
    target_score: float | None = None
    approver: Id | None = None
    internal: InternalSurvey | None = None

    def action_due_for(self, trigger_id: str) -> Duration | None:
        """How long a survey action of `trigger_id` has: its trigger's `due`, else
        `action_due` (None: no due time; also for a trigger the rules no longer have)."""
        trigger = next((t for t in self.triggers if t.id == trigger_id), None)
        if trigger is None:
            return self.action_due
        return trigger.due or self.action_due
