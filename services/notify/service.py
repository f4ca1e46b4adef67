"""The notify use cases: record the notifications an event causes, then send them."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from services.common.clock import Clock
from services.common.contracts.cases import CaseOpened
from services.common.contracts.envelope import Envelope
from services.common.contracts.surveys import (
    SurveyAnswered,
    SurveyCampaignClosed,
    SurveyCampaignOpened,
)
from services.common.rulebook import Rulebook, UnknownSite
from services.common.rules.schema import SiteRules
from services.notify import campaigns, texts
from services.notify.directory import Directory
from services.notify.domain import (
    EMAIL,
    ROBOT,
    Addressed,
    Notification,
    notification_id,
    resolve,
)
from services.notify.metrics import NotifyMetrics
from services.notify.preferences import (
    delivery_for,
    next_digest,
    quiet_text,
    quiet_until,
)
from services.notify.store import NotificationStore
from services.notify.tracking import Campaign, InMemoryTracking, Tracking
from services.notify.triggers import CASE_OWNER, Cause, causes_of
from services.notify.webhooks import Robot

log = logging.getLogger(__name__)


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
            try:
                rules = self.rulebook.for_site(campaign.site)
            except UnknownSite:
                continue  # its rule file is gone: nothing to judge it by
            low = campaigns.response_low(campaign, rules)
            if low is not None:
                event = campaigns.event_id(campaign)
                stored += await self.tell(campaign.site, event, campaigns.EVENT_TYPE, [low])
            await self.tracking.judged(campaign.id)
        return stored

    async def tell(self, site: str, event_id: str, event_type: str, causes: list[Cause]) -> int:
        """Record the causes' notifications: each person once, by the first cause naming
        them, on their channels; the site's robots once, by the first cause."""
        causes = [c for c in [await self._owned(c) for c in causes] if c.names or c.people]
        if not causes:
            return 0
        rules = self.rulebook.for_site(site)
        stored, groups = await self._tell_people(site, event_id, event_type, causes, rules)
        return stored + await self._tell_robots(site, event_id, event_type, rules, causes, groups)

    async def _tell_people(
        self, site: str, event_id: str, event_type: str, causes: list[Cause], rules: SiteRules
    ) -> tuple[int, dict[str, tuple[Cause, Addressed]]]:
        """Mails recorded (the number new), and the group robots the people's channels
        name, each with the first cause and person that named it."""
        people = await self.directory.people_at(site)
        roles_of = {d.id: d.roles for d in rules.departments}
        told: set[str] = set()
        groups: dict[str, tuple[Cause, Addressed]] = {}
        stored = 0
        for cause in causes:
            for addressed in resolve(cause.names, people, roles_of, cause.people):
                if addressed.person.id in told:
                    continue
                told.add(addressed.person.id)
                channels = delivery_for(addressed.person, rules).channels
                for robot in (c.removeprefix(ROBOT) for c in channels if c.startswith(ROBOT)):
                    groups.setdefault(robot, (cause, addressed))
                if EMAIL in channels:
                    stored += await self._record_one(site, event_id, event_type, cause, addressed)
                elif not any(c.startswith(ROBOT) for c in channels):
                    self.metrics.notifications.labels(site, EMAIL, "muted").inc()
        return stored, groups

    async def _tell_robots(
        self, site: str, event_id: str, event_type: str, rules: SiteRules, causes: list[Cause],
        groups: dict[str, tuple[Cause, Addressed]],
    ) -> int:  # fmt: skip
        """The site's robots get every event, by its first cause; a named robot what the
        channels `robot:<name>` of its people send it."""
        stored = 0
        for index, robot in enumerate(self.robots.get(site, ())):
            if robot.name is None:
                stored += await self._record_robot(
                    site, event_id, event_type, rules, causes[0], robot, f"robot:{index}"
                )
            elif robot.name in groups:
                cause, addressed = groups.pop(robot.name)
                stored += await self._record_robot(
                    site, event_id, event_type, rules, cause, robot, f"robot:{robot.name}",
                    addressed.why,
                )  # fmt: skip
        for name in groups:
            log.warning("channel robot:%s of site %s is no robot of the settings", name, site)
            self.metrics.notifications.labels(site, "robot", "unaddressed").inc()
        return stored

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
        elif isinstance(fact, SurveyCampaignOpened) and fact.kind != "follow_up":
            # A follow-up asks one customer after a case: the survey judges no rate for it.
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

    async def _record_robot(
        self,
        site: str,
        event_id: str,
        event_type: str,
        rules: SiteRules,
        cause: Cause,
        robot: Robot,
        address: str,
        why: tuple[str, ...] | None = None,
    ) -> int:
        """One message to a group robot (`address`: `robot:<index>` of the site's robots,
        or `robot:<name>`), in the site's first language."""
        language = texts.language_of(rules.site.languages[0])
        now = self.clock.now()
        names = why or (*cause.names, *cause.people)
        subject, text, html = self._render(
            rules, language, cause, ", ".join(_name(rules, n, language) for n in names)
        )
        notification = Notification(
            id=notification_id(event_id, address, robot.kind),
            site=site, channel=robot.kind, person_id=address,
            language=language, cause=cause.kind, event_id=event_id,
            event_type=event_type, why=tuple(names), subject=subject, text=text,
            html=html, next_attempt_at=now, created_at=now, link=self._link(cause),
        )  # fmt: skip
        added = await self.store.add(notification)
        outcome = "stored" if added else "duplicate"
        self.metrics.notifications.labels(site, robot.kind, outcome).inc()
        return int(added)

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
    """A stage's or a case clock's (`clock:<id>`) name in the rule file, in `language`."""
    pool = rules.clocks if stage.startswith("clock:") else rules.workflow.stages
    wanted = stage.removeprefix("clock:")
    found = next((s for s in pool if s.id == wanted), None)
    if found is None or not found.names:
        return wanted
    return str(found.names.get(language) or next(iter(found.names.values())))


def _name(rules: object, name: str, language: str) -> str:
    for item in (*getattr(rules, "departments", ()), *getattr(rules, "roles", ())):
        if item.id == name:
            return str(item.names.get(language) or next(iter(item.names.values())))
    return name
