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
