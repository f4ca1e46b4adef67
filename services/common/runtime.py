"""The composition every service shares: one FastAPI app whose lifespan connects the
database and the broker, declares queues, starts consumers and the outbox relay, and
serves /healthz, /readyz and /metrics. Nothing connects at import.

A service describes itself with a `ServiceDefinition`; its `wire` coroutine runs
inside the lifespan with a ready `ServiceContext` and returns its consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi_offline import FastAPIOffline
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from faststream.rabbit.schemas import Channel
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pymongo import AsyncMongoClient, IndexModel

from services.common.auth import KeyRing
from services.common.clock import Clock, SystemClock
from services.common.http import UniformRefusals, declare_refusals
from services.common.messaging.consumer import EventConsumer, Handler, user_of
from services.common.messaging.publisher import EventPublisher
from services.common.messaging.topology import QueueSpec, declare, events_exchange, rabbit_queue
from services.common.metrics import KernelMetrics, kernel_metrics
from services.common.rulebook import Rulebook
from services.common.settings import ServiceSettings
from services.common.storage.commands import CommandMetrics
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import (
    Database,
    Document,
    connect,
    ensure_indexes,
    is_ferretdb,
    ping,
)
from services.common.storage.outbox import OUTBOX_INDEX, OutboxRelay
from services.common.tokens import TokenVerifier, http_jwks

log = logging.getLogger(__name__)
STOP_JOB_SECONDS = 10.0


@dataclass
class ServiceContext:
    """What handlers and routes of one running service talk to."""

    name: str
    settings: ServiceSettings
    clock: Clock
    db: Database
    broker: RabbitBroker
    publisher: EventPublisher
    relay: OutboxRelay
    metrics: KernelMetrics
    locks: DocumentLocks
    rulebook: Rulebook
    state: dict[str, Any] = field(default_factory=dict)
    # The database uses no index for filters other than `{_id: ...}` (FerretDB 1.24): every
    # other query scans its collection, so periodic recovery scans are left to start-up.
    id_filters_only: bool = False
    # Verifies people's access tokens (None: the service accepts API keys only).
    tokens: TokenVerifier | None = None
    # The key file's systems: API keys and the broker users trusted to send commands.
    keyring: KeyRing = field(default_factory=KeyRing)

    @property
    def registry(self) -> CollectorRegistry:
        return self.metrics.registry


Wiring = Mapping[QueueSpec, Mapping[str, Handler]]


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    default_port: int
    outbox_collections: Sequence[str] = ()
    # Outbox collections that stay small (requests, confirmations): the relay's periodic
    # pass covers them even where a pass over the large ones is left to start-up (FerretDB).
    small_outbox_collections: Sequence[str] = ()
    # Other processes (a command-line import) write into the outbox collections and leave
    # marks (storage/outbox.py `leave_mark`): the relay reads them every poll.
    marked_outbox: bool = False
    indexes: Mapping[str, Sequence[IndexModel]] = field(default_factory=dict)
    routers: Sequence[APIRouter] = ()
    wire: Callable[[ServiceContext], Awaitable[Wiring]] | None = None
    background: Sequence[Callable[[ServiceContext], Coroutine[Any, Any, None]]] = ()
    # Run once at a graceful stop, after the consumers' handlers finished, before the
    # database client closes (each bounded by STOP_JOB_SECONDS; a failure is logged).
    at_stop: Sequence[Callable[[ServiceContext], Coroutine[Any, Any, None]]] = ()
    exception_handlers: Mapping[type[Exception], Any] = field(default_factory=dict)


def service_database(settings: ServiceSettings, service: str) -> str:
    return f"{settings.database}_{service}"


def context_of(request: Request) -> ServiceContext:
    """The running service's context."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def service_context(request: Request) -> ServiceContext:
    """FastAPI dependency: the running service's context. Dependencies are `async def`
    throughout: FastAPI runs a plain `def` one in a worker thread, on every request."""
    return context_of(request)


async def _connect_database(
    settings: ServiceSettings, name: str, registry: CollectorRegistry
) -> tuple[AsyncMongoClient[Document], Database, bool]:
    """The service's client and database, and whether the server is FerretDB."""
    listeners = [CommandMetrics(registry)]
    client = connect(settings.mongodb_url, app_name=f"qloop-{name}", listeners=listeners)
    # Each service owns its database: no service reads another's collections.
    db = client[service_database(settings, name)]
    for attempt in range(30):
        if await ping(db, timeout=15.0):
            break
        log.warning("database not reachable yet (attempt %d)", attempt + 1)
        await asyncio.sleep(1)
    else:
        await client.close()
        raise RuntimeError("database unreachable: check QLOOP_MONGODB_URL and that the server runs")
    ferretdb = await is_ferretdb(db)
    if ferretdb:
        await client.close()
        client = connect(
            settings.mongodb_url,
            app_name=f"qloop-{name}",
            listeners=listeners,
            retry_writes=False,
        )
        db = client[service_database(settings, name)]
    return client, db, ferretdb


