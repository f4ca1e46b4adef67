"""Composition root of the reporting service."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from services.common import diagnostics, personal_data
from services.common.clock import Clock
from services.common.contracts import cases  # noqa: F401  (registers the case events)
from services.common.contracts.registry import specs
from services.common.messaging.consumer import Handler
from services.common.messaging.topology import QueueSpec
from services.common.rulebook import Rulebook
from services.common.runtime import (
    ServiceContext,
    ServiceDefinition,
    Wiring,
    create_service_app,
)
from services.common.settings import ServiceSettings
from services.reporting import api, privacy, search_api, store, views
from services.reporting.domain.periods import month_of
from services.reporting.metrics import reporting_metrics
from services.reporting.projector import Projector, projecting
from services.reporting.reports import Reports, Scope
from services.reporting.search_store import SearchIndex
from services.reporting.settings import ReportingSettings
from services.reporting.sites import RuleSites

NAME = "reporting"
FAMILIES = ("complaint", "case", "survey", "delivery")
BINDINGS = (*(f"*.{family}.*" for family in FAMILIES), "*.diagnostic.ping")
# Submissions from other systems are intake's to validate and answer; reporting projects
# what intake decided (complaint.registered, complaint.rejected).
IGNORED = ("complaint.submitted",)
log = logging.getLogger(__name__)


async def wire(ctx: ServiceContext) -> Wiring:
    settings = ReportingSettings()
    rulebook = Rulebook.load(ctx.settings.rules_dir)
    read_models = store.MongoReadModels(ctx.db, ctx.locks, id_filters_only=ctx.id_filters_only)
    search = SearchIndex(ctx.db, ctx.locks)
    ctx.state["search"] = search
    projector = Projector(
        store=read_models,
        locks=ctx.locks,
        sites=RuleSites(rulebook),
        policy=settings.policy(),
        search=search,
    )
    ctx.state["projector"] = projector
    ctx.state["reports"] = Reports(store=read_models, rulebook=rulebook, settings=settings)
    ctx.state["metrics"] = reporting_metrics(ctx.registry)
    ctx.state["settings"] = settings
    project = projecting(projector)
    # Every fact of these families is projected or at least kept; commands routed with the
    # same prefix (case.command) are kept in the event store too, with no effect.
    handlers: dict[str, Handler] = {
        spec.event_type: project
        for spec in specs()
        if spec.event_type.split(".")[0] in FAMILIES and spec.event_type not in IGNORED
    }
    handlers["diagnostic.ping"] = diagnostics.store_ping(ctx)
    personal_data.install(ctx, privacy.ReportingPersonalData(ctx.db, ctx.locks))
    return {
        QueueSpec(f"{NAME}.events", BINDINGS, ctx.settings.delivery_limit, IGNORED): handlers,
        personal_data.erasure_queue(NAME, ctx.settings.delivery_limit): {
            "customer.erasure_requested": personal_data.erasure_handler(ctx)
        },
    }


async def refresh_gauges(ctx: ServiceContext) -> None:
    """Live figures for Prometheus: open and overdue by stage, this month's rates."""
    reports: Reports = ctx.state["reports"]
    settings: ReportingSettings = ctx.state["settings"]
    while True:
        try:
            for site in reports.rulebook.sites:
                scope = Scope(site, [site])
                ctx.state["metrics"].show_live(site, await reports.live(scope))
                month = month_of(ctx.clock.now(), RuleSites(reports.rulebook).zone(site))
                figures = (await reports.kpis(scope, month, "all"))["values"]
                if figures:
                    ctx.state["metrics"].show_month(site, figures[0])
        except Exception:
            log.exception("refreshing the reporting gauges failed; will retry")
        await asyncio.sleep(settings.gauge_refresh_seconds)


async def sweep_tokens(ctx: ServiceContext) -> None:
    """Pull the bucket tokens the projector no longer needs (projector.py `Sweeper`)."""
    projector: Projector = ctx.state["projector"]
    settings: ReportingSettings = ctx.state["settings"]
    while True:
        await asyncio.sleep(settings.token_sweep_seconds)
        try:
            await projector.sweeper.sweep()
        except Exception:
            log.exception("pulling used bucket tokens failed; will retry")


async def last_sweep(ctx: ServiceContext) -> None:
    projector: Projector = ctx.state["projector"]
    await projector.sweeper.sweep()


DEFINITION = ServiceDefinition(
    name=NAME,
    default_port=8084,
    outbox_collections=(diagnostics.SENT, personal_data.ERASURES),
    small_outbox_collections=(diagnostics.SENT, personal_data.ERASURES),
    indexes=store.INDEXES,
    routers=(diagnostics.router, api.router, views.router, search_api.router, personal_data.router),
    wire=wire,
    background=(refresh_gauges, sweep_tokens, personal_data.run_retention),
    at_stop=(last_sweep,),
)


def preflight(settings: ServiceSettings) -> None:
    """Refuse bad QLOOP_REPORTING_* settings before serving (`qloop run`); the lifespan
    reads them."""
    ReportingSettings()


def create_app(settings: ServiceSettings, *, clock: Clock | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings, clock=clock)
