"""Sign-in at a real OpenID Connect provider (pyop in its own process): authorization code
with PKCE, the ID token verified, groups mapped to grants, the desk's own session and
token after it; a tampered answer and a person without a mapped group are refused."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from services.common.settings import ServiceSettings
from services.desk.app import create_app as create_desk
from services.desk.settings import DeskSettings
from tests.support.processes import free_port
from tests.support.services import running
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CALLBACK = "http://service/sign-in/oidc/callback"
MAPPING = """\
login_claim: preferred_username
groups_claim: groups
grants:
  - {group: qloop-sz-quality, site: sz, departments: [quality]}
  - {group: qloop-sz-mr, site: sz, roles: [management_rep]}
  - {group: qloop-nb-quality, site: nb, departments: [quality]}
"""
USERS = {
    "li.wei": {
        "password": "op-secret-1",
        "claims": {
            "preferred_username": "li.wei",
            "email": "li.wei@example.com",
            "name": "李伟",
            "locale": "zh-CN",
            "groups": ["qloop-sz-quality", "qloop-sz-mr", "unrelated"],
        },
    },
    "visitor": {
        "password": "op-secret-2",
        "claims": {
            "preferred_username": "visitor",
            "email": "visitor@example.com",
            "name": "Visitor",
            "groups": ["unrelated"],
        },
    },
}


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[str]:
    """The provider's issuer URL; its ca certificate at tmp_path/ca.pem once it answers."""
    port = free_port()
    config = tmp_path / "op.json"
    config.write_text(
        json.dumps(
            {
                "client_id": "qloop-desk",
                "client_secret": "desk-secret",
                "redirect_uri": CALLBACK,
                "users": USERS,
            }
        ),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.oidc_provider", "--port", str(port),
         "--config", str(config), "--tls", str(tmp_path)],
        cwd=ROOT,
    )
    issuer = f"https://127.0.0.1:{port}"
    try:
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def desk_settings(settings: ServiceSettings, tmp_path: Path, provider: str) -> DeskSettings:
    mapping = tmp_path / "oidc-mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return DeskSettings(
        **settings.model_dump(exclude={"rules_dir"}),
        rules_dir=ROOT / "rules",
        desk_oidc_issuer=provider,
        desk_oidc_client_id="qloop-desk",
        desk_oidc_client_secret="desk-secret",
        desk_oidc_redirect_url=CALLBACK,
        desk_oidc_mapping_file=mapping,
        desk_oidc_ca_file=tmp_path / "ca.pem",
        desk_oidc_scopes="openid email profile groups",
    )


async def _up(issuer: str, ca: Path) -> None:
    async def answers() -> bool:
        if not ca.exists():
            return False
        try:
            async with httpx.AsyncClient(verify=_trust(ca)) as http:
                found = await http.get(f"{issuer}/.well-known/openid-configuration")
            return found.status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(answers, timeout=30)


def _trust(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


async def _at_provider(authorize_url: str, login: str, password: str, ca: Path) -> str:
    """What a person's browser does at the provider: open its form, sign in; the
    redirect back to the desk (the callback URL with code and state)."""
    async with httpx.AsyncClient(verify=_trust(ca)) as browser:
        form = await browser.get(authorize_url)
        assert form.status_code == 200, form.text
        pending = form.text.split('name="pending" value="', 1)[1].split('"', 1)[0]
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(authorize_url))
        answer = await browser.post(
            f"{origin}/login", data={"pending": pending, "login": login, "password": password}
        )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def _start(desk: httpx.AsyncClient) -> str:
    started = await desk.get("/sign-in/oidc")
    assert started.status_code == 303
    location = started.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["response_type"] == ["code"] and "nonce" in query and "state" in query
    return location


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_a_person_signs_in_at_the_provider_and_holds_their_mapped_roles(
    desk_settings: DeskSettings, provider: str
) -> None:
    ca = desk_settings.desk_oidc_ca_file
    assert ca is not None
    await _up(provider, ca)
    async with running(create_desk(desk_settings)) as (desk, ctx):
        back = await _at_provider(await _start(desk), "li.wei", "op-secret-1", ca)
        assert back.startswith(CALLBACK)
        signed_in = await desk.get(_path(back))
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/"
        session = (await desk.get("/session")).json()
        person = await ctx.state["desk"].person("li.wei")
        assert person.name == "李伟" and person.language == "zh"
        [grant] = person.grants
        assert (grant.site, grant.departments, grant.roles) == ("sz", ("quality",),
                                                               ("management_rep",))
        issued = await desk.post("/session/token", headers={"X-CSRF-Token": session["csrf"]})
        assert issued.status_code == 200, issued.text
        claims = jwt.decode(issued.json()["access_token"], options={"verify_signature": False})
        assert claims["sub"] == "li.wei"
        assert set(claims["sites"]["sz"]) >= {"quality", "management_rep"}
        audit = await ctx.state["desk"].store.audit_entries()
        oidc = [a for a in audit if a.get("method") == "oidc"]
        assert oidc and oidc[-1]["person_id"] == "li.wei" and oidc[-1]["issuer"] == provider


async def test_tampered_answers_and_people_without_a_mapped_group_are_refused(
    desk_settings: DeskSettings, provider: str
) -> None:
    ca = desk_settings.desk_oidc_ca_file
    assert ca is not None
    await _up(provider, ca)
    async with running(create_desk(desk_settings)) as (desk, ctx):
        # The state the desk sent is not the one that comes back: refused, no session.
        back = await _at_provider(await _start(desk), "li.wei", "op-secret-1", ca)
        forged = back.replace("state=", "state=x")
        refused = await desk.get(_path(forged))
        assert refused.status_code == 401 and "start again" in refused.text
        assert (await desk.get("/session")).status_code == 401
        # A code used once cannot be used again (the provider refuses the exchange).
        desk.cookies.clear()
        back = await _at_provider(await _start(desk), "li.wei", "op-secret-1", ca)
        assert (await desk.get(_path(back))).status_code == 303
        desk.cookies.delete("qloop_session")
        await _start(desk)  # a fresh flow cookie, but the old code and state
        assert (await desk.get(_path(back))).status_code == 401
        # Signed in at the provider, but no group that means anything in qloop.
        desk.cookies.clear()
        back = await _at_provider(await _start(desk), "visitor", "op-secret-2", ca)
        refused = await desk.get(_path(back))
        assert refused.status_code == 401 and "holds no group" in refused.text
        assert await ctx.state["desk"].store.person("visitor") is None
        audit = await ctx.state["desk"].store.audit_entries()
        assert sum(a["kind"] == "oidc_sign_in_failed" for a in audit) == 3
