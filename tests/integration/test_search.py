"""The search index on the real database, kept by reporting's projector: complaints are
found by number, customer, lot, model and Chinese words, filtered by stage and status, in
pages newest first; a case that moves on leaves its old stage's posting; projecting the
same events again changes nothing; a rebuild of the read models writes the same index."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.storage.locks import DocumentLocks
from services.reporting.domain import search
from services.reporting.domain.policy import Policy
from services.reporting.domain.projection import UtcSites
from services.reporting.projector import Projector
from services.reporting.rebuild import rebuild
from services.reporting.search_store import SearchIndex
from services.reporting.store import MongoReadModels
from tests.support import histories as h

pytestmark = pytest.mark.integration


def _said(event: Any, description: str, lots: list[str]) -> Any:
    """The registration of `event` with the customer's own words and lot numbers."""
    complaint = event.data.complaint
    products = (complaint.products[0].model_copy(update={"lot_numbers": tuple(lots)}),)
    said = complaint.model_copy(update={"description": description, "products": products})
    return event.model_copy(update={"data": event.data.model_copy(update={"complaint": said})})


async def _find(index: SearchIndex, site: str, q: str = "", **filters: Any) -> list[str]:
    status, overdue = filters.pop("status", None), filters.pop("overdue", False)
    terms = search.query_terms(q, filters, status, overdue)
    total, items = await index.search(site, await index.months(site), terms, offset=0, limit=100)
    assert total == len(items)
    return [i["number"] for i in items]


async def test_complaints_are_found_by_words_and_filters_and_follow_their_case(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str, site: str
) -> None:
    db = mongo[f"{database_name}_reporting"]
    store = MongoReadModels(db, DocumentLocks(), id_filters_only=True)
    index = SearchIndex(db)
    projector = Projector(
        store=store, locks=DocumentLocks(), sites=UtcSites(), policy=Policy(), search=index
    )
    history = h.march_complaints(site)
    p = site.upper()
    history[0] = _said(history[0], "客户来料检验发现外壳开裂", ["L2311/07"])
    for event in history + history:  # delivered twice: indexed once
        await projector.project(event)

    assert await _find(index, site, f"{p}-0002") == [f"{p}-0002"]
    assert await _find(index, site, "外壳开裂") == [f"{p}-0001"]
    assert await _find(index, site, "开裂 L2311/07") == [f"{p}-0001"]
    assert await _find(index, site, "外壳 破损") == []  # every word must match
    everything = await _find(index, site)
    assert everything == sorted(everything, reverse=True) and len(everything) == 5  # newest first
    assert f"{p}-0001" not in await _find(index, site, status="open")
    assert await _find(index, site, "C-2") == [f"{p}-0004", f"{p}-0003"]
    overdue = await _find(index, site, overdue=True)
    assert f"{p}-0002" in overdue and f"{p}-0001" not in overdue

    # The case of 0002 moves on: found at its new stage only.
    at_investigate = await _find(index, site, stage="investigate")
    assert f"{p}-0002" in at_investigate
    moved = h.moved(
        site, f"{p}-0002", "investigate", "containment", h.at("2026-03-15T09:00:00+08:00")
    )
    await projector.project(moved)
    assert f"{p}-0002" not in await _find(index, site, stage="investigate")
    assert f"{p}-0002" in await _find(index, site, stage="containment")
    page = await index.search(site, await index.months(site), {"any"}, offset=2, limit=2)
    assert page[0] == 5 and [i["number"] for i in page[1]] == everything[2:4]

    # The same number registered again with another receipt (a replay from another
    # system): its one entry moves, it is not listed twice.
    again = h.registered(site, f"{p}-0002", h.at("2026-03-11T09:00:00+08:00"))
    await projector.project(again)
    assert (await _find(index, site, f"{p}-0002")) == [f"{p}-0002"]

    before = {d["_id"]: d["terms"] async for d in db["search_docs"].find({"site": site})}
    await rebuild(store, sites=UtcSites(), policy=Policy(), progress=False, search=index)
    after = {d["_id"]: d["terms"] async for d in db["search_docs"].find({"site": site})}
    assert after == before
    assert await _find(index, site, "外壳开裂") == [f"{p}-0001"]


async def test_complaints_indexed_at_the_same_time_are_all_found(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str, site: str
) -> None:
    """Forty complaints indexed concurrently share their postings (`any`, the stage, the
    words): every one is found (FerretDB alone can lose one of two concurrent updates of
    a document; each posting's update holds its lock)."""
    index = SearchIndex(mongo[f"{database_name}_reporting"])
    t = h.at("2026-03-02T09:00:00+08:00")
    states = [
        {"site": site, "number": f"{site}-{n:04d}", "received_at": t, "stage": "investigate",
         "stage_at": t, "missed": {}, "description": "外壳开裂"}
        for n in range(40)
    ]  # fmt: skip
    await asyncio.gather(
        *(index.index(f"{site}|{s['number']}", site, "2026-03", s) for s in states)
    )
    assert len(await _find(index, site, "外壳开裂", stage="investigate")) == 40
