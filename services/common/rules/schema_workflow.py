"""The case workflow as data: fields, stages, transitions with guards, review loop,
effectiveness-verification gate, non-quality outcomes and recurrence.

The workflow service drives cases from this alone: a command names a transition's ``action``;
it is allowed when the case is in ``from``, the actor holds one of the transition's roles, the
guard holds on the case fields, and every field in ``requires`` plus the target stage's
``required_fields`` is filled.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from services.common.rules.schema_base import Frozen, Id, Names, OneOrMany

Scalar = str | int | float | bool


class FieldType(StrEnum):
    text = "text"
    number = "number"
    choice = "choice"
    date = "date"
    person = "person"
    department = "department"
    bool = "bool"
    list = "list"
    actions = "actions"  # a list of {what, owner, due}: each action has an owner and a due date


EightD = Literal["D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"]


class CaseField(Frozen):
    id: Id
    type: FieldType
    names: Names | None = None
    choices: tuple[str, ...] | None = None
    eight_d: EightD | None = None  # the 8D discipline whose report shows this field

    @model_validator(mode="after")
    def _choices_for_choice(self) -> CaseField:
        if (self.type is FieldType.choice) != (self.choices is not None):
            raise ValueError("'choices' is required for type 'choice' and only allowed there")
        return self


class GuardTest(Frozen):
    """One test on a case field; all given operators must hold."""

    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: tuple[Scalar, ...] | None = Field(default=None, alias="in")
    not_in: tuple[Scalar, ...] | None = None
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None
    present: bool | None = None

    def values(self) -> tuple[Scalar, ...]:
        """Every literal the test compares with (for checking against a field's choices)."""
        out = [v for v in (self.eq, self.ne) if v is not None]
        return (*out, *(self.in_ or ()), *(self.not_in or ()))


# `guard: {responsibility: customer}` is shorthand for `{responsibility: {eq: customer}}`.
GuardValue = GuardTest | Scalar


class Stage(Frozen):
    id: Id
    names: Names
    actors: OneOrMany[Id] = Field(min_length=1)
    required_fields: tuple[Id, ...] = ()
    eight_d: tuple[EightD, ...] = ()
    terminal: bool = False
    description: str | None = None


class SignatureSpec(Frozen):
    """An electronic signature the transition needs (21 CFR 11.50/11.70): the signer
    re-authenticates at the desk and signs the case as it is, with this meaning. `fills`:
    a case field that takes the signer's person id (e.g. `approved_by`)."""

    meaning: Literal["approved", "rejected", "reviewed"]
    fills: Id | None = None


class Transition(Frozen):
    from_stage: Id = Field(alias="from")
    to: Id
    action: Id
    names: Names | None = None
    actors: OneOrMany[Id] | None = None  # None: the actors of the `from` stage
    guard: dict[str, GuardValue] = {}
    requires: tuple[Id, ...] = ()
    review_loop: bool = False  # a rejection that sends the answer back for re-analysis
    outcome: Id | None = None  # a non-quality outcome closing without a nonconformity
    reopen: bool = False  # recurrence: a closed case comes back
    signature: SignatureSpec | None = None  # who runs it signs (see SignatureSpec)


class ReviewLoop(Frozen):
    max_rounds: int = Field(ge=1)
    on_exceeded: Literal["escalate", "block"] = "escalate"
    notify: OneOrMany[Id] = ()


class VerificationGate(Frozen):
    """Closure needs these stages passed in order (internal check, then the customer)."""

    stages: tuple[Id, ...] = Field(min_length=1)
    closing_stages: tuple[Id, ...] = Field(min_length=1)
    ng_back_to: Id
    result_field: Id


class NonQualityOutcome(Frozen):
    id: Id
    names: Names
    closes_without_nonconformity: bool = True
    finance_booking: bool = False


class RecurrenceKey(StrEnum):
    customer = "customer"
    product_model = "product_model"
    product_spec = "product_spec"
    nature = "nature"
    category = "category"
    tags = "tags"


class Recurrence(Frozen):
    match_keys: tuple[RecurrenceKey, ...] = Field(min_length=1)
    window_months: int = Field(ge=1, le=120)
    action: Literal["reopen", "escalate"]
    reopen_stage: Id | None = None
    escalate_after: int = Field(default=2, ge=1)  # repeats in the window before escalating
    notify: OneOrMany[Id] = ()


class ProductFamily(Frozen):
    """Products whose model or spec matches one of `products` (shell-style patterns such as
    `BX-*`) and their service life in years."""

    id: Id
    names: Names | None = None
    products: tuple[str, ...] = Field(min_length=1)
    service_life_years: int = Field(ge=1, le=100)


class ServiceLife(Frozen):
    """The product's service life, for `records_retention_basis: service_life`."""

    years: int = Field(ge=1, le=100)  # every product no family names
    families: tuple[ProductFamily, ...] = ()

    @model_validator(mode="after")
    def _unique_families(self) -> ServiceLife:
        ids = [f.id for f in self.families]
        doubled = sorted({i for i in ids if ids.count(i) > 1})
        if doubled:
            raise ValueError(f"product family ids must be unique: {', '.join(doubled)}")
        return self


class Entries(Frozen):
    """Where cases that are not complaints start (default: `initial`)."""

    survey_action: Id | None = None  # a corrective action a satisfaction survey raised


class SurveyVerification(Frozen):
    """A survey action waiting in `stage` is verified by the customer's next survey result:
    the workflow takes `effective` when the new score no longer fires the action's trigger
    (a suggestion: when its band needs no improvement report), else `not_effective`."""

    stage: Id
    effective: Id  # an action (transition) out of `stage`
    not_effective: Id


CORRECTED = "corrected"  # the outcome of closing through the corrective-action path


class HistoryImport(Frozen):
    """Imported history rows (`qloop intake import`) may carry their `outcome` (one of
    `outcomes`, or `corrected`) and `closed_at`: the case opens closed in `closed_stage`."""

    closed_stage: Id


class Reply(Frozen):
    """The reply to the customer (a letter / 8D report, HTML and PDF): per language, a
    Jinja2 HTML template of the site, a path relative to the rule file (in its folder or
    below). A language without one gets qloop's default."""

    templates: dict[str, str] = {}


class Workflow(Frozen):
    initial: Id
    entry: Entries = Entries()
    survey_verification: SurveyVerification | None = None
    history_import: HistoryImport | None = None  # None: imported rows carry no outcome
    reply: Reply = Reply()  # the site's templates of the reply to the customer
    fields: tuple[CaseField, ...] = ()
    stages: tuple[Stage, ...] = Field(min_length=1)
    transitions: tuple[Transition, ...] = ()
    review_loop: ReviewLoop | None = None
    verification_gate: VerificationGate | None = None
    outcomes: tuple[NonQualityOutcome, ...] = ()
    recurrence: Recurrence | None = None
    late_reply_needs_consent: bool = True
    # Records retention (every service purges its own records by it, see docs/rules.md):
    # `closure` keeps a record `records_retention_years` after it was closed (the seeds: 5);
    # `service_life` keeps it for the product's service life plus `records_retention_years`
    # (IATF 16949's default: service life plus one year).
    records_retention_years: int = Field(default=5, ge=1, le=100)
    records_retention_basis: Literal["closure", "service_life"] = "closure"
    service_life: ServiceLife | None = None

    @model_validator(mode="after")
    def _service_life_given(self) -> Workflow:
        if self.records_retention_basis == "service_life" and self.service_life is None:
            raise ValueError(
                "records_retention_basis: service_life needs a service_life section "
                "(for example service_life: {years: 15})"
            )
        return self
