"""The notify service's HTTP API: a person's notifications, for the desk to show them
(what was sent, held for a digest, or failed and why)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request

from services.common.auth import Caller, require
from services.common.http import guarded_router
from services.common.runtime import context_of
from services.notify.domain import Notification
from services.notify.store import NotificationStore

router = guarded_router(tags=["notify"])
Reader = Annotated[Caller, Depends(require("read"))]
SHOWN = ("id", "site", "channel", "cause", "event_type", "why", "subject", "link", "status",
         "reason", "attempts", "resends", "created_at", "next_attempt_at", "sent_at",
         "digest", "members")  # fmt: skip


@router.get(
    "/people/{person_id}/notifications",
    summary="A person's notifications of the last days, newest first",
)
async def person_notifications(
    person_id: str,
    request: Request,
    who: Reader,
    days: Annotated[int, Query(ge=1, le=92, description="How many days back (UTC)")] = 14,
) -> dict[str, Any]:
    if who.kind == "person" and who.name != person_id and not who.holding("admin").grants:
        raise HTTPException(403, f"person {who.name!r} may read their own notifications only")
    ctx = context_of(request)
    store: NotificationStore = ctx.state["store"]
    today = ctx.clock.now().astimezone(UTC).date()
    found = await store.of_person(person_id, [today - timedelta(days=n) for n in range(days)])
    items = [_shown(n) for n in found if who.may_access(n.site)]
    return {"items": items, "count": len(items)}


def _shown(notification: Notification) -> dict[str, Any]:
    return notification.model_dump(mode="json", include=set(SHOWN))
