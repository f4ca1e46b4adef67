"""Idempotent consumers: an event's effect is stored together with its id, atomically.

Both helpers rely on a single-document write, so they hold on MongoDB and on
FerretDB (no multi-document transactions needed):

- `insert_once`: the effect is a new document whose `_id` derives from the event;
  the unique `_id` index refuses the second insert.
- `apply_once`: the effect is an update of one document; the event id is pushed to
  `applied_events` in the same update, and the filter skips documents that already
  hold it. With upsert, a duplicate turns into a duplicate-key error on `_id`.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.common.storage.locks import DocumentLocks
from services.common.storage.updates import merge

APPLIED = "applied_events"


async def insert_once(
    collection: AsyncCollection[dict[str, Any]], document: dict[str, Any]
) -> bool:
    """True if stored now, False if a document with that `_id` already existed."""
    try:
        await collection.insert_one(document)
    except DuplicateKeyError:
        return False
    return True


async def apply_once(
    collection: AsyncCollection[dict[str, Any]],
    *,
    locks: DocumentLocks,
    key: Any,
    event_id: str,
    update: dict[str, Any],
    upsert: bool = True,
    extra_filter: dict[str, Any] | None = None,
) -> bool:
    """Apply `update` to document `key` unless `event_id` was applied to it before.

    Holds the document's lock: FerretDB does not make concurrent updates of one document
    atomic (see storage/locks.py). Returns True when the effect was stored by this call.
    False means a duplicate
    (or, with upsert=False, no such document / `extra_filter` did not match).
    """
    query = {"_id": key, APPLIED: {"$ne": event_id}, **(extra_filter or {})}
    full = merge(update, {"$push": {APPLIED: event_id}})
    try:
        async with locks.hold(collection.name, key):
            result = await collection.update_one(query, full, upsert=upsert)
    except DuplicateKeyError:
        return False
    return result.modified_count == 1 or result.upserted_id is not None
