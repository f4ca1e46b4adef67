"""The search page: a site's complaints by number, customer, product, model, lot or serial,
order number and words of the description, with filters, a page at a time. Reporting
keeps the index (its GET /search/{site}); the desk asks it with the person's token and
shows the results in the person's words."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from services.common.http import guarded_router
from services.common.rules.schema_complaints import Category, Nature
from services.desk.api import DeskDep
from services.desk.pages import SessionCookie, page_of, to_sign_in

router = guarded_router(tags=["pages"])
PER_PAGE = 25
Text = Annotated[str, Query(max_length=200)]
Code = Annotated[str, Query(max_length=64)]
Month = Annotated[str, Query(max_length=7)]


@router.get(
    "/search", response_class=HTMLResponse, summary="Search complaints", response_model=None
)
async def search_page(
    request: Request,
    desk: DeskDep,
    qloop_session: SessionCookie = None,
    site: Code = "",
    q: Text = "",
    stage: Code = "",
    nature: Code = "",
    category: Code = "",
    department: Code = "",
    status: Code = "",
    overdue: Code = "",
    received_from: Month = "",
    received_to: Month = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    person = await page_of(request, desk, qloop_session)
    if person is None:
        return to_sign_in()
    sites = list(person.rules)
    site = site if site in sites else (sites[0] if sites else "")
    asked = {
        "q": q, "stage": stage, "nature": nature, "category": category,
        "department": department, "status": status, "overdue": overdue,
        "received_from": received_from, "received_to": received_to,
    }  # fmt: skip
    searched = "q" in request.query_params or any(v for k, v in asked.items() if k != "q")
    found: dict[str, Any] = {}
    problem = None
    if site and searched:
        params = {k: v for k, v in asked.items() if v}
        if overdue:
            params["overdue"] = "true"
        params.update(page=str(page), per_page=str(PER_PAGE))
        answer = await person.backends.search(person.token, site, params)
        if answer.ok:
            found = answer.body
        else:
            problem = person.speaker.gettext("The search does not answer now: try again.")
            if answer.status == 422:
                problem = person.speaker.gettext("Check the search fields: a value is not valid.")
    total = int(found.get("total", 0))
    here = {"site": site, **{k: v for k, v in asked.items() if v}}
    pages = {
        "previous": f"/search?{urlencode({**here, 'page': page - 1})}" if page > 1 else None,
        "next": f"/search?{urlencode({**here, 'page': page + 1})}"
        if page * PER_PAGE < total
        else None,
    }
    return await person.render(
        "search.html",
        site=site,
        asked=asked,
        searched=searched and site,
        items=found.get("items", []),
        total=total,
        page_number=page,
        pages=pages,
        problem=problem,
        natures=[n.value for n in Nature],
        categories=[c.value for c in Category],
    )
