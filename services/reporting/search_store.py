"""The search index on the database, read and written only by `_id` (FerretDB pushes down
nothing else): `search_docs` keeps each complaint's indexed terms, posting entry, shard
and result summary (`_id` = the entity id); `search_terms` keeps a posting list per site,
month received and term (`_id` = `site|month|term`); `search_months` the months a site
has postings in (`_id` = site).

Indexing is idempotent and safe to repeat after a crash at any point: postings are added
with $addToSet before the complaint's document records them, and removed with $pull
after; the projector indexes an entity again whenever it settles it (projector.py).

Complaints projected at the same time share postings (`any`, a stage, a word): every
update of a posting holds its lock (storage/locks.py: FerretDB can lose one of two
concurrent updates of a document; measured in tests/integration/test_search.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.common.storage.locks import DocumentLocks
from services.reporting.domain import search

DOCS, TERMS, MONTHS = "search_docs", "search_terms", "search_months"
NO_MONTH = "none"  # a complaint not received yet (a case opened before its registration)


def _posting_id(site: str, month: str, term: str) -> str:
    return f"{site}|{month}|{term}"


class SearchIndex:
    def __init__(self, db: AsyncDatabase[Any], locks: DocumentLocks | None = None) -> None:
        self._docs, self._terms, self._months = db[DOCS], db[TERMS], db[MONTHS]
        self._locks = locks or DocumentLocks()

    async def _update(self, collection: Any, document_id: str, change: dict[str, Any]) -> None:
        async with self._locks.hold(collection.name, document_id):
            await collection.update_one({"_id": document_id}, change, upsert=True)

    async def index(
        self, entity_id: str, site: str, month: str | None, state: dict[str, Any]
    ) -> None:
        month = month or NO_MONTH
        terms, entry = search.terms(state), search.entry(state, entity_id)
        before = await self._docs.find_one({"_id": entity_id}) or {}
        kept = before.get("month") == month and before.get("entry") == entry
        old_terms = set(before.get("terms", ())) if kept else set()
        added = terms - old_terms
        await self._update(self._months, site, {"$addToSet": {"months": month}})
        add = {"$addToSet": {"entries": entry}}
        await asyncio.gather(*(
            self._update(self._terms, _posting_id(site, month, t), add) for t in sorted(added)
        ))  # fmt: skip
        document = {"terms": sorted(terms), "entry": entry, "month": month, "site": site,
                    "summary": search.summary(state)}  # fmt: skip
        await self._docs.replace_one({"_id": entity_id}, document, upsert=True)
        if before:
            gone = set(before.get("terms", ())) - (terms if kept else set())
            await asyncio.gather(*(
                self._update(
                    self._terms, _posting_id(site, before["month"], t),
                    {"$pull": {"entries": before["entry"]}},
                )
                for t in sorted(gone)
            ))  # fmt: skip

    async def clear(self) -> None:
        """Drop the whole index (a rebuild writes it again from the entities)."""
        for collection in (self._docs, self._terms, self._months):
            await collection.drop()

    async def purge(self, site: str, before: str) -> int:
        """Forget the complaints of `site` received in months before `before` (retention;
        a batch job, so its filtered reads are acceptable here)."""
        old = [m for m in await self.months(site) if m < before and m != NO_MONTH]
        for month in old:
            await self._terms.delete_many({"_id": {"$regex": f"^{site}\\|{month}\\|"}})
        gone = await self._docs.delete_many({"site": site, "month": {"$in": old}})
        if old:
            await self._months.update_one({"_id": site}, {"$pull": {"months": {"$in": old}}})
        return gone.deleted_count

    async def months(self, site: str) -> list[str]:
        found = await self._months.find_one({"_id": site})
        return sorted(found.get("months", ())) if found else []

    async def _posting(self, site: str, month: str, term: str) -> set[str]:
        found = await self._terms.find_one({"_id": _posting_id(site, month, term)})
        return set(found.get("entries", ())) if found else set()

    async def _matching(self, site: str, month: str, terms: Sequence[str]) -> set[str]:
        postings = await asyncio.gather(*(self._posting(site, month, t) for t in terms))
        return search.matching(postings)

    async def search(
        self, site: str, months: Sequence[str], terms: set[str], *, offset: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """How many complaints of `months` have every term, and one page of their
        summaries, newest first."""
        ordered = sorted(terms)
        per_month = await asyncio.gather(*(self._matching(site, m, ordered) for m in months))
        found = sorted(set().union(*per_month), reverse=True)
        page = [search.entity_of(e) for e in found[offset : offset + limit]]
        documents = await asyncio.gather(*(self._docs.find_one({"_id": e}) for e in page))
        return len(found), [d["summary"] for d in documents if d]
