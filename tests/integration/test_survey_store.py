"""The survey's conditional invitation write on the real database, in both of its forms: a
filtered update (MongoDB) and, where a filter with more than `_id` scans every invitation
(FerretDB), a read and a write by `_id` under the invitation's lock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.contracts.diagnostic import DiagnosticPing
from services.common.contracts.registry import new_event
from services.common.storage.locks import DocumentLocks
from services.survey.store import INVITATIONS, MongoSurveyStore

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("id_filters_only", [False, True])
async def test_a_reminder_is_recorded_once_with_its_event(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str, id_filters_only: bool
) -> None:
    db = mongo[f"{database_name}_survey"]
    store = MongoSurveyStore(db, DocumentLocks(), id_filters_only=id_filters_only)
    now = datetime.now(UTC)
    assert await store.insert_invitation(
        {"_id": "inv-1", "campaign_id": "c", "reminded": False, "mail": "off"}, []
    )
    first, second = (
        new_event(DiagnosticPing(note=n, origin="test"), site="t", source="/t", time=now)
        for n in ("first", "second")
    )
    assert await store.mark_reminded("inv-1", [first], "pending")
    assert not await store.mark_reminded("inv-1", [second], "pending")  # reminded already
    assert not await store.mark_reminded("inv-2", [second], "pending")  # no such invitation
    stored = await db[INVITATIONS].find_one({"_id": "inv-1"})
    assert stored is not None
    assert stored["reminded"] is True and stored["mail"] == "pending"
    assert list(stored["outbox"]) == [str(first.id)] and stored["outbox_n"] == 1


async def test_a_campaign_is_read_without_its_customer_lists_for_an_answer(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    store = MongoSurveyStore(mongo[f"{database_name}_survey"], DocumentLocks())
    eligible = [{"customer_id": f"c{i}", "name": "x" * 50} for i in range(2000)]
    planned = [{"invitation_id": f"i{i}", "customer_id": f"c{i}"} for i in range(2000)]
    campaign = {"_id": "c-1", "site": "t", "status": "open", "items": [], "label": "2026"}
    assert await store.insert_campaign({**campaign, "eligible": eligible, "planned": planned}, [])
    whole = await store.campaign("c-1")
    header = await store.campaign("c-1", lists=False)
    assert whole is not None and len(whole["eligible"]) == len(whole["planned"]) == 2000
    assert header is not None and "eligible" not in header and "planned" not in header
    assert {k: header[k] for k in campaign} == campaign
