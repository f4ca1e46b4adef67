"""The notify service's broker entries: the complaint, case and survey facts that tell
people (or that notify keeps to address later ones: a case's owner, a campaign's answers).
A message is acked once its notifications are stored (the consumer acks after return)."""

from __future__ import annotations

from pydantic import BaseModel

from services.common.contracts.envelope import Envelope
from services.common.messaging.consumer import Handler, Outcome, Rejected
from services.common.messaging.topology import QueueSpec
from services.common.rulebook import UnknownSite
from services.notify.service import Notifier

TYPES = (
    "complaint.registered",
    "case.opened",
    "case.stage_changed",
    "case.deadline_approaching",
    "case.deadline_missed",
    "case.action_assigned",
    "case.escalated",
    "case.reopened",
    "survey.campaign_opened",
    "survey.answered",
    "survey.campaign_closed",
)
FACTS = QueueSpec("notify.facts", tuple(f"*.{t}" for t in TYPES))
# Facts notify only keeps (a campaign's invitations and answers): kept, never "duplicate".
KEPT = ("survey.campaign_opened", "survey.answered", "survey.campaign_closed")


def on_fact(notifier: Notifier) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        try:
            stored = await notifier.record(envelope)
        except UnknownSite as exc:
            raise Rejected(str(exc), ["site"]) from None
        return "stored" if stored or envelope.type in KEPT else "duplicate"

    return handle


def handlers(notifier: Notifier) -> dict[str, Handler]:
    return dict.fromkeys(TYPES, on_fact(notifier))
