"""Personal data requests: erasure of one customer's contact details, confirmed per service.

Contact details (names, e-mail addresses, phone numbers of a customer's contact persons)
are the personal data qloop holds; the customer itself (an organisation: id and name) is
not erased, so statistics and the case records stay whole. Every service that holds
contact details consumes `customer.erasure_requested`, erases its own copies (idempotently:
erasing twice changes nothing) and answers with one `customer.erasure_completed`.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from services.common.contracts.envelope import Contract
from services.common.contracts.registry import register

# The services that hold personal data and confirm an erasure (services/<name>/privacy.py).
PERSONAL_DATA_HOLDERS = ("intake", "workflow", "survey", "reporting")


@register(
    "customer.erasure_requested",
    1,
    "Erase the contact details of one customer of the site (names, e-mail addresses, "
    "phone numbers of its contact persons) from every service. The customer's id and name "
    "and the records themselves stay. Each service answers with customer.erasure_completed.",
)
class CustomerErasureRequested(Contract):
    request_id: str = Field(min_length=1, max_length=64)
    customer_id: str = Field(min_length=1)
    requested_by: str = Field(description="The API key name or operator who asked.")
    requested_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=500)


@register(
    "customer.erasure_completed",
    1,
    "One service erased its copies of a customer's contact details for a request (sent "
    "once per service and request; a repeated request erases nothing new).",
)
class CustomerErasureCompleted(Contract):
    request_id: str = Field(min_length=1, max_length=64)
    customer_id: str = Field(min_length=1)
    service: str
    erased: dict[str, int] = Field(
        default_factory=dict, description="Collection -> records whose contact details it erased."
    )
    completed_at: AwareDatetime
