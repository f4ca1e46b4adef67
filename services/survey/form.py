"""The customer's side: the questionnaire at the signed link, as a phone-friendly HTML
form in the invitation's language and as JSON. The link is the only credential."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.common.http import guarded_router
from services.survey import answering
from services.survey.api import service_of
from services.survey.domain.links import LinkRefused
from services.survey.domain.scoring import AnswerError
from services.survey.service import SurveyService
from services.survey.texts import texts

router = guarded_router(tags=["answering"])
Svc = Annotated[SurveyService, Depends(service_of)]
_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("services.survey", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)
REFUSED_STATUS = {"tampered": 403, "expired": 410, "unknown": 404}
MAX_TEXT = 4000


def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = _templates.get_template(name).render(**values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def refused_page(reason: str) -> HTMLResponse:
    return page(
        "refused.html", REFUSED_STATUS[reason], reason=reason, zh=texts("zh"), en=texts("en")
    )


def _questions(q: answering.Questionnaire) -> list[dict[str, Any]]:
    language = q.invitation["language"]
    dimensions = []
    for d in q.survey.dimensions:
        items = [
            {"id": i.id, "name": i.names.get(language) or next(iter(i.names.values()))}
            for i in d.items
            if i.id in q.items
        ]
        if items:
            name = d.names.get(language) or next(iter(d.names.values()))
            dimensions.append({"id": d.id, "name": name, "items": items})
    return dimensions


async def _open(svc: SurveyService, token: str) -> answering.Questionnaire | str:
    try:
        return await answering.questionnaire(svc, token)
    except LinkRefused as exc:
        return exc.reason
    except answering.UnknownInvitation:
        return "unknown"


def _form(
    q: answering.Questionnaire, *, error: str | None = None, values: dict[str, str] | None = None
) -> HTMLResponse:
    language = q.invitation["language"]
    site_names = q.rules.site.names
    return page(
        "form.html",
        422 if error else 200,
        t=texts(language),
        language=language,
        site_name=site_names.get(language) or next(iter(site_names.values())),
        customer=q.invitation["customer_name"],
        dimensions=_questions(q),
        scale=q.survey.scale,
        due=q.invitation["answer_due"].astimezone(q.rules.zone).strftime("%Y-%m-%d %H:%M"),
        error=error,
        values=values or {},
    )


@router.get("/s/{token}", response_class=HTMLResponse, include_in_schema=False)
async def show_form(token: str, svc: Svc) -> HTMLResponse:
    q = await _open(svc, token)
    if isinstance(q, str):
        return refused_page(q)
    if q.answered is not None:
        return page(
            "thanks.html",
            t=texts(q.invitation["language"]),
            language=q.invitation["language"],
            again=True,
            on_time=q.answered["on_time"],
        )
    return _form(q)


def _parse_form(body: bytes, items: tuple[str, ...]) -> tuple[answering.Answer, dict[str, str]]:
    fields = {
        k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), max_num_fields=200).items()
    }
    scores: dict[str, float] = {}
    for item in items:
        raw = fields.get(f"item.{item}", "").strip()
        if not raw:
            raise AnswerError(item)
        try:
            scores[item] = float(raw)
        except ValueError:
            raise AnswerError(item) from None
    suggestions = tuple(
        s.strip()[:MAX_TEXT] for s in fields.get("suggestions", "").splitlines() if s.strip()
    )
    comments = fields.get("comments", "").strip()[:MAX_TEXT] or None
    return answering.Answer(scores, comments, suggestions), fields


@router.post("/s/{token}", response_class=HTMLResponse, include_in_schema=False)
async def submit_form(token: str, request: Request, svc: Svc) -> HTMLResponse:
    q = await _open(svc, token)
    if isinstance(q, str):
        return refused_page(q)
    language = q.invitation["language"]
    fields: dict[str, str] = {}
    try:
        given, fields = _parse_form(await request.body(), q.items)
        outcome = await answering.answer(svc, token, given, via="form")
    except AnswerError:
        return _form(q, error=texts(language)["invalid"], values=fields)
    except LinkRefused as exc:
        return refused_page(exc.reason)
    return page(
        "thanks.html",
        t=texts(language),
        language=language,
        again=not outcome.created,
        on_time=outcome.on_time,
    )


class JsonAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: dict[str, float] = Field(min_length=1)
    comments: str | None = Field(default=None, max_length=MAX_TEXT)
    suggestions: tuple[Annotated[str, Field(min_length=1, max_length=MAX_TEXT)], ...] = ()


def _json_refused(reason: str) -> JSONResponse:
    messages = {
        "tampered": "this survey link is not valid (altered or not issued by us)",
        "expired": "this survey link has expired",
        "unknown": "this survey no longer exists",
    }
    return JSONResponse(
        {"detail": messages[reason], "reason": reason}, status_code=REFUSED_STATUS[reason]
    )


@router.get("/api/answers/{token}", summary="The questionnaire behind a link (JSON)")
async def questions(token: str, svc: Svc) -> Any:
    q = await _open(svc, token)
    if isinstance(q, str):
        return _json_refused(q)
    return {
        "customer_name": q.invitation["customer_name"],
        "language": q.invitation["language"],
        "scale": q.survey.scale.model_dump(),
        "answer_due": q.invitation["answer_due"],
        "dimensions": _questions(q),
        "answered": q.answered is not None,
    }


@router.post("/api/answers/{token}", status_code=201, summary="Answer through the API")
async def answer_json(token: str, body: JsonAnswer, svc: Svc) -> Any:
    try:
        outcome = await answering.answer(
            svc, token, answering.Answer(body.items, body.comments, body.suggestions), via="api"
        )
    except LinkRefused as exc:
        return _json_refused(exc.reason)
    except answering.UnknownInvitation:
        return _json_refused("unknown")
    except AnswerError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    return JSONResponse(outcome.__dict__, status_code=201 if outcome.created else 200)
