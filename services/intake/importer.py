"""Bulk import of a company's complaint history: `qloop intake import FILE --site S`.

CSV (one complaint per row, dotted column names such as `customer.name`,
`product.model`; list columns separated by `;`) or JSONL (one intake API complaint per
line). Rows are registered in file order, `BATCH` at a time (history.py: the same
numbering, classification and idempotency as the API's one-row use case, in a few
commands per batch); a row without `external_ref` gets `<file name>:<line>` as its
reference, so re-running an import registers nothing twice. Bad rows are reported as
`FILE:LINE: field: message` (one line per bad field) and skipped; the summary counts
rows, not field errors.

The import runs beside the intake service, not inside it: it publishes nothing itself.
After every batch it leaves a mark naming the complaints whose outbox entries it wrote
(`RelayMarks`), and the service's relay, which reads marks every poll, publishes them
within seconds (on FerretDB its pass over the complaints runs only at start).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from services.common.clock import Clock
from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.envelope import Envelope
from services.common.rulebook import UnknownSite
from services.common.rules import SiteRules
from services.intake.closure import COLUMNS as CLOSURE_COLUMNS
from services.intake.closure import ImportedClosure, imported_closure
from services.intake.handlers import Intake
from services.intake.history import HistoryRow, register_history
from services.intake.store import ComplaintStore

LIST_COLUMNS = {"serial_numbers", "lot_numbers"}
BATCH = 200  # rows registered together (history.py), and named by one mark


@dataclass
class RelayMarks:
    """The import's `kick`: it collects the documents whose outbox entries were written
    (or found written by an earlier run) and `leave` marks them for the service's relay."""

    store: ComplaintStore
    clock: Clock
    _waiting: dict[str, dict[str, None]] = field(default_factory=dict, init=False)

    def kick(
        self, collection: str, document_id: Any, events: Sequence[Envelope[Any]] | None
    ) -> None:
        self._waiting.setdefault(collection, {})[document_id] = None

    async def leave(self) -> None:
        waiting, self._waiting = self._waiting, {}
        for collection, keys in waiting.items():
            await self.store.mark_for_relay(collection, list(keys), now=self.clock.now())


@dataclass
class ImportReport:
    registered: int = 0
    already_registered: int = 0
    refused: int = 0  # rows, however many of their fields were wrong
    errors: list[str] = field(default_factory=list)  # `FILE:LINE: field: message`

    def refuse(self, where: str, problems: list[str]) -> None:
        self.refused += 1
        self.errors += [f"{where}: {problem}" for problem in problems]


def _nest(row: dict[str, str]) -> dict[str, Any]:
    """`customer.name` -> {"customer": {"name": ...}}; `product.x` -> products[0].x."""
    nested: dict[str, Any] = {}
    for column, raw in row.items():
        if column is None or raw is None or raw.strip() == "":
            continue
        value: Any = raw.strip()
        parts = column.strip().split(".")
        if parts[-1] in LIST_COLUMNS:
            value = [v.strip() for v in value.split(";") if v.strip()]
        if parts[0] == "product":
            target = nested.setdefault("products", [{}])[0]
            parts = parts[1:]
        else:
            target = nested
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return nested


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line, complaint as a dict, or None with the parse error)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if path.suffix.lower() == ".jsonl":
            for line, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    document = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield line, None, f"not JSON: {exc.msg}"
                    continue
                if isinstance(document, dict):
                    yield line, document, None
                else:
                    yield line, None, "not a JSON object"
        else:
            reader = csv.DictReader(handle)
            for row in reader:
                yield reader.line_num, _nest(row), None


async def import_file(
    intake: Intake,
    path: Path,
    *,
    site: str,
    source: str,
    progress: bool = True,
    marks: RelayMarks | None = None,
) -> ImportReport:
    """Register the file's rows, `BATCH` at a time; `marks`: the `kick` of `intake`, left
    after every batch (also when the import stops on an error)."""
    try:
        return await _import_rows(
            intake, path, site=site, source=source, progress=progress, marks=marks
        )
    finally:
        if marks is not None:
            await marks.leave()


async def _import_rows(
    intake: Intake,
    path: Path,
    *,
    site: str,
    source: str,
    progress: bool,
    marks: RelayMarks | None,
) -> ImportReport:
    report = ImportReport()
    rows = list(read_rows(path))
    try:
        intake.rulebook.for_site(site)
    except UnknownSite as exc:
        first = f"{path}:{rows[0][0]}" if rows else str(path)
        report.refuse(first, [f"site: {exc}"])
        return report
    batch: list[HistoryRow] = []
    lines = tqdm(
        rows, desc=f"import {path.name}", unit="complaint", disable=not progress or len(rows) < 50
    )
    rules = intake.rulebook.for_site(site)
    now = intake.clock.now()
    for line, row, error in lines:
        found = _submission(report, f"{path}:{line}", row, error, site, rules, now)
        if found is not None:
            submission, closure = found
            reference = submission.external_ref or f"{path.name}:{line}"
            batch.append((submission, reference, closure))
        if len(batch) >= BATCH:
            await _register(intake, batch, source, report, marks)
            batch = []
    await _register(intake, batch, source, report, marks)
    return report


def _submission(
    report: ImportReport,
    where: str,
    row: dict[str, Any] | None,
    error: str | None,
    site: str,
    rules: SiteRules,
    now: datetime,
) -> tuple[ComplaintSubmission, ImportedClosure | None] | None:
    """The row as a submission with the outcome it may carry (`outcome`, `closed_at`:
    closure.py), or None with the row refused (once, naming every bad field)."""
    if row is None:
        report.refuse(where, [str(error)])
        return None
    ended = {name: row.pop(name, None) for name in CLOSURE_COLUMNS}
    row["site"] = site
    row.setdefault("channel", "other_system")
    try:
        submission = ComplaintSubmission.model_validate(row)
    except ValidationError as exc:
        report.refuse(where, [_field_error(err) for err in exc.errors(include_url=False)])
        return None
    closure, problems = imported_closure(
        rules,
        _text(ended["outcome"]),
        _text(ended["closed_at"]),
        received_at=submission.received_at,
        now=now,
    )
    if problems:
        report.refuse(where, problems)
        return None
    return submission, closure


def _text(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()


async def _register(
    intake: Intake,
    batch: list[HistoryRow],
    source: str,
    report: ImportReport,
    marks: RelayMarks | None,
) -> None:
    outcome = await register_history(intake, batch, source=source)
    report.registered += outcome.registered
    report.already_registered += outcome.already_registered
    if marks is not None:  # after the batch's writes: the relay never reads ahead of them
        await marks.leave()


def _field_error(error: Any) -> str:
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
