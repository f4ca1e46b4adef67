"""Browser sign-in: a server-rendered form, a session cookie, CSRF, sign-out.

The session cookie is HttpOnly, SameSite=Lax and Secure over TLS; the server keeps the
session (idle and absolute timeouts, services/desk/domain.py). Every form post carries a
CSRF token: before sign-in a random one set as a cookie and repeated in the form (double
submit), after sign-in the session's own. The pages' JavaScript gets an access token for
the services from `POST /session/token` with the session's CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import Cookie, Form, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.common.http import guarded_router
from services.desk import i18n
from services.desk.api import DeskDep, client_of
from services.desk.handlers import Desk, SignInRefused
from services.desk.settings import DeskSettings

router = guarded_router(tags=["sign-in"])
SESSION_COOKIE = "qloop_session"
CSRF_COOKIE = "qloop_csrf"


def _secure(request: Request) -> bool:
    settings: DeskSettings = request.app.state.desk_settings
    return request.url.scheme == "https" or settings.desk_secure_cookies


def _set_cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )


def _same(a: str | None, b: str | None) -> bool:
    return bool(a and b) and hmac.compare_digest(str(a), str(b))


def _form(
    request: Request, *, login: str = "", error: str | None = None, status: int = 200
) -> Response:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    rulebook = request.app.state.ctx.rulebook
    offered = [lang for s in rulebook.sites for lang in rulebook.for_site(s).site.languages]
    wishes = i18n.from_header(request.headers.get("accept-language"))
    language = i18n.choose(offered, request.cookies.get(i18n.LANGUAGE_COOKIE), *wishes)
    page = (
        i18n.pages(language)
        .get_template("sign_in.html")
        .render(
            login=login,
            error=error,
            csrf=csrf,
            language=language,
            languages=list(dict.fromkeys(offered)),
        )
    )
    response = HTMLResponse(page, status_code=status)
    _set_cookie(response, request, CSRF_COOKIE, csrf)
    return response


@router.get("/sign-in", response_class=HTMLResponse, summary="The sign-in form")
async def sign_in_form(request: Request) -> Response:
    return _form(request)


@router.post("/sign-in", summary="Sign in from the form; sets the session cookie")
async def sign_in(
    request: Request,
    desk: DeskDep,
    login: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    if not _same(csrf, request.cookies.get(CSRF_COOKIE)):
        return _form(
            request, login=login, error="The form expired: please sign in again.", status=403
        )
    try:
        person = await desk.sign_in(login, password, client=client_of(request))
    except SignInRefused as exc:
        # The lockout's own message names a UTC time: people get the catalogue's words.
        error = "too many failed sign-ins: wait a while and try again" if exc.locked else str(exc)
        return _form(request, login=login, error=error, status=429 if exc.locked else 401)
    cookie, _ = await desk.open_session(person)
    response = RedirectResponse("/work", status_code=303)
    _set_cookie(response, request, SESSION_COOKIE, cookie)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


async def _signed_in(desk: Desk, cookie: str | None) -> tuple[Any, Any]:
    found = await desk.session(cookie) if cookie else None
    if found is None:
        raise HTTPException(401, "not signed in, or the session ended: sign in at /sign-in")
    return found


@router.get("/", response_class=HTMLResponse, summary="Who is signed in", response_model=None)
async def home(desk: DeskDep, qloop_session: Annotated[str | None, Cookie()] = None) -> Response:
    found = await desk.session(qloop_session) if qloop_session else None
    if found is None:
        return RedirectResponse("/sign-in", status_code=303)
    return RedirectResponse("/work", status_code=303)


@router.get("/session", summary="The signed-in person and the session's CSRF token")
async def session(
    desk: DeskDep, qloop_session: Annotated[str | None, Cookie()] = None
) -> dict[str, Any]:
    found, person = await _signed_in(desk, qloop_session)
    return {"person": person.view(), "csrf": found.csrf}


@router.post("/session/token", summary="An access token for the signed-in person")
async def session_token(
    desk: DeskDep,
    qloop_session: Annotated[str | None, Cookie()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    found, person = await _signed_in(desk, qloop_session)
    if not _same(x_csrf_token, found.csrf):
        raise HTTPException(403, "missing or wrong CSRF token (header X-CSRF-Token)")
    return {**desk.token_for(person).__dict__, "person_id": person.id}


@router.post("/sign-out", summary="End the session")
async def sign_out(
    desk: DeskDep,
    csrf: Annotated[str, Form(max_length=100)],
    qloop_session: Annotated[str | None, Cookie()] = None,
) -> Response:
    found, _ = await _signed_in(desk, qloop_session)
    if not _same(csrf, found.csrf):
        raise HTTPException(403, "missing or wrong CSRF token")
    assert qloop_session is not None
    await desk.sign_out(qloop_session)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
