"""Broker topology.

- One durable topic exchange for all events; routing key `<site>.<event type>`.
- Each service owns durable quorum queues bound to the patterns it needs.
- Each queue has a dead-letter queue `<queue>.dead`, reached through one direct
  dead-letter exchange keyed by the queue name: by RabbitMQ when a message exceeds
  the delivery limit (crash loops), and by our consumers, who publish refused
  messages there themselves with the reason in headers (RabbitMQ records only
  `x-death`, not why a handler refused a message).
"""

from __future__ import annotations

from dataclasses import dataclass

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import QuorumQueueArgs

EVENTS_EXCHANGE = "qloop.events"
DEAD_LETTER_EXCHANGE = "qloop.dead-letter"


@dataclass(frozen=True)
class QueueSpec:
    name: str
    bindings: tuple[str, ...]
    delivery_limit: int = 5
    # Types the bindings bring that this queue does not handle (another service does, and
    # refuses what is wrong with them): acked unread, so a bad one is dead-lettered once.
    ignored_types: tuple[str, ...] = ()

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dead"


def events_exchange() -> RabbitExchange:
    return RabbitExchange(EVENTS_EXCHANGE, type=ExchangeType.TOPIC, durable=True)


def dead_letter_exchange() -> RabbitExchange:
    return RabbitExchange(DEAD_LETTER_EXCHANGE, type=ExchangeType.DIRECT, durable=True)


def rabbit_queue(spec: QueueSpec) -> RabbitQueue:
    arguments: QuorumQueueArgs = {
        "x-delivery-limit": spec.delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": spec.name,
    }
    return RabbitQueue(
        spec.name,
        queue_type=QueueType.QUORUM,
        durable=True,
        arguments=arguments,
        routing_key=spec.bindings[0] if spec.bindings else spec.name,
    )


def dead_letter_queue(spec: QueueSpec) -> RabbitQueue:
    return RabbitQueue(spec.dead_letter_queue, queue_type=QueueType.QUORUM, durable=True)


async def declare(broker: RabbitBroker, spec: QueueSpec) -> None:
    """Declare exchanges, the queue, its dead-letter queue and every binding (idempotent)."""
    events = await broker.declare_exchange(events_exchange())
    dlx = await broker.declare_exchange(dead_letter_exchange())
    dead = await broker.declare_queue(dead_letter_queue(spec))
    await dead.bind(dlx, routing_key=spec.name)
    queue = await broker.declare_queue(rabbit_queue(spec))
    for pattern in spec.bindings:
        await queue.bind(events, routing_key=pattern)
