"""Where notifications are kept: a port, an in-memory fake and the Mongo adapter.

The Mongo adapter looks documents up by `_id` only (FerretDB scans any other filter).
Pending work is listed in `notify_queue`, one small document per notification still to
send, removed once it is sent or failed for good: that collection stays small, so reading
it whole after a start is cheap, and nothing stored is lost when the process dies.
A person's history is listed per day in `notify_people` (`<person>|<YYYY-MM-DD>`, the
ids of that day's notifications to them, by when they were recorded, in UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

from pymongo.errors import DuplicateKeyError

from services.common.storage.mongo import Database
from services.notify.domain import Notification

NOTIFICATIONS = "notifications"
QUEUE = "notify_queue"
PEOPLE = "notify_people"
ROBOT = "robot:"


class NotificationStore(Protocol):
    async def add(self, notification: Notification) -> bool:
        """Store it; False when one with that id exists (the same cause seen again)."""
        ...

    async def get(self, notification_id: str) -> Notification | None: ...

    async def pending(self) -> list[str]:
        """Ids of the notifications still to send."""
        ...

    async def save(self, notification: Notification) -> None:
        """Write back an attempt's result; a finished one leaves the queue."""
        ...

    async def of_person(self, person_id: str, days: Sequence[date]) -> list[Notification]:
        """The person's notifications recorded on `days` (UTC dates), newest first."""
        ...


class InMemoryNotificationStore:
    def __init__(self) -> None:
        self.items: dict[str, Notification] = {}

    async def add(self, notification: Notification) -> bool:
        if notification.id in self.items:
            return False
        self.items[notification.id] = notification
        return True

    async def get(self, notification_id: str) -> Notification | None:
        return self.items.get(notification_id)

    async def pending(self) -> list[str]:
        return [n.id for n in self.items.values() if n.status == "pending"]

    async def save(self, notification: Notification) -> None:
        self.items[notification.id] = notification

    async def of_person(self, person_id: str, days: Sequence[date]) -> list[Notification]:
        wanted = set(days)
        found = [
            n
            for n in self.items.values()
            if n.person_id == person_id and n.created_at.astimezone(UTC).date() in wanted
        ]
        return sorted(found, key=lambda n: (n.created_at, n.id), reverse=True)


class MongoNotificationStore:
    def __init__(self, db: Database) -> None:
        self.notifications = db[NOTIFICATIONS]
        self.queue = db[QUEUE]
        self.people = db[PEOPLE]

    async def add(self, notification: Notification) -> bool:
        # Queue entry first: a crash between the two writes leaves an entry whose
        # notification is missing (skipped), never a pending notification nobody sends.
        await self.queue.update_one(
            {"_id": notification.id}, {"$set": {"_id": notification.id}}, upsert=True
        )
        if not notification.person_id.startswith(ROBOT):  # listed before it exists, too
            day = notification.created_at.astimezone(UTC).date()
            await self.people.update_one(
                {"_id": _day_key(notification.person_id, day)},
                {"$addToSet": {"ids": notification.id}},
                upsert=True,
            )
        try:
            await self.notifications.insert_one(_document(notification))
        except DuplicateKeyError:
            existing = await self.get(notification.id)
            if existing is not None and existing.status != "pending":
                await self.queue.delete_one({"_id": notification.id})
            return False
        return True

    async def get(self, notification_id: str) -> Notification | None:
        found = await self.notifications.find_one({"_id": notification_id})
        return None if found is None else _notification(found)

    async def pending(self) -> list[str]:
        return [str(d["_id"]) async for d in self.queue.find({}, {"_id": 1})]

    async def save(self, notification: Notification) -> None:
        await self.notifications.replace_one({"_id": notification.id}, _document(notification))
        if notification.status != "pending":
            await self.queue.delete_one({"_id": notification.id})

    async def of_person(self, person_id: str, days: Sequence[date]) -> list[Notification]:
        found = []
        for day in days:
            listed = await self.people.find_one({"_id": _day_key(person_id, day)})
            for notification_id in (listed or {}).get("ids", ()):
                notification = await self.get(notification_id)
                if notification is not None:  # a crash after listing, before storing
                    found.append(notification)
        return sorted(found, key=lambda n: (n.created_at, n.id), reverse=True)


def _day_key(person_id: str, day: date) -> str:
    return f"{person_id}|{day.isoformat()}"


def _document(notification: Notification) -> dict[str, Any]:
    document = notification.model_dump(exclude={"id"})
    document["_id"] = notification.id
    return document


def _notification(document: dict[str, Any]) -> Notification:
    fields = {k: v for k, v in document.items() if k != "_id"}
    for name in ("next_attempt_at", "created_at", "sent_at", "sending_since"):
        value = fields.get(name)
        if isinstance(value, datetime) and value.tzinfo is None:
            fields[name] = value.replace(tzinfo=UTC)
    return Notification(id=str(document["_id"]), **fields)
