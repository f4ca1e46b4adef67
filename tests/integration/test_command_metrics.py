"""Database commands counted per kind and collection, on the real database."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.common.storage.commands import CommandMetrics, collection_label
from services.common.storage.mongo import connect
from tests.support.infra import Infra


def test_monthly_collections_share_one_label() -> None:
    assert collection_label("buckets_sz_2025_06") == "buckets_<site>_<month>"
    assert collection_label("items_t1a2b_3c_2024_12") == "items_<site>_<month>"
    assert collection_label("cases") == "cases"
    assert collection_label(1) == ""


async def test_commands_are_counted_by_kind_and_collection(
    infra: Infra, database_name: str
) -> None:
    registry = CollectorRegistry()
    client = connect(infra.mongodb_url, app_name="test", listeners=[CommandMetrics(registry)])
    try:
        db = client[f"{database_name}_intake"]
        await db.things.insert_one({"_id": "a"})
        await db.things.insert_one({"_id": "b"})
        assert await db.things.find_one({"_id": "a"}) == {"_id": "a"}
    finally:
        await client.close()

    def count(command: str) -> float | None:
        return registry.get_sample_value(
            "qloop_db_command_seconds_count", {"command": command, "collection": "things"}
        )

    assert count("insert") == 2
    assert count("find") == 1
