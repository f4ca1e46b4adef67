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
