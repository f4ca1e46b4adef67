"""The desk's JSON API: the JWKS, tokens for a login and password, the admin directory.

Managing people needs the `admin` role at every site a change touches (an API key or a
person holding it); reading a person, at one of their sites.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from services.common.auth import Caller, ensure_site, require
from services.common.http import guarded_router
from services.common.rules.schema_notifications import DeliveryPreference
from services.common.runtime import context_of
from services.desk.domain import DirectoryError, Grant, Person
from services.desk.handlers import Desk, NewPerson, SignInRefused

router = guarded_router(tags=["desk"])
Admin = Annotated[Caller, Depends(require("admin"))]


async def desk_of(request: Request) -> Desk:
    desk: Desk = context_of(request).state["desk"]
    return desk


DeskDep = Annotated[Desk, Depends(desk_of)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(_Body):
    login: str = Field(min_length=1, max_length=254, description="Person id or e-mail")
    password: str = Field(min_length=1, max_length=1024)


class PersonBody(_Body):
    id: str
    name: str
    email: str
    phone: str | None = None
    language: str = "en"
    grants: tuple[Grant, ...] = ()
    password: str | None = Field(default=None, max_length=1024)


class PasswordBody(_Body):
    password: str = Field(min_length=1, max_length=1024)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def refused(exc: Exception) -> HTTPException:
    if isinstance(exc, LookupError):
        return HTTPException(404, str(exc).strip("'\""))
    return HTTPException(422, str(exc))


@router.get("/.well-known/jwks.json", summary="The public keys access tokens are signed with")
async def jwks(desk: DeskDep) -> dict[str, Any]:
    assert desk.keys is not None
    return desk.keys.jwks()


@router.post("/auth/token", summary="An access token for a login and password")
async def token(body: Credentials, desk: DeskDep, request: Request) -> dict[str, Any]:
    try:
        person = await desk.sign_in(body.login, body.password, client=client_of(request))
    except SignInRefused as exc:
        raise HTTPException(429 if exc.locked else 401, str(exc)) from None
    issued = desk.token_for(person)
    return {**issued.__dict__, "person_id": person.id}


def _ensure_admin_of(who: Caller, person: Person) -> None:
    """403 unless the admin holds one of the person's sites (anyone's, for a person
    without grants yet)."""
    sites = person.sites()
    if sites and not any(who.may_access(site) for site in sites):
        ensure_site(who, sites[0])


@router.get("/admin/people", summary="The people at the caller's sites")
async def list_people(desk: DeskDep, who: Admin) -> dict[str, Any]:
    people = [p for p in await desk.store.people() if any(map(who.may_access, p.sites()))]
    return {"items": [p.view() for p in people], "count": len(people)}


@router.post("/admin/people", status_code=201, summary="Add a person")
async def add_person(body: PersonBody, desk: DeskDep, who: Admin) -> dict[str, Any]:
    for grant in body.grants:
        ensure_site(who, grant.site)
    try:
        person = await desk.add_person(NewPerson(**dict(body)), by=who.name)
    except (DirectoryError, ValueError) as exc:
        raise refused(exc) from None
    return person.view()


@router.get("/admin/people/{person_id}", summary="One person")
async def show_person(person_id: str, desk: DeskDep, who: Admin) -> dict[str, Any]:
    try:
        person = await desk.person(person_id)
    except LookupError as exc:
        raise refused(exc) from None
    _ensure_admin_of(who, person)
    return person.view()


@router.post("/admin/people/{person_id}/grants", summary="Set a person's grant at a site")
async def grant(person_id: str, body: Grant, desk: DeskDep, who: Admin) -> dict[str, Any]:
    ensure_site(who, body.site)
    try:
        return (await desk.grant(person_id, body, by=who.name)).view()
    except (DirectoryError, LookupError) as exc:
        raise refused(exc) from None


@router.delete("/admin/people/{person_id}/grants/{site}", summary="Revoke a person's grant")
async def revoke(person_id: str, site: str, desk: DeskDep, who: Admin) -> dict[str, Any]:
    ensure_site(who, site)
    try:
        return (await desk.revoke(person_id, site, by=who.name)).view()
    except (DirectoryError, LookupError) as exc:
        raise refused(exc) from None


@router.post("/admin/people/{person_id}/disable", summary="Disable a person")
async def disable(person_id: str, desk: DeskDep, who: Admin) -> dict[str, Any]:
    try:
        _ensure_admin_of(who, await desk.person(person_id))
        return (await desk.disable(person_id, by=who.name)).view()
    except LookupError as exc:
        raise refused(exc) from None


@router.put(
    "/admin/people/{person_id}/notifications",
    summary="Set how a person is told: channels, quiet hours, a daily digest",
)
async def set_notifications(
    person_id: str, body: DeliveryPreference, desk: DeskDep, who: Admin
) -> dict[str, Any]:
    try:
        person = await desk.person(person_id)
    except LookupError as exc:
        raise refused(exc) from None
    _ensure_admin_of(who, person)
    changed = person.model_copy(update={"notifications": body, "updated_at": desk.clock.now()})
    await desk.store.save_person(changed)
    return changed.view()


@router.put("/admin/people/{person_id}/password", summary="Set a person's password")
async def set_password(
    person_id: str, body: PasswordBody, desk: DeskDep, who: Admin
) -> dict[str, Any]:
    try:
        _ensure_admin_of(who, await desk.person(person_id))
        return (await desk.set_password(person_id, body.password, by=who.name)).view()
    except (LookupError, ValueError) as exc:
        raise refused(exc) from None
