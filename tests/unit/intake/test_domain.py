from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.common.contracts.complaint import ComplaintSubmission
from services.common.rules import load_rules
from services.intake import domain
from tests.support.calendars import calendar_block, write_site
from tests.support.complaints import complaint

pytestmark = pytest.mark.unit
RULES = Path(__file__).resolve().parents[3] / "rules"


@pytest.fixture(scope="module")
def sz():  # type: ignore[no-untyped-def]
    return load_rules(RULES / "abc-company.yaml")


@pytest.fixture(scope="module")
def nb():  # type: ignore[no-untyped-def]
    return load_rules(RULES / "qds-company.yaml")


def test_same_reference_from_same_source_is_the_same_complaint() -> None:
    assert domain.complaint_key("sz", "crm", "R-1") == domain.complaint_key("sz", "crm", "R-1")
    assert domain.complaint_key("sz", "crm", "R-1") != domain.complaint_key("sz", "erp", "R-1")
    assert domain.complaint_key("sz", "crm", None) != domain.complaint_key("sz", "crm", None)


def test_numbers_follow_the_site_format_in_local_time(sz, nb) -> None:  # type: ignore[no-untyped-def]
    # 31 Dec 17:00 UTC is already 1 January in Shanghai.
    new_year = datetime(2025, 12, 31, 17, 0, tzinfo=UTC)
    series = domain.number_series(sz, new_year)
    assert (series.year, series.month) == (2026, None)
    assert domain.format_number(sz, series, 7) == "SZ-2026-000007"
    monthly = domain.number_series(nb, new_year)
    assert domain.format_number(nb, monthly, 12) == "NB-202601-00012"
    assert monthly.counter_id == "nb|2026|1"


def test_registration_records_classification_deadlines_and_timeliness(sz) -> None:  # type: ignore[no-untyped-def]
    received = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
    submission = ComplaintSubmission.model_validate(
        complaint(received_at=received.isoformat(), description="批量退货 batch return")
    )
    registered_at = received + timedelta(hours=2)
    fact = domain.registration(
        submission,
        sz,
        series=domain.number_series(sz, registered_at),
        seq=1,
        source="crm",
        registered_at=registered_at,
    )
    assert fact.number == "SZ-2026-000001"
    assert fact.classification.category == "a"
    assert fact.classification.severity == "serious"
    assert "batch_return" in fact.classification.tags
    assert fact.rules_version == sz.rules_version
    assert fact.deadlines["acknowledge"] == received + timedelta(hours=24)
    # a: registered within 1 working day: Tuesday 09:00 local.
    assert fact.registration_due == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    assert fact.registration_on_time is True
    late = domain.registration(
        submission,
        sz,
        series=domain.number_series(sz, received),
        seq=2,
        source="crm",
        registered_at=received + timedelta(days=2),
    )
    assert late.registration_on_time is False


def test_a_deadline_beyond_the_calendar_is_registered_provisional(tmp_path: Path) -> None:
    # 3 working days from 31 Dec 2026 reach into 2027, which a CN calendar published
    # through 2026 does not cover: computed on the best calendar there is, marked so.
    sz = load_rules(write_site(tmp_path, calendar=calendar_block(last_year=2026)))
    received = datetime(2026, 12, 31, 2, 0, tzinfo=UTC)
    submission = ComplaintSubmission.model_validate(
        complaint(received_at=received.isoformat(), description="物流延误 logistics late"))
    fact = domain.registration(submission, sz, series=domain.number_series(sz, received),
                               seq=1, source="crm", registered_at=received)
    assert fact.deadlines["acknowledge"] == received + timedelta(hours=24)
    # Thu 31 Dec 10:00 local + 3 working days: 1 Jan is a holiday, 2-3 Jan a weekend.
    assert fact.deadlines["register"] == datetime(2027, 1, 6, 2, 0, tzinfo=UTC)
    assert fact.registration_due == fact.deadlines["register"]
    assert fact.provisional_deadlines == ("register",)
    assert fact.deadline_problems == ()
