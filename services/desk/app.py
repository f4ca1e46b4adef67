"""Composition root of the desk: directory, sign-in, sessions, tokens and their keys."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from services.common import diagnostics
from services.common.clock import Clock
from services.common.messaging.topology import QueueSpec
from services.common.runtime import (
    ServiceContext,
    ServiceDefinition,
    Wiring,
    create_service_app,
)
from services.common.settings import ServiceSettings
from services.common.tokens import TokenVerifier
from services.desk import (
    api,
    attaching,
    case_posts,
    mail,
    notifications,
    oidc,
    pages,
    reports,
    search,
    sessions,
    signatures,
    store,
)
from services.desk.backends import Backends
from services.desk.handlers import Desk
from services.desk.passwords import Passwords
from services.desk.settings import desk_settings
from services.desk.signing import SigningKeys

NAME = "desk"
ROTATION_CHECK_SECONDS = 3600.0
log = logging.getLogger(__name__)


def build_desk(ctx: ServiceContext, directory: store.DirectoryStore) -> Desk:
    settings = desk_settings(ctx.settings)
    return Desk(
        store=directory,
        rulebook=ctx.rulebook,
        clock=ctx.clock,
        passwords=Passwords(),
        policy=settings.policy(),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )


async def wire(ctx: ServiceContext) -> Wiring:
    desk = build_desk(ctx, store.MongoDirectory(ctx.db))
    rotation = desk_settings(ctx.settings).key_rotation
    desk.keys = await SigningKeys.load(desk.store, ctx.clock.now(), rotation)
    ctx.state["desk"] = desk
    provider = oidc.configured(desk_settings(ctx.settings))
    if provider is not None:
        ctx.state["oidc"] = provider
    settings = desk_settings(ctx.settings)
    ctx.state["maildir"] = settings.desk_demo_maildir
    ctx.state["backends"] = Backends(
        intake_url=settings.desk_intake_url,
        workflow_url=settings.desk_workflow_url,
        reporting_url=settings.desk_reporting_url,
        notify_url=settings.desk_notify_url,
    )
    pings = QueueSpec(f"{NAME}.events", ("*.diagnostic.ping",), ctx.settings.delivery_limit)
    return {pings: {"diagnostic.ping": diagnostics.store_ping(ctx)}}


async def close_oidc(ctx: ServiceContext) -> None:
    provider: oidc.OidcClient | None = ctx.state.get("oidc")
    if provider is not None:
        await provider.http.aclose()


async def close_backends(ctx: ServiceContext) -> None:
    backends: Backends | None = ctx.state.get("backends")
    if backends is not None:
        await backends.close()


async def rotate_keys(ctx: ServiceContext) -> None:
    """A new signing key once the current one is older than QLOOP_DESK_KEY_ROTATION_DAYS."""
    desk: Desk = ctx.state["desk"]
    rotation = desk_settings(ctx.settings).key_rotation
    while True:
        await asyncio.sleep(ROTATION_CHECK_SECONDS)
        try:
            desk.keys = await SigningKeys.load(desk.store, ctx.clock.now(), rotation)
        except Exception:
            log.exception("signing key rotation failed; will retry")


DEFINITION = ServiceDefinition(
    name=NAME,
    default_port=8085,
    outbox_collections=(diagnostics.SENT,),
    small_outbox_collections=(diagnostics.SENT,),
    indexes=store.INDEXES,
    routers=(
        diagnostics.router,
        api.router,
        sessions.router,
        oidc.router,
        signatures.router,
        pages.router,
        reports.router,
        search.router,
        attaching.router,
        attaching.forms,
        mail.router,
        notifications.router,
        case_posts.router,
    ),
    wire=wire,
    background=(rotate_keys,),
    at_stop=(close_oidc, close_backends),
)


def create_app(settings: ServiceSettings, *, clock: Clock | None = None) -> FastAPI:
    settings = desk_settings(settings)
    app = create_service_app(DEFINITION, settings, clock=clock)
    app.state.desk_settings = settings

    async def own_keys() -> Mapping[str, Any]:
        desk: Desk = app.state.ctx.state["desk"]
        assert desk.keys is not None
        return desk.keys.jwks()

    # The desk checks its own tokens (a person with `admin` managing people) with the keys
    # it holds, not over HTTP to itself.
    app.state.tokens = TokenVerifier(
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        fetch_jwks=own_keys,
        refetch_seconds=0.0,
    )
    return app
