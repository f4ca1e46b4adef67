"""The desk's pages for people: my work, a case and its actions, registering a complaint,
the language switch. Server-rendered; plain forms, each post carrying the session's CSRF
token. Every call to a service goes with the signed-in person's own access token."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Cookie, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.common.http import guarded_router
from services.common.rules import SiteRules
from services.desk import case_forms, domain, i18n, signatures
from services.desk.api import DeskDep, client_of
from services.desk.backends import Backends
from services.desk.domain import Person, Session
from services.desk.forms import action_forms, read_values
from services.desk.handlers import Desk
from services.desk.registration import register_form
from services.desk.sessions import CSRF_COOKIE

router = guarded_router(tags=["pages"])
N_ = i18n.N_
# Codes of the contracts and the shipped rule files' choices, named in the catalogue.
CODES = {
    "quality": N_("Quality"), "delivery": N_("Delivery"), "service": N_("Service"),
    "appeal": N_("Appeal"), "claim": N_("Claim"), "non_quality": N_("Non-quality complaint"),
    "a": N_("Category a"), "b": N_("Category b"), "c": N_("Category c"), "d": N_("Category d"),
    "general": N_("General"), "serious": N_("Serious"),
    "customer": N_("The customer"), "supplier": N_("A supplier"), "company": N_("Our company"),
    "ok": N_("OK"), "ng": N_("NG (not effective)"),
    "eight_d": N_("8D report"), "quality_information_reply": N_("Quality information reply"),
    "customer_format": N_("The customer's format"),
    "True": N_("Yes"), "False": N_("No"),
    "opened": N_("Case opened"), "fields": N_("Fields recorded"), "transition": N_("Action"),
    "signature": N_("Signed"), "extension": N_("Deadline extended"),
    "disposition": N_("Returned goods handled"), "reopened": N_("Reopened"),
    "deadline_recomputed": N_("Due time recomputed"),
    "approved": N_("Approved"), "rejected": N_("Rejected"), "reviewed": N_("Reviewed"),
    "over_before_import": N_("Over before the import"),
}  # fmt: skip
# What the workflow writes as the reason of its own steps (machine words), said in words.
SYSTEM_REASONS = {
    "deadline_approaching": N_("The due time is near"),
    "deadline_missed": N_("The due time passed"),
    "recurrence": N_("The complaint repeats an earlier case"),
    "review_loop_exceeded": N_("The review loop reached its limit."),
    "imported": N_("Imported from the complaint history"),
    "complaint": N_("A new complaint repeats this case"),
    "calendar": N_("The holiday calendar changed"),
}
SYSTEM_ACTOR = "system:"  # the workflow's own steps (opening, deadlines, recurrence)
COUNT_SECONDS = 30.0  # how long the navigation's count of my work is shown unread
SessionCookie = Annotated[str | None, Cookie(alias="qloop_session")]


class WorkCounts:
    """The navigation's count of "my work" per person, kept for COUNT_SECONDS: it costs the
    whole worklist (every case the person may act on), so it is not read on every page;
    /work itself counts what it shows and renews it."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[float, int | None]] = {}

    def get(self, person_id: str) -> int | None:
        kept = self._counts.get(person_id)
        return kept[1] if kept and time.monotonic() - kept[0] < COUNT_SECONDS else None

    def put(self, person_id: str, count: int | None) -> None:
        if count is not None:
            self._counts[person_id] = (time.monotonic(), count)


