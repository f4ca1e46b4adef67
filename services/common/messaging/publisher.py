"""Publishing events with publisher confirms (the call returns once the broker has them)."""

from __future__ import annotations

import asyncio

from faststream.rabbit import RabbitBroker
from pamqp.commands import Basic

from services.common.contracts.registry import STRUCTURED
from services.common.messaging.topology import events_exchange
from services.common.storage.outbox import OutgoingMessage, PublishFailed

PUBLISH_TIMEOUT_SECONDS = 30.0


class PublishNotConfirmed(PublishFailed):
    """The broker did not confirm the message: it may not be stored, so try again."""


class EventPublisher:
    def __init__(self, broker: RabbitBroker, *, timeout: float = PUBLISH_TIMEOUT_SECONDS) -> None:
        self._broker = broker
        self._exchange = events_exchange()
        self._timeout = timeout

    async def publish(self, message: OutgoingMessage) -> None:
        """Return once the broker confirmed `message`; else raise PublishFailed, whatever
        the client library raised (a closed channel, a lost connection, no answer within
        the timeout, or a CancelledError it sets on pending confirmations when the
        connection closes, which must not end the caller's task)."""
        try:
            async with asyncio.timeout(self._timeout):
                confirm = await self._broker.publish(
                    message.body,
                    exchange=self._exchange,
                    routing_key=message.routing_key,
                    persist=True,
                    mandatory=False,
                    message_id=message.event_id,
                    correlation_id=message.correlation_id,
                    message_type=message.event_type,
                    content_type=STRUCTURED,
                    timestamp=message.time,
                )
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this task is being cancelled (the service stops)
            raise PublishFailed(f"{message.event_id}: publish cancelled by the client") from exc
        except TimeoutError as exc:
            raise PublishFailed(f"{message.event_id}: no confirm in {self._timeout:g}s") from exc
        except Exception as exc:
            raise PublishFailed(f"{message.event_id}: {type(exc).__name__}: {exc}") from exc
        # Only a Basic.Ack means the broker took responsibility for the message.
        if not isinstance(confirm, Basic.Ack):
            raise PublishNotConfirmed(f"{message.event_id}: {type(confirm).__name__}")
