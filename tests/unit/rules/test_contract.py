"""The complaint submission contract shared by intake and the rules engine."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from tests.unit.rules.factories import complaint

pytestmark = pytest.mark.unit


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        complaint(received_at=datetime(2025, 3, 4, 10, 0))


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        complaint(colour="red")


@pytest.mark.parametrize("ratio", [-0.1, 1.01])
def test_ratio_must_lie_in_unit_interval(ratio: float) -> None:
    with pytest.raises(ValidationError):
        complaint(defect_ratio=ratio)


def test_quantities_are_not_negative() -> None:
    with pytest.raises(ValidationError):
        complaint(defect_quantity=-1)
    with pytest.raises(ValidationError):
        complaint(products=[{"model": "X", "quantity": -5}])


def test_ratio_derived_from_defect_quantity_and_total() -> None:
    c = complaint(defect_quantity=30, products=[{"model": "A", "quantity": 400}, {"quantity": 200}])
    assert c.total_quantity == 600
    assert c.effective_defect_ratio == pytest.approx(0.05)
    assert complaint(defect_quantity=3, defect_ratio=0.5).effective_defect_ratio == 0.5
    assert complaint(defect_quantity=3).effective_defect_ratio is None


def test_channel_enum_and_money() -> None:
    c = complaint(channel="returned_goods", claimed_amount={"amount": "1200.50", "currency": "CNY"})
    assert c.channel == "returned_goods"
    assert str(c.claimed_amount.amount) == "1200.50" if c.claimed_amount else False
    with pytest.raises(ValidationError):
        complaint(channel="pigeon")
    with pytest.raises(ValidationError):
        complaint(claimed_amount={"amount": "1", "currency": "yuan"})