class Page:
    """One request's person, language, token and the rules of their sites."""

    def __init__(self, request: Request, desk: Desk, session: Session, person: Person) -> None:
        self.request, self.desk, self.session, self.person = request, desk, session, person
        self.rules: dict[str, SiteRules] = {
            s: desk.rulebook.for_site(s) for s in person.sites() if s in desk.rulebook.sites
        }
        self.roles = domain.roles_per_site(person, self.rules)
        self.languages = [lang for r in self.rules.values() for lang in r.site.languages]
        wish = request.cookies.get(i18n.LANGUAGE_COOKIE)
        self.speaker = i18n.Speaker(i18n.choose(self.languages, wish, person.language))
        self.backends: Backends = request.app.state.ctx.state["backends"]
        self.token = desk.token_for(person).access_token
        # A demonstration's caught mails (mail.py): linked from the navigation when kept.
        self.demo_mail = request.app.state.ctx.state.get("maildir") is not None

    def _names(self, site: str, kind: str, thing: str) -> str:
        """The rule file's name of a stage, department, role, field, clock, outcome or
        action (`owner`: a department or a role)."""
        rules = self.rules.get(site)
        if rules is None:
            return thing
        if kind == "owner":
            if thing == "case_owner":
                return self.speaker.gettext("the owning department")
            kind = "department" if any(d.id == thing for d in rules.departments) else "role"
        pool: dict[str, tuple[Any, ...]] = {
            "stage": rules.workflow.stages,
            "department": rules.departments,
            "role": rules.roles,
            "field": rules.workflow.fields,
            "clock": rules.clocks,
            "outcome": rules.workflow.outcomes,
        }
        if kind == "action":
            found: Any = next((t for t in rules.workflow.transitions if t.action == thing), None)
        else:
            found = next((x for x in pool.get(kind, ()) if x.id == thing), None)
        return self.speaker.name(getattr(found, "names", None), thing)

    def stage(self, site: str, stage: str) -> str:
        return self._names(site, "stage", stage)

    def label(self, site: str, kind: str, thing: str) -> str:
        return self._names(site, kind, thing)

    def coded(self, value: Any) -> str:
        """A code the contracts define (nature, kind, category, severity, choices)."""
        return self.speaker.gettext(CODES.get(str(value), str(value)))

    def reason(self, entry: dict[str, Any]) -> str:
        """A history entry's reason: a person's own words as written; the system's in the
        person's language (its opening reason only repeats the case's number: left out)."""
        reason = str(entry.get("reason") or "")
        if not str(entry.get("actor") or "").startswith(SYSTEM_ACTOR):
            return reason
        if entry.get("what") == "opened":
            return ""
        for prefix, words in SYSTEM_REASONS.items():
            if reason.startswith(prefix):
                return self.speaker.gettext(words)
        return ""

    async def people_named(self, ids: Iterable[str | None]) -> dict[str, str]:
        """Each actor id's name: a person of the directory, or what the system did. A
        person never sees an id: an actor the directory does not know is 'another system'."""
        named: dict[str, str] = {}
        for actor in {a for a in ids if a}:
            if actor.startswith(SYSTEM_ACTOR):
                named[actor] = self.speaker.gettext("qloop")
                continue
            person = await self.desk.store.person(actor)
            named[actor] = person.name if person else self.speaker.gettext("another system")
        return named

    def zone(self, site: str) -> str:
        rules = self.rules.get(site)
        return rules.site.timezone if rules else "UTC"

    async def _work_count(self) -> int | None:
        counts: WorkCounts = self.request.app.state.ctx.state.setdefault("counts", WorkCounts())
        count = counts.get(self.person.id)
        if count is None:
            work = await self.backends.worklist(self.token)
            count = int(work.body.get("count", 0)) if work.ok else None
            counts.put(self.person.id, count)
        return count

    async def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        if "work_count" not in values:
            values["work_count"] = await self._work_count()
        env = i18n.pages(self.speaker.language)
        body = env.get_template(template).render(
            sp=self.speaker,
            person=self.person,
            csrf=self.session.csrf,
            languages=list(dict.fromkeys(self.languages)),
            rules=self.rules,
            here=str(self.request.url.path),
            page=self,
            **values,
        )
        return HTMLResponse(body, status_code=status)


async def page_of(request: Request, desk: Desk, cookie: str | None) -> Page | None:
    found = await desk.session(cookie) if cookie else None
    return Page(request, desk, *found) if found else None


def to_sign_in() -> Response:
    return RedirectResponse("/sign-in", status_code=303)


def _csrf_ok(page: Page, csrf: str) -> bool:
    return bool(csrf) and hmac.compare_digest(csrf, page.session.csrf)


