"""Reporting's storage (the only code here that talks to the database).

Collections:
- `events`: every consumed event, `_id` = event id (an insert: exactly once), with its
  wire form, so that the read models can be rebuilt from scratch;
- `entities`: one read-model entity per complaint, score, campaign, survey action,
  delivery, refused submission: its folded state, `version`, the event ids folded in
  (`applied_events`) and what it has added to the buckets (`contributed`);
- `buckets_<site>_<YYYY_MM>` (and `buckets_<site>_live`): per (site, month, dimension,
  value) integer counters, one collection per site and month;
- `items_<site>_<YYYY_MM>`: a copy of the complaints listed in that month's reports (by
  month received), and `feedback_<site>_<YYYY_MM>` of survey actions, campaigns, scores.

Why a collection per site and month: FerretDB 1.24 (SQLite backend) pushes no filter down
to an index, not even `_id` (measured: a `find_one` by `_id` grows linearly with the
collection), so a report that queried one big collection would slow down with history
and with every site added. Partitioned, a report reads only its own site-months, on
MongoDB as on FerretDB, and its latency stays flat (docs/performance.md, "Reporting").

How an event has its effect exactly once (see docs/reporting.md): the fold and its event
id are one write of the entity (compare-and-set on `version`); the entity's change of
contribution is then added to each bucket with `apply_once`, whose token
`<entity>@<version>` is pushed in the same bucket update; the entity then records its new
contribution, and the tokens are pulled again so buckets stay small (in batches, see
projector.py `Sweeper`: a token left behind by a crash is inert). A crash in between
is finished by the redelivered event (or the entity's next event), which settles the
entity's recorded state before folding anything new; tokens already in a bucket make the
repeated additions no-ops.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from services.common.contracts.envelope import Envelope
from services.common.contracts.registry import to_json
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import Database
from services.common.storage.once import APPLIED, apply_once, insert_once
from services.reporting.domain.buckets import BucketKey, Contributions, Counters

EVENTS, ENTITIES, BUCKETS, ITEMS, FEEDBACK = "events", "entities", "buckets", "items", "feedback"

INDEXES = {EVENTS: [IndexModel([("site", ASCENDING), ("type", ASCENDING)], name="site_type")]}


def monthly_collection(prefix: str, site: str, month: str) -> str:
    return f"{prefix}_{site}_{month.replace('-', '_')}"


def listing_collection(kind: str, site: str, month: str) -> str:
    return monthly_collection(ITEMS if kind == "complaint" else FEEDBACK, site, month)


class VersionConflict(Exception):
    """Another writer changed the entity since it was read: retry the event."""


@dataclass
class EntityRecord:
    id: str
    kind: str
    state: dict[str, Any]
    version: int = 0
    applied: list[str] = field(default_factory=list)
    contributed: Contributions = field(default_factory=dict)
    month: str | None = None  # the month whose reports list it


def item_document(record: EntityRecord, listing: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": record.id,
        "kind": record.kind,
        "site": record.state["site"],
        "link": listing.get("link"),
        "version": record.version,
        "state": record.state,
    }


def contributed_document(contributed: Contributions) -> str:
    """Kept as JSON text: FerretDB 1.24 compares sub-documents by their values only, so a
    `$set` from `{"open:register": 1}` to `{"open:acknowledge": 1}` is taken for "no
    change" and not written (measured: modified 0, old value kept)."""
    entries = [[[k.site, k.month, k.dimension, k.value], c] for k, c in sorted(contributed.items())]
    return json.dumps(entries, separators=(",", ":"), sort_keys=True)


def contributed_of(document: str) -> Contributions:
    return {BucketKey(*bucket): dict(counters) for bucket, counters in json.loads(document)}


def entity_document(record: EntityRecord, listing: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": record.id,
        "kind": record.kind,
        "site": record.state["site"],
        **listing,
        "state": record.state,
        "version": record.version,
        APPLIED: record.applied,
        "contributed": contributed_document(record.contributed),
    }


def bucket_document(key: BucketKey, counters: Counters) -> dict[str, Any]:
    return {
        "_id": key.id,
        "site": key.site,
        "month": key.month,
        "dimension": key.dimension,
        "value": key.value,
        "counters": counters,
        APPLIED: [],
    }


