"""A due time and the customer's own deadline (engine.with_customer_deadline), for stage
deadlines and clocks alike: `earlier` takes the customer's when it comes first, `later`
when it gives more time, `customer` always, `ignore` never; the customer's date is never
provisional."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.rules.durations import DueTime
from services.common.rules.engine import with_customer_deadline

pytestmark = pytest.mark.unit
COUNTED = DueTime(datetime(2027, 1, 6, 9, tzinfo=UTC), provisional=True)
SOONER, LATER = COUNTED.at - timedelta(days=1), COUNTED.at + timedelta(days=2)


@pytest.mark.parametrize(
    ("mode", "customer", "expected"),
    [
        ("earlier", SOONER, SOONER), ("earlier", LATER, COUNTED.at),
        ("later", SOONER, COUNTED.at), ("later", LATER, LATER),
        ("customer", SOONER, SOONER), ("customer", LATER, LATER),
        ("ignore", SOONER, COUNTED.at), ("later", None, COUNTED.at),
    ],
)  # fmt: skip
def test_the_customers_deadline_per_mode(
    mode: str, customer: datetime | None, expected: datetime
) -> None:
    chosen = with_customer_deadline(COUNTED, customer, mode)
    assert chosen.at == expected
    assert chosen.provisional == (expected == COUNTED.at)  # the customer's date is no estimate
