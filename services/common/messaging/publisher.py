"""Publishing events with publisher confirms (the call returns once the broker has them)."""

from __future__ import annotations

from faststream.rabbit import RabbitBroker
from pamqp.commands import Basic

from services.common.messaging.topology import events_exchange
from services.common.storage.outbox import OutgoingMessage


class PublishNotConfirmed(Exception):
    """The broker did not confirm the message: it may not be stored, so try again."""


class EventPublisher:
    def __init__(self, broker: RabbitBroker) -> None:
        self._broker = broker
        self._exchange = events_exchange()

    async def publish(self, message: OutgoingMessage) -> None:
        confirm = await self._broker.publish(
            message.body,
            exchange=self._exchange,
            routing_key=message.routing_key,
            persist=True,
            mandatory=False,
            message_id=message.event_id,
            correlation_id=message.correlation_id,
            message_type=message.event_type,
            content_type="application/json",
            timestamp=message.time,
        )
        # Only a Basic.Ack means the broker took responsibility for the message.
        if not isinstance(confirm, Basic.Ack):
            raise PublishNotConfirmed(f"{message.event_id}: {type(confirm).__name__}")
