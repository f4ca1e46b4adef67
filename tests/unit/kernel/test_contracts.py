from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.common.contracts.diagnostic import DiagnosticPing
from services.common.contracts.export import check
from services.common.contracts.registry import InvalidEvent, new_event, parse_event, to_json

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def _event(**overrides: object) -> dict[str, object]:
    shanghai = timezone(timedelta(hours=8))
    event = new_event(
        DiagnosticPing(note="n", origin="o"),
        site="sz",
        source="/t",
        time=datetime(2026, 3, 1, 8, 0, tzinfo=shanghai),
    )
    document = json.loads(to_json(event))
    document.update(overrides)
    return document


def test_envelope_uses_cloudevents_names_and_stores_utc() -> None:
    document = _event()
    assert set(document) == {
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "datacontenttype",
        "dataschema",
        "site",
        "correlationid",
        "data",
    }
    assert document["time"] == "2026-03-01T00:00:00Z"
    assert document["dataschema"] == "urn:qloop:event:diagnostic.ping:1"
    assert document["correlationid"] == document["id"]


def test_round_trip_gives_the_typed_payload() -> None:
    parsed = parse_event(json.dumps(_event()))
    assert isinstance(parsed.data, DiagnosticPing)
    assert parsed.routing_key == "sz.diagnostic.ping"
    assert parsed.schema_version == 1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{", "body is not JSON"),
        (b"[1]", "body is not a JSON object"),
        (json.dumps(_event(type="nope.event")).encode(), "unknown event type 'nope.event'"),
        (json.dumps(_event(site="Bad Site")).encode(), "site: String should match pattern"),
        (
            json.dumps(_event(time="2026-01-01T00:00:00")).encode(),
            "time: Input should have timezone",
        ),
        (json.dumps(_event(data={"note": "x"})).encode(), "data.origin: Field required"),
        (json.dumps(_event(extra=1)).encode(), "extra: Extra inputs are not permitted"),
        (json.dumps(_event(id="not-a-uuid")).encode(), "id: Input should be a valid UUID"),
    ],
)
def test_invalid_events_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    assert reason in caught.value.reason


def test_events_are_frozen() -> None:
    parsed = parse_event(json.dumps(_event()))
    with pytest.raises(ValidationError):
        parsed.data.note = "changed"  # type: ignore[misc]


def test_committed_json_schemas_match_the_code() -> None:
    assert check(ROOT / "docs" / "events") == []


def test_new_event_refuses_unregistered_models() -> None:
    from services.common.contracts.envelope import Contract

    class Unknown(Contract):
        x: int

    with pytest.raises(KeyError):
        new_event(
            Unknown(x=1), site="sz", source="/t", time=datetime.now(UTC), event_id=uuid.uuid4()
        )


@pytest.mark.parametrize("amount", ["1e400000", "1" * 40, "1000000000000001", "-1", "NaN"])
def test_money_beyond_any_claim_is_refused_with_its_field(amount: str) -> None:
    from services.common.contracts.complaint import Money

    with pytest.raises(ValidationError) as refused:
        Money(amount=amount, currency="CNY")  # type: ignore[arg-type]
    assert refused.value.errors()[0]["loc"] == ("amount",)


def test_money_of_a_real_claim_is_kept_exactly() -> None:
    from decimal import Decimal

    from services.common.contracts.complaint import Money

    assert Money(amount="125000.55", currency="CNY").amount == Decimal("125000.55")  # type: ignore[arg-type]