async def _cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel the background tasks and wait until they ended, cancelling again those still
    running. On Python 3.11 a cancellation that arrives as an `asyncio.timeout` expires is
    taken for the timeout and lost (the relay waits in one every poll interval): a single
    cancel left the service's stop waiting for ever (seen in CI)."""
    pending = {t for t in tasks if not t.done()}
    for _ in range(100):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
    else:
        log.error("background tasks did not stop: %s", sorted(t.get_name() for t in pending))
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: reported by /readyz and the log while running


def _failed(task: asyncio.Task[Any]) -> bool:
    """Ended other than by finishing its work (some jobs run once at start)."""
    return task.done() and (task.cancelled() or task.exception() is not None)


def _report_stopped(task: asyncio.Task[Any]) -> None:
    """A background task ended while the service runs: say why (readyz turns red)."""
    if _failed(task):
        reason = "cancelled" if task.cancelled() else repr(task.exception())
        log.error("background task %s stopped: %s", task.get_name(), reason)


def closed_consumers(broker: RabbitBroker) -> list[str]:
    """Queues whose consumer channel is closed. aio-pika reopens a robust channel after a
    reconnect, but a reopening that fails (`ChannelInvalidStateError: No active transport
    in channel`, seen after two broker restarts in a row) leaves the connection up and the
    queue without a consumer: the service would look healthy and consume nothing."""
    closed = []
    for subscriber in broker.subscribers:
        queue = getattr(subscriber, "_queue_obj", None)  # FastStream's declared queue
        channel = getattr(queue, "channel", None)
        if channel is not None and channel.is_closed:
            closed.append(str(getattr(queue, "name", "?")))
    return sorted(closed)


def _subscribe(broker: RabbitBroker, consumer: EventConsumer) -> None:
    """Consume `consumer`'s queue: manual acks, at most QLOOP_PREFETCH unacknowledged
    deliveries (set on the broker's default channel, where the queue was declared)."""

    async def on_message(message: Any) -> None:
        await consumer.on_message(message)

    on_message.__name__ = f"consume_{consumer.spec.name.replace('.', '_')}"
    broker.subscriber(
        rabbit_queue(consumer.spec),
        events_exchange(),
        ack_policy=AckPolicy.MANUAL,
        decoder=_the_message,
    )(on_message)


async def _the_message(message: Any) -> Any:
    """The message itself as the handler's one argument, undecoded.

    No decoding by FastStream: `EventConsumer` parses the body and dead-letters what it
    cannot read. FastStream's own JSON decoding raised on a 5000-digit number or deep
    nesting before our consumer saw the message, which then stayed unacknowledged,
    holding a prefetch slot until a restart (found by tests/fuzz).
    And no `RabbitMessage` parameter: that is a `Context` field, whose synchronous
    resolver fast_depends runs in a worker thread for every message (a tenth of the
    workflow's CPU, and a thread hop on every delivery, in a profile on 2026-11-30)."""
    return message


