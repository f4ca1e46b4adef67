"""An SMTP sender for invitations and reminders, switched on by `QLOOP_SMTP_ENABLED`.

Off by default: a mailing system can deliver `survey.dispatched` events instead. Mail is
sent from stored invitations (`mail: pending`), so a crash resends at most the message
being sent, and a refused or unreachable server is retried on the next pass. Addresses
never appear in logs.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from services.survey.service import SurveyService
from services.survey.texts import texts

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5

SUBJECTS = {
    ("en", False): "Customer satisfaction survey",
    ("en", True): "Reminder: customer satisfaction survey",
    ("zh", False): "顾客满意度调查",
    ("zh", True): "提醒：顾客满意度调查",
}


@dataclass(frozen=True)
class Mailer:
    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def compose(mailer: Mailer, invitation: dict[str, Any], due_text: str) -> EmailMessage:
    language = invitation["language"] if invitation["language"] in ("en", "zh") else "en"
    t = texts(language)
    message = EmailMessage()
    message["From"] = mailer.sender
    message["To"] = invitation["contact"]["email"]
    message["Subject"] = SUBJECTS[(language, bool(invitation.get("reminded")))]
    greeting = invitation["contact"].get("name") or invitation["customer_name"]
    message.set_content(
        f"{greeting},\n\n{t['intro']}\n\n{invitation['link']}\n\n{t['due']}: {due_text}\n"
    )
    return message


async def send_pending(svc: SurveyService, mailer: Mailer) -> int:
    sent = 0
    for invitation in await svc.store.pending_mail():
        rules, _ = svc.rules(invitation["site"])
        due = invitation["answer_due"].astimezone(rules.zone).strftime("%Y-%m-%d %H:%M")
        attempts = int(invitation.get("mail_attempts") or 0) + 1
        try:
            await asyncio.to_thread(mailer.send, compose(mailer, invitation, due))
        except (OSError, smtplib.SMTPException) as exc:
            status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
            log.warning(
                "invitation e-mail not sent (attempt %d): %s",
                attempts,
                type(exc).__name__,
                extra={"invitation": invitation["_id"]},
            )
            svc.metrics.mail.labels("failed" if status == "failed" else "retry").inc()
            await svc.store.mail_done(invitation["_id"], status, attempts)
            continue
        await svc.store.mail_done(invitation["_id"], "sent", attempts)
        svc.metrics.mail.labels("sent").inc()
        sent += 1
    return sent
