"""Rebuilding the read models from the event store: every stored event folded in memory
with the projector's own functions, then entities and buckets written afresh.

Run it with the reporting service stopped (or its queue paused): events it consumed
during a rebuild would be kept in the event store but their effect overwritten. Folds are
order-independent, so the stored events are read in any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from services.common.contracts.registry import parse_event
from services.reporting.domain import projection
from services.reporting.domain.policy import Policy
from services.reporting.domain.replay import Replay
from services.reporting.search_store import SearchIndex
from services.reporting.store import (
    BUCKETS,
    EntityRecord,
    MongoReadModels,
    bucket_document,
    entity_document,
    item_document,
    listing_collection,
    monthly_collection,
)


@dataclass(frozen=True)
class Rebuilt:
    events: int
    entities: int
    buckets: int


async def rebuild(
    store: MongoReadModels,
    *,
    sites: projection.Sites,
    policy: Policy,
    progress: bool = True,
    search: SearchIndex | None = None,
) -> Rebuilt:
    replay = Replay(sites, policy)
    total = await store.count_events()
    with tqdm(total=total, desc="events", unit="ev", disable=not progress) as bar:
        async for wire in store.stored_events():
            replay.apply(parse_event(wire))
            bar.update()
    buckets = replay.buckets()
    entities: list[dict[str, Any]] = []
    items: dict[str, list[dict[str, Any]]] = {}
    for e in replay.entities.values():
        record = EntityRecord(
            id=e.target.id,
            kind=e.target.kind,
            state=e.state,
            version=e.version,
            applied=e.applied,
            contributed=e.contributed,
        )
        listing = projection.listing(e.target.kind, e.state, sites)
        entities.append(entity_document(record, listing))
        if listing.get("month"):
            name = listing_collection(record.kind, record.state["site"], listing["month"])
            items.setdefault(name, []).append(item_document(record, listing))
    documents: dict[str, list[dict[str, Any]]] = {}
    for key, counters in sorted(buckets.items()):
        name = monthly_collection(BUCKETS, key.site, key.month)
        documents.setdefault(name, []).append(bucket_document(key, counters))
    written = len(entities) + sum(map(len, items.values())) + len(buckets)
    with tqdm(total=written, desc="read models", unit="doc", disable=not progress) as bar:
        async for n in store.replace_read_models(entities, items, documents):
            bar.update(n)
    if search is not None:  # the search index, from the complaints just rebuilt
        await search.clear()
        for e in replay.entities.values():
            if e.target.kind == projection.COMPLAINT:
                month = projection.listing(e.target.kind, e.state, sites).get("month")
                await search.index(e.target.id, e.state["site"], month, e.state)
    return Rebuilt(total, len(entities), len(buckets))
