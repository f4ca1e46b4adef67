"""Files people attach: on the registration form and on a case's page. The desk keeps no
file: it reads the form from the stream (a photo is larger than the JSON APIs' 1 MiB
limit), sends each file on to the workflow with the person's token, and passes the
downloads and thumbnails back the same way. A refused file is said next to its field in
the person's language."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.common.http import guarded_router
from services.common.uploads import Form, NotAForm, RequestTooLarge, UploadedFile, read_form
from services.desk import i18n
from services.desk.api import DeskDep
from services.desk.backends import BackendMissing
from services.desk.pages import (
    Page,
    SessionCookie,
    _case_page,
    _csrf_ok,
    page_of,
    to_sign_in,
)
from services.desk.registration import field_errors, register_form, submission_of

N_ = i18n.N_
router = guarded_router(tags=["pages"])
# Posted forms carrying files: read here with the attachments' own limit.
forms = APIRouter(tags=["pages"])
FILES_PER_FORM = 5  # the registration form's files together; more on the case page after
FORM_OVERHEAD = 256 * 1024
REFUSED = {
    "too_large": N_("%(name)s is larger than %(limit)s."),
    "type_not_allowed": N_("%(name)s is not a photo, PDF or spreadsheet."),
    "type_mismatch": N_("The content of %(name)s is not what its name says."),
    "unreadable": N_("The picture %(name)s cannot be read."),
}


def _limit(page: Page) -> int:
    """QLOOP_ATTACHMENT_MAX_BYTES: the desk refuses a larger file before sending it on."""
    limit: int = page.request.app.state.desk_settings.attachment_max_bytes
    return limit


async def _form(request: Request, page: Page) -> Form | None:
    """The posted form, or None when it is not one or is far too large."""
    limit = _limit(page)
    try:
        return await read_form(
            request.headers.get("content-type", ""),
            request.stream(),
            max_file=limit,
            max_request=FILES_PER_FORM * limit + FORM_OVERHEAD,
        )
    except (NotAForm, RequestTooLarge):
        return None


def _too_large(page: Page, sent: UploadedFile) -> str:
    size = _limit(page)
    limit = f"{size / 1048576:g} MB" if size >= 1048576 else f"{size / 1024:g} KB"
    return page.speaker.gettext(REFUSED["too_large"]) % {"name": sent.filename, "limit": limit}


async def _send(
    page: Page, fields: dict[str, str], sent: UploadedFile
) -> tuple[dict[str, Any] | None, str]:
    """The stored attachment (id, content type, size, sha256), or why it was refused (in
    the person's language)."""
    gettext = page.speaker.gettext
    if sent.too_large:
        return None, _too_large(page, sent)
    try:
        done = await page.backends.upload(
            page.token, fields, sent.filename, bytes(sent.data), sent.content_type
        )
    except BackendMissing:
        return None, gettext("Files cannot be kept now: try again in a moment.")
    if done.ok and isinstance(done.body, dict):
        return done.body, ""
    code = done.body.get("code") if isinstance(done.body, dict) else None
    if code == "too_large":
        return None, _too_large(page, sent)
    if code in REFUSED:
        return None, gettext(REFUSED[code]) % {"name": sent.filename}
    return None, gettext("The file was refused: try again in a moment.")


@forms.post("/complaints/new", summary="Register a complaint from the form", response_model=None)
async def register(
    request: Request, desk: DeskDep, qloop_session: SessionCookie = None
) -> Response:
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    gettext = page.speaker.gettext
    form = await _form(request, page)
    posted = form.fields if form else {}
    if form is None or not _csrf_ok(page, posted.get("csrf", "")):
        problem = gettext("The form expired: send it again.")
        if form is None:
            problem = gettext("The form could not be read: attach fewer or smaller files.")
        return await page.render(
            "register.html", status=403 if form else 413, problem=problem,
            **register_form(page.rules, posted, {}),
        )  # fmt: skip
    submission, errors = submission_of(posted, page.rules, page.person, gettext)
    files = form.files_of("attachments")
    oversized = next((f for f in files if f.too_large), None)
    if oversized is not None:
        errors["attachments"] = _too_large(page, oversized)
    if not errors:
        references, refusal = await _references(page, submission["site"], files)
        if refusal:
            errors["attachments"] = refusal
        else:
            submission["attachments"] = references
            done = await page.backends.register(page.token, submission)
            if done.ok:
                number = done.body.get("number", "")
                return await page.render("registered.html", registration=done.body, number=number)
            detail = done.body.get("detail") if isinstance(done.body, dict) else None
            errors = field_errors(detail if isinstance(detail, list) else [], gettext) or {
                "description": gettext("The complaint was refused: check the fields.")
            }
    return await page.render(
        "register.html", status=422, **register_form(page.rules, posted, errors)
    )


async def _references(
    page: Page, site: str, files: list[UploadedFile]
) -> tuple[list[dict[str, Any]], str]:
    """The complaint's references to its files, stored before it is registered; or the
    first refusal."""
    references = []
    for sent in files:
        stored, refusal = await _send(page, {"site": site}, sent)
        if stored is None:
            return [], refusal
        # The type and checksum the workflow found, not the browser's word.
        references.append(
            {"url_or_key": stored["id"], "content_type": stored["content_type"],
             "size": stored["size"], "checksum": f"sha256:{stored['sha256']}"}
        )  # fmt: skip
    return references, ""


@forms.post("/cases/{case_id}/attachments", summary="Attach a file to a case", response_model=None)
async def attach(
    case_id: str, request: Request, desk: DeskDep, qloop_session: SessionCookie = None
) -> Response:
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    gettext = page.speaker.gettext
    form = await _form(request, page)
    if form is None or not _csrf_ok(page, form.fields.get("csrf", "")):
        problem = gettext("The form expired: send it again.")
        return await _case_page(page, case_id, problem=problem, status=403)
    found = await page.backends.case(page.token, case_id)
    if not found.ok:
        return await page.render("missing.html", status=404)
    files = form.files_of("file")
    if not files:
        refusal = gettext("Choose a file to attach.")
    else:
        fields = {"site": found.body["site"], "case": case_id}
        stored, refusal = await _send(page, fields, files[0])
        if stored is not None:
            return RedirectResponse(f"/cases/{case_id}#attachments", status_code=303)
    return await _case_page(
        page, case_id, errors={"file": refusal}, failed_action="attach", status=422
    )


async def _passed_on(request: Request, desk: DeskDep, cookie: str | None, path: str) -> Response:
    page = await page_of(request, desk, cookie)
    if page is None:
        return to_sign_in()
    try:
        status, body, headers = await page.backends.download(page.token, path)
    except BackendMissing:
        status, body, headers = 503, b"", {}
    if status >= 400:
        return await page.render("missing.html", status=404 if status < 500 else status)
    return Response(body, status_code=status, headers=headers)


@router.get(
    "/attachments/{attachment_id}",
    summary="An attachment, downloaded",
    response_model=None,
    response_class=Response,
)
async def download(
    attachment_id: str, request: Request, desk: DeskDep, qloop_session: SessionCookie = None
) -> Response:
    return await _passed_on(request, desk, qloop_session, f"/attachments/{attachment_id}")


@router.get(
    "/attachments/{attachment_id}/thumbnail",
    summary="A picture's thumbnail",
    response_model=None,
    response_class=Response,
)
async def thumbnail(
    attachment_id: str, request: Request, desk: DeskDep, qloop_session: SessionCookie = None
) -> Response:
    path = f"/attachments/{attachment_id}/thumbnail"
    return await _passed_on(request, desk, qloop_session, path)
