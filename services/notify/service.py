"""The notify use cases: record the notifications an event causes, then send them."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel

from services.common.clock import Clock
from services.common.contracts.cases import CaseOpened
from services.common.contracts.envelope import Envelope
from services.common.contracts.surveys import (
    SurveyAnswered,
    SurveyCampaignClosed,
    SurveyCampaignOpened,
)
from services.common.rulebook import Rulebook
from services.common.rules.schema import SiteRules
from services.notify import campaigns, digests, texts
from services.notify.directory import Directory
from services.notify.domain import (
    Addressed,
    Notification,
    backoff_seconds,
    notification_id,
    resolve,
)
from services.notify.email import PermanentFailure, SmtpChannel, TemporaryFailure
from services.notify.metrics import NotifyMetrics
from services.notify.preferences import (
    delivery_for,
    held_until,
    next_digest,
    quiet_text,
    quiet_until,
)
from services.notify.store import NotificationStore
from services.notify.tracking import Campaign, InMemoryTracking, Tracking
from services.notify.triggers import CASE_OWNER, Cause, causes_of
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
    tracking: Tracking = field(default_factory=InMemoryTracking)

    async def record(self, envelope: Envelope[BaseModel]) -> int:
        """Store one notification per person and channel the event tells; the number new."""
        rules = self.rulebook.for_site(envelope.site)
        await self._track(envelope.site, envelope.data, rules)
        causes = causes_of(envelope.data, rules)
        return await self.tell(envelope.site, str(envelope.id), envelope.type, causes)

    async def judge_campaigns(self) -> int:
        """Tell the survey owner of each open campaign whose response rate is under target
        when its check time has come (once per campaign); the number of notifications new."""
        now, stored = self.clock.now(), 0
        for campaign in await self.tracking.campaigns():
            if campaign.checked or campaign.check_at > now:
                continue
            rules = self.rulebook.for_site(campaign.site)
            low = campaigns.response_low(campaign, rules)
            if low is not None:
                event = campaigns.event_id(campaign)
                stored += await self.tell(campaign.site, event, campaigns.EVENT_TYPE, [low])
            await self.tracking.judged(campaign.id)
        return stored

    async def tell(self, site: str, event_id: str, event_type: str, causes: list[Cause]) -> int:
        """Record the causes' notifications: each person once, by the first cause naming
        them; the group robots once, by the first cause."""
        causes = [c for c in [await self._owned(c) for c in causes] if c.names or c.people]
        if not causes:
            return 0
        rules = self.rulebook.for_site(site)
        people = await self.directory.people_at(site)
        roles_of = {d.id: d.roles for d in rules.departments}
        told: set[str] = set()
        stored = 0
        for cause in causes:
            for addressed in resolve(cause.names, people, roles_of, cause.people):
                if addressed.person.id not in told:
                    told.add(addressed.person.id)
                    stored += await self._record_one(site, event_id, event_type, cause, addressed)
        return stored + await self._record_robots(site, event_id, event_type, rules, causes[0])

    async def _owned(self, cause: Cause) -> Cause:
        """`case_owner` replaced by the case's owning department (dropped when the case's
        opening was not seen)."""
        if CASE_OWNER not in cause.names:
            return cause
        owner = await self.tracking.case_owner(cause.case_id) if cause.case_id else None
        names = [owner if n == CASE_OWNER else n for n in cause.names]
        return dataclasses.replace(cause, names=tuple(dict.fromkeys(n for n in names if n)))

    async def _track(self, site: str, fact: BaseModel, rules: SiteRules) -> None:
        if isinstance(fact, CaseOpened):
            await self.tracking.remember_case(fact.case_id, fact.owner_department)
        elif isinstance(fact, SurveyCampaignOpened):
            check_at = campaigns.check_time(rules, fact.answer_due, campaigns.lead(rules))
            opened = Campaign(fact.campaign_id, site, fact.invitations, check_at)
            await self.tracking.watch(opened)
        elif isinstance(fact, SurveyAnswered) and fact.counted_as_returned:
            await self.tracking.answered(fact.campaign_id, fact.invitation_id)
        elif isinstance(fact, SurveyCampaignClosed):
            await self.tracking.closed(fact.campaign_id)

    async def _record_one(
        self, site: str, event_id: str, event_type: str, cause: Cause, addressed: Addressed
    ) -> int:
        rules = self.rulebook.for_site(site)
        person, now = addressed.person, self.clock.now()
        delivery = delivery_for(person, rules)
        if EMAIL not in delivery.channels:
            self.metrics.notifications.labels(site, EMAIL, "muted").inc()
            return 0
        language = texts.language_of(person.language)
        why = ", ".join(_name(rules, n, language) for n in addressed.why)
        subject, text, html = self._render(rules, language, cause, why)
        if delivery.digest is not None:
            send_at = next_digest(now, rules.zone, delivery.digest)
        else:
            send_at = quiet_until(now, rules.zone, delivery.quiet_hours) or now
        notification = Notification(
            id=notification_id(event_id, person.id, EMAIL),
            site=site, channel=EMAIL, person_id=person.id, language=language,
            cause=cause.kind, event_id=event_id, event_type=event_type,
            why=addressed.why, subject=subject, text=text, html=html,
            next_attempt_at=send_at, created_at=now, link=self._link(cause),
            digest=delivery.digest is not None,
            digest_at=f"{delivery.digest:%H:%M}" if delivery.digest else None,
            quiet_hours=quiet_text(delivery.quiet_hours), zone=rules.site.timezone,
        )  # fmt: skip
        added = await self.store.add(notification)
        self.metrics.notifications.labels(site, EMAIL, "stored" if added else "duplicate").inc()
        return int(added)

    async def _record_robots(
        self, site: str, event_id: str, event_type: str, rules: SiteRules, cause: Cause
    ) -> int:
        """One message per group robot of the site, in the site's first language."""
        stored = 0
        language = texts.language_of(rules.site.languages[0])
        now = self.clock.now()
        for index, robot in enumerate(self.robots.get(site, ())):
            why = ", ".join(_name(rules, n, language) for n in (*cause.names, *cause.people))
            subject, text, html = self._render(rules, language, cause, why)
            notification = Notification(
                id=notification_id(event_id, f"robot:{index}", robot.kind),
                site=site, channel=robot.kind, person_id=f"robot:{index}",
                language=language, cause=cause.kind, event_id=event_id,
                event_type=event_type, why=cause.names, subject=subject, text=text,
                html=html, next_attempt_at=now, created_at=now,
            )  # fmt: skip
            added = await self.store.add(notification)
            outcome = "stored" if added else "duplicate"
            self.metrics.notifications.labels(site, robot.kind, outcome).inc()
            stored += added
        return stored

    def _render(
        self, rules: SiteRules, language: str, cause: Cause, why: str
    ) -> tuple[str, str, str]:
        due = cause.due.astimezone(rules.zone).strftime("%Y-%m-%d %H:%M") if cause.due else None
        values = dict(cause.values)
        if "stage" in values:
            values["stage"] = _stage_name(rules, values["stage"], language)
        return texts.render(
            language, cause.kind, values=values, why=why, due=due, link=self._link(cause)
        )

    def _link(self, cause: Cause) -> str:
        if cause.case_id:
            return f"{self.desk_url}/cases/{cause.case_id}"
        if cause.kind == campaigns.KIND:
            return f"{self.desk_url}/work"
        return f"{self.desk_url}/complaints/{cause.number}"


def _stage_name(rules: SiteRules, stage: str, language: str) -> str:
    found = next((s for s in rules.workflow.stages if s.id == stage), None)
    if found is None:
        return stage
    return str(found.names.get(language) or next(iter(found.names.values())))


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
        """One pass over the pending notifications; the number sent. Those held for a
        daily digest go out together, one digest per person and site."""
        pending = await self.store.pending()
        self.metrics.queue_depth.set(len(pending))
        sent = 0
        held: dict[tuple[str, str], list[Notification]] = {}
        for notification_id_ in pending:
            notification = await self.store.get(notification_id_)
            if notification is None or notification.next_attempt_at > self.clock.now():
                continue
            if notification.status != "pending":
                continue
            if notification.digest:
                held.setdefault((notification.site, notification.person_id), []).append(
                    notification
                )
                continue
            sent += await self._send(notification)
        for members in held.values():
            digest = await self._digest(members)
            if digest is not None:
                sent += await self._send(digest)
        return sent

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
