"""Per person and per department: which channels, quiet hours (held, sent after) and a
daily digest instead of single messages; time moves only with the injected clock."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry

from services.common.clock import ManualClock
from services.common.rulebook import Rulebook
from services.common.rules import RuleFileErrors, load_rules
from services.common.rules.schema_notifications import QuietHours
from services.notify.digests import digest_of
from services.notify.directory import StaticDirectory
from services.notify.domain import Notification, Recipient
from services.notify.metrics import notify_metrics
from services.notify.preferences import delivery_for, next_digest, quiet_until
from services.notify.sender import Sender
from services.notify.service import Notifier
from services.notify.store import InMemoryNotificationStore
from tests.unit.notify.test_notify_triggers import STAFF, envelope, missed_item, stage_changed

pytestmark = pytest.mark.unit
RULES = Path(__file__).resolve().parents[3] / "rules"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NIGHT = QuietHours.model_validate({"start": "22:00", "end": "07:00"})


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_quiet_hours_over_midnight_end_the_next_morning() -> None:
    assert quiet_until(local(2, 23), SHANGHAI, NIGHT) == local(3, 7)
    assert quiet_until(local(3, 6, 59), SHANGHAI, NIGHT) == local(3, 7)
    assert quiet_until(local(3, 7), SHANGHAI, NIGHT) is None
    assert quiet_until(local(3, 21, 59), SHANGHAI, NIGHT) is None
    lunch = QuietHours.model_validate({"start": "12:00", "end": "13:30"})
    assert quiet_until(local(3, 12, 10), SHANGHAI, lunch) == local(3, 13, 30)
    assert quiet_until(local(3, 13, 30), SHANGHAI, lunch) is None


def test_the_next_digest_is_today_until_its_hour_then_tomorrow() -> None:
    assert next_digest(local(3, 7, 59), SHANGHAI, time(8)) == local(3, 8)
    assert next_digest(local(3, 8), SHANGHAI, time(8)) == local(3, 8)
    assert next_digest(local(3, 8, 1), SHANGHAI, time(8)) == local(4, 8)


def rules_with(tmp_path: Path, section: str) -> Path:
    shutil.copytree(RULES, tmp_path / "rules")
    path = tmp_path / "rules" / "abc-company.yaml"
    path.write_text(path.read_text(encoding="utf-8") + section, encoding="utf-8")
    return tmp_path / "rules"


DEPARTMENTS = """
notifications:
  departments:
    production: {channels: []}
    management: {quiet_hours: {start: "22:00", end: "07:00"}}
    quality: {digest: "08:00", quiet_hours: {start: "12:00", end: "13:00"}}
