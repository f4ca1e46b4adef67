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
START_UP_SCANS = 2  # on FerretDB: at start, and once the last process's claims are stale
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
    """Finish registrations that a crash interrupted (claimed number, no registration).

    On MongoDB every RECOVERY_SECONDS over the stale claims and unnumbered complaints
    (indexed reads). On FerretDB those reads scan every complaint and claim: half a
    minute each at 20,000 complaints under load, back to back, which starved the other
    consumers of the 20,000-complaint fault run. There they run twice after a start (the
    second once the claims of the process before are stale), and then only the
    registrations that failed in this process are finished, read by `_id`."""
    intake: Intake = ctx.state["intake"]
    scans = 0
    while True:
        try:
            if ctx.id_filters_only and scans >= START_UP_SCANS:
                finished = await intake.recover_known()
            else:
                finished = await intake.recover()
                scans += 1
            if finished:
                log.warning("finished %d interrupted registration(s)", finished)
        except Exception:
            log.exception("recovery pass failed; will retry")
        stale_soon = ctx.id_filters_only and scans == 1
        wait = store.STALE_AFTER.total_seconds() if stale_soon else 0.0
        await asyncio.sleep(RECOVERY_SECONDS + wait)


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
    marked_outbox=True,  # `qloop intake import` marks the complaints it registered
    indexes=store.INDEXES,
    routers=(diagnostics.router, api.router, personal_data.router, privacy.router),
    wire=wire,
    background=(recover_interrupted, personal_data.run_retention),
    exception_handlers={RequestValidationError: api.validation_failed},
)


def create_app(settings: ServiceSettings, *, clock: Clock | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings, clock=clock)
