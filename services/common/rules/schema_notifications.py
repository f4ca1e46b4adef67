"""The optional `notifications` section: who each trigger tells at this site, and how a
department's people like to be told.

Each trigger has defaults (docs/notify.md); `to` replaces its recipients, `also` adds to
them, `enabled: false` silences it. Recipients are department or role ids of the site;
the directory says which people hold them. `departments.<id>` sets the channels, quiet
hours and daily digest of that department's people (a person's own setting at the desk
comes first).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer

from services.common.rules.durations import Duration, Unit
from services.common.rules.schema_base import DurationField, Frozen, Id, OneOrMany

TRIGGERS = (
    "complaint_registered",
    "case_stage",
    "approval_requested",
    "case_deadline",
    "capa_action",
    "case_escalated",
    "case_reopened",
    "survey_action",
    "campaign_response_low",
)
# `email` (to each person), or `robot:<id>`: the group robot of that id in the notify
# service's settings (a department's chat group; its URL is a secret, never rule data).
_CHANNEL = re.compile(r"^(email|robot:[A-Za-z][A-Za-z0-9_.\-]{0,63})$")


def _channel(value: object) -> str:
    if not isinstance(value, str) or not _CHANNEL.match(value):
        raise ValueError(
            f"unknown channel {value!r}: write email, or robot:<id> for a group robot of "
            "the notify service's settings (QLOOP_NOTIFY_ROBOTS)"
        )
    return value


Channel = Annotated[str, BeforeValidator(_channel)]
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _clock_time(value: object) -> time:
    """`"22:00"` as a local time of day. Written unquoted, YAML reads 22:00 as a number
    (sexagesimal 1320): refused with a hint rather than read as some other time."""
    if isinstance(value, time):
        return value
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f'{value!r} is not a local time "HH:MM" (quote it: "07:00")')
    return time(int(match[1]), int(match[2]))


def _clock_text(value: time) -> str:
    return f"{value:%H:%M}"


# Serialised as written ("07:00"), so a stored preference (the desk's) reads back the same.
ClockTime = Annotated[time, BeforeValidator(_clock_time), PlainSerializer(_clock_text)]


class NotificationTrigger(Frozen):
    enabled: bool = True
    to: OneOrMany[Id] | None = None
    also: OneOrMany[Id] = ()


class ResponseRateTrigger(NotificationTrigger):
    """Judged once, `before` the end of a campaign's answer window."""

    before: DurationField = Duration(1, Unit.working_days)


class QuietHours(Frozen):
    """No sending from `start` to `end`, local time of the site (may span midnight)."""

    start: ClockTime
    end: ClockTime


class DeliveryPreference(Frozen):
    """How a person (at the desk) or a department's people (here) are told; a field left
    out falls back (person, then department, then the site)."""

    channels: OneOrMany[Channel] | None = None  # [] tells them on no channel
    quiet_hours: QuietHours | None = None
    digest: ClockTime | None = None  # one mail a day at this local time instead of single ones


class Notifications(Frozen):
    channels: OneOrMany[Channel] = Field(default=("email",))
    complaint_registered: NotificationTrigger = NotificationTrigger()
    case_stage: NotificationTrigger = NotificationTrigger()
    approval_requested: NotificationTrigger = NotificationTrigger()
    case_deadline: NotificationTrigger = NotificationTrigger()
    capa_action: NotificationTrigger = NotificationTrigger()
    case_escalated: NotificationTrigger = NotificationTrigger()
    case_reopened: NotificationTrigger = NotificationTrigger()
    survey_action: NotificationTrigger = NotificationTrigger()
    campaign_response_low: ResponseRateTrigger = ResponseRateTrigger()
    departments: dict[Id, DeliveryPreference] = Field(default_factory=dict)

    def trigger(self, kind: str) -> NotificationTrigger:
        found: NotificationTrigger = getattr(self, kind)
        return found
