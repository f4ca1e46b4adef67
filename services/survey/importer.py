"""CSV import of deliveries (ERP exports): one row per lot delivered.

Columns: customer_id, customer_name, delivered_on (YYYY-MM-DD), quantity, lot, and
optionally delivery_id, product_model, due_on, late (true/false/yes/no/1/0). A row with
a delivery_id is counted once however often it is imported or also sent as an event;
without one, the file name and line identify it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from services.common.contracts.deliveries import DeliveryRecorded
from services.survey.activity import delivery_key, record_delivery
from services.survey.service import SurveyService

TRUE, FALSE = {"true", "yes", "y", "1", "是"}, {"false", "no", "n", "0", "否"}


@dataclass
class ImportReport:
    recorded: int = 0
    already_recorded: int = 0
    errors: list[str] = field(default_factory=list)


def _row(raw: dict[str, str | None]) -> dict[str, object]:
    row: dict[str, object] = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
    row = {k: v for k, v in row.items() if v != ""}
    late = str(row.get("late", "")).lower()
    if late in TRUE | FALSE:
        row["late"] = late in TRUE
    return row


async def import_deliveries(svc: SurveyService, path: Path, *, site: str) -> ImportReport:
    report = ImportReport()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        for raw in reader:
            where = f"{path}:{reader.line_num}"
            try:
                delivery = DeliveryRecorded.model_validate(_row(raw))
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    loc = ".".join(str(p) for p in err["loc"])
                    report.errors.append(f"{where}: {loc}: {err['msg']}")
                continue
            key = delivery_key(site, delivery, f"import:{path.name}:{reader.line_num}")
            if await record_delivery(svc, site, delivery, key=key):
                report.recorded += 1
            else:
                report.already_recorded += 1
    return report
