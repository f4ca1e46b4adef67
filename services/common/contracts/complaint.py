"""The complaint as submitted: shared by intake (which validates and registers it) and the
rules engine (which classifies and routes it).

Times are timezone-aware; quantities are non-negative; ratios lie in [0, 1]. Contact data is
personal: never log a ``Contact``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be a timezone-aware time (for example 2025-03-01T09:30:00+08:00)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
# The database stores integers in 8 bytes: a larger quantity is refused at the edge.
MAX_QUANTITY = 2**63 - 1
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
Ratio = Annotated[float, Field(ge=0.0, le=1.0)]


class Channel(StrEnum):
    letter = "letter"
    fax = "fax"
    mail = "mail"
    email = "email"
    phone = "phone"
    visit = "visit"
    online_form = "online_form"
    returned_goods = "returned_goods"
    claim = "claim"
    other_system = "other_system"


class RequestedKind(StrEnum):
    """What the customer says they want; the rules decide the actual kind."""

    appeal = "appeal"
    claim = "claim"
    return_goods = "return"
    rework = "rework"
    replacement = "replacement"
    credit = "credit"
    explanation = "explanation"
    improvement = "improvement"


class CustomerSeverity(StrEnum):
    general = "general"
    serious = "serious"


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Customer(_Contract):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)


class Contact(_Contract):
    name: str | None = None
    gender: str | None = None
    phone: str | None = None
    email: str | None = None
    department: str | None = None
    position: str | None = None


class Product(_Contract):
    spec: str | None = None
    model: str | None = None
    quantity: Quantity | None = None
    serial_numbers: tuple[str, ...] = ()
    lot_numbers: tuple[str, ...] = ()
    order_number: str | None = None
    ship_date: date | None = None


class Attachment(_Contract):
    """A reference to a stored file: never the bytes themselves."""

    url_or_key: str = Field(min_length=1)
    content_type: str
    size: Quantity
    checksum: str | None = None


# Bounds a claim can never reach, so that `1e400000` or a 10,000-digit amount is refused
# with its field path instead of being carried into reports.
MAX_AMOUNT = Decimal(10) ** 15


class Money(_Contract):
    amount: Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, max_digits=30)]
    currency: str = Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")


class ComplaintSubmission(_Contract):
    site: str = Field(min_length=1)
    channel: Channel
    kind_requested: RequestedKind | None = None
    customer: Customer
    contact: Contact = Contact()
    products: tuple[Product, ...] = ()
    description: str = Field(min_length=1)
    phenomenon: str | None = None
    defect_quantity: Quantity | None = None
    defect_ratio: Ratio | None = None
    impact_at_customer: str | None = None
    customer_severity: CustomerSeverity | None = None
    attachments: tuple[Attachment, ...] = ()
    samples_requested: bool = False
    customer_deadline: AwareDatetime | None = None
    external_ref: str | None = None
    source: str | None = None
    received_at: AwareDatetime
    received_by: str | None = None
    received_department: str | None = None
    claimed_amount: Money | None = None

    @property
    def total_quantity(self) -> int | None:
        """Sum of the product quantities, or None when no product states one."""
        quantities = [p.quantity for p in self.products if p.quantity is not None]
        return sum(quantities) if quantities else None

    @property
    def effective_defect_ratio(self) -> float | None:
        """The stated ratio, else defect quantity / total quantity (capped at 1)."""
        if self.defect_ratio is not None:
            return self.defect_ratio
        total = self.total_quantity
        if self.defect_quantity is None or not total:
            return None
        return min(1.0, self.defect_quantity / total)
