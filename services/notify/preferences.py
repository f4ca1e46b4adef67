"""How a person is told: channels, quiet hours and a daily digest; pure rules.

Each field is taken from the person's own setting (the desk's directory), else from their
first department at the site that sets it (the rule file's `notifications.departments`),
else the site's default (its `notifications.channels`, no quiet hours, no digest). Times
are local times of the site's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.common.rules.schema import SiteRules
from services.common.rules.schema_notifications import DeliveryPreference, QuietHours
from services.notify.domain import Recipient


@dataclass(frozen=True)
class Delivery:
    channels: tuple[str, ...]
    quiet_hours: QuietHours | None
    digest: time | None


def delivery_for(person: Recipient, rules: SiteRules) -> Delivery:
    section = rules.notifications
    departments = section.departments if section else {}
    chain = [person.preference] + [departments.get(d) for d in person.departments]
    found = [p for p in chain if p is not None]
    default = section.channels if section else ("email",)
    channels = next((p.channels for p in found if p.channels is not None), default)
    return Delivery(
        channels=channels,
        quiet_hours=next((p.quiet_hours for p in found if p.quiet_hours), None),
        digest=next((p.digest for p in found if p.digest), None),
    )


def quiet_until(now: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> datetime | None:
    """The end of the quiet hours `now` falls in (None: not quiet now). A span whose start
    is after its end runs over midnight (22:00-07:00)."""
    if quiet is None or quiet.start == quiet.end:
        return None
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        inside = quiet.start <= clock < quiet.end
        end_day = local.date()
    else:
        inside = clock >= quiet.start or clock < quiet.end
        end_day = local.date() + timedelta(days=1 if clock >= quiet.start else 0)
    if not inside:
        return None
    return datetime.combine(end_day, quiet.end, tzinfo=zone).astimezone(now.tzinfo)


def next_digest(now: datetime, zone: ZoneInfo, at: time) -> datetime:
    """The first digest time (local `at`) at or after `now`."""
    local = now.astimezone(zone)
    moment = datetime.combine(local.date(), at, tzinfo=zone)
    if moment < local:
        moment = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return moment.astimezone(now.tzinfo)


def parse_preference(raw: object) -> DeliveryPreference | None:
    """A person's setting as the desk lists it; one the notify service cannot read is
    ignored (the department's and the site's settings apply) rather than refused."""
    if not isinstance(raw, dict):
        return None
    try:
        return DeliveryPreference.model_validate(raw)
    except ValueError:
        return None


def quiet_text(quiet: QuietHours | None) -> str | None:
    """How a notification keeps the quiet hours it was recorded with: "22:00-07:00"."""
    if quiet is None:
        return None
    return f"{quiet.start:%H:%M}-{quiet.end:%H:%M}"


def quiet_of(text: str | None) -> QuietHours | None:
    if not text:
        return None
    start, _, end = text.partition("-")
    return QuietHours.model_validate({"start": start, "end": end})


def held_until(now: datetime, zone: str | None, quiet: str | None) -> datetime:
    """`now`, or the end of the stored quiet hours it falls in."""
    if not zone:
        return now
    return quiet_until(now, ZoneInfo(zone), quiet_of(quiet)) or now
