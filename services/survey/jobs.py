"""The survey service's background work, on the injected clock: open scheduled and
follow-up campaigns, send reminders, close campaigns whose window ended, send e-mail."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from services.survey import campaigns, closing
from services.survey.mailer import Mailer, send_pending
from services.survey.service import SurveyService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pass:
    opened: int
    reminded: int
    closed: int
    mailed: int


async def run_once(svc: SurveyService, mailer: Mailer | None = None) -> Pass:
    opened = await campaigns.open_due(svc)
    reminded = await campaigns.send_reminders(svc)
    closed = await closing.close_due(svc)
    mailed = await send_pending(svc, mailer) if mailer else 0
    return Pass(opened, reminded, closed, mailed)


async def run_forever(svc: SurveyService, mailer: Mailer | None, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            done = await run_once(svc, mailer)
            if any(done.__dict__.values()):
                log.info("survey jobs: %s", done)
        except Exception:  # a failed pass is retried on the next one; nothing is lost
            log.exception("survey jobs pass failed; will retry")
