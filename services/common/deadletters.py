"""Operator tools for dead-lettered messages: list, inspect, replay.

    qloop dlq list                      dead-letter queues and how many messages wait
    qloop dlq show QUEUE [--limit N]    each message: id, type, error, reason, fields, when
    qloop dlq replay QUEUE [--id ID ...|--all]
                                        send messages back to the queue they came from

Inspecting takes messages and returns them (nack with requeue), so nothing is lost;
replaying publishes the original body to the original queue with a confirm and only then
removes it from the dead-letter queue. Message bodies are not printed (they can carry
customer contact data) unless --body is given.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika

from services.common.messaging.consumer import SENDER_HEADER, user_of

DEAD_SUFFIX = ".dead"


@dataclass(frozen=True)
class DeadLetter:
    message_id: str | None
    event_type: str | None
    error: str | None
    reason: str | None
    fields: str | None
    queue: str
    dead_lettered_at: str | None
    deaths: int
    body: bytes


def _describe(message: aio_pika.abc.AbstractIncomingMessage, dead_queue: str) -> DeadLetter:
    headers: dict[str, Any] = dict(message.headers or {})
    event_type = message.type
    try:
        document = json.loads(message.body)
        if isinstance(document, dict) and isinstance(document.get("type"), str):
            event_type = document["type"]
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    deaths: list[dict[str, Any]] = list(headers.get("x-death") or [])
    reason = headers.get("x-qloop-reason")
    if reason is None and deaths:  # dead-lettered by RabbitMQ (delivery limit), not by us
        first = deaths[0]
        reason = f"{first.get('reason')} after {first.get('count')} deliveries"
    return DeadLetter(
        message_id=message.message_id,
        event_type=event_type,
        error=_text(headers.get("x-qloop-error")),
        reason=_text(reason),
        fields=_text(headers.get("x-qloop-fields")),
        queue=_text(headers.get("x-qloop-queue")) or dead_queue.removesuffix(DEAD_SUFFIX),
        dead_lettered_at=_text(headers.get("x-qloop-dead-lettered-at")),
        deaths=len(deaths),
        body=message.body,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


async def peek(amqp_url: str, dead_queue: str, limit: int = 100) -> list[DeadLetter]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(dead_queue)
        taken: list[aio_pika.abc.AbstractIncomingMessage] = []
        while len(taken) < limit and (message := await queue.get(fail=False)) is not None:
            taken.append(message)
        found = [_describe(m, dead_queue) for m in taken]
        for message in taken:
            await message.nack(requeue=True)
    return found


async def replay(
    amqp_url: str, dead_queue: str, *, ids: set[str] | None, limit: int = 10_000
) -> list[str]:
    """Replay the messages with these ids (all when `ids` is None); returns replayed ids."""
    replayed: list[str] = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.get_queue(dead_queue)
        keep: list[aio_pika.abc.AbstractIncomingMessage] = []
        for _ in range(limit):
            message = await queue.get(fail=False)
            if message is None:
                break
            if ids is not None and message.message_id not in ids:
                keep.append(message)
                continue
            letter = _describe(message, dead_queue)
            headers = {
                k: v
                for k, v in (message.headers or {}).items()
                if k == SENDER_HEADER
                or not k.startswith(
                    ("x-qloop-", "x-death", "x-delivery-count", "x-first-death", "x-last-death")
                )
            }
            headers["x-qloop-replayed-at"] = datetime.now(UTC).isoformat()
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body,
                    headers=headers,
                    message_id=message.message_id,
                    content_type=message.content_type,
                    type=message.type,
                    correlation_id=message.correlation_id,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    # The original sender (x-qloop-sender) is believed only on a copy
                    # the consuming service's own broker user published.
                    user_id=user_of(amqp_url),
                ),
                routing_key=letter.queue,
            )
            await message.ack()
            replayed.append(message.message_id or "")
        for message in keep:
            await message.nack(requeue=True)
    return replayed


def list_dead_queues(management_url: str) -> list[tuple[str, int]]:
    """Dead-letter queues and their depth, from RabbitMQ's management API."""
    parts = urllib.parse.urlsplit(management_url)
    request = urllib.request.Request(
        f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api/queues?columns=name,messages"
    )
    if parts.username:
        import base64

        token = base64.b64encode(f"{parts.username}:{parts.password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as reply:
        queues = json.loads(reply.read())
    return sorted(
        (q["name"], int(q.get("messages") or 0)) for q in queues if q["name"].endswith(DEAD_SUFFIX)
    )


def management_url_from(amqp_url: str) -> str:
    parts = urllib.parse.urlsplit(amqp_url)
    credentials = f"{parts.username or 'guest'}:{parts.password or 'guest'}@"
    scheme = "https" if parts.scheme == "amqps" else "http"
    return f"{scheme}://{credentials}{parts.hostname}:15672/"
