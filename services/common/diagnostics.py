"""The diagnostic round trip every service takes part in: `POST /diagnostics/ping`
stores a probe and its `diagnostic.ping` event in one write (outbox); the other
services consume it and store it once. It proves broker, database, outbox relay and
idempotent consumers end to end, in production as in tests.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel

from services.common.contracts.diagnostic import DiagnosticPing
from services.common.contracts.envelope import SITE_PATTERN, Envelope
from services.common.contracts.registry import new_event
from services.common.http import guarded_router
from services.common.messaging.consumer import Handler, Outcome
from services.common.runtime import ServiceContext, service_context
from services.common.storage.once import insert_once
from services.common.storage.outbox import outbox_update
from services.common.storage.updates import merge

SENT = "diagnostics"
RECEIVED = "diagnostic_pings"

router = guarded_router(tags=["diagnostics"])


@router.post("/diagnostics/ping", status_code=202)
async def emit_ping(
    ctx: Annotated[ServiceContext, Depends(service_context)],
    site: Annotated[str, Query(pattern=SITE_PATTERN)],
    note: Annotated[str, Query(max_length=500)] = "ping",
) -> dict[str, str]:
    event = new_event(
        DiagnosticPing(note=note, origin=ctx.name),
        site=site,
        source=f"/qloop/{ctx.name}",
        time=ctx.clock.now(),
    )
    document_id = str(uuid.uuid4())
    update = merge({"$set": {"site": site, "note": note, "at": event.time}}, outbox_update([event]))
    await ctx.db[SENT].update_one({"_id": document_id}, update, upsert=True)
    ctx.relay.kick(SENT, document_id, [event])
    return {"event_id": str(event.id)}


@router.get("/diagnostics/pings/{event_id}")
async def received_ping(
    ctx: Annotated[ServiceContext, Depends(service_context)], event_id: uuid.UUID
) -> dict[str, Any]:
    document = await ctx.db[RECEIVED].find_one({"_id": str(event_id)})
    return {"received": document is not None}


def store_ping(ctx: ServiceContext) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        ping = envelope.data
        assert isinstance(ping, DiagnosticPing)
        stored = await insert_once(
            ctx.db[RECEIVED],
            {
                "_id": str(envelope.id),
                "site": envelope.site,
                "origin": ping.origin,
                "note": ping.note,
                "sent_at": envelope.time,
                "received_at": ctx.clock.now(),
            },
        )
        return "stored" if stored else "duplicate"

    return handle
