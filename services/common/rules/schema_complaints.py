"""Rule-file sections about complaints: classification, routing, deadlines, escalation."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from services.common.contracts.complaint import Channel, CustomerSeverity, RequestedKind
from services.common.rules.schema_base import DurationField, Frozen, Id, NumberRange, OneOrMany


class Nature(StrEnum):
    quality = "quality"
    delivery = "delivery"
    service = "service"


class Kind(StrEnum):
    appeal = "appeal"
    claim = "claim"
    non_quality = "non_quality"


class Category(StrEnum):
    a = "a"
    b = "b"
    c = "c"
    d = "d"


class Severity(StrEnum):
    general = "general"
    serious = "serious"


class ComplaintCondition(Frozen):
    """Tests on a complaint; every test given must hold (a list means any of its values)."""

    channel: OneOrMany[Channel] | None = None
    kind_requested: OneOrMany[RequestedKind] | None = None
    customer: OneOrMany[str] | None = None
    product_model: OneOrMany[str] | None = None
    product_spec: OneOrMany[str] | None = None
    keywords: OneOrMany[str] | None = Field(default=None, min_length=1)
    customer_severity: OneOrMany[CustomerSeverity] | None = None
    source: OneOrMany[str] | None = None
    received_department: OneOrMany[str] | None = None
    samples_requested: bool | None = None
    has_customer_deadline: bool | None = None
    defect_quantity: NumberRange | None = None
    defect_ratio: NumberRange | None = None
    total_quantity: NumberRange | None = None
    claimed_amount: NumberRange | None = None


class Outcome(Frozen):
    nature: Nature | None = None
    kind: Kind | None = None
    category: Category | None = None
    severity: Severity | None = None
    tags: OneOrMany[Id] = ()


class DefaultOutcome(Frozen):
    nature: Nature
    kind: Kind
    category: Category | None = None
    severity: Severity


class ClassificationRule(Frozen):
    id: Id
    description: str | None = None
    when: ComplaintCondition = ComplaintCondition()
    unless: ComplaintCondition | None = None
    set: Outcome
    stop: bool = False


class ClassificationSection(Frozen):
    default: DefaultOutcome
    rules: tuple[ClassificationRule, ...] = ()


class ClassMatch(Frozen):
    """Tests on a classification result; every test given must hold."""

    nature: OneOrMany[Nature] | None = None
    kind: OneOrMany[Kind] | None = None
    category: OneOrMany[Category] | None = None
    severity: OneOrMany[Severity] | None = None
    tags: OneOrMany[str] | None = None  # any of these tags

    def matches(
        self,
        nature: str,
        kind: str,
        category: str | None,
        severity: str,
        tags: tuple[str, ...],
    ) -> bool:
        return (
            (self.nature is None or nature in self.nature)
            and (self.kind is None or kind in self.kind)
            and (self.category is None or category in self.category)
            and (self.severity is None or severity in self.severity)
            and (self.tags is None or any(t in self.tags for t in tags))
        )


class RouteRule(Frozen):
    id: Id
    when: ClassMatch = ClassMatch()
    owner: Id | None = None
    copy_to: OneOrMany[Id] = ()


class RoutingSection(Frozen):
    """The owner is taken from the first matching rule that names one; copies add up."""

    default_owner: Id
    rules: tuple[RouteRule, ...] = ()


class DeadlineRule(Frozen):
    """A stage is due ``duration`` after event ``from``; the first matching rule per stage wins."""

    id: Id
    stage: Id
    from_event: str = Field(alias="from")
    duration: DurationField
    when: ClassMatch = ClassMatch()
    customer_deadline: Literal["ignore", "earlier", "later", "customer"] = "ignore"


class ExtensionPolicy(Frozen):
    requires_customer_consent: bool = True
    max_extensions: int = Field(default=1, ge=0)
    max_total: DurationField | None = None


class DeadlinesSection(Frozen):
    rules: tuple[DeadlineRule, ...] = ()
    extension: ExtensionPolicy = ExtensionPolicy()


class EscalationRule(Frozen):
    """Who is told when a stage's deadline is near (``lead`` before) or missed (``after``)."""

    id: Id
    event: Literal["near", "missed"]
    lead: DurationField | None = None
    after: DurationField | None = None
    repeat_every: DurationField | None = None
    stages: OneOrMany[Id] | None = None  # None: every stage with a deadline
    notify: OneOrMany[Id] = Field(min_length=1)

    @model_validator(mode="after")
    def _lead_only_when_near(self) -> EscalationRule:
        if self.event == "near" and self.lead is None:
            raise ValueError("a 'near' escalation needs 'lead' (how long before the deadline)")
        if self.event == "missed" and self.lead is not None:
            raise ValueError("'lead' applies to 'near' escalations; use 'after' for 'missed'")
        return self


class Classification(Frozen):
    """What the engine decided for one complaint, and why."""

    nature: Nature
    kind: Kind
    category: Category | None
    severity: Severity
    tags: tuple[str, ...]
    owner_department: str
    copy_to: tuple[str, ...]
    matched_rule: str | None
    reasons: tuple[str, ...]
    rules_version: str

    def is_matched_by(self, match: ClassMatch) -> bool:
        return match.matches(self.nature, self.kind, self.category, self.severity, self.tags)
