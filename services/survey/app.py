"""Composition root of the survey service."""

from __future__ import annotations

from fastapi import FastAPI

from services.common import diagnostics, personal_data
from services.common.clock import Clock
from services.common.messaging.topology import QueueSpec
from services.common.rulebook import UnknownSite
from services.common.runtime import (
    ServiceContext,
    ServiceDefinition,
    Wiring,
    create_service_app,
)
from services.common.settings import ServiceSettings
from services.survey import api, events, form, internal_api, jobs, privacy, store
from services.survey.mailer import Mailer
from services.survey.metrics import survey_metrics
from services.survey.service import NoSurvey, Refused, SurveyService
from services.survey.settings import SurveySettings, survey_settings

NAME = "survey"


def mailer_of(settings: SurveySettings) -> Mailer | None:
    if not settings.smtp_enabled:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return Mailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_sender,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=password,
    )


async def wire(ctx: ServiceContext) -> Wiring:
    settings = survey_settings(ctx.settings)
    mailer = mailer_of(settings)
    svc = SurveyService(
        store=store.MongoSurveyStore(ctx.db, ctx.locks, id_filters_only=ctx.id_filters_only),
        rulebook=ctx.rulebook,
        clock=ctx.clock,
        metrics=survey_metrics(ctx.registry),
        link_secret=settings.link_secret(),
        public_url=settings.survey_public_url,
        link_valid=settings.link_valid,
        mail_on=mailer is not None,
        kick=ctx.relay.kick,
    )
    ctx.state["survey"] = svc
    ctx.state["mailer"] = mailer
    diagnostics_queue = QueueSpec(
        f"{NAME}.events", ("*.diagnostic.ping",), ctx.settings.delivery_limit
    )
    activity = QueueSpec(
        events.ACTIVITY.name, events.ACTIVITY.bindings, ctx.settings.delivery_limit
    )
    personal_data.install(ctx, privacy.SurveyPersonalData(ctx.db, ctx.locks))
    return {
        diagnostics_queue: {"diagnostic.ping": diagnostics.store_ping(ctx)},
        activity: events.handlers(svc),
        personal_data.erasure_queue(NAME, ctx.settings.delivery_limit): {
            "customer.erasure_requested": personal_data.erasure_handler(ctx)
        },
    }


async def survey_jobs(ctx: ServiceContext) -> None:
    settings = survey_settings(ctx.settings)
    await jobs.run_forever(ctx.state["survey"], ctx.state["mailer"], settings.survey_job_seconds)


DEFINITION = ServiceDefinition(
    name=NAME,
    default_port=8083,
    outbox_collections=(diagnostics.SENT, *store.OUTBOX_COLLECTIONS, personal_data.ERASURES),
    small_outbox_collections=(diagnostics.SENT, personal_data.ERASURES),
    indexes=store.INDEXES,
    routers=(
        diagnostics.router,
        api.router,
        internal_api.router,
        form.router,
        personal_data.router,
    ),
    wire=wire,
    background=(survey_jobs, personal_data.run_retention),
    exception_handlers={
        Refused: api.refused,
        NoSurvey: api.refused,
        UnknownSite: api.refused,
    },
)


def preflight(settings: ServiceSettings) -> None:
    """Refuse, before serving, what the lifespan would: no link secret (`qloop run`)."""
    try:
        survey_settings(settings).link_secret()
    except RuntimeError as exc:
        raise ValueError(str(exc)) from None


def create_app(settings: ServiceSettings, *, clock: Clock | None = None) -> FastAPI:
    """The app; its start is refused (RuntimeError in the lifespan) without
    QLOOP_SURVEY_LINK_SECRET, since links must be unforgeable. Building it (e.g. for the
    OpenAPI document) needs no secret."""
    return create_service_app(DEFINITION, survey_settings(settings), clock=clock)
