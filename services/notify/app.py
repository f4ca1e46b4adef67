"""Composition root of the notify service."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from services.common.clock import Clock
from services.common.messaging.topology import QueueSpec
from services.common.runtime import ServiceContext, ServiceDefinition, Wiring, create_service_app
from services.common.settings import ServiceSettings
from services.notify import events
from services.notify.api import router
from services.notify.directory import DeskDirectory
from services.notify.email import SmtpChannel
from services.notify.metrics import notify_metrics
from services.notify.sender import Sender
from services.notify.service import Notifier
from services.notify.settings import NotifySettings, notify_settings
from services.notify.store import MongoNotificationStore
from services.notify.tracking import MongoTracking
from services.notify.webhooks import Robot

NAME = "notify"
log = logging.getLogger(__name__)


def smtp_of(settings: NotifySettings) -> SmtpChannel:
    password = settings.notify_smtp_password
    return SmtpChannel(
        host=settings.notify_smtp_host,
        port=settings.notify_smtp_port,
        sender=settings.notify_smtp_sender,
        security=settings.notify_smtp_security,
        username=settings.notify_smtp_username,
        password=password.get_secret_value() if password else None,
    )


def robots_of(settings: NotifySettings) -> dict[str, list[Robot]]:
    return {
        site: [
            Robot(
                r.kind,
                r.url.get_secret_value(),
                r.secret.get_secret_value() if r.secret else None,
                r.id,
            )
            for r in robots
        ]
        for site, robots in settings.notify_robots.items()
    }


async def wire(ctx: ServiceContext) -> Wiring:
    settings = notify_settings(ctx.settings)
    key = settings.notify_desk_api_key
    if key is None:
        raise RuntimeError("QLOOP_NOTIFY_DESK_API_KEY is not set: the directory is read with it")
    store = MongoNotificationStore(ctx.db)
    directory = DeskDirectory(settings.notify_desk_url, key.get_secret_value())
    metrics = notify_metrics(ctx.registry)
    robots = robots_of(settings)
    notifier = Notifier(
        store, directory, ctx.rulebook, ctx.clock, metrics, settings.notify_desk_url,
        robots=robots, tracking=MongoTracking(ctx.db),
    )  # fmt: skip
    ctx.state["notifier"] = notifier
    ctx.state["store"] = store
    ctx.state["sender"] = Sender(
        store, directory, smtp_of(settings), ctx.clock, metrics, robots=robots
    )
    facts = QueueSpec(events.FACTS.name, events.FACTS.bindings, ctx.settings.delivery_limit)
    return {facts: events.handlers(notifier)}


async def send_forever(ctx: ServiceContext) -> None:
    sender: Sender = ctx.state["sender"]
    notifier: Notifier = ctx.state["notifier"]
    pause = notify_settings(ctx.settings).notify_send_seconds
    while True:
        # Apart: a failed judgement must not hold up sending, nor the reverse.
        for step in (notifier.judge_campaigns, sender.send_due):
            try:
                await step()
            except Exception:
                log.exception("%s failed; will retry", step.__name__)
        await asyncio.sleep(pause)


DEFINITION = ServiceDefinition(
    name=NAME, default_port=8086, routers=(router,), wire=wire, background=(send_forever,)
)


def preflight(settings: ServiceSettings) -> None:
    if notify_settings(settings).notify_desk_api_key is None:
        raise ValueError("QLOOP_NOTIFY_DESK_API_KEY is not set: the directory is read with it")


def create_app(settings: ServiceSettings, *, clock: Clock | None = None) -> FastAPI:
    return create_service_app(DEFINITION, notify_settings(settings), clock=clock)
