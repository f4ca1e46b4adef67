"""Composition root of the intake service."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from services.common import diagnostics, personal_data
from services.common.clock import Clock
from services.common.messaging.topology import QueueSpec
from services.common.runtime import (
    ServiceContext,
    ServiceDefinition,
    Wiring,
    create_service_app,
)
from services.common.settings import ServiceSettings
from services.intake import api, events, privacy, store
from services.intake.handlers import Intake
from services.intake.metrics import intake_metrics

NAME = "intake"
RECOVERY_SECONDS = 10.0
log = logging.getLogger(__name__)


async def wire(ctx: ServiceContext) -> Wiring:
    intake = Intake(
        store=store.MongoComplaintStore(ctx.db, ctx.locks, id_filters_only=ctx.id_filters_only),
        rulebook=ctx.rulebook,
        clock=ctx.clock,
        metrics=intake_metrics(ctx.registry),
        kick=ctx.relay.kick,
    )
    ctx.state["intake"] = intake
    diagnostics_queue = QueueSpec(
        f"{NAME}.events", ("*.diagnostic.ping",), ctx.settings.delivery_limit
    )
    submissions = QueueSpec(
        events.SUBMISSIONS.name, events.SUBMISSIONS.bindings, ctx.settings.delivery_limit
    )
    personal_data.install(ctx, privacy.IntakePersonalData(ctx.db, ctx.locks))
    erasures = personal_data.erasure_queue(
        NAME, ctx.settings.delivery_limit, "*.customer.erasure_completed"
    )
    return {
        diagnostics_queue: {"diagnostic.ping": diagnostics.store_ping(ctx)},
        submissions: {"complaint.submitted": events.on_submitted(intake)},
        erasures: {
            "customer.erasure_requested": personal_data.erasure_handler(ctx),
            "customer.erasure_completed": privacy.confirmation_handler(ctx),
        },
    }


async def recover_interrupted(ctx: ServiceContext) -> None:
    """Finish registrations that a crash interrupted (claimed number, no registration)."""
    intake: Intake = ctx.state["intake"]
    while True:
        try:
            finished = await intake.recover()
            if finished:
                log.warning("finished %d interrupted registration(s)", finished)
        except Exception:
            log.exception("recovery pass failed; will retry")
        await asyncio.sleep(RECOVERY_SECONDS)


DEFINITION = ServiceDefinition(
    name=NAME,
    default_port=8081,
    outbox_collections=(
        diagnostics.SENT,
        *store.OUTBOX_COLLECTIONS,
        personal_data.ERASURES,
        privacy.REQUESTS,
    ),
    small_outbox_collections=(diagnostics.SENT, personal_data.ERASURES, privacy.REQUESTS),
    indexes=store.INDEXES,
    routers=(diagnostics.router, api.router, personal_data.router, privacy.router),
    wire=wire,
    background=(recover_interrupted, personal_data.run_retention),
    exception_handlers={RequestValidationError: api.validation_failed},
)


def create_app(settings: ServiceSettings, *, clock: Clock | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings, clock=clock)
