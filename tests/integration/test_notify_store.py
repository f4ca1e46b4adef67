"""One contract for the notification store port, on the in-memory fake and on the real
database (FerretDB here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.notify.domain import Notification
from services.notify.store import InMemoryNotificationStore, MongoNotificationStore
from tests.support.infra import Infra

pytestmark = pytest.mark.integration
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def note(person: str) -> Notification:
    return Notification(
        id=f"e1|{person}|email", site="sz", channel="email", person_id=person, language="en",
        cause="complaint_registered", event_id="e1", event_type="complaint.registered",
        why=("quality",), subject="s", text="t", html="<p>h</p>", next_attempt_at=AT,
        created_at=AT,
    )  # fmt: skip


@pytest.fixture(params=["memory", "mongo"])
async def store(request: Any, infra: Infra, database_name: str) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield InMemoryNotificationStore()
        return
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    yield MongoNotificationStore(client[f"{database_name}_notify"])
    await client.drop_database(f"{database_name}_notify")
    await client.close()


async def test_added_once_listed_until_finished(store: Any) -> None:
    assert await store.add(note("qe")) is True
    assert await store.add(note("qe")) is False
    assert await store.add(note("gm")) is True
    assert sorted(await store.pending()) == ["e1|gm|email", "e1|qe|email"]
    found = await store.get("e1|qe|email")
    assert found == note("qe")
    retry = found.model_copy(update={"attempts": 1, "reason": "deferred (421)"})
    await store.save(retry)
    assert sorted(await store.pending()) == ["e1|gm|email", "e1|qe|email"]
    assert (await store.get("e1|qe|email")).attempts == 1
    await store.save(retry.model_copy(update={"status": "sent", "sent_at": AT}))
    assert await store.pending() == ["e1|gm|email"]
    assert await store.add(note("qe")) is False  # sent: the same cause adds nothing
    assert await store.pending() == ["e1|gm|email"]
    assert await store.get("nobody") is None


async def test_a_send_cut_off_is_sent_after_restart(infra: Infra, database_name: str) -> None:
    """The process dies inside a send (here: the send is cancelled): the notification
    stays listed, and the next process sends it."""
    import asyncio

    from prometheus_client import CollectorRegistry

    from services.common.clock import ManualClock
    from services.notify.directory import StaticDirectory
    from services.notify.metrics import notify_metrics
    from services.notify.sender import Sender
    from tests.unit.notify.test_notify_email import PEOPLE

    class Hanging:
        def __init__(self) -> None:
            self.sent: list[str] = []
            self.hang = True

        def send(self, notification: Notification, address: str) -> None:
            if self.hang:
                import time

                time.sleep(0.5)
            self.sent.append(address)

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    db = client[f"{database_name}_notify"]
    try:
        await MongoNotificationStore(db).add(note("qe"))
        channel = Hanging()
        first = Sender(
            MongoNotificationStore(db), StaticDirectory(PEOPLE), channel,  # type: ignore[arg-type]
            ManualClock(AT), notify_metrics(CollectorRegistry()),
        )  # fmt: skip
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(first.send_due(), timeout=0.1)
        await asyncio.sleep(0.6)  # the cut-off thread ends; its result is never recorded
        after = MongoNotificationStore(db)
        assert await after.pending() == ["e1|qe|email"]
        channel.hang = False
        metrics = notify_metrics(CollectorRegistry())
        second = Sender(
            after, StaticDirectory(PEOPLE), channel,  # type: ignore[arg-type]
            ManualClock(AT), metrics,
        )  # fmt: skip
        assert await second.send_due() == 1
        assert await after.pending() == []
        # SMTP cannot tell: the message cut off may have reached the server too. The
        # second copy is counted and recorded as a resend.
        assert channel.sent == ["qe@abc.test", "qe@abc.test"]
        resent = metrics.notifications.labels("sz", "email", "resent")._value.get()
        assert resent == 1
        done = await after.get("e1|qe|email")
        assert done is not None and done.status == "sent" and done.resends == 1
    finally:
        await client.drop_database(f"{database_name}_notify")
        await client.close()


async def test_a_digest_with_quiet_hours_on_both_backends(store: Any, tmp_path: Any) -> None:
    """Held for the digest, listed in one mail, marked digested and gone from the queue;
    a retry of the digest waits for the person's quiet hours to end."""
    from prometheus_client import CollectorRegistry

    from services.common.clock import ManualClock
    from services.common.rulebook import Rulebook
    from services.notify.directory import StaticDirectory
    from services.notify.email import TemporaryFailure
    from services.notify.metrics import notify_metrics
    from services.notify.sender import Sender
    from services.notify.service import Notifier
    from tests.unit.notify.test_notify_preferences import local, rules_with
    from tests.unit.notify.test_notify_triggers import STAFF, envelope, stage_changed

    class Flaky:
        def __init__(self) -> None:
            self.sent: list[Notification] = []
            self.down = True

        def send(self, notification: Notification, address: str) -> None:
            if self.down:
                raise TemporaryFailure("ConnectionRefusedError")
            self.sent.append(notification)

    section = (
        '\nnotifications:\n  departments:\n    quality: {digest: "21:00",'
        ' quiet_hours: {start: "21:00", end: "07:30"}}\n'
    )
    people = [p for p in STAFF if p["id"] == "qe"]
    clock = ManualClock(local(3, 9))
    metrics = notify_metrics(CollectorRegistry())
    rulebook = Rulebook.load(rules_with(tmp_path, section))
    notifier = Notifier(store, StaticDirectory(people), rulebook, clock, metrics, "http://d")
    channel = Flaky()
    sender = Sender(store, StaticDirectory(people), channel, clock, metrics)  # type: ignore[arg-type]
    for stage in ("containment", "root_cause"):
        await notifier.record(envelope("case.stage_changed", stage_changed(stage)))
    assert await sender.send_due() == 0 and len(await store.pending()) == 2
    clock.set(local(3, 21))
    assert await sender.send_due() == 0  # the digest is recorded, its first try fails
    (digest_id,) = await store.pending()
    digest = await store.get(digest_id)
    assert digest.cause == "digest" and len(digest.members) == 2
    assert digest.next_attempt_at == local(4, 7, 30)  # the retry waits out the quiet hours
    for member in digest.members:
        assert (await store.get(member)).status == "digested"
    channel.down = False
    clock.set(local(4, 7, 30))
    assert await sender.send_due() == 1
    assert await store.pending() == []
    (mail,) = channel.sent
    assert mail.id == digest_id
    done = await store.get(digest_id)
    assert done.status == "sent" and done.attempts == 2 and done.resends == 0


async def test_a_persons_history_by_day_newest_first(store: Any) -> None:
    from datetime import timedelta

    def on(person: str, event: str, days_later: int) -> Notification:
        at = AT + timedelta(days=days_later, minutes=days_later)
        return note(person).model_copy(
            update={"id": f"{event}|{person}|email", "event_id": event, "created_at": at}
        )

    for added in (on("qe", "e1", 0), on("qe", "e2", 1), on("gm", "e2", 1), on("qe", "e3", 3)):
        await store.add(added)
    robot = on("robot:0", "e2", 1).model_copy(update={"channel": "wecom"})
    await store.add(robot)
    day = AT.date()
    ids = [n.id for n in await store.of_person("qe", [day + timedelta(days=d) for d in range(3)])]
    assert ids == ["e2|qe|email", "e1|qe|email"]  # day 3 not asked for
    assert [n.id for n in await store.of_person("gm", [day + timedelta(days=1)])] == ["e2|gm|email"]
    assert await store.of_person("nobody", [day]) == []
