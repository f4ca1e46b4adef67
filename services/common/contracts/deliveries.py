"""Deliveries to customers, as other systems (ERP, WMS) report them.

The survey service uses them for eligibility (quantity and number of deliveries per
customer and period); reporting uses them for the on-time delivery rate.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from services.common.contracts.complaint import Quantity
from services.common.contracts.envelope import Contract
from services.common.contracts.registry import register


@register(
    "delivery.recorded",
    1,
    "One lot delivered to a customer. Eligibility for satisfaction surveys sums `quantity` and "
    "counts deliveries per customer and period. On-time delivery rate (reporting) = (lots due - "
    "late lots) / lots due x 100, where a lot is one event whose `due_on` lies in the period "
    "and a late lot is one of those with `late: true`; events without `due_on` are not counted. "
    "`delivery_id` makes a resent delivery idempotent (also against the CSV import of the "
    "survey service), else the event id does.",
)
class DeliveryRecorded(Contract):
    delivery_id: str | None = Field(default=None, max_length=200)
    customer_id: str = Field(min_length=1, max_length=200)
    customer_name: str = Field(min_length=1, max_length=500)
    delivered_on: date
    quantity: Quantity
    lot: str = Field(min_length=1, max_length=200)
    product_model: str | None = Field(default=None, max_length=200)
    due_on: date | None = Field(default=None, description="The date the lot was due.")
    late: bool | None = Field(
        default=None, description="Delivered after `due_on` (the sender decides; see above)."
    )
