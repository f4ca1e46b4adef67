"""The case: one complaint (or one survey action) on its way through the site's procedure.

Times are aware UTC datetimes truncated to milliseconds (what the database keeps), so a case
read back equals the case written. History entries hold JSON values only, so their hash
chain verifies after any round trip.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def instant(moment: datetime) -> datetime:
    """`moment` in UTC at millisecond precision (BSON dates keep milliseconds)."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class StageVisit(Model):
    stage: str
    seq: int
    entered_at: datetime
    due: datetime | None = None
    provisional: bool = False  # `due` rests on a calendar year not published yet
    left_at: datetime | None = None
    on_time: bool | None = None


class Extension(Model):
    stage: str
    visit: int
    previous_due: datetime
    new_due: datetime
    consent_by: str
    consent_at: datetime
    consent_channel: str
    consent_reference: str | None = None
    requested_by: str
    reason: str | None = None
    at: datetime


class Verification(Model):
    stage: str
    result: str
    ng_reason: str | None = None
    by: str
    at: datetime


class SignatureRecord(Model):
    """An electronic signature on the case: who (a person of the directory, re-
    authenticated), what it means, when, and the history head it signed (the case as it
    stood: every change before it is in the hash chain)."""

    person_id: str
    name: str
    meaning: str
    action: str
    stage: str
    signed_hash: str
    signed_at: datetime
    token_id: str


class Rejection(Model):
    """A send-back for re-analysis (the review loop)."""

    stage: str
    back_to: str
    round: int
    reason: str | None
    by: str
    at: datetime


class Disposition(Model):
    """Returned goods and claims: what happens to the parts and the money."""

    disposition: Literal["rework", "concession", "scrap"]
    quantity: int = Field(ge=0)
    reinspection: Literal["ok", "ng"] | None = None
    claimed_amount: float | None = Field(default=None, ge=0)
    agreed_compensation: float | None = Field(default=None, ge=0)
    currency: str | None = None
    note: str | None = None
    by: str
    at: datetime


class ClockRun(Model):
    """One run of a case clock (rule file `clocks`): from its start event to its stop."""

    clock: str
    run: int  # 1 for the first start; a start after a stop begins the next run
    owner: str  # the department or role that must act (the rule file's `owner`)
    started_at: datetime
    due: datetime
    provisional: bool = False  # `due` rests on a calendar year not published yet
    revisions: int = 0  # times `due` moved when computed again on a newer calendar
    stopped_at: datetime | None = None
    stopped_by: str | None = None  # the event that stopped it (or `closed`)
    met: bool | None = None  # stopped by its due time; None while running


class SurveyCheck(Model):
    """A survey action verified by the customer's next survey result (`survey.scored`)."""

    event_id: str  # the `survey.scored` event: each is recorded once
    campaign_id: str | None
    scope: str  # customer | scorecard | campaign
    scored_at: datetime
    measure: str  # what was measured again: `overall`, an item or dimension id
    value: float
    threshold: float | None  # the trigger's; None for a suggestion (judged by the band)
    band: str | None = None
    effective: bool  # the trigger no longer fires (a suggestion: the band needs no report)
    at: datetime


class HistoryEntry(Model):
    seq: int
    at: str
    actor: str
    roles: list[str]
    what: str
    action: str | None = None
    from_stage: str | None = None
    to_stage: str | None = None
    changes: dict[str, Any] = {}
    reason: str | None = None
    rules_version: str
    prev_hash: str
    hash: str


class Case(Model):
    id: str
    site: str
    origin: Literal["complaint", "survey_action"]
    reference: str  # the complaint number, or the survey action's reference
    customer_id: str | None = None
    customer_name: str | None = None
    owner_department: str
    copy_to: list[str] = []
    classification: dict[str, Any] | None = None  # as registered, with its rules_version
    complaint: dict[str, Any] | None = None  # the submission, for the 8D's D0/D2
    source_facts: dict[str, Any] = {}  # e.g. the survey trigger behind a corrective action
    stage: str
    stage_seq: int = 1
    terminal: bool = False
    due: datetime | None = None  # the current stage's due time
    # `due` was counted through a calendar year not published yet; recomputed (and this
    # cleared) once it is. `due_revisions` counts such recomputations that moved `due`.
    due_provisional: bool = False
    due_revisions: int = 0
    case_due: datetime | None = None  # a due time for the whole case (survey actions)
    case_due_provisional: bool = False  # `case_due` rests on a calendar year not published
    # A survey action's `case_due` is judged when the action is done (the case reaches the
    # survey verification stage) or closed: chased until then, None while it runs.
    case_due_met: bool | None = None
    case_due_round: int = 1  # due again after a verification found the action not effective
    case_due_from: datetime | None = None  # what `case_due` counts from (raised, acting again)
    case_due_revisions: int = 0  # times `case_due` moved when computed on a newer calendar
    # Since when a survey action waits for the customer's next survey result (None: not
    # waiting); listed meanwhile in the `survey_waits` read model (store_waits.py).
    awaiting_survey_since: datetime | None = None
    survey_checks: list[SurveyCheck] = []
    customer_deadline: datetime | None = None
    event_times: dict[str, datetime] = {}
    visits: list[StageVisit] = []
    fields: dict[str, Any] = {}
    extensions: list[Extension] = []
    review_rounds: int = 0
    rejections: list[Rejection] = []
    verifications: list[Verification] = []
    dispositions: list[Disposition] = []
    signatures: list[SignatureRecord] = []
    clocks: list[ClockRun] = []  # every run of the site's case clocks, in start order
    recurrence_key: str | None = None
    repeat: bool = False
    repeat_of: str | None = None
    repeats: list[str] = []
    outcome: str | None = None
    nonconformity: bool | None = None
    on_time: bool | None = None
    opened_at: datetime
    closed_at: datetime | None = None
    reopen_count: int = 0
    rules_version: str
    history: list[HistoryEntry] = []
    version: int = 0

    @property
    def deadline_token(self) -> str:
        """Changes whenever the current stage's due time may change (new visit, extension,
        a recomputation on a newly published calendar): scheduled deadlines carrying an
        older token no longer apply."""
        token = f"s{self.stage_seq}.e{len(self.extensions)}"
        return f"{token}.c{self.due_revisions}" if self.due_revisions else token

    @property
    def complaint_number(self) -> str:
        return self.reference

    def overdue(self, now: datetime) -> bool:
        return not self.terminal and self.due is not None and self.due < now
