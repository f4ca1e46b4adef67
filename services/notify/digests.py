"""A person's daily digest: the notifications held for it, listed in one mail.

The digest is a notification itself (id `digest:<person>:<time>|<person>|email`), recorded
before its members are marked `digested`: a crash in between leaves the members pending,
and the next pass finds the digest recorded and marks the members it lists. A member it
does not list (recorded as the digest was being composed) waits for the next digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.notify import texts
from services.notify.domain import Notification, notification_id
from services.notify.preferences import next_digest

CAUSE = "digest"
EVENT_TYPE = "notify.digest"


def digest_of(members: Sequence[Notification], now: datetime) -> Notification:
    """The digest listing `members` (one person's, at one site, all due). It goes out at
    the digest hour even inside the person's quiet hours; a retry of it waits them out."""
    first = members[0]
    key = max(m.next_attempt_at for m in members)
    event_id = f"digest:{first.person_id}:{key:%Y%m%dT%H%MZ}"
    zone = ZoneInfo(first.zone) if first.zone else None
    day = f"{key.astimezone(zone):%Y-%m-%d}"
    items = [(m.subject, m.link or "") for m in members]
    subject, text, html = texts.render_digest(first.language, day, items)
    why = tuple(dict.fromkeys(w for m in members for w in m.why))
    return Notification(
        id=notification_id(event_id, first.person_id, first.channel),
        site=first.site, channel=first.channel, person_id=first.person_id,
        language=first.language, cause=CAUSE, event_id=event_id, event_type=EVENT_TYPE,
        why=why, subject=subject, text=text, html=html, next_attempt_at=now, created_at=now,
        zone=first.zone, quiet_hours=first.quiet_hours, members=tuple(m.id for m in members),
    )  # fmt: skip


def next_time(member: Notification, now: datetime) -> datetime:
    """When a member a digest missed goes out: the next digest after this one."""
    if not member.digest_at or not member.zone:
        return now
    at = time.fromisoformat(member.digest_at)
    return next_digest(now + timedelta(minutes=1), ZoneInfo(member.zone), at)
