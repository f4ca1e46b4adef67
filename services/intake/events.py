"""Intake's broker entry: complaint.submitted events from other systems."""

from __future__ import annotations

from pydantic import BaseModel

from services.common.contracts.complaints import ComplaintSubmitted, FieldError
from services.common.contracts.envelope import Envelope
from services.common.messaging.consumer import Handler, Outcome, Rejected
from services.common.messaging.topology import QueueSpec
from services.common.rulebook import UnknownSite
from services.intake.handlers import Intake

SUBMISSIONS = QueueSpec("intake.submissions", ("*.complaint.submitted",))


def on_submitted(intake: Intake) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        event = envelope.data
        assert isinstance(event, ComplaintSubmitted)
        submission = event.complaint
        problem: FieldError | None = None
        if submission.site != envelope.site:
            problem = FieldError(
                field="data.complaint.site",
                message=f"site {submission.site!r} differs from the "
                f"envelope's site {envelope.site!r}",
            )
        else:
            try:
                outcome = await intake.submit(
                    submission,
                    source=envelope.source,
                    reference=submission.external_ref or str(envelope.id),
                    correlation_id=envelope.correlationid,
                )
            except UnknownSite as exc:
                problem = FieldError(field="data.complaint.site", message=str(exc))
            else:
                return "stored" if outcome.created else "duplicate"
        await intake.reject(
            site=envelope.site,
            source=envelope.source,
            reason="refused",
            errors=[problem],
            external_ref=submission.external_ref,
            correlation_id=envelope.correlationid,
        )
        raise Rejected(f"{problem.field}: {problem.message}", [problem.field])

    return handle