def create_service_app(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    *,
    clock: Clock | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    clock = clock or SystemClock()
    # Imported here: rules_reload builds on this module (ServiceContext, context_of).
    from services.common import rules_reload

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics = kernel_metrics(registry)
        rulebook = Rulebook.load(settings.rules_dir)  # a bad rule file stops the start here
        client, db, ferretdb = await _connect_database(settings, definition.name, metrics.registry)
        indexes = {name: [OUTBOX_INDEX] for name in definition.outbox_collections}
        for name, models in definition.indexes.items():
            indexes.setdefault(name, []).extend(models)
        await ensure_indexes(db, indexes)
        broker = RabbitBroker(
            settings.amqp_url,
            logger=logging.getLogger("faststream"),
            graceful_timeout=15.0,
            # The prefetch limit goes on the broker's default channel: the queues are
            # declared there (topology.declare, before the subscribers start), FastStream
            # reuses those declared queues, and aio-pika consumes a queue on the channel
            # that declared it. A subscriber's own `Channel(prefetch_count=...)` left the
            # consumers unlimited (found 2026-11-30: a restarted reporting held 1,956
            # unacknowledged deliveries, all handled at once, and was not ready for a minute).
            default_channel=Channel(prefetch_count=settings.prefetch),
            middlewares=(
                RabbitPrometheusMiddleware(
                    registry=metrics.registry, app_name=f"qloop-{definition.name}"
                ),
            ),
        )
        await broker.connect()
        publisher = EventPublisher(broker)
        locks = DocumentLocks()
        id_filters_only = ferretdb  # FerretDB pushes down only `{_id: ...}` filters
        relay = OutboxRelay(
            db,
            definition.outbox_collections,
            publisher.publish,
            clock=clock,
            metrics=metrics,
            locks=locks,
            poll_seconds=settings.outbox_poll_seconds,
            scan_seconds=settings.recovery_scan_seconds,
            id_filters_only=id_filters_only,
            small=definition.small_outbox_collections,
            marked=definition.marked_outbox,
        )
        ctx = ServiceContext(
            definition.name,
            settings,
            clock,
            db,
            broker,
            publisher,
            relay,
            metrics,
            locks,
            rulebook,
            id_filters_only=id_filters_only,
        )
        ctx.tokens = app.state.tokens  # a test may have replaced it after create_app
        ctx.keyring = app.state.keyring
        app.state.ctx = ctx
        wiring = await definition.wire(ctx) if definition.wire else {}
        consumers: list[EventConsumer] = []
        for base, handlers in wiring.items():
            spec = dataclasses.replace(base, name=settings.queue_prefix + base.name)
            await declare(broker, spec)
            consumer = EventConsumer(
                spec,
                handlers,
                broker=broker,
                metrics=metrics,
                transient_retry_seconds=settings.transient_retry_seconds,
                broker_user=user_of(settings.amqp_url),
            )
            _subscribe(broker, consumer)
            consumers.append(consumer)
        await broker.start()
        tasks = [asyncio.create_task(relay.run(), name="outbox-relay")]
        tasks.append(asyncio.create_task(rules_reload.watch_rules(ctx), name="rules-watch"))
        tasks += [asyncio.create_task(job(ctx), name=job.__name__) for job in definition.background]
        for task in tasks:
            task.add_done_callback(_report_stopped)
        app.state.tasks = tasks
        log.info("service %s started", definition.name)
        try:
            yield
        finally:
            log.info("service %s stopping", definition.name)
            for task in tasks:
                task.remove_done_callback(_report_stopped)
            await _cancel_all(tasks)
            await broker.stop()
            # Handlers whose delivery was cancelled finish their writes (consumer.py).
            for consumer in consumers:
                if left := await consumer.drain(timeout=10.0):
                    log.warning("%d handlers of %s still running at stop", left, consumer.spec.name)
            for job in definition.at_stop:
                try:
                    await asyncio.wait_for(job(ctx), timeout=STOP_JOB_SECONDS)
                except Exception:
                    log.exception("%s at stop failed", job.__name__)
            await client.close()

    # /docs and /redoc from assets in the installed fastapi-offline, not a CDN: plants
    # often run without internet.
    app = FastAPIOffline(title=f"qloop {definition.name}", lifespan=lifespan)
    app.add_middleware(UniformRefusals)
    _declaring_refusals(app)
    app.state.registry = registry
    app.state.keyring = KeyRing.from_file(settings.api_keys_file)
    app.state.tokens = token_verifier(settings)
    for exception, handler in definition.exception_handlers.items():
        app.add_exception_handler(exception, handler)
    _add_operational_routes(app)
    app.include_router(rules_reload.router)
    for router in definition.routers:
        app.include_router(router)
    return app


def _declaring_refusals(app: FastAPI) -> None:
    """The OpenAPI document declares each route's refusals (`declare_refusals`), routes
    added after `create_service_app` returned included."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_refusals(generate(), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def token_verifier(settings: ServiceSettings) -> TokenVerifier | None:
    """The verifier of the desk's tokens, or None when no JWKS URL is configured."""
    if settings.token_jwks_url is None:
        return None
    return TokenVerifier(
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        fetch_jwks=http_jwks(settings.token_jwks_url),
    )


def _add_operational_routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request, response: Response) -> dict[str, Any]:
        ctx: ServiceContext | None = getattr(request.app.state, "ctx", None)
        if ctx is None:
            response.status_code = 503
            return {"status": "starting"}
        database = await ping(ctx.db, timeout=2.0)
        try:
            broker = bool(await ctx.broker.ping(timeout=2.0))
        except Exception:
            broker = False
        # A background task (outbox relay, scheduler, ...) that ended would fail silently:
        # the service is not ready, and an orchestrator restarts it.
        stopped = [t.get_name() for t in getattr(request.app.state, "tasks", ()) if _failed(t)]
        idle = closed_consumers(ctx.broker)
        ready = database and broker and not stopped and not idle
        response.status_code = 200 if ready else 503
        body: dict[str, Any] = {
            "status": "ready" if ready else "not ready",
            "database": database,
            "broker": broker,
        }
        if stopped:
            body["stopped"] = stopped
        if idle:
            body["consumers_closed"] = idle
        return body

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        ctx: ServiceContext | None = getattr(request.app.state, "ctx", None)
        if ctx is None:
            return Response(status_code=503)
        return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_LATEST)
