"""What the survey use cases talk to, passed in by the composition root (app.py, cli.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from services.common.clock import Clock
from services.common.contracts.envelope import Envelope
from services.common.contracts.registry import new_event
from services.common.rulebook import Rulebook
from services.common.rules import SiteRules
from services.common.rules.schema_survey import Survey
from services.common.storage.outbox import Kick
from services.survey.domain import links
from services.survey.metrics import SurveyMetrics
from services.survey.store import SurveyStore

SOURCE = "/qloop/survey"


class NoSurvey(LookupError):
    """The site's rule file has no survey section."""


class Refused(ValueError):
    """A request the rules or the state refuse; the message says why and what to do."""


@dataclass
class SurveyService:
    store: SurveyStore
    rulebook: Rulebook
    clock: Clock
    metrics: SurveyMetrics
    link_secret: bytes
    public_url: str
    link_valid: timedelta = timedelta(days=30)
    mail_on: bool = False
    kick: Kick | None = None  # hands what was just stored to the outbox relay

    def rules(self, site: str) -> tuple[SiteRules, Survey]:
        rules = self.rulebook.for_site(site)
        if rules.survey is None:
            raise NoSurvey(f"site {site!r} has no survey section in its rule file")
        return rules, rules.survey

    def event(
        self,
        data: BaseModel,
        *,
        site: str,
        subject: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        time: datetime | None = None,
    ) -> Envelope[BaseModel]:
        return new_event(
            data,
            site=site,
            source=SOURCE,
            time=time or self.clock.now(),
            subject=subject,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )

    def link(self, invitation_id: str, expires_at: datetime) -> str:
        token = links.sign(self.link_secret, invitation_id, expires_at)
        return f"{self.public_url.rstrip('/')}/s/{token}"

    def stored(
        self, collection: str, document_id: Any, events: Sequence[Envelope[BaseModel]] | None
    ) -> None:
        """Hand the events just stored with a document to the outbox relay (a kick without
        a document would pass over every collection: on FerretDB a scan of each). None:
        the document was found stored already; the relay reads what it still holds (its
        writer may have been cancelled before it kicked)."""
        if self.kick and (events is None or events):
            self.kick(collection, document_id, events)