"""


def test_the_person_comes_first_then_the_department_then_the_site(tmp_path: Path) -> None:
    rules = Rulebook.load(rules_with(tmp_path, DEPARTMENTS)).for_site("sz")
    gm = Recipient(id="gm", name="GM", departments=("management",))
    assert delivery_for(gm, rules).quiet_hours == NIGHT
    assert delivery_for(gm, rules).channels == ("email",)
    own = {"quiet_hours": {"start": "23:00", "end": "06:00"}, "channels": ["email"]}
    line = Recipient.model_validate(
        {"id": "line", "name": "L", "departments": ("production",), "preference": own}
    )
    chosen = delivery_for(line, rules)
    assert chosen.channels == ("email",) and chosen.quiet_hours is not None
    assert chosen.quiet_hours.start == time(23)
    assert (
        delivery_for(Recipient(id="x", name="X", departments=("production",)), rules).channels == ()
    )


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Notification]] = []

    def send(self, notification: Notification, address: str) -> None:
        self.sent.append((address, notification))


def stack(rules_dir: Path, clock: ManualClock, people: list[dict[str, Any]] = STAFF) -> Any:
    store = InMemoryNotificationStore()
    directory = StaticDirectory(people)
    metrics = notify_metrics(CollectorRegistry())
    notifier = Notifier(store, directory, Rulebook.load(rules_dir), clock, metrics, "http://d")
    outbox = Outbox()
    sender = Sender(store, directory, outbox, clock, metrics)  # type: ignore[arg-type]
    return notifier, sender, outbox, store, metrics


def count(metrics: Any, outcome: str) -> float:
    value = metrics.notifications.labels("sz", "email", outcome)._value.get()
    return float(value)


def test_quiet_hours_hold_a_message_until_they_end(tmp_path: Path) -> None:
    clock = ManualClock(local(2, 23))
    notifier, sender, outbox, _, _ = stack(rules_with(tmp_path, DEPARTMENTS), clock)

    async def run() -> list[list[str]]:
        await notifier.record(envelope("case.stage_changed", stage_changed("approval")))
        night = [a for a, _ in outbox.sent]
        await sender.send_due()
        clock.set(local(3, 6, 59))
        await sender.send_due()
        still_night = [a for a, _ in outbox.sent]
        clock.set(local(3, 7))
        await sender.send_due()
        return [night, still_night, sorted(a for a, _ in outbox.sent)]

    night, still_night, morning = asyncio.run(run())
    assert night == still_night == []
    assert morning == ["gm@abc.test", "mgr@abc.test", "rep@abc.test"]


def test_a_department_without_channels_is_not_told(tmp_path: Path) -> None:
    clock = ManualClock(local(3, 10))
    notifier, sender, outbox, store, metrics = stack(rules_with(tmp_path, DEPARTMENTS), clock)
    asyncio.run(notifier.record(envelope("case.deadline_missed", missed_item("production"))))
    asyncio.run(sender.send_due())
    assert store.items == {} and outbox.sent == []
    assert count(metrics, "muted") == 1


def test_a_daily_digest_sends_one_mail_listing_the_day(tmp_path: Path) -> None:
    clock = ManualClock(local(3, 9))
    notifier, sender, outbox, store, metrics = stack(rules_with(tmp_path, DEPARTMENTS), clock)

    async def run() -> None:
        for stage in ("containment", "root_cause", "standardise"):
            await notifier.record(envelope("case.stage_changed", stage_changed(stage)))
            clock.advance(timedelta(hours=2))
            await sender.send_due()
        assert all(a != "qe@abc.test" for a, _ in outbox.sent)  # held for the digest
        clock.set(local(4, 8))
        await sender.send_due()
        await sender.send_due()  # nothing twice

    asyncio.run(run())
    digests = [n for a, n in outbox.sent if a == "qe@abc.test"]
    assert len(digests) == 1
    (digest,) = digests
    assert digest.cause == "digest" and len(digest.members) == 3
    assert digest.subject == "您的 qloop 通知汇总（3 条），2026-03-04"
    assert "案件 SZ-000001 进入阶段 临时围堵" in digest.text
    assert "http://d/cases/sz-case-1" in digest.text
    members = [store.items[m] for m in digest.members]
    assert {m.status for m in members} == {"digested"}
    assert count(metrics, "digested") == 3


def test_a_digest_recorded_before_a_crash_marks_its_members_and_is_not_doubled(
    tmp_path: Path,
) -> None:
    clock = ManualClock(local(3, 9))
    notifier, sender, outbox, store, _ = stack(rules_with(tmp_path, DEPARTMENTS), clock)

    async def run() -> None:
        await notifier.record(envelope("case.stage_changed", stage_changed("containment")))
        clock.set(local(4, 8))
        (member,) = [n for n in store.items.values() if n.person_id == "qe"]
        # The last process recorded the digest and died before marking its member.
        assert await store.add(digest_of([member], clock.now()))
        await sender.send_due()
        await sender.send_due()

    asyncio.run(run())
    mails = [n for a, n in outbox.sent if a == "qe@abc.test"]
    assert [m.cause for m in mails] == ["digest"]
    assert {n.status for n in store.items.values() if n.person_id == "qe"} == {
        "digested", "sent"
    }  # fmt: skip


def test_the_section_refuses_an_unknown_department_and_an_unquoted_time(tmp_path: Path) -> None:
    shown = []
    sections = (
        "nowhere: {channels: [email]}",
        "quality: {digest: 18:30}",
        "pmc: {channels: [wechat]}",
    )
    for n, section in enumerate(sections):
        text = f"\nnotifications:\n  departments:\n    {section}\n"
        path = rules_with(tmp_path / str(n), text) / "abc-company.yaml"
        with pytest.raises(RuleFileErrors) as caught:
            load_rules(path)
        shown += [str(e) for e in caught.value.errors]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert "notifications.departments.nowhere: unknown department 'nowhere'" in shown[0]
    # YAML reads 18:30 unquoted as the number 1110: refused at its place, not misread.
    assert (
        f"abc-company.yaml:{lines}:23: notifications.departments.quality.digest: 1110 " in shown[1]
    )
    assert (
        "notifications.departments.pmc.channels[0]: unknown channel 'wechat': write email"
        in (shown[2])
    )
