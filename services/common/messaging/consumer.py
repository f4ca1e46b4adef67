"""Consumers: parse at the edge, call a typed handler, then ack, retry or dead-letter.

- Malformed or unknown messages, and commands a handler refuses (`Rejected`), go to
  the queue's dead-letter queue with the reason in headers; the original is acked
  only after the dead-letter publish is confirmed.
- Transient storage errors are retried in place with backoff (an outage does not
  burn the message's delivery count), then handed back to the broker.
- Any other error is requeued; on the last delivery allowed by the queue's limit the
  message is dead-lettered with the error instead, so the reason is never lost.
- A message is acked only after its handler returned, i.e. after its effect is stored.
- The handler can ask who published the message (`sent_by`): the broker user RabbitMQ
  checked it against. A copy the consumer publishes itself (handed back, dead-lettered)
  keeps that name in `x-qloop-sender`, believed only on a copy its own user published.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from faststream.rabbit import RabbitBroker
from pydantic import BaseModel

from services.common.contracts.envelope import Envelope
from services.common.contracts.registry import InvalidEvent, event_type_of, parse_message
from services.common.crashpoints import crashpoint
from services.common.logs import correlation_id
from services.common.messaging.topology import EVENTS_EXCHANGE, QueueSpec, dead_letter_exchange
from services.common.metrics import KernelMetrics
from services.common.storage.mongo import is_transient

log = logging.getLogger(__name__)

Outcome = Literal["stored", "duplicate"]
Handler = Callable[[Envelope[BaseModel]], Awaitable[Outcome]]
SENDER_HEADER = "x-qloop-sender"
# The broker user that published the message being handled (None: it names none).
sent_by: ContextVar[str | None] = ContextVar("sent_by", default=None)


class Rejected(Exception):
    """A handler's permanent refusal: the message is dead-lettered with this reason."""

    def __init__(self, reason: str, fields: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = fields or []


class IncomingMessage(Protocol):
    @property
    def body(self) -> bytes: ...

    @property
    def headers(self) -> Any: ...

    @property
    def message_id(self) -> str | None: ...

    async def ack(self) -> None: ...

    async def nack(self) -> None: ...


class EventConsumer:
    def __init__(
        self,
        spec: QueueSpec,
        handlers: Mapping[str, Handler],
        *,
        broker: RabbitBroker,
        metrics: KernelMetrics,
        transient_retry_seconds: float = 30.0,
        broker_user: str | None = None,
    ) -> None:
        self.spec = spec
        # This service's own broker user: the copies it publishes carry it as `user_id`.
        self._own_user = broker_user
        self._handlers = dict(handlers)
        self._broker = broker
        self._metrics = metrics
        self._retry_seconds = transient_retry_seconds
        self._dlx = dead_letter_exchange()
        self._running: set[asyncio.Task[Outcome]] = set()

    async def on_message(self, message: IncomingMessage) -> None:
        try:
            envelope = parse_message(message.body, message.headers, _content_type(message))
        except InvalidEvent as exc:
            if event_type_of(message.body, message.headers) in self.spec.ignored_types:
                await message.ack()  # not ours to judge: its own consumer refuses it
                return
            await self._dead_letter(message, "invalid", exc.reason, exc.fields)
            return
        handler = self._handlers.get(envelope.type)
        if handler is None and envelope.type in self.spec.ignored_types:
            await message.ack()
            return
        if handler is None:
            await self._dead_letter(message, "unhandled", f"no handler for {envelope.type}", [])
            return
        if (misrouted := _misrouted(message, envelope)) is not None:
            await self._dead_letter(message, "invalid", misrouted, ["site", "type"])
            return
        token = correlation_id.set(envelope.correlationid)
        sender = sent_by.set(sender_of(message, self._own_user))
        try:
            await self._handle(message, envelope, handler)
        finally:
            sent_by.reset(sender)
            correlation_id.reset(token)

    async def _handle(
        self, message: IncomingMessage, envelope: Envelope[BaseModel], handler: Handler
    ) -> None:
        started = time.perf_counter()
        where = f"{self.spec.name} {envelope.type} {envelope.subject}"  # for crash tests
        crashpoint("consumer.before_handler", where)
        try:
            outcome = await self._shielded(handler, envelope)
        except Rejected as exc:
            await self._dead_letter(message, "rejected", exc.reason, exc.fields)
            return
        except Exception as exc:
            await self._failed(message, envelope, exc)
            return
        crashpoint("consumer.before_ack", where)
        await message.ack()
        crashpoint("consumer.after_ack", where)
        self._metrics.handle_seconds.labels(self.spec.name).observe(time.perf_counter() - started)
        counter = (
            self._metrics.events_consumed if outcome == "stored" else self._metrics.events_duplicate
        )
        counter.labels(self.spec.name, envelope.type).inc()

    async def _shielded(self, handler: Handler, envelope: Envelope[BaseModel]) -> Outcome:
        """Run the handler in a task of its own that a cancellation of this one does not reach.

        aiormq cancels the handlers of a channel whose connection closes, and it can cancel
        one twice. A second cancellation that lands while PyMongo's async server selection
        waits for the database (Python 3.11's `wait_for`) leaves the client's topology lock
        held by a task that is gone: every later operation of the service waits for it and
        fails, until a restart (reproduced in 20 of 30 tries; tests/integration/
        test_consumer_cancellation.py). Shielded, the handler finishes its write; the ack
        then fails on the closed channel and the message comes again, found done."""
        task = asyncio.ensure_future(self._with_retries(handler, envelope))
        self._running.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Task[Outcome]) -> None:
        self._running.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            # Seen by `_handle` unless its own task was cancelled meanwhile: the message is
            # not acked and comes again.
            log.debug("handler ended after its delivery was cancelled: %r", error)

    async def drain(self, timeout: float) -> int:
        """Wait up to `timeout` s for handlers still running after their delivery was
        cancelled (the service stops: their writes finish before the database client
        closes). Returns how many were still running then."""
        if not self._running:
            return 0
        _, pending = await asyncio.wait(set(self._running), timeout=timeout)
        return len(pending)

    async def _with_retries(self, handler: Handler, envelope: Envelope[BaseModel]) -> Outcome:
        deadline = time.monotonic() + self._retry_seconds
        delay = 0.1
        while True:
            try:
                return await handler(envelope)
            except Exception as exc:
                if not is_transient(exc) or time.monotonic() + delay > deadline:
                    raise
                self._metrics.consume_retries.labels(self.spec.name).inc()
                log.warning(
                    "transient error, retrying in %.1fs: %s",
                    delay,
                    type(exc).__name__,
                    extra={"event_id": str(envelope.id), "queue": self.spec.name},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _failed(
        self, message: IncomingMessage, envelope: Envelope[BaseModel], exc: Exception
    ) -> None:
        previous = _delivery_count(message)
        if is_transient(exc):
            await self._hand_back(message)
            return
        if previous + 1 >= self.spec.delivery_limit:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            await self._dead_letter(message, "failed", reason, [])
            return
        log.error(
            "handler failed (delivery %d of %d), requeued",
            previous + 1,
            self.spec.delivery_limit,
            exc_info=not is_transient(exc),
            extra={"event_id": str(envelope.id), "queue": self.spec.name},
        )
        await message.nack()

    async def _hand_back(self, message: IncomingMessage) -> None:
        """The database is still out after the retry window: put the message back at the
        end of its queue as a fresh copy, then ack the original. A nack would spend a
        delivery: quorum queues count every return, so an outage longer than
        `delivery_limit` windows dead-lettered healthy messages (found by
        tests/reliability/test_infra_faults.py). Consumers are idempotent, so a copy
        published twice (a crash between publish and ack) has one effect."""
        headers = {
            k: v
            for k, v in (message.headers or {}).items()
            if k not in ("x-delivery-count", "x-death")
        }
        try:
            await self._broker.publish(
                message.body,
                routing_key=self.spec.name,
                headers=self._with_sender(message, headers),
                persist=True,
                message_id=message.message_id,
                content_type=_content_type(message),
                user_id=self._own_user,
            )
        except Exception:
            log.error("handing back failed; message requeued", extra={"queue": self.spec.name})
            await message.nack()
            return
        await message.ack()
        log.warning("database unreachable; message handed back", extra={"queue": self.spec.name})

    async def _dead_letter(
        self, message: IncomingMessage, category: str, reason: str, fields: list[str]
    ) -> None:
        headers = dict(message.headers or {})
        headers.update(
            {
                "x-qloop-error": category,
                "x-qloop-reason": reason[:1000],
                "x-qloop-fields": ",".join(fields)[:1000],
                "x-qloop-queue": self.spec.name,
                "x-qloop-dead-lettered-at": datetime.now(UTC).isoformat(),
            }
        )
        try:
            await self._broker.publish(
                message.body,
                exchange=self._dlx,
                routing_key=self.spec.name,
                headers=self._with_sender(message, headers),
                persist=True,
                mandatory=False,
                message_id=message.message_id,
                content_type=_content_type(message),
                user_id=self._own_user,
            )
        except Exception:
            log.error(
                "dead-letter publish failed; message requeued",
                exc_info=True,
                extra={"queue": self.spec.name},
            )
            await message.nack()
            return
        await message.ack()
        self._metrics.events_dead_lettered.labels(self.spec.name, category).inc()
        log.warning(
            "dead-lettered: %s", reason[:300], extra={"queue": self.spec.name, "reason": category}
        )

    def _with_sender(self, message: IncomingMessage, headers: dict[str, Any]) -> dict[str, Any]:
        """`headers` naming the message's sender, which the copy's `user_id` (this
        service's user) would no longer say; a name the message claimed is dropped."""
        headers = {k: v for k, v in headers.items() if k != SENDER_HEADER}
        sender = sender_of(message, self._own_user)
        if sender is not None and self._own_user is not None:
            headers[SENDER_HEADER] = sender
        return headers


def sender_of(message: IncomingMessage, own_user: str | None) -> str | None:
    """The broker user that published `message`: its `user_id`, which RabbitMQ checked
    against the publishing connection's user. On a copy this service's own user published
    (handed back, replayed with its credentials) the original sender is in the header."""
    raw = getattr(message, "raw_message", message)  # FastStream wraps aio-pika's message
    user = getattr(raw, "user_id", None)
    if not isinstance(user, str) or not user:
        return None
    if user == own_user:
        claimed = (message.headers or {}).get(SENDER_HEADER)
        if isinstance(claimed, str) and claimed:
            return claimed
    return user


def _misrouted(message: IncomingMessage, envelope: Envelope[BaseModel]) -> str | None:
    """Why a message that came through `qloop.events` is not the event its routing key
    says, if it is not. RabbitMQ grants a system its sites by routing key (topic
    permissions): an event of another site under a key of its own would slip past them."""
    raw = getattr(message, "raw_message", message)
    key = getattr(raw, "routing_key", None)
    if getattr(raw, "exchange", None) != EVENTS_EXCHANGE or key == envelope.routing_key:
        return None
    return (
        f"routing key {key!r} is not the event's own {envelope.routing_key!r} "
        "(<site>.<type>): an event travels under its own site and type"
    )


def user_of(amqp_url: str) -> str | None:
    """The broker user a connection to `amqp_url` authenticates as (None: a certificate
    names it, which the URL does not say)."""
    parts = urllib.parse.urlsplit(amqp_url)
    if "auth=external" in parts.query.lower():
        return None
    return urllib.parse.unquote(parts.username) if parts.username else "guest"


def _content_type(message: IncomingMessage) -> str | None:
    """The message's content type (a binary-mode event's data type), kept on every copy."""
    value = getattr(message, "content_type", None)
    return value if isinstance(value, str) and value else None


def _delivery_count(message: IncomingMessage) -> int:
    """How many times this message was delivered before (quorum queues count it)."""
    value = (message.headers or {}).get("x-delivery-count", 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
