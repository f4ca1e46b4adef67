"""Contact details inside stored events: found for the right customer only, blanked so
that the event still parses with its registered schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.contracts import surveys
from services.common.contracts.registry import new_event, parse_event, to_json
from services.reporting.domain.privacy import complaint_products, contact_in, erase_contact
from tests.support.histories import registered

pytestmark = pytest.mark.unit

AT = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


def _stored(envelope: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(to_json(envelope))
    return parsed


def _dispatched(customer: str) -> dict[str, Any]:
    fact = surveys.SurveyDispatched(
        invitation_id="inv-1",
        campaign_id="camp-1",
        customer_id=customer,
        customer_name="Acme",
        contact_name="Li Lei",
        contact_email="li.lei@acme.example",
        language="en",
        link="http://survey.test/s/token",
        answer_due=AT,
        expires_at=AT,
    )
    return _stored(new_event(fact, site="sz", source="/qloop/survey", time=AT))


def test_a_registered_complaint_of_the_customer_is_blanked_and_still_parses() -> None:
    event = _stored(registered("sz", "SZ-2025-000001", AT, customer="C-1", model="BH-7"))
    assert contact_in(event, "C-2") is None
    assert contact_in(event, "C-1") == {
        "name": "Li Lei",
        "gender": "male",
        "phone": "+86 138 0013 8000",
        "email": "li.lei@acme.example",
        "department": "SQE",
        "position": "engineer",
    }
    assert erase_contact(event, "C-1") is True
    text = json.dumps(event)
    assert "li.lei@acme.example" not in text and "+86 138" not in text and "Li Lei" not in text
    reparsed = parse_event(text)
    assert reparsed.data.complaint.contact.email is None  # type: ignore[attr-defined]
    assert reparsed.data.complaint.customer.id == "C-1"  # type: ignore[attr-defined]
    assert erase_contact(event, "C-1") is False  # nothing left: erasing again changes nothing
    assert complaint_products(event) == ["BH-7"]


def test_a_dispatched_invitation_loses_its_contact_but_keeps_its_customer() -> None:
    event = _dispatched("C-1")
    assert erase_contact(event, "C-9") is False
    assert contact_in(event, "C-1") == {
        "contact_name": "Li Lei",
        "contact_email": "li.lei@acme.example",
    }
    assert erase_contact(event, "C-1") is True
    reparsed = parse_event(json.dumps(event))
    assert reparsed.data.contact_email is None  # type: ignore[attr-defined]
    assert reparsed.data.customer_id == "C-1"  # type: ignore[attr-defined]
    assert complaint_products(event) == []


def test_other_events_hold_no_contact() -> None:
    event = _dispatched("C-1")
    event["type"] = "survey.answered"
    assert contact_in(event, "C-1") is None and erase_contact(event, "C-1") is False
