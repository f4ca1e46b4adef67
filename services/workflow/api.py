"""The workflow's HTTP API: thin translations to the use cases in handlers.py.

Callers need `read` to read and `act` to send commands; the workflow roles a caller holds
(quality, complaint_owner, ...) are the other roles of its key, or a person's roles at the
case's site. Refusals answer 403 (role), 409 (wrong stage, guard, conflict, closed) or
422 (fields, consent), with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.common.auth import Caller, ensure_site, require
from services.common.contracts.complaint import MAX_QUANTITY, Quantity
from services.common.http import guarded_router
from services.common.runtime import context_of
from services.common.tokens import KeysUnavailable
from services.workflow import commands, reply
from services.workflow.domain import eight_d
from services.workflow.domain.case import Case
from services.workflow.domain.commands import (
    CustomerConsent,
    ExecuteTransition,
    ExtendDeadline,
    RecordDisposition,
    RecordFields,
    Refused,
)
from services.workflow.domain.history import first_broken
from services.workflow.handlers import CaseService, Decide, view
from services.workflow.rendering import eight_d_html
from services.workflow.store import CaseQuery
from services.workflow.worklist import my_work

router = guarded_router(tags=["cases"])
STATUS = {
    "not_allowed": 403,
    "not_found": 404,
    "missing_fields": 422,
    "invalid_fields": 422,
    "consent_required": 422,
    "signature_required": 422,
    "signature_invalid": 422,
}


async def service_of(request: Request) -> CaseService:
    service: CaseService = context_of(request).state["cases"]
    return service


Service = Annotated[CaseService, Depends(service_of)]
Reader = Annotated[Caller, Depends(require("read"))]
Actor = Annotated[Caller, Depends(require("act"))]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommandBody(_Body):
    action: str | None = Field(default=None, description="A transition; None: fields only.")
    fields: dict[str, Any] = {}
    reason: str | None = Field(default=None, max_length=2000)
    signature: str | None = Field(
        default=None,
        max_length=8192,
        description="A signed transition's signature token from the desk (POST /signatures).",
    )
    expected_version: int | None = Field(default=None, ge=0, le=MAX_QUANTITY)


class ConsentBody(_Body):
    given_by: str = Field(min_length=1)
    given_at: AwareDatetime
    channel: str = Field(min_length=1)
    reference: str | None = None


class ExtensionBody(_Body):
    new_due: AwareDatetime
    consent: ConsentBody | None = None
    reason: str | None = None


class DispositionBody(_Body):
    disposition: Literal["rework", "concession", "scrap"]
    quantity: Quantity
    reinspection: Literal["ok", "ng"] | None = None
    claimed_amount: float | None = Field(default=None, ge=0)
    agreed_compensation: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    note: str | None = None


async def _case(service: CaseService, key: Caller, case_id: str) -> Case:
    case = await service.store.get(case_id)
    if case is None or not key.may_access(case.site):
        raise HTTPException(404, f"no case {case_id!r} at a site this key may read")
    return case


async def _run(
    service: CaseService,
    key: Caller,
    case_id: str,
    decide: Decide,
    expected_version: int | None = None,
) -> dict[str, Any]:
    case = await _case(service, key, case_id)
    ensure_site(key, case.site)
    try:
        saved, _ = await service.run(case_id, decide, expected_version=expected_version)
    except Refused as refusal:
        raise HTTPException(STATUS.get(refusal.code, 409), _refusal(refusal)) from None
    return view(saved, service.clock.now())


def _refusal(refusal: Refused) -> dict[str, Any]:
    return {"code": refusal.code, "reason": refusal.reason, "fields": refusal.fields}


def _roles(key: Caller, case_id: str) -> tuple[str, ...]:
    """The caller's workflow roles at the case's site (ids are `<site>:<number>`)."""
    site = case_id.partition(":")[0]
    return tuple(r for r in key.roles_at(site) if r not in ("read", "act", "submit"))


@router.get("/cases/{case_id}", summary="One case")
async def get_case(case_id: str, service: Service, key: Reader) -> dict[str, Any]:
    return view(await _case(service, key, case_id), service.clock.now())


@router.get("/cases", summary="Cases, newest first")
async def list_cases(
    service: Service,
    key: Reader,
    site: str | None = None,
    stage: str | None = None,
    overdue: bool = False,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    if site is not None:
        ensure_site(key, site)
        if site not in service.rulebook.sites:
            raise HTTPException(404, f"no site {site!r}: no rule file declares it")
    sites = [site] if site else key.visible_sites(service.rulebook.sites)
    now = service.clock.now()
    query = CaseQuery(sites, stage, now if overdue else None, open_only, limit, offset)
    cases = await service.store.search(query)
    return {"items": [view(c, now) for c in cases], "count": len(cases), "offset": offset}


@router.get("/worklist", summary="Open cases the caller must act on now, nearest due first")
async def worklist(service: Service, key: Reader, site: str | None = None) -> dict[str, Any]:
    if site is not None:
        ensure_site(key, site)
        if site not in service.rulebook.sites:
            raise HTTPException(404, f"no site {site!r}: no rule file declares it")
    sites = [site] if site else key.visible_sites(service.rulebook.sites)
    roles_at = {s: key.roles_at(s) for s in sites}
    now = service.clock.now()
    rulebook = service.rulebook
    items = await my_work(store=service.store, rulebook=rulebook, roles_at=roles_at, now=now)
    return {"items": items, "count": len(items)}


@router.post("/cases/{case_id}/commands", summary="Run a transition, or record fields")
async def command(
    case_id: str, body: CommandBody, service: Service, key: Actor, request: Request
) -> dict[str, Any]:
    roles = _roles(key, case_id)
    if body.action is None:
        decide = commands.fields(RecordFields(case_id, body.fields, key.name, roles, body.reason))
    else:
        try:
            signature = await commands.verified_signature(
                context_of(request).tokens, body.signature
            )
        except Refused as refusal:
            raise HTTPException(422, _refusal(refusal)) from None
        except KeysUnavailable:
            raise HTTPException(503, "signatures cannot be checked now: try again") from None
        decide = commands.transition(
            ExecuteTransition(
                case_id, body.action, body.fields, key.name, roles, body.reason,
                signature=signature,
            )
        )  # fmt: skip
    return await _run(service, key, case_id, decide, body.expected_version)


@router.post("/cases/{case_id}/extensions", summary="Extend the current stage's deadline")
async def extend(case_id: str, body: ExtensionBody, service: Service, key: Actor) -> dict[str, Any]:
    consent = CustomerConsent(**body.consent.model_dump()) if body.consent else None
    roles = _roles(key, case_id)
    command = ExtendDeadline(case_id, body.new_due, consent, key.name, roles, body.reason)
    return await _run(service, key, case_id, commands.extension(command))


@router.post("/cases/{case_id}/dispositions", summary="Record returned goods / claim handling")
async def dispose(
    case_id: str, body: DispositionBody, service: Service, key: Actor
) -> dict[str, Any]:
    values = body.model_dump()
    command = RecordDisposition(
        case_id,
        values.pop("disposition"),
        values.pop("quantity"),
        key.name,
        _roles(key, case_id),
        **values,
    )
    return await _run(service, key, case_id, commands.disposition(command))


@router.get("/cases/{case_id}/history", summary="Who did what, when, why; hash-chained")
async def history(case_id: str, service: Service, key: Reader) -> dict[str, Any]:
    case = await _case(service, key, case_id)
    broken = first_broken(case.history)
    return {
        "case_id": case.id,
        "entries": [h.model_dump() for h in case.history],
        "chain_intact": broken is None,
        "first_broken": broken,
    }


@router.get("/cases/{case_id}/8d", summary="The 8D report (HTML, or JSON)", response_model=None)
async def report_8d(
    case_id: str,
    service: Service,
    key: Reader,
    request: Request,
    format: Literal["html", "json"] | None = None,
    lang: str | None = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    case = await _case(service, key, case_id)
    rules = service.rulebook.for_site(case.site)
    files = await context_of(request).state["attachments"].of_case(case)
    report = eight_d.report(case, rules, lang or "", files)
    wants_json = format == "json" or (format is None and "application/json" in (accept or ""))
    if wants_json:
        return JSONResponse(report)
    return HTMLResponse(eight_d_html(report))


@router.get(
    "/cases/{case_id}/reply",
    summary="The reply to the customer: a letter / 8D report (printable HTML, or PDF)",
    response_model=None,
    response_class=HTMLResponse,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def reply_to_customer(
    case_id: str,
    service: Service,
    key: Reader,
    format: Literal["html", "pdf"] = "html",
    lang: Annotated[
        str | None, Query(description="a language of the site; default its first")
    ] = None,
) -> Response:
    case = await _case(service, key, case_id)
    rules = service.rulebook.for_site(case.site)
    spoken = rules.site.languages
    if lang is not None and lang not in spoken:
        raise HTTPException(422, f"lang: the site speaks {', '.join(spoken)}, not {lang!r}")
    language = lang or spoken[0]
    try:
        html = reply.reply_page(case, rules, language, service.clock.now())
    except reply.ReplyTemplateError as error:
        raise HTTPException(500, str(error)) from None
    if format == "html":
        return HTMLResponse(html, headers={"Content-Security-Policy": reply.PAGE_POLICY})
    try:
        pdf = await run_in_threadpool(reply.reply_pdf, html)
    except reply.PdfUnavailable as error:
        raise HTTPException(503, str(error)) from None
    name = reply.file_name(case.complaint_number, language)
    disposition = {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(pdf, media_type="application/pdf", headers=disposition)
