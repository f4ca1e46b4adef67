"""The workflow's conditional case write on the real database, in both of its forms: one
filtered update (MongoDB) and, where a filter with more than `_id` scans every case
(FerretDB), a read and a write by `_id` under the case's lock. Both must refuse a write
from a stale read and take a redelivered event once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.rules import load_rules
from services.common.storage.locks import DocumentLocks
from services.workflow.domain.opening import open_for_complaint
from services.workflow.store import VersionConflict
from services.workflow.store_mongo import MongoCaseStore
from tests.unit.workflow.builders import registered

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("id_filters_only", [False, True])
async def test_a_stale_write_is_refused_and_an_event_applies_once(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str, id_filters_only: bool
) -> None:
    store = MongoCaseStore(
        mongo[f"{database_name}_workflow"], DocumentLocks(), id_filters_only=id_filters_only
    )
    rules = load_rules(ROOT / "rules" / "abc-company.yaml")
    case = open_for_complaint(registered(rules, T0, number="S-1"), rules, T0).case
    assert await store.open(case, [])
    base = await store.get(case.id)
    assert base is not None

    changed = base.model_copy(update={"owner_department": "quality"})
    assert await store.save(changed, base=base, events=[], event_id="e-1")
    # The same event again (a redelivery), from the same read: no second effect.
    assert not await store.save(changed, base=base, events=[], event_id="e-1")
    # Another write from the stale read: refused.
    with pytest.raises(VersionConflict):
        await store.save(changed, base=base, events=[], event_id="e-2")
    stored = await store.get(case.id)
    assert stored is not None and stored.version == base.version + 1
