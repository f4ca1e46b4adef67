"""People on the real broker and database: an admin adds a person at the desk, the person
signs in, gets a token and acts at the workflow within their roles at their site, and is
refused elsewhere (403 naming the role or the site); the browser's session flow with its
cookie and CSRF; a lockout after repeated failures."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from services.common.contracts.registry import new_event, to_json
from services.common.rules import load_rules
from services.common.settings import ServiceSettings
from services.common.tokens import TokenVerifier
from services.desk.app import create_app as create_desk
from services.workflow.app import create_app as create_workflow
from tests.support.infra import Infra
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.support.waiting import eventually
from tests.unit.workflow.builders import registered

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    return write_key_file(tmp_path / "keys.yaml", {"admin": (["*"], ["admin"])})


@pytest.fixture
def people_settings(
    settings: ServiceSettings, tmp_path: Path, keys: dict[str, str]
) -> ServiceSettings:
    return settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": ROOT / "rules"}
    )


@pytest.fixture
async def desk(people_settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_desk(people_settings)) as (client, _):
        yield client


def person(person_id: str, **grant: Any) -> dict[str, Any]:
    return {
        "id": person_id,
        "name": person_id.title(),
        "email": f"{person_id}@example.com",
        "grants": [grant],
        "password": PASSWORD,
    }


async def _token(desk: httpx.AsyncClient, login: str) -> dict[str, str]:
    reply = await desk.post("/auth/token", json={"login": login, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


async def test_a_person_signs_in_and_acts_within_their_roles_only(
    desk: httpx.AsyncClient, people_settings: ServiceSettings, keys: dict[str, str], infra: Infra
) -> None:
    admin = {"X-API-Key": keys["admin"]}
    for new in (
        person("clerk", site="sz", departments=["customer_service"]),
        person("engineer", site="sz", departments=["quality"]),
    ):
        added = await desk.post("/admin/people", json=new, headers=admin)
        assert added.status_code == 201, added.text
    bad = person("nobody", site="sz", departments=["qa"])
    refused = await desk.post("/admin/people", json=bad, headers=admin)
    assert refused.status_code == 422 and "site 'sz' has no department 'qa'" in refused.text
    said = refused.json()  # the one 422 shape, the sentence kept in `detail`
    assert said["code"] == "invalid" and said["reason"] == said["detail"]
    assert said["errors"] == [{"field": "body", "message": said["detail"]}]

    async def jwks() -> Mapping[str, Any]:
        document: Mapping[str, Any] = (await desk.get("/.well-known/jwks.json")).json()
        return document

    workflow_app = create_workflow(people_settings)
    workflow_app.state.tokens = TokenVerifier(
        issuer="qloop-desk", audience="qloop", fetch_jwks=jwks
    )
    number = f"SZ-T-{uuid.uuid4().hex[:8]}"
    case_id = f"sz:{number}"
    async with running(workflow_app) as (workflow, ctx):
        await _register(infra, people_settings, number)
        await eventually(lambda: ctx.db["cases"].find_one({"_id": case_id}), timeout=15)
        assert (await workflow.get(f"/cases/{case_id}")).status_code == 401
        clerk = await _token(desk, "clerk@example.com")
        engineer = await _token(desk, "engineer")
        assert (await workflow.get(f"/cases/{case_id}", headers=engineer)).status_code == 200
        elsewhere = await workflow.get("/cases?site=nb", headers=engineer)
        assert elsewhere.status_code == 403
        assert "person 'engineer' does not hold the role 'read' at site 'nb'" in elsewhere.text
        # The register step belongs to customer service (complaint_owner) at this site.
        step = {"action": "register"}
        denied = await workflow.post(f"/cases/{case_id}/commands", json=step, headers=engineer)
        assert denied.status_code == 403, denied.text
        assert "needs one of the roles" in denied.text and "quality" in denied.text
        done = await workflow.post(f"/cases/{case_id}/commands", json=step, headers=clerk)
        assert done.status_code == 200, done.text
        history = (await workflow.get(f"/cases/{case_id}/history", headers=clerk)).json()
        assert history["entries"][-1]["actor"] == "clerk"
        forged = {"Authorization": clerk["Authorization"][:-4] + "AAAA"}
        assert (await workflow.get(f"/cases/{case_id}", headers=forged)).status_code == 401


async def _register(infra: Infra, settings: ServiceSettings, number: str) -> None:
    from datetime import UTC, datetime

    rules = load_rules(ROOT / "rules" / "abc-company.yaml")
    now = datetime.now(UTC)
    fact = registered(rules, now, number=number)
    event = new_event(fact, site="sz", source="/qloop/intake", time=now, subject=number)
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        message = aio_pika.Message(to_json(event), content_type="application/json")
        queue = f"{settings.queue_prefix}workflow.complaints"
        await channel.default_exchange.publish(message, routing_key=queue)


async def test_the_browser_signs_in_with_a_session_cookie_and_csrf(
    desk: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    new = person("rep", site="sz", departments=["management"])
    assert (
        await desk.post("/admin/people", json=new, headers={"X-API-Key": keys["admin"]})
    ).status_code == 201
    form = await desk.get("/sign-in")
    assert form.status_code == 200 and 'name="csrf"' in form.text
    csrf = desk.cookies["qloop_csrf"]
    forged = await desk.post(
        "/sign-in", data={"login": "rep", "password": PASSWORD, "csrf": "not the cookie's"}
    )
    assert forged.status_code == 403
    wrong = await desk.post("/sign-in", data={"login": "rep", "password": "nope", "csrf": csrf})
    assert wrong.status_code == 401 and 'value="rep"' in wrong.text  # what was typed stays
    signed = await desk.post("/sign-in", data={"login": "rep", "password": PASSWORD, "csrf": csrf})
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert "qloop_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    session = (await desk.get("/session")).json()
    assert session["person"]["id"] == "rep"
    assert (await desk.post("/session/token")).status_code == 403  # no CSRF header
    issued = await desk.post("/session/token", headers={"X-CSRF-Token": session["csrf"]})
    assert issued.status_code == 200 and issued.json()["token_type"] == "Bearer"
    out = await desk.post("/sign-out", data={"csrf": session["csrf"]})
    assert out.status_code == 303
    assert (await desk.get("/session")).status_code == 401


async def test_repeated_failures_lock_the_login_and_are_audited(
    desk: httpx.AsyncClient, keys: dict[str, str], people_settings: ServiceSettings
) -> None:
    new = person("locked", site="nb", roles=["quality"])
    assert (
        await desk.post("/admin/people", json=new, headers={"X-API-Key": keys["admin"]})
    ).status_code == 201
    for _ in range(5):
        reply = await desk.post("/auth/token", json={"login": "locked", "password": "wrong"})
        assert reply.status_code == 401
    reply = await desk.post("/auth/token", json={"login": "locked", "password": PASSWORD})
    assert reply.status_code == 429 and "too many failed sign-ins" in reply.text
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(people_settings.mongodb_url)
    try:
        audit = client[f"{people_settings.database}_desk"]["audit"]
        kinds = sorted({d["kind"] async for d in audit.find({})})
    finally:
        await client.close()
    assert kinds == ["locked_out", "person_added", "sign_in_failed", "sign_in_refused_locked"]
