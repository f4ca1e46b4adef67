"""HTTP routes for customer scorecards and internal (employee) surveys."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import Field

from services.common.auth import ensure_site
from services.common.http import guarded_router
from services.survey import internal, scorecards
from services.survey.api import Operator, Reader, Strict, Svc
from services.survey.domain.links import LinkRefused
from services.survey.form import page, refused_page
from services.survey.service import Refused

router = guarded_router(tags=["scorecards", "internal surveys"])


class Scorecard(Strict):
    site: str
    customer_id: str = Field(min_length=1)
    customer_name: str = Field(min_length=1)
    period: str = Field(
        min_length=1, max_length=40, description="The customer's period, e.g. 2025-Q3"
    )
    score: float = Field(ge=0)
    out_of: float = Field(default=100, gt=0, description="The customer's own scale maximum")
    comments: str | None = Field(default=None, max_length=4000)


@router.post("/scorecards", status_code=201, summary="Record a customer's own scorecard")
async def record_scorecard(
    body: Scorecard, svc: Svc, key: Operator, response: Response
) -> dict[str, Any]:
    ensure_site(key, body.site)
    document, created = await scorecards.record(svc, **body.model_dump())
    if not created:
        response.status_code = 200
    return {k: v for k, v in document.items() if k != "_id"}


class InternalSurvey(Strict):
    site: str
    staff: tuple[Annotated[str, Field(min_length=1)], ...] = Field(min_length=1)
    seed: int | None = None


@router.post(
    "/internal-surveys", status_code=201, summary="Draw a sample and issue anonymous links"
)
async def start_internal(body: InternalSurvey, svc: Svc, key: Operator) -> dict[str, Any]:
    ensure_site(key, body.site)
    return await internal.start(svc, body.site, list(body.staff), body.seed)


@router.get("/internal-surveys/{survey_id}", summary="Internal survey results (anonymous)")
async def internal_results(survey_id: str, svc: Svc, key: Reader) -> dict[str, Any]:
    found = await internal.results(svc, survey_id)
    if found is None or not key.may_access(found["site"]):
        raise HTTPException(404, f"no internal survey {survey_id!r} at a site this key may read")
    return found


@router.get("/i/{token}", response_class=HTMLResponse, include_in_schema=False)
async def internal_form(token: str) -> HTMLResponse:
    return page("internal.html", language="zh", token=token)


@router.post("/i/{token}", response_class=HTMLResponse, include_in_schema=False)
async def internal_answer(token: str, request: Request, svc: Svc) -> HTMLResponse:
    fields = {
        k: v[0]
        for k, v in parse_qs(
            (await request.body()).decode("utf-8", "replace"), max_num_fields=10
        ).items()
    }
    try:
        score = float(fields.get("score", ""))
        await internal.answer(
            svc, token, score, (fields.get("comments") or "").strip()[:4000] or None
        )
    except LinkRefused as exc:
        return refused_page(exc.reason)
    except (ValueError, Refused):
        return page("internal.html", 422, language="zh", token=token, error=True)
    return page("internal.html", language="zh", token=token, done=True)
