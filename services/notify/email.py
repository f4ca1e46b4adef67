"""The e-mail channel: SMTP with STARTTLS or implicit TLS (SSL) and optional login;
each message has a plain-text and an HTML part. Addresses never appear in logs."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from hashlib import sha256

from services.notify.domain import Notification


class PermanentFailure(Exception):
    """The server refused the message for good (a bad address): not retried."""


class TemporaryFailure(Exception):
    """The server is down or answered 4xx: tried again later."""


@dataclass(frozen=True)
class SmtpChannel:
    host: str
    port: int
    sender: str
    security: str = "none"  # none | starttls | ssl
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0
    tls_context: ssl.SSLContext | None = None

    def compose(self, notification: Notification, address: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = notification.subject
        # RFC 5322 requires a Date; the notification's own time, the same at every attempt.
        message["Date"] = format_datetime(notification.created_at)
        # The same for every attempt at one notification: a copy sent again after a crash
        # (SMTP cannot tell) carries the Message-ID of the first, which mail systems and
        # readers use to drop duplicates.
        message["Message-ID"] = f"<{sha256(notification.id.encode()).hexdigest()[:40]}@qloop>"
        message["X-Qloop-Notification"] = notification.id
        message.set_content(notification.text)
        message.add_alternative(notification.html, subtype="html")
        # After the parts: setting content clears a message's Content-* headers.
        message["Content-Language"] = notification.language
        return message

    def send(self, notification: Notification, address: str) -> None:
        message = self.compose(notification, address)
        context = self.tls_context or ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused ({codes[0]})") from None
            raise TemporaryFailure(f"recipient deferred ({codes[0]})") from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise PermanentFailure(f"refused ({exc.smtp_code})") from None
            raise TemporaryFailure(f"deferred ({exc.smtp_code})") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(type(exc).__name__) from None
