"""The consumer's ack / retry / dead-letter decisions, with fakes for the broker side."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from services.common.contracts.diagnostic import DiagnosticPing
from services.common.contracts.registry import new_event, to_json
from services.common.messaging.consumer import (
    SENDER_HEADER,
    EventConsumer,
    Rejected,
    sent_by,
    user_of,
)
from services.common.messaging.topology import QueueSpec
from services.common.metrics import kernel_metrics

pytestmark = pytest.mark.unit


class FakeMessage:
    def __init__(
        self, body: bytes, headers: dict[str, Any] | None = None, user_id: str | None = None
    ) -> None:
        self.body = body
        self.headers = headers or {}
        self.message_id = "m-1"
        self.user_id = user_id
        self.exchange, self.routing_key = "", "svc.events"  # straight to the queue
        self.decision: str | None = None

    async def ack(self) -> None:
        self.decision = "ack"

    async def nack(self) -> None:
        self.decision = "nack"


class FakeBroker:
    def __init__(self, fail: bool = False) -> None:
        self.published: list[dict[str, Any]] = []
        self.fail = fail

    async def publish(self, body: bytes, **kwargs: Any) -> None:
        if self.fail:
            raise ConnectionError("broker gone")
        self.published.append({"body": body, **kwargs})


def _consumer(
    handler: Any, broker: FakeBroker, limit: int = 3, user: str | None = None
) -> EventConsumer:
    spec = QueueSpec("svc.events", ("*.diagnostic.ping",), delivery_limit=limit)
    return EventConsumer(
        spec,
        {"diagnostic.ping": handler},
        broker=broker,  # type: ignore[arg-type]
        metrics=kernel_metrics(),
        transient_retry_seconds=0.5,
        broker_user=user,
    )


def _body() -> bytes:
    return to_json(
        new_event(
            DiagnosticPing(note="n", origin="o"), site="sz", source="/t", time=datetime.now(UTC)
        )
    )


async def _stored(envelope: Any) -> str:
    return "stored"


async def test_acks_after_the_handler_stored_the_effect() -> None:
    message = FakeMessage(_body())
    await _consumer(_stored, FakeBroker()).on_message(message)
    assert message.decision == "ack"


async def test_rejected_goes_to_dead_letter_with_reason_then_ack() -> None:
    async def refuse(envelope: Any) -> str:
        raise Rejected("wrong stage", ["data.stage"])

    broker, message = FakeBroker(), FakeMessage(_body())
    await _consumer(refuse, broker).on_message(message)
    assert message.decision == "ack"
    [dead] = broker.published
    assert dead["routing_key"] == "svc.events"
    assert dead["headers"]["x-qloop-reason"] == "wrong stage"
    assert dead["headers"]["x-qloop-fields"] == "data.stage"


async def test_a_failed_dead_letter_publish_requeues_instead_of_losing() -> None:
    broker, message = FakeBroker(fail=True), FakeMessage(b"garbage")
    await _consumer(_stored, broker).on_message(message)
    assert message.decision == "nack"


async def test_transient_errors_are_retried_in_place() -> None:
    calls = 0

    async def flaky(envelope: Any) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise AutoReconnect("db restarting")
        return "stored"

    message = FakeMessage(_body())
    await _consumer(flaky, FakeBroker()).on_message(message)
    assert (calls, message.decision) == (3, "ack")


async def test_a_long_outage_hands_the_message_back_without_spending_a_delivery() -> None:
    async def down(envelope: Any) -> str:
        raise AutoReconnect("db down")

    broker = FakeBroker()
    message = FakeMessage(_body(), {"x-delivery-count": 2, "x-trace": "t"})
    await _consumer(down, broker, limit=3).on_message(message)
    # On its last allowed delivery, yet neither dead-lettered nor nacked (a nack counts on
    # a quorum queue): a fresh copy goes back to the same queue, the original is acked.
    assert message.decision == "ack"
    [copy] = broker.published
    assert copy["routing_key"] == "svc.events" and "exchange" not in copy
    assert copy["headers"] == {"x-trace": "t"}


async def test_the_sender_is_the_user_id_and_survives_the_copies_the_consumer_makes() -> None:
    senders: list[str | None] = []

    async def down(envelope: Any) -> str:
        senders.append(sent_by.get())
        raise AutoReconnect("db down")

    broker = FakeBroker()
    # A header claiming a sender is believed only on a copy the service's own user sent.
    forged = {SENDER_HEADER: "erp-sz"}
    await _consumer(down, broker, user="qloop-wf").on_message(
        FakeMessage(_body(), forged, user_id="crm-nb")
    )
    assert senders[-1] == "crm-nb"
    [copy] = broker.published  # handed back: published by the service's own user
    assert copy["user_id"] == "qloop-wf" and copy["headers"][SENDER_HEADER] == "crm-nb"
    handed_back = FakeMessage(_body(), copy["headers"], user_id="qloop-wf")
    await _consumer(down, broker, user="qloop-wf").on_message(handed_back)
    assert senders[-1] == "crm-nb"
    await _consumer(down, FakeBroker(), user="qloop-wf").on_message(FakeMessage(_body(), forged))
    assert senders[-1] is None  # no user_id: nobody's, whatever the headers say


async def test_a_dead_letter_names_the_sender() -> None:
    async def refuse(envelope: Any) -> str:
        raise Rejected("untrusted")

    broker = FakeBroker()
    message = FakeMessage(_body(), user_id="erp-sz")
    await _consumer(refuse, broker, user="qloop-wf").on_message(message)
    [letter] = broker.published
    assert letter["headers"][SENDER_HEADER] == "erp-sz" and letter["user_id"] == "qloop-wf"


async def test_an_event_under_another_sites_routing_key_is_dead_lettered() -> None:
    handled: list[Any] = []

    async def store(envelope: Any) -> str:
        handled.append(envelope)
        return "stored"

    broker = FakeBroker()
    # A system allowed only `nb.*` keys sends an event of site sz under one of them.
    message = FakeMessage(_body())
    message.exchange, message.routing_key = "qloop.events", "nb.diagnostic.ping"
    await _consumer(store, broker).on_message(message)
    [letter] = broker.published
    assert letter["headers"]["x-qloop-error"] == "invalid" and not handled
    assert "'nb.diagnostic.ping' is not the event's own 'sz.diagnostic.ping'" in str(
        letter["headers"]["x-qloop-reason"]
    )
    message.routing_key = "sz.diagnostic.ping"
    await _consumer(store, broker).on_message(message)
    assert len(handled) == 1


def test_the_user_a_connection_authenticates_as() -> None:
    assert user_of("amqp://qloop-wf:pw@rabbit:5672/qloop") == "qloop-wf"
    assert user_of("amqp://erp%40sz:pw@rabbit/") == "erp@sz"
    assert user_of("amqp://rabbit/") == "guest"
    assert user_of("amqps://rabbit/?auth=EXTERNAL") is None


async def test_bugs_are_requeued_until_the_last_allowed_delivery() -> None:
    async def bug(envelope: Any) -> str:
        raise KeyError("oops")

    broker = FakeBroker()
    early = FakeMessage(_body(), {"x-delivery-count": 0})
    await _consumer(bug, broker).on_message(early)
    assert early.decision == "nack" and broker.published == []
    last = FakeMessage(_body(), {"x-delivery-count": 2})
    await _consumer(bug, broker).on_message(last)
    assert last.decision == "ack"
    assert broker.published[0]["headers"]["x-qloop-error"] == "failed"
    assert "KeyError" in broker.published[0]["headers"]["x-qloop-reason"]
