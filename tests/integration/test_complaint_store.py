"""Intake's registration write on the real database, in both of its forms: one
conditional update (MongoDB) and, where a filter with more than `_id` scans every complaint
(FerretDB), a write by `_id` under the complaint's lock, read first unless the complaint was
accepted by the same call. Either way a complaint is registered once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.contracts.complaint import ComplaintSubmission
from services.common.rules import load_rules
from services.common.storage.locks import DocumentLocks
from services.intake import domain
from services.intake.store import MongoComplaintStore
from tests.support.complaints import complaint

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("id_filters_only", [False, True])
async def test_a_complaint_is_registered_once(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str, id_filters_only: bool
) -> None:
    store = MongoComplaintStore(
        mongo[f"{database_name}_intake"], DocumentLocks(), id_filters_only=id_filters_only
    )
    rules = load_rules(ROOT / "rules" / "abc-company.yaml")
    submission = ComplaintSubmission.model_validate(complaint())
    accepted, created = await store.accept("sz|k1", submission, source="t", now=NOW)
    assert created
    series = domain.number_series(rules, NOW)
    seq = await store.claim_number(series, accepted.key, now=NOW, fresh=True)
    fact = domain.registration(
        submission, rules, series=series, seq=seq, source="t", registered_at=NOW
    )
    done = await store.complete(accepted.key, fact, [], fresh=accepted)
    assert done is not None and done.number == fact.number
    assert done.document["status"] == "registered" and done.document["submission"]
    # Registered already: a second registration (a duplicate, recovery) changes nothing.
    again = fact.model_copy(update={"number": "SZ-OTHER"})
    assert await store.complete(accepted.key, again, []) is None
    stored = await store.get(accepted.key)
    assert stored is not None and stored.number == fact.number
    # The same key claims the same number again (the claims are searched for it).
    assert await store.claim_number(series, accepted.key, now=NOW) == seq


@pytest.mark.parametrize("id_filters_only", [False, True])
async def test_recovery_finds_only_old_unfinished_registrations(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str, id_filters_only: bool
) -> None:
    # Both forms of the recovery searches: a filtered query (MongoDB), and on FerretDB
    # paced batches filtered here, in the same way.
    db = mongo[f"{database_name}_intake"]
    store = MongoComplaintStore(db, DocumentLocks(), id_filters_only=id_filters_only)
    old, new = NOW - timedelta(minutes=5), NOW
    await db.complaints.insert_many(
        [
            {"_id": "k-old", "status": "accepted", "accepted_at": old},
            {"_id": "k-new", "status": "accepted", "accepted_at": new},
            {"_id": "k-done", "status": "registered", "accepted_at": old},
        ]
    )
    claim = {"series": "sz||", "done": False, "at": old}
    await db.number_claims.insert_many(
        [
            {**claim, "_id": "sz|||000000001", "seq": 1, "key": "k-old"},
            {**claim, "_id": "sz|||000000002", "seq": 2, "key": "k-x", "at": new},
            {**claim, "_id": "sz|||000000003", "seq": 3, "key": "k-y", "done": True},
            {**claim, "_id": "sz|||000000004", "seq": 4, "key": None},  # a handed-back number
        ]
    )
    cut = NOW - timedelta(minutes=1)
    assert await store.unnumbered(cut) == ["k-old"]
    assert await store.stale_claims(cut) == [("sz||", 1, "k-old")]
