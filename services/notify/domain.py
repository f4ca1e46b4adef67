"""What a notification is and who receives it: pure rules, no I/O.

A notification is one message to one person on one channel for one cause (an event).
Its `_id` is derived from the event id, the person and the channel, so a redelivered
event never yields a second message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from services.common.rules.schema_notifications import DeliveryPreference

EMAIL = "email"  # the personal channel; group robots are channels named by their kind
ROBOT = "robot:"  # a channel `robot:<name>`: the named group robot of the site
# `digested`: held for a daily digest and sent in it (the digest is a notification itself)
Status = Literal["pending", "sent", "failed", "digested"]


class Recipient(BaseModel):
    """A person as the directory lists them (only what a message needs)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    name: str
    email: str | None = None
    language: str = "en"
    departments: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    preference: DeliveryPreference | None = None  # the person's own (desk), if any


class Notification(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    site: str
    channel: str
    person_id: str
    language: str
    cause: str  # the trigger: complaint_registered, case_escalated, ...
    event_id: str
    event_type: str
    why: tuple[str, ...]  # the department or role names that brought this person in
    subject: str
    text: str
    html: str
    status: Status = "pending"
    attempts: int = 0
    next_attempt_at: AwareDatetime
    reason: str | None = None
    created_at: AwareDatetime
    sent_at: AwareDatetime | None = None
    # Delivery as the person's preference had it when recorded: held for the daily digest
    # at `digest_at` (local "HH:MM"), never sent in quiet hours ("HH:MM-HH:MM"), in `zone`.
    digest: bool = False
    digest_at: str | None = None
    quiet_hours: str | None = None
    zone: str | None = None
    link: str | None = None  # the desk page the message points to
    members: tuple[str, ...] = ()  # a digest: the notifications it lists
    # An attempt started and its outcome not recorded (the process died mid-send): the
    # next attempt may send a second copy, and is counted as a resend.
    sending_since: AwareDatetime | None = None
    resends: int = 0


def notification_id(event_id: str, person_id: str, channel: str) -> str:
    return f"{event_id}|{person_id}|{channel}"


@dataclass(frozen=True)
class Addressed:
    person: Recipient
    why: tuple[str, ...]


def resolve(
    names: Iterable[str],
    people: Sequence[Recipient],
    department_roles: Mapping[str, Iterable[str]] | None = None,
    person_ids: Iterable[str] = (),
) -> list[Addressed]:
    """People holding any of `names` (a department or a role of the site: granted, or a
    role of a department they belong to), and the people named by id, each once, with the
    names that brought them in, in the directory's order."""
    named = tuple(person_ids)
    wanted = list(dict.fromkeys((*names, *named)))
    ids = set(named)
    roles_of = department_roles or {}
    found = []
    for person in people:
        held = set(person.departments) | set(person.roles) | ({person.id} & ids)
        through = {r for d in person.departments for r in roles_of.get(d, ())}
        # What they hold themselves explains best; a department's roles only when nothing
        # else brings them in (the GM is told as GM, not as a manager of their department).
        why = tuple(n for n in wanted if n in held) or tuple(n for n in wanted if n in through)
        if why:
            found.append(Addressed(person, why))
    return found


def backoff_seconds(attempts: int) -> float:
    """Wait before the next try after `attempts` failed ones: 10 s doubling, at most 1 h."""
    return float(min(10 * 2 ** max(attempts - 1, 0), 3600))


def is_due(notification: Notification, now: datetime) -> bool:
    return notification.status == "pending" and notification.next_attempt_at <= now