class ReadModelStore(Protocol):
    async def record_event(self, envelope: Envelope[BaseModel]) -> bool: ...
    async def entity(self, entity_id: str) -> EntityRecord | None: ...
    async def save_entity(
        self, record: EntityRecord, *, listing: dict[str, Any], previous: EntityRecord | None
    ) -> None: ...
    async def add_to_bucket(self, key: BucketKey, delta: Counters, token: str) -> bool: ...
    async def record_contribution(self, entity_id: str, contributed: Contributions) -> None: ...
    async def forget_tokens(self, key: BucketKey, tokens: Sequence[str]) -> None: ...
    async def buckets(
        self, sites: Sequence[str] | None, months: Sequence[str], dimension: str | None = None
    ) -> list[dict[str, Any]]: ...
    async def entities_of(
        self, kind: str, sites: Sequence[str] | None, months: Sequence[str]
    ) -> list[dict[str, Any]]: ...
    async def linked(
        self, kind: str, links: Sequence[str], sites: Sequence[str] | None, months: Sequence[str]
    ) -> list[dict[str, Any]]: ...


class MongoReadModels:
    def __init__(
        self, db: Database, locks: DocumentLocks, *, id_filters_only: bool = False
    ) -> None:
        # FerretDB (`id_filters_only`): a filter with more than `_id` scans every entity, so
        # the compare-and-set on `version` is a read and a write by `_id` under the lock.
        self._id_filters_only = id_filters_only
        self.db = db
        self._events, self._entities = db[EVENTS], db[ENTITIES]
        self._locks = locks

    def _buckets(self, key: BucketKey) -> Any:
        return self.db[monthly_collection(BUCKETS, key.site, key.month)]

    def _items(self, record: EntityRecord, month: str) -> Any:
        return self.db[listing_collection(record.kind, record.state["site"], month)]

    async def _partitions(
        self, prefix: str, sites: Sequence[str] | None, months: Sequence[str]
    ) -> list[str]:
        """Collection names of these sites' months (every site's for the HQ roll-up)."""
        if sites is not None:
            return [monthly_collection(prefix, site, month) for site in sites for month in months]
        suffixes = tuple(f"_{month.replace('-', '_')}" for month in months)
        names = await self.db.list_collection_names()
        return sorted(n for n in names if n.startswith(f"{prefix}_") and n.endswith(suffixes))

    # --- writing (the projector) --------------------------------------------------------
    async def record_event(self, envelope: Envelope[BaseModel]) -> bool:
        return await insert_once(
            self._events,
            {
                "_id": str(envelope.id),
                "site": envelope.site,
                "type": envelope.type,
                "time": envelope.time,
                "wire": to_json(envelope).decode(),
            },
        )

    async def entity(self, entity_id: str) -> EntityRecord | None:
        document = await self._entities.find_one({"_id": entity_id})
        if document is None:
            return None
        return EntityRecord(
            id=document["_id"],
            kind=document["kind"],
            state=document["state"],
            version=document["version"],
            applied=list(document[APPLIED]),
            contributed=contributed_of(document["contributed"]),
            month=document.get("month"),
        )

    async def save_entity(
        self, record: EntityRecord, *, listing: dict[str, Any], previous: EntityRecord | None
    ) -> None:
        document = entity_document(record, listing)
        if previous is None:
            try:
                await self._entities.insert_one(document)
            except DuplicateKeyError:
                raise VersionConflict(record.id) from None
        else:
            fields = {k: v for k, v in document.items() if k not in ("_id", "contributed")}
            # The projector holds the entity's lock (projector.py) from its read of
            # `previous` to here. On FerretDB (one reporting instance) that lock is the
            # compare-and-set: no filter beyond `_id`, no second read of the version; only
            # an entity erased meanwhile is a conflict.
            if self._id_filters_only:
                result = await self._entities.update_one({"_id": record.id}, {"$set": fields})
                if result.matched_count != 1:
                    raise VersionConflict(record.id)
            else:
                result = await self._entities.update_one(
                    {"_id": record.id, "version": previous.version}, {"$set": fields}
                )
                if result.matched_count != 1:
                    raise VersionConflict(record.id)
        # The month's copy follows the entity (a crash in between is repaired by the
        # entity's next event, or by a rebuild).
        month = listing.get("month")
        if previous is not None and previous.month and previous.month != month:
            await self._items(record, previous.month).delete_one({"_id": record.id})
        if month:
            item = item_document(record, listing)
            await self._items(record, month).replace_one({"_id": record.id}, item, upsert=True)

    async def add_to_bucket(self, key: BucketKey, delta: Counters, token: str) -> bool:
        identity = {"site": key.site, "month": key.month, "dimension": key.dimension}
        update = {
            "$inc": {f"counters.{name}": n for name, n in delta.items()},
            "$setOnInsert": {**identity, "value": key.value},
        }
        return await apply_once(
            self._buckets(key), locks=self._locks, key=key.id, event_id=token, update=update
        )

    async def record_contribution(self, entity_id: str, contributed: Contributions) -> None:
        await self._entities.update_one(
            {"_id": entity_id}, {"$set": {"contributed": contributed_document(contributed)}}
        )

    async def forget_tokens(self, key: BucketKey, tokens: Sequence[str]) -> None:
        # `$pullAll`: FerretDB 1.24 takes `$pull` with `{"$in": [...]}` as a no-op
        # (measured: modified 0, tokens kept).
        buckets = self._buckets(key)
        async with self._locks.hold(buckets.name, key.id):
            await buckets.update_one({"_id": key.id}, {"$pullAll": {APPLIED: list(tokens)}})

    # --- reading (reports) ----------------------------------------------------------------
    async def buckets(
        self, sites: Sequence[str] | None, months: Sequence[str], dimension: str | None = None
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {} if dimension is None else {"dimension": dimension}
        found = []
        for name in await self._partitions(BUCKETS, sites, months):
            found += await self.db[name].find(query, {APPLIED: 0}).to_list()
        return found

    async def entities_of(
        self, kind: str, sites: Sequence[str] | None, months: Sequence[str]
    ) -> list[dict[str, Any]]:
        prefix = ITEMS if kind == "complaint" else FEEDBACK
        found = []
        for name in await self._partitions(prefix, sites, months):
            found += await self.db[name].find({"kind": kind}, {"state": 1, "site": 1}).to_list()
        return found

    async def linked(
        self, kind: str, links: Sequence[str], sites: Sequence[str] | None, months: Sequence[str]
    ) -> list[dict[str, Any]]:
        if not links:
            return []
        found = []
        for name in await self._partitions(FEEDBACK, sites, months):
            query = {"kind": kind, "link": {"$in": list(links)}}
            found += await self.db[name].find(query, {"state": 1}).to_list()
        return found

    async def bucket_collections(self) -> list[str]:
        names = await self.db.list_collection_names()
        return sorted(n for n in names if n.startswith(f"{BUCKETS}_"))

    # --- rebuilding -------------------------------------------------------------------------
    async def count_events(self) -> int:
        return await self._events.count_documents({})

    async def stored_events(self, batch: int = 1000) -> AsyncIterator[str]:
        async for document in self._events.find({}, {"wire": 1}).batch_size(batch):
            yield document["wire"]

    async def replace_read_models(
        self,
        entities: list[dict[str, Any]],
        items: dict[str, list[dict[str, Any]]],
        buckets: dict[str, list[dict[str, Any]]],
        *,
        batch: int = 1000,
    ) -> AsyncIterator[int]:
        """Drop the read models and write the rebuilt ones; yields documents written.
        `items` and `buckets` are keyed by collection name."""
        for name in await self.db.list_collection_names():
            if name == ENTITIES or name.startswith((f"{BUCKETS}_", f"{ITEMS}_", f"{FEEDBACK}_")):
                await self.db.drop_collection(name)
        writes = [(self._entities, entities)]
        writes += [(self.db[name], docs) for name, docs in sorted(items.items())]
        writes += [(self.db[name], docs) for name, docs in sorted(buckets.items())]
        for collection, documents in writes:
            for start in range(0, len(documents), batch):
                chunk = documents[start : start + batch]
                await collection.insert_many(chunk, ordered=False)
                yield len(chunk)
