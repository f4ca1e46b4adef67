"""A database client whose operations are cancelled twice keeps working.

On Python 3.11, PyMongo's async server selection waits in a task of its own (`wait_for`); an
operation cancelled twice (aiormq cancels a closing channel's handlers, sometimes twice)
left the client's topology lock held by a task nobody awaits, and the client's next
operation hung: 20 of 30 tries without the fix in services/common/storage/mongo.py.
"""

from __future__ import annotations

import asyncio

import pytest

from services.common.storage.mongo import connect
from tests.support.infra import Infra

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("cancellations", [1, 2])
async def test_operations_cancelled_while_selecting_a_server_leave_the_client_working(
    infra: Infra, database_name: str, cancellations: int
) -> None:
    for trial in range(10):
        client = connect(infra.mongodb_url, app_name="t", timeout_ms=3000)
        collection = client[f"{database_name}_intake"]["probe"]
        try:
            # A new client: the operations wait in server selection for its first check.
            tasks = [asyncio.create_task(collection.find_one({"_id": "x"})) for _ in range(50)]
            await asyncio.sleep((trial % 4) / 2000)
            for n in range(cancellations):
                for task in tasks:
                    task.cancel(f"cancellation {n + 1}")
                for _ in range(trial % 3):
                    await asyncio.sleep(0)
            await asyncio.gather(*tasks, return_exceptions=True)
            assert await asyncio.wait_for(collection.find_one({"_id": "x"}), 10) is None
        finally:
            await asyncio.wait_for(client.close(), 10)
