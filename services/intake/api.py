"""Intake's HTTP API: thin translations to the use cases in handlers.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.common.auth import Caller, ensure_site, require
from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.complaints import FieldError
from services.common.http import guarded_router
from services.common.rulebook import UnknownSite
from services.common.runtime import context_of
from services.intake.handlers import Intake, view
from services.intake.store import ComplaintFilter

router = guarded_router(tags=["complaints"])


async def intake_of(request: Request) -> Intake:
    intake: Intake = context_of(request).state["intake"]
    return intake


IntakeDep = Annotated[Intake, Depends(intake_of)]
Submitter = Annotated[Caller, Depends(require("submit"))]
Reader = Annotated[Caller, Depends(require("read"))]


def _errors_of(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors():
        location = [str(p) for p in err.get("loc", ()) if p != "body"]
        errors.append(FieldError(field=".".join(location) or "body", message=str(err["msg"])))
    return errors


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    """422 with field paths and plain messages; a refused submission is also recorded
    and announced as complaint.rejected."""
    assert isinstance(exc, RequestValidationError)
    errors = _errors_of(exc)
    if request.method == "POST" and request.url.path == "/complaints":
        body = exc.body if isinstance(exc.body, dict) else {}
        site = body.get("site") if isinstance(body.get("site"), str) else None
        ref = body.get("external_ref") if isinstance(body.get("external_ref"), str) else None
        await (await intake_of(request)).reject(
            site=site, source=_source(request), reason="invalid", errors=errors, external_ref=ref
        )
    return JSONResponse(
        status_code=422,
        content={
            "detail": "the request is not valid",
            "errors": [e.model_dump() for e in errors],
        },
    )


def _source(request: Request) -> str:
    ring = request.app.state.keyring
    key = ring.identify(request.headers.get("x-api-key", "")) if ring else None
    return key.name if key else "unknown"


@router.post("/complaints", status_code=201, summary="Register a complaint", response_model=None)
async def submit_complaint(
    submission: ComplaintSubmission,
    intake: IntakeDep,
    key: Submitter,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    ensure_site(key, submission.site)
    try:
        outcome = await intake.submit(submission, source=key.name, reference=idempotency_key)
    except UnknownSite as exc:
        error = FieldError(field="site", message=str(exc))
        await intake.reject(
            site=submission.site,
            source=key.name,
            reason="unknown site",
            errors=[error],
            external_ref=submission.external_ref,
        )
        return JSONResponse(
            status_code=422, content={"detail": str(exc), "errors": [error.model_dump()]}
        )
    # A JSON response built here: the registration is JSON already (stored in JSON mode),
    # so FastAPI's generic encoding pass over it is skipped.
    if not outcome.created:
        return JSONResponse(outcome.registration, headers={"Idempotent-Replayed": "true"})
    return JSONResponse(outcome.registration, status_code=201)


@router.get("/complaints/{number}", summary="One registered complaint")
async def get_complaint(number: str, intake: IntakeDep, key: Reader) -> dict[str, Any]:
    document = await intake.store.by_number(key.visible_sites(intake.rulebook.sites), number)
    if document is None:
        raise HTTPException(404, f"no complaint {number!r} at a site this key may read")
    return view(document)


@router.get("/complaints", summary="Registered complaints, newest first")
async def list_complaints(
    intake: IntakeDep,
    key: Reader,
    site: str | None = None,
    customer_id: str | None = None,
    nature: str | None = None,
    category: str | None = None,
    owner_department: str | None = None,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    if site is not None:
        ensure_site(key, site)
        sites = [site]
    else:
        sites = key.visible_sites(intake.rulebook.sites)
    for moment, name in ((received_from, "received_from"), (received_to, "received_to")):
        if moment is not None and moment.tzinfo is None:
            raise HTTPException(422, f"{name} needs a timezone (e.g. 2026-01-01T00:00:00+08:00)")
    documents = await intake.store.search(
        ComplaintFilter(
            sites=sites,
            customer_id=customer_id,
            nature=nature,
            category=category,
            owner_department=owner_department,
            received_from=received_from,
            received_to=received_to,
            limit=limit,
            skip=offset,
        )
    )
    return {"items": [view(d) for d in documents], "count": len(documents), "offset": offset}
