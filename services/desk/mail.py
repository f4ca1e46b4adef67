"""The local mailbox of a demonstration or test installation: `qloop up` runs an SMTP
catcher (aiosmtpd's Mailbox handler) that keeps every mail notify sends in a Maildir,
and this page shows each signed-in person the mails addressed to them, newest first, so
a new user sees notifications work without a mail server. Off unless
QLOOP_DESK_DEMO_MAILDIR names the Maildir (never in production: mail goes to people's
own mailboxes there)."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from services.common.http import guarded_router
from services.desk.api import DeskDep
from services.desk.pages import SessionCookie, page_of, to_sign_in

router = guarded_router(tags=["pages"])
SHOWN = 50  # the newest mails of a person


@dataclass(frozen=True)
class Caught:
    subject: str
    sender: str
    sent_at: datetime | None
    text: str


def _header(message: Message, name: str) -> str:
    return str(make_header(decode_header(message.get(name, ""))))


def _text(message: Message) -> str:
    """The plain-text part (notify sends one beside the HTML)."""
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def mails_to(maildir: Path, address: str) -> list[Caught]:
    """The mails in `maildir` addressed to `address` (To or Cc), newest first."""
    if not maildir.is_dir():
        return []
    wanted = address.lower()
    found = []
    for message in mailbox.Maildir(maildir, create=False):
        to = {
            a.lower()
            for _, a in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))
        }
        if wanted not in to:
            continue
        try:
            sent = parsedate_to_datetime(message["Date"]) if message["Date"] else None
        except (TypeError, ValueError):
            sent = None
        found.append(
            Caught(_header(message, "Subject"), _header(message, "From"), sent, _text(message))
        )
    found.sort(key=lambda m: m.sent_at.timestamp() if m.sent_at else 0, reverse=True)
    return found[:SHOWN]


@router.get(
    "/mail", response_class=HTMLResponse, summary="Mails caught for me", response_model=None
)
async def my_mail(request: Request, desk: DeskDep, qloop_session: SessionCookie = None) -> Response:
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    maildir: Path | None = request.app.state.ctx.state.get("maildir")
    mails = mails_to(maildir, page.person.email) if maildir and page.person.email else []
    zone = page.zone(next(iter(page.rules), ""))
    return await page.render("mail.html", mails=mails, enabled=maildir is not None, zone=zone)
