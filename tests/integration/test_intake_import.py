"""Bulk import against the real database: file order numbering, idempotent re-runs,
bad rows reported with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from services.common.clock import SystemClock
from services.common.rulebook import Rulebook
from services.common.settings import ServiceSettings
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import ensure_indexes
from services.intake import store
from services.intake.handlers import Intake
from services.intake.importer import import_file
from services.intake.metrics import intake_metrics

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


async def test_import_registers_in_file_order_once(
    settings: ServiceSettings,
    mongo: AsyncMongoClient,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    db = mongo[f"{settings.database}_intake"]
    await ensure_indexes(db, store.INDEXES)
    intake = Intake(
        store=store.MongoComplaintStore(db, DocumentLocks()),
        rulebook=Rulebook.load(ROOT / "rules"),
        clock=SystemClock(),
        metrics=intake_metrics(CollectorRegistry()),
    )
    history = tmp_path / "history.csv"
    lines = (ROOT / "docs/examples/complaints.csv").read_text(encoding="utf-8").splitlines()
    history.write_text(
        "\n".join([*lines, "HIST-9,email,not-a-time,C-1,X,,,,,broken,,"]) + "\n", encoding="utf-8"
    )
    first = await import_file(intake, history, site="sz", source="legacy", progress=False)
    again = await import_file(intake, history, site="sz", source="legacy", progress=False)
    assert (first.registered, first.already_registered) == (3, 0)
    assert (again.registered, again.already_registered) == (0, 3)
    assert first.errors == [
        f"{history}:5: received_at: Input should be a valid datetime or "
        "date, invalid character in year"
    ]
    documents = await db["complaints"].find({}, {"external_ref": 1, "sequence": 1}).to_list()
    by_ref = {d["external_ref"]: d["sequence"] for d in documents}
    assert by_ref == {"HIST-0001": 1, "HIST-0002": 2, "HIST-0003": 3}
