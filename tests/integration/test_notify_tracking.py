"""One contract for what notify remembers of facts (case owners, open campaigns), on the
in-memory fake and on the real database (FerretDB here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.notify.tracking import Campaign, InMemoryTracking, MongoTracking
from tests.support.infra import Infra

pytestmark = pytest.mark.integration
AT = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "mongo"])
async def tracking(request: Any, infra: Infra, database_name: str) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield InMemoryTracking()
        return
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    yield MongoTracking(client[f"{database_name}_notify"])
    await client.drop_database(f"{database_name}_notify")
    await client.close()


async def test_case_owner_is_the_first_one_seen(tracking: Any) -> None:
    assert await tracking.case_owner("c1") is None
    await tracking.remember_case("c1", "quality")
    await tracking.remember_case("c1", "production")  # a redelivered opening changes nothing
    assert await tracking.case_owner("c1") == "quality"


async def test_a_campaign_counts_each_answer_once_until_closed(tracking: Any) -> None:
    await tracking.answered("w1", "inv-0")  # before its opening was seen: kept, not listed
    assert await tracking.campaigns() == []
    await tracking.watch(Campaign("w1", "wx", 10, AT))
    for invitation in ("inv-1", "inv-2", "inv-1"):
        await tracking.answered("w1", invitation)
    (found,) = await tracking.campaigns()
    assert (found.id, found.site, found.invitations, found.check_at) == ("w1", "wx", 10, AT)
    assert found.returned == {"inv-0", "inv-1", "inv-2"} and not found.checked
    await tracking.judged("w1")
    await tracking.watch(Campaign("w1", "wx", 10, AT))  # a redelivered opening
    (again,) = await tracking.campaigns()
    assert again.checked and again.returned == {"inv-0", "inv-1", "inv-2"}
    await tracking.closed("w1")
    assert await tracking.campaigns() == []
