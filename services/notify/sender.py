"""Sending the recorded notifications: each due one on its channel, those held for a
daily digest together, with retries (backoff, quiet hours) and failures recorded, and an
attempt cut off by a crash counted when it is made again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.common.clock import Clock
from services.notify import digests
from services.notify.directory import Directory
from services.notify.domain import EMAIL, ROBOT, Notification, backoff_seconds
from services.notify.email import PermanentFailure, SmtpChannel, TemporaryFailure
from services.notify.metrics import NotifyMetrics
from services.notify.preferences import held_until
from services.notify.store import NotificationStore
from services.notify.webhooks import Robot

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


@dataclass
class Sender:
    store: NotificationStore
    directory: Directory
    email: SmtpChannel
    clock: Clock
    metrics: NotifyMetrics
    robots: Mapping[str, Sequence[Robot]] = field(default_factory=dict)

    async def send_due(self) -> int:
        """One pass over the pending notifications; the number sent. Those held for a
        daily digest go out together, one digest per person and site."""
        pending = await self.store.pending()
        self.metrics.queue_depth.set(len(pending))
        single, held = await self._due(pending)
        sent = 0
        for notification in single:
            sent += await self._send(notification)
        for members in held.values():
            digest = await self._digest(members)
            if digest is not None:
                sent += await self._send(digest)
        return sent

    async def _due(
        self, pending: list[str]
    ) -> tuple[list[Notification], dict[tuple[str, str], list[Notification]]]:
        """The pending notifications whose time has come: single ones, and those held
        for a digest by (site, person)."""
        single: list[Notification] = []
        held: dict[tuple[str, str], list[Notification]] = {}
        for notification_id_ in pending:
            found = await self.store.get(notification_id_)
            if found is None or found.status != "pending":
                continue
            if found.next_attempt_at > self.clock.now():
                continue
            if found.digest:
                held.setdefault((found.site, found.person_id), []).append(found)
            else:
                single.append(found)
        return single, held

    async def _digest(self, members: list[Notification]) -> Notification | None:
        """Record the digest of `members` and mark the members it lists; the digest to
        send now (None when one recorded before, e.g. before a crash, is queued)."""
        now = self.clock.now()
        digest = digests.digest_of(members, now)
        added = await self.store.add(digest)
        if not added:
            found = await self.store.get(digest.id)
            listed = set(found.members) if found else set()
        else:
            listed = set(digest.members)
            self.metrics.notifications.labels(digest.site, digest.channel, "stored").inc()
        for member in members:
            update: dict[str, object]
            if member.id in listed:
                update = {"status": "digested", "reason": f"in {digest.id}"}
                outcome = "digested"
            else:
                update = {"next_attempt_at": digests.next_time(member, now)}
                outcome = "held"
            await self.store.save(member.model_copy(update=update))
            self.metrics.notifications.labels(member.site, member.channel, outcome).inc()
        return digest if added else None

    async def _deliver(self, notification: Notification) -> bool:
        """Hand it to its channel; False when it has nowhere to go (recorded as such)."""
        if notification.channel != EMAIL:
            robot = self._robot(notification)
            if robot is None or robot.kind != notification.channel:
                await self._finish(notification, "failed", "robot not configured", "unaddressed")
                return False
            await robot.post(notification, int(self.clock.now().timestamp()))
            return True
        people = await self.directory.people_at(notification.site)
        person = next((p for p in people if p.id == notification.person_id), None)
        if person is None or not person.email:
            await self._finish(notification, "failed", "no e-mail address", "unaddressed")
            return False
        await asyncio.to_thread(self.email.send, notification, person.email)
        return True

    def _robot(self, notification: Notification) -> Robot | None:
        """The robot `robot:<index>` (a site's robot) or `robot:<name>` (a named one)."""
        address = notification.person_id.removeprefix(ROBOT)
        robots = self.robots.get(notification.site, ())
        if address.isdigit():
            index = int(address)
            return robots[index] if index < len(robots) else None
        return next((r for r in robots if r.name == address), None)

    async def _send(self, notification: Notification) -> int:
        now = self.clock.now()
        channel = notification.channel
        notification = await self._attempt(notification, now)
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
            # A retry that would fall into the person's quiet hours waits for their end.
            later = held_until(now + wait, notification.zone, notification.quiet_hours)
            retry = notification.model_copy(
                update={
                    "attempts": attempts, "reason": str(exc), "next_attempt_at": later,
                    "sending_since": None,
                }
            )  # fmt: skip
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

    async def _attempt(self, notification: Notification, now: datetime) -> Notification:
        """Record that an attempt starts, before it starts. A process killed after the
        server took the message and before its outcome was recorded leaves this mark: the
        next attempt may deliver a second copy (neither SMTP nor a robot can tell), and is
        counted as `resent`."""
        again = notification.sending_since is not None
        marked = notification.model_copy(
            update={"sending_since": now, "resends": notification.resends + again}
        )
        await self.store.save(marked)
        if again:
            self.metrics.notifications.labels(marked.site, marked.channel, "resent").inc()
            log.warning("notification %s sent again: an earlier attempt was cut off", marked.id)
        return marked

    async def _finish(
        self, notification: Notification, status: str, reason: str, outcome: str
    ) -> None:
        failed = notification.model_copy(
            update={
                "status": status, "reason": reason, "attempts": notification.attempts + 1,
                "sending_since": None,
            }
        )  # fmt: skip
        await self.store.save(failed)
        self.metrics.notifications.labels(notification.site, notification.channel, outcome).inc()
        log.warning("notification %s failed for good: %s", notification.id, reason)
