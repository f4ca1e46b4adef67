"""Bulk import of a company's complaint history: `qloop intake import FILE --site S`.

CSV (one complaint per row, dotted column names such as `customer.name`,
`product.model`; list columns separated by `;`) or JSONL (one intake API complaint per
line). Rows are registered in file order through the same use case as the API, so
numbering, classification and idempotency are identical; a row without `external_ref`
gets `<file name>:<line>` as its reference, so re-running an import registers nothing
twice. Bad rows are reported as `FILE:LINE: field: message` and skipped.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from services.common.contracts.complaint import ComplaintSubmission
from services.common.rulebook import UnknownSite
from services.intake.handlers import Intake

LIST_COLUMNS = {"serial_numbers", "lot_numbers"}


@dataclass
class ImportReport:
    registered: int = 0
    already_registered: int = 0
    errors: list[str] = field(default_factory=list)


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
    intake: Intake, path: Path, *, site: str, source: str, progress: bool = True
) -> ImportReport:
    report = ImportReport()
    rows = list(read_rows(path))
    for line, row, error in tqdm(
        rows, desc=f"import {path.name}", unit="complaint", disable=not progress or len(rows) < 50
    ):
        where = f"{path}:{line}"
        if row is None:
            report.errors.append(f"{where}: {error}")
            continue
        row["site"] = site
        row.setdefault("channel", "other_system")
        try:
            submission = ComplaintSubmission.model_validate(row)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = ".".join(str(p) for p in err["loc"])
                report.errors.append(f"{where}: {loc}: {err['msg']}")
            continue
        try:
            outcome = await intake.submit(
                submission,
                source=source,
                reference=submission.external_ref or f"{path.name}:{line}",
            )
        except UnknownSite as exc:
            report.errors.append(f"{where}: site: {exc}")
            break
        if outcome.created:
            report.registered += 1
        else:
            report.already_registered += 1
    return report
