"""Reporting's HTTP API: KPIs and reports as JSON, HTML, CSV or XLSX (`?format=`).

`{site}` is a site id, or `*` for the HQ roll-up across every site (keys scoped to `*`).
Every route needs a key with the role `read`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.common.auth import ALL_SITES, Caller, ensure_site, require
from services.common.http import guarded_router
from services.common.runtime import context_of
from services.reporting import render
from services.reporting.domain.buckets import ALL, DIMENSIONS
from services.reporting.domain.periods import MONTH
from services.reporting.reports import HQ, Reports, Scope
from services.reporting.words import Words, words_for

router = guarded_router(tags=["reports"])
Reader = Annotated[Caller, Depends(require("read"))]
Format = Literal["json", "html", "csv", "xlsx"]
MonthPath = Annotated[str, Path(pattern=MONTH.pattern, examples=["2026-03"])]
YearPath = Annotated[int, Path(ge=2000, le=2200)]
# A language the site speaks (else the browser's, else the site's first): people's formats.
LangQuery = Annotated[str | None, Query(pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")]
SitePath = Annotated[str, Path(pattern=r"^(\*|[a-z0-9][a-z0-9_-]{0,31})$")]


async def reports_of(request: Request) -> Reports:
    reports: Reports = context_of(request).state["reports"]
    return reports


ReportsDep = Annotated[Reports, Depends(reports_of)]


def scope_of(key: Caller, site: str) -> Scope:
    if site == HQ:
        if ALL_SITES not in key.grants:
            raise HTTPException(403, "the HQ roll-up (*) needs a key scoped to every site")
        return Scope(HQ, None)
    ensure_site(key, site)
    return Scope(site, [site])


def answer(report: dict[str, Any], form: Format, name: str, words: Words | None = None) -> Any:
    """The report as JSON (keys and codes, for systems) or as people read it (HTML, CSV,
    XLSX in the reader's language)."""
    if form == "json":
        return render.jsonable(report)
    if form == "html":
        return HTMLResponse(render.html(report, words))
    if form == "csv":
        return Response(
            render.csv_text(report, words),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        render.xlsx_bytes(report, words),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


FILE_KINDS = {"management_review": "review"}  # a report's kind -> its file name's word


def _answered(
    request: Request,
    reports: Reports,
    report: dict[str, Any],
    form: Format,
    lang: str | None,
    period: str | int,
) -> Any:
    """`report` as asked, named `<kind>-<site>-<period>`; the reader's words only for the
    formats people read (JSON keeps its keys and codes)."""
    site, kind = report["site"], report["report"]
    words = None
    if form != "json":
        accept = request.headers.get("accept-language")
        words = words_for(reports.rulebook, site, lang, accept)
    name = f"{FILE_KINDS.get(kind, kind)}-{'all-sites' if site == HQ else site}-{period}"
    return answer(report, form, name, words)


@router.get("/reports/{site}/kpis/{month}", summary="KPIs of a month, per dimension value")
async def month_kpis(
    site: SitePath,
    month: MonthPath,
    reports: ReportsDep,
    key: Reader,
    dimension: Annotated[str, Query(pattern=f"^({'|'.join((ALL, *DIMENSIONS, 'tag'))})$")] = ALL,
) -> dict[str, Any]:
    return await reports.kpis(scope_of(key, site), month, dimension)


@router.get("/reports/{site}/live", summary="Open and overdue cases by stage, now")
async def live(site: SitePath, reports: ReportsDep, key: Reader) -> dict[str, Any]:
    return await reports.live(scope_of(key, site))


@router.get("/reports/{site}/monthly/{month}", summary="Monthly summary", response_model=None)
async def monthly(
    request: Request,
    site: SitePath,
    month: MonthPath,
    reports: ReportsDep,
    key: Reader,
    format: Format = "json",
    lang: LangQuery = None,
) -> Any:
    report = await reports.monthly(scope_of(key, site), month)
    return _answered(request, reports, report, format, lang, month)


@router.get(
    "/reports/{site}/yearly/{year}", summary="Yearly summary against targets", response_model=None
)
async def yearly(
    request: Request,
    site: SitePath,
    year: YearPath,
    reports: ReportsDep,
    key: Reader,
    format: Format = "json",
    lang: LangQuery = None,
) -> Any:
    report = await reports.yearly(scope_of(key, site), year)
    return _answered(request, reports, report, format, lang, year)


@router.get("/reports/{site}/review/{year}", summary="Management-review pack", response_model=None)
async def review(
    request: Request,
    site: SitePath,
    year: YearPath,
    reports: ReportsDep,
    key: Reader,
    format: Format = "json",
    lang: LangQuery = None,
) -> Any:
    report = await reports.review(scope_of(key, site), year)
    return _answered(request, reports, report, format, lang, year)
