"""Commands are data: requests that the domain carries out or refuses with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

RefusalCode = Literal[
    "wrong_stage",
    "guard_false",
    "missing_fields",
    "invalid_fields",
    "not_allowed",
    "closed",
    "consent_required",
    "extension_refused",
    "review_loop_exceeded",
    "conflict",
    "not_found",
    "signature_required",
    "signature_invalid",
]


class Refused(Exception):
    """A command the rules do not allow; `reason` says why and what to do."""

    def __init__(self, code: RefusalCode, reason: str, fields: list[str] | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.fields = fields or []


@dataclass(frozen=True)
class Signature:
    """A verified signature from the desk (its signature token checked by the caller)."""

    person_id: str
    name: str
    meaning: str
    case_id: str
    signed_hash: str
    signed_at: datetime
    token_id: str


@dataclass(frozen=True)
class ExecuteTransition:
    case_id: str
    action: str
    fields: dict[str, Any]
    actor: str
    roles: tuple[str, ...]
    reason: str | None = None
    expected_version: int | None = None
    signature: Signature | None = None


@dataclass(frozen=True)
class RecordFields:
    case_id: str
    fields: dict[str, Any]
    actor: str
    roles: tuple[str, ...]
    reason: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class CustomerConsent:
    given_by: str
    given_at: datetime
    channel: str
    reference: str | None = None


@dataclass(frozen=True)
class ExtendDeadline:
    case_id: str
    new_due: datetime
    consent: CustomerConsent | None
    actor: str
    roles: tuple[str, ...]
    reason: str | None = None


@dataclass(frozen=True)
class RecordDisposition:
    case_id: str
    disposition: str
    quantity: int
    actor: str
    roles: tuple[str, ...]
    reinspection: str | None = None
    claimed_amount: float | None = None
    agreed_compensation: float | None = None
    currency: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class CorrectiveActionRequest:
    """A corrective action raised outside a complaint (e.g. a survey trigger)."""

    action_id: str
    what: str
    why: str
    trigger: str
    owner_department: str | None
    due: datetime | None
    customer_id: str | None = None
    customer_name: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    raised_at: datetime | None = None
    due_provisional: bool = False
    subject: str | None = None  # what the trigger measured (an item id, `overall`, ...)
