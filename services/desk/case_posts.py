"""The posts of the case page's extension and disposition forms (case_forms.py): checked
here for what a form can tell, decided by the workflow, shown again with each error next
to its field or the refusal in words."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from services.common.http import guarded_router
from services.desk import case_forms
from services.desk.api import DeskDep
from services.desk.backends import Answer
from services.desk.pages import Page, SessionCookie, _case_page, _csrf_ok, page_of, to_sign_in

router = guarded_router(tags=["pages"])


async def _answered(page: Page, case_id: str, form: str, posted: dict[str, str],
                    done: Answer) -> Response:  # fmt: skip
    if done.ok:
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    detail = done.body.get("detail") if isinstance(done.body, dict) else None
    code = detail.get("code") if isinstance(detail, dict) else done.body.get("code")
    say = page.speaker.gettext
    words = say(case_forms.REFUSED.get(str(code), case_forms.REFUSED["invalid_fields"]))
    errors = {"ext-given_by": words} if code == "consent_required" else {}
    return await _case_page(
        page, case_id, errors=errors, problem=None if errors else words, status=done.status,
        typed=posted, failed_action=form,
    )  # fmt: skip


async def _form(
    request: Request, desk: DeskDep, cookie: str | None, case_id: str
) -> tuple[Page, dict[str, str]] | Response:
    """The signed-in person and their posted form, or the page that answers instead (sign
    in; the form expired)."""
    page = await page_of(request, desk, cookie)
    if page is None:
        return to_sign_in()
    posted = {k: str(v) for k, v in (await request.form()).items()}
    if not _csrf_ok(page, posted.get("csrf", "")):
        problem = page.speaker.gettext("The form expired: send it again.")
        return await _case_page(page, case_id, problem=problem, status=403)
    return page, posted


@router.post("/cases/{case_id}/extension", summary="Extend the due time", response_model=None)
async def extend(
    case_id: str, request: Request, desk: DeskDep, qloop_session: SessionCookie = None
) -> Response:
    form = await _form(request, desk, qloop_session, case_id)
    if isinstance(form, Response):
        return form
    page, posted = form
    zone = page.zone(case_id.split(":", 1)[0])
    body, errors = case_forms.extension_body(posted, zone, page.speaker.gettext)
    if errors:
        return await _case_page(
            page, case_id, errors=errors, status=422, typed=posted, failed_action="extension"
        )
    done = await page.backends.extension(page.token, case_id, body)
    return await _answered(page, case_id, "extension", posted, done)


@router.post(
    "/cases/{case_id}/disposition", summary="Record returned goods handling", response_model=None
)
async def dispose(
    case_id: str, request: Request, desk: DeskDep, qloop_session: SessionCookie = None
) -> Response:
    form = await _form(request, desk, qloop_session, case_id)
    if isinstance(form, Response):
        return form
    page, posted = form
    body, errors = case_forms.disposition_body(posted, page.speaker.gettext)
    if errors:
        return await _case_page(
            page, case_id, errors=errors, status=422, typed=posted, failed_action="disposition"
        )
    done = await page.backends.disposition(page.token, case_id, body)
    return await _answered(page, case_id, "disposition", posted, done)
