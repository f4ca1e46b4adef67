"""A history row's registration: its times count from its receipt, not from the import."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.common.contracts.complaint import ComplaintSubmission
from services.common.rules import load_rules
from services.intake import domain
from tests.support.complaints import complaint

pytestmark = pytest.mark.unit
RULES = Path(__file__).resolve().parents[3] / "rules"
RECEIVED = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
IMPORTED_AT = RECEIVED + timedelta(days=600)


def _registration(rules_file: str, *, imported: bool):  # type: ignore[no-untyped-def]
    rules = load_rules(RULES / rules_file)
    body = complaint(site=rules.site.id, received_at=RECEIVED.isoformat())
    return domain.registration(
        ComplaintSubmission.model_validate(body),
        rules,
        series=domain.number_series(rules, IMPORTED_AT),
        seq=1,
        source="legacy",
        registered_at=IMPORTED_AT,
        imported=imported,
    )


def test_registration_on_time_is_judged_against_the_receipt() -> None:
    live = _registration("abc-company.yaml", imported=False)
    history = _registration("abc-company.yaml", imported=True)
    assert live.registration_on_time is False  # 600 days after the receipt
    assert history.registration_on_time is True
    assert history.imported and not live.imported
    assert history.registered_at == IMPORTED_AT  # when qloop registered it stays true


def test_deadlines_counted_from_registration_count_from_the_receipt() -> None:
    history = _registration("default.yaml", imported=True)
    assert history.deadlines["investigate"] == RECEIVED + timedelta(hours=48)
    live = _registration("default.yaml", imported=False)
    assert live.deadlines["investigate"] == IMPORTED_AT + timedelta(hours=48)