@router.get("/work", response_class=HTMLResponse, summary="My work", response_model=None)
async def my_work(request: Request, desk: DeskDep, qloop_session: SessionCookie = None) -> Response:
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    work = await page.backends.worklist(page.token)
    items = work.body.get("items", []) if work.ok else []
    for item in items:
        item["seconds_left"] = _seconds_left(item)
    count = len(items) if work.ok else None
    page.request.app.state.ctx.state.setdefault("counts", WorkCounts()).put(page.person.id, count)
    return await page.render(
        "work.html", items=items, failed=not work.ok, urgency=i18n.urgency, work_count=count
    )


def _submission(registration: dict[str, Any]) -> dict[str, Any]:
    found = registration.get("submission") or registration.get("complaint") or registration
    return found if isinstance(found, dict) else {}


def _seconds_left(case: dict[str, Any]) -> float | None:
    from datetime import UTC, datetime

    if not case.get("due"):
        return None
    return (datetime.fromisoformat(case["due"]) - datetime.now(UTC)).total_seconds()


async def _case_page(
    page: Page,
    case_id: str,
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    failed_action: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    found = await page.backends.case(page.token, case_id)
    if not found.ok:
        return await page.render("missing.html", status=404)
    case = found.body
    rules = page.rules[case["site"]]
    history = await page.backends.history(page.token, case_id)
    complaint = (
        await page.backends.complaint(page.token, case["reference"])
        if page.backends.has("intake")
        else None
    )
    case["seconds_left"] = _seconds_left(case)
    entries = history.body.get("entries", []) if history.ok else []
    files = await page.backends.attachments(page.token, case_id)
    return await page.render(
        "case.html",
        status=status,
        case=case,
        site_rules=rules,
        zone=rules.site.timezone,
        history=entries,
        who=await page.people_named(h.get("actor") for h in entries),
        complaint=_submission(complaint.body) if complaint and complaint.ok else {},
        forms=action_forms(rules, case, page.roles.get(case["site"], ())),
        typed=typed or {},
        errors=errors or {},
        failed_action=failed_action,
        problem=problem,
        urgency=i18n.urgency,
        attachments=files.body.get("items", []) if files.ok else [],
        acts_here=case_forms.acts_here(rules, case, page.roles.get(case["site"], ())),
        dispositions=case_forms.DISPOSITIONS,
        consent_channels=case_forms.CONSENT_CHANNELS,
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse, summary="A case", response_model=None)
async def case_page(
    case_id: str, request: Request, desk: DeskDep, qloop_session: SessionCookie = None
) -> Response:
    page = await page_of(request, desk, qloop_session)
    return to_sign_in() if page is None else await _case_page(page, case_id)


REFUSALS = {
    "missing_fields": N_("Fill in this field for this action."),
    "invalid_fields": N_("This value is not valid here."),
    "guard_false": N_("This value does not allow the action."),
}


@router.post("/cases/{case_id}/actions", summary="Run an action on a case", response_model=None)
async def run_action(
    case_id: str, request: Request, desk: DeskDep, qloop_session: SessionCookie = None
) -> Response:
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    posted = {k: str(v) for k, v in (await request.form()).items()}
    gettext = page.speaker.gettext
    if not _csrf_ok(page, posted.get("csrf", "")):
        return await _case_page(
            page, case_id, problem=gettext("The form expired: send it again."), status=403
        )
    found = await page.backends.case(page.token, case_id)
    if not found.ok:
        return await page.render("missing.html", status=404)
    rules = page.rules[found.body["site"]]
    action = posted.get("action", "")
    forms = {
        f.action: f for f in action_forms(rules, found.body, page.roles.get(found.body["site"], ()))
    }
    form = forms.get(action)
    if form is None:
        problem = gettext("You may not run this action on the case now.")
        return await _case_page(page, case_id, problem=problem, status=403)
    values, errors = read_values(form.fields, posted, gettext)
    if errors:
        return await _case_page(
            page, case_id, errors=errors, status=422, typed=posted, failed_action=action
        )
    body: dict[str, Any] = {
        "action": action,
        "fields": values,
        "expected_version": found.body["version"],
    }
    if posted.get("reason"):
        body["reason"] = posted["reason"]
    if form.meaning is not None:
        signature, error = await _signature(page, found.body, form.meaning, posted)
        if signature is None:
            return await _case_page(
                page, case_id, errors={"password": error}, status=422, typed=posted,
                failed_action=action,
            )  # fmt: skip
        body["signature"] = signature
    done = await page.backends.command(page.token, case_id, body)
    if done.ok:
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    detail = done.body.get("detail") if isinstance(done.body, dict) else None
    code = detail.get("code") if isinstance(detail, dict) else None
    named = detail.get("fields", []) if isinstance(detail, dict) else []
    message = gettext(REFUSALS.get(code or "", "This value is not valid here."))
    errors = dict.fromkeys(named, message)
    refusal: str | None = None if errors else refusal_text(gettext, code)
    return await _case_page(
        page,
        case_id,
        errors=errors,
        problem=refusal,
        status=done.status,
        typed=posted,
        failed_action=action,
    )


async def _signature(
    page: Page, case: dict[str, Any], meaning: str, posted: dict[str, str]
) -> tuple[str | None, str]:
    """The person's signature over the case as they saw it, or the error for the password
    field (a wrong password counts towards the sign-in lockout)."""
    gettext = page.speaker.gettext
    password = posted.get("password", "")
    if not password:
        return None, gettext("Enter your password to sign.")
    request = signatures.SignatureRequest(
        case_id=case["id"], meaning=meaning, signed=case["history_head"], password=password
    )
    try:
        issued = await signatures.issue(
            page.desk, page.person.id, request, client=client_of(page.request)
        )
    except signatures.SignatureRefused as exc:
        if exc.locked:
            return None, gettext("too many failed sign-ins: wait a while and try again")
        return None, gettext("The password is not right.")
    return str(issued["signature"]), ""


def refusal_text(gettext: i18n.Gettext, code: str | None) -> str:
    texts = {
        "not_allowed": gettext("Your roles do not allow this action at this stage."),
        "wrong_stage": gettext("The case has moved on: look at its stage and try again."),
        "conflict": gettext("Someone changed the case meanwhile: look at it again and retry."),
        "closed": gettext("The case is closed."),
        "signature_required": gettext("This action needs your electronic signature."),
        "signature_invalid": gettext("The signature does not match the case: look again and sign."),
        "review_loop_exceeded": gettext("The review loop reached its limit."),
    }
    return texts.get(code or "", gettext("The action was refused."))


@router.get(
    "/complaints/new",
    response_class=HTMLResponse,
    summary="Register a complaint",
    response_model=None,
)
async def new_complaint(
    request: Request, desk: DeskDep, qloop_session: SessionCookie = None
) -> Response:
    page = await page_of(request, desk, qloop_session)
    if page is None:
        return to_sign_in()
    return await page.render("register.html", **register_form(page.rules, {}, {}))


# POST /complaints/new (the form with its files) is services/desk/attaching.py's.


@router.post("/language", summary="Choose the pages' language", response_model=None)
async def language(
    request: Request,
    desk: DeskDep,
    lang: Annotated[str, Form(max_length=10)],
    back: Annotated[str, Form(max_length=500)] = "/work",
    csrf: Annotated[str, Form(max_length=200)] = "",
    qloop_session: SessionCookie = None,
) -> Response:
    page = await page_of(request, desk, qloop_session)
    # Signed in: the session's token; before sign-in: the sign-in form's cookie.
    expected = page.session.csrf if page else request.cookies.get(CSRF_COOKIE, "")
    target = back if back.startswith("/") and not back.startswith("//") else "/work"
    response = RedirectResponse(target, status_code=303)
    if not (csrf and expected and hmac.compare_digest(csrf, expected)):
        return response  # a forged or stale switch changes nothing; the page is shown again
    offered = (
        page.languages
        if page
        else [
            lang for s in desk.rulebook.sites for lang in desk.rulebook.for_site(s).site.languages
        ]
    )
    if lang in offered:
        response.set_cookie(i18n.LANGUAGE_COOKIE, lang, samesite="lax", path="/", httponly=True)
    return response
