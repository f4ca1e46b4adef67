"""The scheduler's agenda: the deadline records of the hours read so far, ordered by
firing time, in memory.

The hour documents (slots.py) are the truth; the agenda holds the records of the hours up
to a short horizon ahead (schedule.py), fed by every plan this process stores in those
hours. It answers "what is due now" in microseconds whatever the number of open cases,
where a query for "due by now" scans every record on FerretDB 1.24.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime

from services.workflow.domain.deadlines import Deadline


class Agenda:
    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str]] = []
        self._pending: dict[str, Deadline] = {}

    def add(self, planned: Iterable[Deadline]) -> None:
        for deadline in planned:
            if deadline.id not in self._pending:
                heapq.heappush(self._heap, (deadline.fire_at, deadline.id))
            self._pending[deadline.id] = deadline

    def take_due(self, now: datetime, limit: int = 1000) -> list[Deadline]:
        """Remove and return the deadlines due at `now`, earliest first."""
        due: list[Deadline] = []
        while self._heap and self._heap[0][0] <= now and len(due) < limit:
            _, deadline_id = heapq.heappop(self._heap)
            deadline = self._pending.pop(deadline_id, None)
            if deadline is not None:
                due.append(deadline)
        return due

    def next_at(self) -> datetime | None:
        """When the earliest record held fires (None when none is held)."""
        while self._heap and self._heap[0][1] not in self._pending:
            heapq.heappop(self._heap)  # taken already
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._pending)
