"""Composition root of the workflow service."""

from __future__ import annotations

import dataclasses

from fastapi import FastAPI

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
from services.common.storage.outbox import OutboxRelay
from services.workflow import api, attachments_api, events, privacy, store
from services.workflow.attachments import Attachments
from services.workflow.handlers import CaseService
from services.workflow.metrics import workflow_metrics
from services.workflow.scheduler import (
    run_calendar_watch,
    run_catch_up,
    run_gauges,
    run_scheduler,
)
from services.workflow.store_attachments import MongoAttachmentStore
from services.workflow.store_mongo import MongoCaseStore

NAME = "workflow"


async def wire(ctx: ServiceContext) -> Wiring:
    case_store = MongoCaseStore(ctx.db, ctx.locks, id_filters_only=ctx.id_filters_only)
    await case_store.index_recurrence()
    await case_store.worklists.list_all()
    service = CaseService(
        store=case_store,
        rulebook=ctx.rulebook,
        clock=ctx.clock,
        metrics=workflow_metrics(ctx.registry),
        kick=ctx.relay.kick,
    )
    fired_relay = OutboxRelay(
        ctx.db,
        [store.FIRED],
        ctx.publisher.publish,
        clock=ctx.clock,
        metrics=ctx.metrics,
        locks=ctx.locks,
        poll_seconds=ctx.settings.outbox_poll_seconds,
        scan_seconds=ctx.settings.recovery_scan_seconds,
        id_filters_only=ctx.id_filters_only,
    )
    service.kick_fired = fired_relay.kick
    ctx.state["cases"] = service
    ctx.state["attachments"] = Attachments(
        store=MongoAttachmentStore(ctx.db, ctx.locks),
        clock=ctx.clock,
        max_bytes=ctx.settings.attachment_max_bytes,
        types=ctx.settings.attachment_types,
        metrics=service.metrics,
    )
    ctx.state["fired_relay"] = fired_relay
    limit = ctx.settings.delivery_limit
    diagnostics_queue = QueueSpec(f"{NAME}.events", ("*.diagnostic.ping",), limit)
    personal_data.install(ctx, privacy.WorkflowPersonalData(ctx.db, ctx.locks))
    return {
        diagnostics_queue: {"diagnostic.ping": diagnostics.store_ping(ctx)},
        personal_data.erasure_queue(NAME, limit): {
            "customer.erasure_requested": personal_data.erasure_handler(ctx)
        },
        _limited(events.COMPLAINTS, limit): {"complaint.registered": events.on_registered(service)},
        _limited(events.SURVEY_ACTIONS, limit): {
            "survey.action_required": events.on_action_required(service)
        },
        _limited(events.SURVEY_RESULTS, limit): {"survey.scored": events.on_scored(service)},
        _limited(events.COMMANDS, limit): {
            "case.command": events.on_command(service, ctx.tokens, ctx.keyring)
        },
    }


async def relay_fired(ctx: ServiceContext) -> None:
    """Deadline events get their own relay: on FerretDB each relay pass scans every case
    document (no index is used), and a missed deadline should not wait behind that."""
    relay: OutboxRelay = ctx.state["fired_relay"]
    await relay.run()


def _limited(spec: QueueSpec, limit: int) -> QueueSpec:
    return dataclasses.replace(spec, delivery_limit=limit)


DEFINITION = ServiceDefinition(
    name=NAME,
    default_port=8082,
    outbox_collections=(diagnostics.SENT, store.CASES, personal_data.ERASURES),
    small_outbox_collections=(diagnostics.SENT, personal_data.ERASURES),
    indexes=store.INDEXES,
    routers=(
        diagnostics.router,
        api.router,
        attachments_api.router,
        attachments_api.uploads,
        personal_data.router,
    ),
    wire=wire,
    background=(
        run_scheduler,
        run_catch_up,
        run_gauges,
        run_calendar_watch,
        relay_fired,
        personal_data.run_retention,
    ),
)


def create_app(settings: ServiceSettings, *, clock: Clock | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings, clock=clock)
