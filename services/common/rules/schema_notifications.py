"""The optional `notifications` section: who each trigger tells at this site.

Each trigger has defaults (docs/notify.md); `to` replaces its recipients, `also` adds to
them, `enabled: false` silences it. Recipients are department or role ids of the site;
the directory says which people hold them.
"""

from __future__ import annotations

from pydantic import Field

from services.common.rules.schema_base import Frozen, Id, OneOrMany

TRIGGERS = (
    "complaint_registered",
    "case_stage",
    "case_deadline",
    "case_escalated",
    "case_reopened",
)


class NotificationTrigger(Frozen):
    enabled: bool = True
    to: OneOrMany[Id] | None = None
    also: OneOrMany[Id] = ()


class Notifications(Frozen):
    channels: OneOrMany[str] = Field(default=("email",))
    complaint_registered: NotificationTrigger = NotificationTrigger()
    case_stage: NotificationTrigger = NotificationTrigger()
    case_deadline: NotificationTrigger = NotificationTrigger()
    case_escalated: NotificationTrigger = NotificationTrigger()
    case_reopened: NotificationTrigger = NotificationTrigger()

    def trigger(self, kind: str) -> NotificationTrigger:
        found: NotificationTrigger = getattr(self, kind)
        return found
