"""A person's notifications on the desk: what qloop told them in the last two weeks, by
which channel, whether it was sent, held for their daily digest, or failed and why. The
notify service keeps them (its GET /people/{id}/notifications, asked with the person's
own token: a person reads their own only)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.common.http import guarded_router
from services.desk.api import DeskDep
from services.desk.backends import BackendMissing
from services.desk.i18n import N_
from services.desk.pages import SessionCookie, page_of, to_sign_in

router = guarded_router(tags=["pages"])
STATUS = {
    "pending": N_("waiting to be sent"), "sent": N_("sent"), "failed": N_("failed"),
    "held": N_("held for the daily digest"), "digested": N_("sent in the daily digest"),
}  # fmt: skip
CHANNELS = {"email": N_("E-mail"), "robot": N_("Group chat robot")}


@router.get(
    "/notifications",
    response_class=HTMLResponse,
    summary="My notifications",
    response_model=None,
)
async def my_notifications(
    request: Request, desk: DeskDep, qloop_session: SessionCookie = None
) -> Response:
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    say = page.speaker.gettext
    try:
        answer = await page.backends.notifications(page.token, page.person.id)
        failed = not answer.ok
        items = answer.body.get("items", []) if answer.ok else []
    except BackendMissing:
        failed, items = True, []
    for item in items:
        kind = str(item.get("channel", "")).split(":", 1)[0]
        item["channel_words"] = say(CHANNELS.get(kind, kind))
        item["status_words"] = say(STATUS.get(item.get("status", ""), item.get("status", "")))
        item["why_words"] = [page.label(item["site"], "owner", w) for w in item.get("why", ())]
        # notify links to this desk by its public URL; the page links by path
        item["href"] = urlsplit(item["link"]).path if item.get("link") else None
    return await page.render("notifications.html", items=items, failed=failed)


@router.get(
    "/complaints/{number}",
    response_class=HTMLResponse,
    summary="A complaint: its case",
    response_model=None,
)
async def complaint(
    number: Annotated[str, Path(max_length=80, pattern=r"^[A-Za-z0-9_./-]+$")],
    request: Request,
    desk: DeskDep,
    qloop_session: SessionCookie = None,
) -> Response:
    """Where a notification about a registered complaint points: the complaint's case at
    one of the person's sites, once the workflow has opened it."""
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    for site in page.rules:
        found = await page.backends.case(page.token, f"{site}:{number}")
        if found.ok:
            return RedirectResponse(f"/cases/{site}:{number}", status_code=303)
    return await page.render("missing.html", status=404)
