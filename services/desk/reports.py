"""The dashboard and the reports, reached from the desk's navigation after sign-in: the
reporting service renders them for people in the reader's language (its `?lang=`), with
the person's own token; the desk shows the page inside its own frame and passes the CSV
and XLSX downloads through. The desk keeps no figures."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from services.common.http import guarded_router
from services.desk.api import DeskDep
from services.desk.backends import BackendMissing
from services.desk.i18n import N_
from services.desk.pages import Page, SessionCookie, page_of, to_sign_in

router = guarded_router(tags=["pages"])
SitePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Kind = Literal["monthly", "yearly", "review"]
Period = Annotated[str, Path(pattern=r"^\d{4}(-\d{2})?$")]
Format = Literal["html", "csv", "xlsx"]
STYLE = re.compile(r"<style>(.*?)</style>", re.S)
BODY = re.compile(r"<body>(.*?)</body>", re.S)
PAGE_RULE = re.compile(r"\bbody\s*\{[^}]*\}")  # reporting's page margins: not the desk's


def _now_in(page: Page, site: str) -> datetime:
    return datetime.now(ZoneInfo(page.zone(site)))


@router.get("/reports", response_class=HTMLResponse, summary="Reports", response_model=None)
async def reports_home(
    request: Request, desk: DeskDep, qloop_session: SessionCookie = None
) -> Response:
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    periods = {}
    for site in page.rules:
        now = _now_in(page, site)
        month = now.month - 1 or 12
        last = f"{now.year if now.month > 1 else now.year - 1}-{month:02d}"
        periods[site] = {"month": f"{now:%Y-%m}", "last_month": last, "year": str(now.year)}
    return await page.render("reports.html", periods=periods)


async def _fetched(
    page: Page, service: str, path: str, params: dict[str, str]
) -> tuple[int, bytes, dict[str, str]]:
    """A document a service renders for people, with the person's token (503: the desk
    was not told where the service is)."""
    try:
        return await page.backends.document(service, page.token, path, params)
    except BackendMissing:
        return 503, b"", {}


async def _handed_over(
    page: Page, service: str, path: str, params: dict[str, str], problem: str
) -> Response:
    """The document as the service made it (a PDF, a spreadsheet), or `problem` in words."""
    status, body, headers = await _fetched(page, service, path, params)
    if status >= 400:
        said = page.speaker.gettext(problem)
        return await page.render("report_frame.html", status=status, problem=said, title="")
    return Response(body, status_code=status, headers=headers)


async def _shown(page: Page, path: str, params: dict[str, str], title: str) -> Response:
    status, body, _ = await _fetched(page, "reporting", path, params)
    if status >= 400:
        problem = page.speaker.gettext("The reports do not answer now: try again in a moment.")
        if status in (403, 404):
            problem = page.speaker.gettext("You may not read the reports of this site.")
        return await page.render("report_frame.html", status=status, problem=problem, title=title)
    text = body.decode("utf-8")
    style, inner = STYLE.search(text), BODY.search(text)
    # Reporting's own page, escaped when it rendered it: shown as it is.
    return await page.render(
        "report_frame.html",
        title=title,
        style=Markup(PAGE_RULE.sub("", style.group(1)) if style else ""),
        content=Markup(inner.group(1) if inner else ""),
    )


@router.get(
    "/cases/{case_id}/reply",
    summary="The reply to the customer, printable or as PDF",
    response_model=None,
)
async def reply(
    case_id: Annotated[str, Path(max_length=300, pattern=r"^[^:/]+:[^/]+$")],
    request: Request,
    desk: DeskDep,
    format: Literal["html", "pdf"] = "html",
    qloop_session: SessionCookie = None,
) -> Response:
    """The workflow renders the letter (the 8D in the site's template, with the approver's
    signature block) in the person's language; the desk hands it over as it is."""
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    params = {"format": format, "lang": page.speaker.language}
    problem = N_("The reply cannot be made now: try again in a moment.")
    return await _handed_over(page, "workflow", f"/cases/{case_id}/reply", params, problem)


@router.get(
    "/reports/{site}/dashboard",
    response_class=HTMLResponse,
    summary="A site's dashboard",
    response_model=None,
)
async def dashboard(
    site: SitePath,
    request: Request,
    desk: DeskDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    qloop_session: SessionCookie = None,
) -> Response:
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    params = {"lang": page.speaker.language, **({"month": month} if month else {})}
    title = page.speaker.gettext("Dashboard")
    return await _shown(page, f"/dashboard/{site}", params, title)


@router.get(
    "/reports/{site}/{kind}/{period}",
    summary="A report, to read or to download",
    response_model=None,
)
async def report(
    site: SitePath,
    kind: Kind,
    period: Period,
    request: Request,
    desk: DeskDep,
    format: Format = "html",
    qloop_session: SessionCookie = None,
) -> Response:
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    path = f"/reports/{site}/{kind}/{period}"
    params = {"format": format, "lang": page.speaker.language}
    if format == "html":
        return await _shown(page, path, params, page.speaker.gettext("Reports"))
    problem = N_("The reports do not answer now: try again in a moment.")
    return await _handed_over(page, "reporting", path, params, problem)
