"""The workflow's storage (the only module here that talks to the database).

- `cases`: one document per case, `_id` derived from site and complaint number, so opening
  is an insert the unique `_id` makes exclusive. A command's state change, its new history
  entries and its outbox events are one single-document update that holds the case's lock
  and checks the case's `version` (optimistic concurrency).
- `deadline_slots`: the deadline records by the hour they fire in, and the watermark
  (slots.py). `plans`: one marker per case whose deadlines are to be planned, written
  before the case write and removed once they are: a crash in between leaves the marker
  for the catch-up pass.
- `recurrence`: one document per (site, recurrence key), `_id` = `recurrence_id(...)`,
  listing the cases closed with that key; a new complaint's earlier cases are found by one
  read by `_id` (FerretDB 1.24 uses no secondary index: a query on the key would scan
  every case for every complaint). A closing is listed before it is stored, and readers
  check each listed case, so the list may hold extras but never misses a closed case.
- `survey_waits`: one document per `site|customer` listing the survey actions that wait for
  that customer's next survey result (store_waits.py), read by `_id` when one arrives.
- `fired`: a deadline fires by inserting `fired/<deadline id>` with its events in the
  document's outbox: the unique `_id` makes each deadline's events happen exactly once,
  across restarts and concurrent schedulers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING, IndexModel

from services.common.contracts.envelope import Envelope
from services.common.storage.outbox import OUTBOX_INDEX
from services.workflow.domain.case import Case
from services.workflow.domain.deadlines import Deadline
from services.workflow.slots import SLOTS

CASES, FIRED, RECURRENCE, PLANS = "cases", "fired", "recurrence", "plans"
DEADLINES = SLOTS
INDEX_BUILT = "index-built"  # the `recurrence` document saying closed cases were listed
OUTBOX_COLLECTIONS = (CASES, FIRED)
_STORE_ONLY = ("_id", "outbox", "outbox_n", "applied_events", "schedule_pending", "deadline_token")

INDEXES = {
    CASES: [
        IndexModel([("site", ASCENDING), ("stage", ASCENDING)], name="site_stage"),
        IndexModel(
            [("site", ASCENDING), ("recurrence_key", ASCENDING), ("closed_at", DESCENDING)],
            name="recurrence",
        ),
        IndexModel([("terminal", ASCENDING), ("due", ASCENDING)], name="overdue"),
        IndexModel([("due_provisional", ASCENDING), ("terminal", ASCENDING)], name="provisional"),
    ],
    FIRED: [OUTBOX_INDEX],  # relayed by the workflow's own relay (see app.py)
}


class VersionConflict(Exception):
    """The case changed since it was read: read it again and retry."""


@dataclass(frozen=True)
class CaseQuery:
    sites: Sequence[str]
    stage: str | None = None
    overdue_at: datetime | None = None
    open_only: bool = False
    limit: int = 50
    skip: int = 0


@dataclass
class CaseCounts:
    open_by_stage: dict[tuple[str, str], int] = field(default_factory=dict)
    repeats: dict[str, tuple[int, int]] = field(default_factory=dict)  # (complaint cases, repeats)
    provisional: dict[str, set[str]] = field(default_factory=dict)  # site -> open case ids


class CaseStore(Protocol):
    async def open(self, case: Case, events: Sequence[Envelope[BaseModel]]) -> bool: ...
    async def get(self, case_id: str) -> Case | None: ...
    async def save(
        self,
        case: Case,
        *,
        base: Case,
        events: Sequence[Envelope[BaseModel]],
        event_id: str | None = None,
    ) -> bool: ...
    async def closed_matching(self, site: str, key: str, since: datetime) -> list[Case]: ...
    async def index_recurrence(self) -> int: ...
    async def search(self, query: CaseQuery) -> list[Case]: ...
    async def schedule(
        self, case: Case, planned: Sequence[Deadline], now: datetime
    ) -> dict[str, datetime]: ...
    async def place(self, planned: Sequence[Deadline], now: datetime) -> dict[str, datetime]: ...
    async def pending_plans(self, limit: int) -> list[Case]: ...
    async def deadline_floor(self, now: datetime) -> datetime: ...
    async def deadlines_in(self, hour: datetime) -> list[Deadline]: ...
    async def deadlines_between(self, start: datetime, end: datetime) -> list[Deadline]: ...
    async def settle_hours(self, until: datetime) -> datetime: ...
    async def fire(
        self, deadline: Deadline, events: Sequence[Envelope[BaseModel]], now: datetime
    ) -> bool: ...
    async def settle(
        self, done: Sequence[Deadline], follow_ups: Sequence[Deadline]
    ) -> dict[str, datetime]: ...
    async def counts(self) -> CaseCounts: ...
    async def listed(self, site: str, stage: str) -> list[str]: ...  # store_worklists.py
    async def awaiting_survey(self, key: str) -> list[str]: ...  # store_waits.py


def recurrence_id(site: str, key: str) -> str:
    return f"{site}|{key}"


def to_document(case: Case) -> dict[str, Any]:
    document = case.model_dump(exclude={"event_times", "history", "id"})
    # Event names contain dots (`reply.entered`): stored as entries, not as field names
    # (and not as pairs: FerretDB 1.24 refuses nested arrays).
    document["event_times"] = [{"event": name, "at": at} for name, at in case.event_times.items()]
    document["deadline_token"] = case.deadline_token
    return document


def from_document(document: dict[str, Any]) -> Case:
    data = {k: v for k, v in document.items() if k not in _STORE_ONLY}
    data["event_times"] = {e["event"]: e["at"] for e in data.get("event_times") or []}
    return Case.model_validate({**data, "id": document["_id"]})
