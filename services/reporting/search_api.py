"""`GET /search/{site}`: a site's complaints found by words and filters (domain/search.py),
newest first, a page at a time. Role `read` at the site."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Query, Request

from services.common.auth import ensure_site
from services.common.http import guarded_router
from services.common.runtime import context_of
from services.reporting.api import Reader, ReportsDep, SitePath
from services.reporting.domain import search
from services.reporting.domain.periods import MONTH
from services.reporting.search_store import NO_MONTH, SearchIndex

router = guarded_router(tags=["search"])
Month = Annotated[str | None, Query(pattern=MONTH.pattern, examples=["2026-03"])]
Code = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_./-]+$")]


async def index_of(request: Request) -> SearchIndex:
    index: SearchIndex = context_of(request).state["search"]
    return index


@router.get("/search/{site}", summary="Find a site's complaints by words and filters")
async def find(
    site: SitePath,
    reports: ReportsDep,
    key: Reader,
    index: Annotated[SearchIndex, Depends(index_of)],
    q: Annotated[str, Query(max_length=200)] = "",
    stage: Code = None,
    nature: Code = None,
    category: Code = None,
    department: Code = None,
    status: Literal["open", "closed"] | None = None,
    overdue: bool = False,
    received_from: Month = None,
    received_to: Month = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 25,
) -> dict[str, Any]:
    """Every word of `q` and every filter must match (a number, a customer, a model, a lot
    or serial, an order number, words of the description; Chinese by pairs of
    characters). `received_from`/`received_to`: months, in the site's calendar."""
    ensure_site(key, site)
    if site not in reports.rulebook.sites:
        raise HTTPException(404, f"no site {site!r}: no rule file declares it")
    filters = {"stage": stage, "nature": nature, "category": category, "department": department}
    terms = search.query_terms(q, filters, status, overdue)
    ranged = received_from is not None or received_to is not None
    months = [
        m
        for m in await index.months(site)
        if not (ranged and m == NO_MONTH)
        and (received_from is None or m >= received_from)
        and (received_to is None or m <= received_to)
    ]
    total, items = await index.search(
        site, months, terms, offset=(page - 1) * per_page, limit=per_page
    )
    return {"total": total, "page": page, "per_page": per_page, "items": items}
