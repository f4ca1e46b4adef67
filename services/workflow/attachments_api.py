"""Attachments over HTTP: upload (multipart), the bytes, the thumbnail, a case's list.

The upload is not a guarded route: the API's 1 MiB body limit is for JSON, a file may be
QLOOP_ATTACHMENT_MAX_BYTES; the form is read from the stream with that limit instead
(services/common/uploads.py)."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from services.common.auth import Caller, caller, ensure_site, require
from services.common.http import guarded_router
from services.common.runtime import context_of
from services.common.uploads import NotAForm, RequestTooLarge, read_form
from services.workflow.attachments import Attachments, Upload
from services.workflow.domain.attachments import (
    AttachmentDamaged,
    AttachmentRecord,
    AttachmentRefused,
    StoredBlob,
)
from services.workflow.handlers import CaseService

log = logging.getLogger(__name__)
router = guarded_router(tags=["attachments"])
uploads = APIRouter(tags=["attachments"])
FORM_OVERHEAD = 64 * 1024  # the other fields and the multipart framing
Reader = Annotated[Caller, Depends(require("read"))]
Anyone = Annotated[Caller, Depends(caller)]


async def attachments_of(request: Request) -> Attachments:
    found: Attachments = context_of(request).state["attachments"]
    return found


async def cases_of(request: Request) -> CaseService:
    service: CaseService = context_of(request).state["cases"]
    return service


AttachmentsDep = Annotated[Attachments, Depends(attachments_of)]
Cases = Annotated[CaseService, Depends(cases_of)]
_FIELDS = {
    "site": {"type": "string", "description": "The site the file belongs to"},
    "case": {"type": "string", "description": "A case id (role `act`)"},
    "complaint": {"type": "string", "description": "A complaint number (role `submit`); "
                  "without case or complaint: for a complaint being registered, which names "
                  "the returned id in its `attachments`"},
    "file": {"type": "string", "format": "binary"},
}  # fmt: skip
_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["site", "file"], "properties": _FIELDS}
            }
        },
    }
}
_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "The caller lacks `submit` (or `act` for a case) at the site"},
    404: {"description": "No such case at a site the caller may read"},
    413: {"description": "The request is far larger than QLOOP_ATTACHMENT_MAX_BYTES"},
    422: {
        "description": "Refused, with `code` (too_large, type_not_allowed, type_mismatch, "
        "unreadable, invalid) and `errors` naming the field (`file`, `site`)"
    },
}


def _refused(code: str, field: str, reason: str) -> JSONResponse:
    errors = [{"field": field, "message": reason}]
    return JSONResponse({"detail": reason, "code": code, "errors": errors}, status_code=422)


@uploads.post(
    "/attachments",
    status_code=201,
    summary="Upload a photo, PDF or spreadsheet for a complaint or a case",
    openapi_extra=_UPLOAD_DOC,
    responses=_REFUSALS,
)
async def upload(
    request: Request, who: Anyone, attachments: AttachmentsDep, cases: Cases
) -> Response:
    if not (who.holding("submit").grants or who.holding("act").grants):
        raise HTTPException(403, who.holding("submit").refusal())  # before reading the file
    try:
        form = await read_form(
            request.headers.get("content-type", ""),
            request.stream(),
            max_file=attachments.max_bytes,
            max_request=4 * attachments.max_bytes + FORM_OVERHEAD,
        )
    except RequestTooLarge as exc:
        return JSONResponse({"detail": str(exc)}, status_code=413)
    except NotAForm as exc:
        return _refused("invalid", "body", str(exc))
    site, case_ref = form.fields.get("site", ""), form.fields.get("case") or None
    files = form.files_of("file")
    held = who.holding("act" if case_ref else "submit")
    if not held.grants:
        raise HTTPException(403, held.refusal())
    if site not in cases.rulebook.sites:
        return _refused("invalid", "site", f"no site {site!r}: no rule file declares it")
    ensure_site(held, site)
    if len(files) != 1:
        return _refused("invalid", "file", "send exactly one file, in the field `file`")
    case = await cases.store.get(case_ref) if case_ref else None
    if case_ref and (case is None or case.site != site):
        raise HTTPException(404, f"no case {case_ref!r} at site {site!r}")
    sent = files[0]
    if sent.too_large:
        attachments.refused(site, "too_large")
        reason = f"the file is larger than {attachments.max_bytes} bytes"
        return _refused("too_large", "file", reason)
    try:
        record = await attachments.accept(
            Upload(site, sent.filename, sent.content_type, bytes(sent.data), who.name,
                   complaint=form.fields.get("complaint") or None, case=case)
        )  # fmt: skip
    except AttachmentRefused as refusal:
        return _refused(refusal.code, "file", refusal.reason)
    return JSONResponse({**record.summary(), "site": site, "case_id": record.case_id,
                         "complaint": record.complaint}, status_code=201)  # fmt: skip


async def _visible(attachments: Attachments, key: Caller, attachment_id: str) -> AttachmentRecord:
    record = await attachments.store.record(attachment_id)
    if record is None or not key.may_access(record.site):
        raise HTTPException(404, f"no attachment {attachment_id!r} at a site this key may read")
    return record


async def _bytes(attachments: Attachments, stored: StoredBlob) -> bytes:
    try:
        return await attachments.store.content(stored)
    except AttachmentDamaged as exc:
        log.error("attachment damaged: %s", exc)
        raise HTTPException(500, f"the stored file is damaged: {exc}") from None


def _disposition(kind: str, name: str) -> str:
    plain = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/attachments/{attachment_id}", summary="An attachment's bytes", response_model=None)
async def download(attachment_id: str, attachments: AttachmentsDep, key: Reader) -> Response:
    record = await _visible(attachments, key, attachment_id)
    data = await _bytes(attachments, record.file)
    headers = {
        "Content-Disposition": _disposition("attachment", record.name),
        "X-Content-Type-Options": "nosniff",
        "Digest": f"sha-256={record.file.sha256}",
    }
    return Response(data, media_type=record.file.content_type, headers=headers)


@router.get(
    "/attachments/{attachment_id}/thumbnail",
    summary="A picture's thumbnail (404 for other files)",
    response_model=None,
)
async def thumbnail(attachment_id: str, attachments: AttachmentsDep, key: Reader) -> Response:
    record = await _visible(attachments, key, attachment_id)
    if record.thumbnail is None:
        raise HTTPException(404, f"attachment {attachment_id!r} has no thumbnail")
    data = await _bytes(attachments, record.thumbnail)
    name = f"{record.name}.thumbnail"
    headers = {"Content-Disposition": _disposition("inline", name),
               "X-Content-Type-Options": "nosniff"}  # fmt: skip
    return Response(data, media_type=record.thumbnail.content_type, headers=headers)


@router.get("/cases/{case_id}/attachments", summary="A case's attachments, its complaint's first")
async def case_attachments(
    case_id: str, attachments: AttachmentsDep, cases: Cases, key: Reader
) -> dict[str, Any]:
    case = await cases.store.get(case_id)
    if case is None or not key.may_access(case.site):
        raise HTTPException(404, f"no case {case_id!r} at a site this key may read")
    return {"case_id": case.id, "items": await attachments.of_case(case)}
