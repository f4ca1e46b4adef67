from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.contracts.diagnostic import DiagnosticPing
from services.common.contracts.registry import new_event, parse_event
from services.common.storage.outbox import _messages, outbox_update
from services.common.storage.updates import merge

pytestmark = pytest.mark.unit


def test_merge_combines_operators() -> None:
    assert merge({"$set": {"a": 1}}, {"$set": {"b": 2}, "$inc": {"n": 1}}) == {
        "$set": {"a": 1, "b": 2},
        "$inc": {"n": 1},
    }


def test_merge_refuses_a_field_set_twice_and_non_operators() -> None:
    with pytest.raises(ValueError, match="twice"):
        merge({"$set": {"a": 1}}, {"$set": {"a": 2}})
    with pytest.raises(ValueError, match="not an update operator"):
        merge({"a": 1})


def test_outbox_update_keeps_each_event_in_wire_form_and_order() -> None:
    events = [
        new_event(
            DiagnosticPing(note=str(i), origin="t"), site="sz", source="/t", time=datetime.now(UTC)
        )
        for i in range(3)
    ]
    update = outbox_update(events)
    assert update["$inc"] == {"outbox_n": 3}
    document = {"_id": 1, "outbox": {k.split(".", 1)[1]: v for k, v in update["$set"].items()}}
    messages = _messages(document)
    assert [m.event_id for m in messages] == [str(e.id) for e in events]
    assert [parse_event(m.body).data for m in messages] == [e.data for e in events]
    assert {m.routing_key for m in messages} == {"sz.diagnostic.ping"}


def test_outbox_update_of_nothing_is_empty() -> None:
    assert outbox_update([]) == {}
