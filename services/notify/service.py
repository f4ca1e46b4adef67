"""The notify use cases: record the notifications an event causes, then send them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import BaseModel

from services.common.clock import Clock
from services.common.contracts.envelope import Envelope
from services.common.rulebook import Rulebook
from services.common.rules.schema import SiteRules
from services.notify import texts
from services.notify.directory import Directory
from services.notify.domain import Notification, backoff_seconds, notification_id, resolve
from services.notify.email import PermanentFailure, SmtpChannel, TemporaryFailure
from services.notify.metrics import NotifyMetrics
from services.notify.store import NotificationStore
from services.notify.triggers import Cause, cause_of
from services.notify.webhooks import Robot

log = logging.getLogger(__name__)
EMAIL = "email"
MAX_ATTEMPTS = 8


@dataclass
class Notifier:
    store: NotificationStore
    directory: Directory
    rulebook: Rulebook
    clock: Clock
    metrics: NotifyMetrics
    desk_url: str
    robots: Mapping[str, Sequence[Robot]] = field(default_factory=dict)

    async def record(self, envelope: Envelope[BaseModel]) -> int:
        """Store one notification per person and channel the event tells; the number new."""
        rules = self.rulebook.for_site(envelope.site)
        cause = cause_of(envelope.data, rules)
        if cause is None or not cause.names:
            return 0
        now = self.clock.now()
        stored = 0
        for addressed in resolve(cause.names, await self.directory.people_at(envelope.site)):
            person = addressed.person
            language = texts.language_of(person.language)
            why = ", ".join(_name(rules, n, language) for n in addressed.why)
            due = cause.due.astimezone(rules.zone).strftime("%Y-%m-%d %H:%M") if cause.due else None
            subject, text, html = texts.render(
                language, cause.kind, values=cause.values, why=why, due=due,
                link=self._link(cause.case_id, cause.number),
            )  # fmt: skip
            notification = Notification(
                id=notification_id(str(envelope.id), person.id, EMAIL),
                site=envelope.site, channel=EMAIL, person_id=person.id, language=language,
                cause=cause.kind, event_id=str(envelope.id), event_type=envelope.type,
                why=addressed.why, subject=subject, text=text, html=html,
                next_attempt_at=now, created_at=now,
            )  # fmt: skip
            added = await self.store.add(notification)
            outcome = "stored" if added else "duplicate"
            self.metrics.notifications.labels(envelope.site, EMAIL, outcome).inc()
            stored += added
        stored += await self._record_robots(envelope, rules, cause)
        return stored

    async def _record_robots(
        self, envelope: Envelope[BaseModel], rules: SiteRules, cause: Cause
    ) -> int:
        """One message per group robot of the site, in the site's first language."""
        stored = 0
        language = texts.language_of(rules.site.languages[0])
        now = self.clock.now()
        for index, robot in enumerate(self.robots.get(envelope.site, ())):
            why = ", ".join(_name(rules, n, language) for n in cause.names)
            due = cause.due.astimezone(rules.zone).strftime("%Y-%m-%d %H:%M") if cause.due else None
            subject, text, html = texts.render(
                language, cause.kind, values=cause.values, why=why, due=due,
                link=self._link(cause.case_id, cause.number),
            )  # fmt: skip
            notification = Notification(
                id=notification_id(str(envelope.id), f"robot:{index}", robot.kind),
                site=envelope.site, channel=robot.kind, person_id=f"robot:{index}",
                language=language, cause=cause.kind, event_id=str(envelope.id),
                event_type=envelope.type, why=cause.names, subject=subject, text=text,
                html=html, next_attempt_at=now, created_at=now,
            )  # fmt: skip
            added = await self.store.add(notification)
            outcome = "stored" if added else "duplicate"
            self.metrics.notifications.labels(envelope.site, robot.kind, outcome).inc()
            stored += added
        return stored

    def _link(self, case_id: str | None, number: str) -> str:
        if case_id:
            return f"{self.desk_url}/cases/{case_id}"
        return f"{self.desk_url}/complaints/{number}"


def _name(rules: object, name: str, language: str) -> str:
    for item in (*getattr(rules, "departments", ()), *getattr(rules, "roles", ())):
        if item.id == name:
            return str(item.names.get(language) or next(iter(item.names.values())))
    return name


@dataclass
class Sender:
    store: NotificationStore
    directory: Directory
    email: SmtpChannel
    clock: Clock
    metrics: NotifyMetrics
    robots: Mapping[str, Sequence[Robot]] = field(default_factory=dict)

    async def send_due(self) -> int:
        """One pass over the pending notifications; the number sent."""
        pending = await self.store.pending()
        self.metrics.queue_depth.set(len(pending))
        sent = 0
        for notification_id_ in pending:
            notification = await self.store.get(notification_id_)
            if notification is None or notification.next_attempt_at > self.clock.now():
                continue
            sent += await self._send(notification)
        return sent

    async def _deliver(self, notification: Notification) -> bool:
        """Hand it to its channel; False when it has nowhere to go (recorded as such)."""
        if notification.channel != EMAIL:
            index = int(notification.person_id.removeprefix("robot:"))
            robots = self.robots.get(notification.site, ())
            if index >= len(robots) or robots[index].kind != notification.channel:
                await self._finish(notification, "failed", "robot not configured", "unaddressed")
                return False
            await robots[index].post(notification, int(self.clock.now().timestamp()))
            return True
        people = await self.directory.people_at(notification.site)
        person = next((p for p in people if p.id == notification.person_id), None)
        if person is None or not person.email:
            await self._finish(notification, "failed", "no e-mail address", "unaddressed")
            return False
        await asyncio.to_thread(self.email.send, notification, person.email)
        return True

    async def _send(self, notification: Notification) -> int:
        now = self.clock.now()
        channel = notification.channel
        started = time.perf_counter()
        try:
            if not await self._deliver(notification):
                return 0
        except PermanentFailure as exc:
            await self._finish(notification, "failed", str(exc), "failed")
            return 0
        except TemporaryFailure as exc:
            attempts = notification.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                await self._finish(notification, "failed", f"gave up: {exc}", "failed")
                return 0
            wait = timedelta(seconds=backoff_seconds(attempts))
            retry = notification.model_copy(
                update={"attempts": attempts, "reason": str(exc), "next_attempt_at": now + wait}
            )
            await self.store.save(retry)
            self.metrics.notifications.labels(notification.site, channel, "retry").inc()
            log.warning("notification %s not sent yet: %s", notification.id, exc)
            return 0
        self.metrics.send_seconds.labels(channel).observe(time.perf_counter() - started)
        done = notification.model_copy(
            update={"status": "sent", "attempts": notification.attempts + 1, "sent_at": now}
        )
        await self.store.save(done)
        self.metrics.notifications.labels(notification.site, channel, "sent").inc()
        return 1

    async def _finish(
        self, notification: Notification, status: str, reason: str, outcome: str
    ) -> None:
        failed = notification.model_copy(
            update={"status": status, "reason": reason, "attempts": notification.attempts + 1}
        )
        await self.store.save(failed)
        self.metrics.notifications.labels(notification.site, notification.channel, outcome).inc()
        log.warning("notification %s failed for good: %s", notification.id, reason)
