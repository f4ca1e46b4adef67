"""The desk's attachment forms on the real database, the desk and the workflow in one
process each (the desk reaching the workflow in-process with the person's own token): a
file over QLOOP_ATTACHMENT_MAX_BYTES is refused next to its field on the registration form
(what was typed kept) and on the case page, in Chinese; a file within the limit is stored
by the workflow, listed on the case page and passed back byte for byte."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.settings import ServiceSettings
from services.common.storage.locks import DocumentLocks
from services.common.tokens import TokenVerifier
from services.desk.app import create_app as create_desk
from services.workflow.app import create_app as create_workflow
from services.workflow.domain.opening import open_for_complaint
from services.workflow.store_mongo import MongoCaseStore
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.unit.workflow.builders import registered, rules_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"
LIMIT = 4096
CLERK = {
    "id": "li.na", "name": "李娜", "email": "li.na@example.com", "language": "zh",
    "password": PASSWORD, "grants": [{"site": "sz", "departments": ["customer_service"]}],
}  # fmt: skip


@pytest.fixture
async def desk(settings: ServiceSettings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    keys = write_key_file(tmp_path / "keys.yaml", {"admin": (["*"], ["admin"])})
    configured = settings.model_copy(
        update={
            "api_keys_file": tmp_path / "keys.yaml",
            "rules_dir": ROOT / "rules",
            "attachment_max_bytes": LIMIT,
        }
    )
    desk_app = create_desk(configured)
    async with running(desk_app) as (desk, desk_ctx):

        async def jwks() -> Mapping[str, Any]:
            document: Mapping[str, Any] = (await desk.get("/.well-known/jwks.json")).json()
            return document

        workflow_app = create_workflow(configured)
        workflow_app.state.tokens = TokenVerifier(
            issuer="qloop-desk", audience="qloop", fetch_jwks=jwks
        )
        async with running(workflow_app):
            transport = httpx.ASGITransport(app=workflow_app)
            backends = desk_ctx.state["backends"]  # the desk's one backend: this workflow
            backends._clients["workflow"] = httpx.AsyncClient(
                transport=transport, base_url="http://workflow"
            )
            added = await desk.post(
                "/admin/people", json=CLERK, headers={"X-API-Key": keys["admin"]}
            )
            assert added.status_code == 201, added.text
            yield desk


async def _signed_in(desk: httpx.AsyncClient) -> str:
    """Sign the clerk in (session cookie); the session's CSRF token."""
    await desk.get("/sign-in")
    signed = await desk.post(
        "/sign-in",
        data={"login": "li.na", "password": PASSWORD, "csrf": desk.cookies["qloop_csrf"]},
    )
    assert signed.status_code == 303, signed.text
    csrf: str = (await desk.get("/session")).json()["csrf"]
    return csrf


async def _case(settings: ServiceSettings, mongo: Any) -> str:
    rules = rules_for("sz")
    now = datetime.now(UTC)
    case = open_for_complaint(
        registered(rules, now, number=f"SZ-A-{uuid.uuid4().hex[:8]}"), rules, now
    ).case
    store = MongoCaseStore(mongo[f"{settings.database}_workflow"], DocumentLocks())
    assert await store.open(case, [])
    return case.id


def _error(page: str, element_id: str) -> str:
    found = re.search(rf'<p class="error" id="{element_id}">([^<]*)</p>', page)
    assert found, page
    return found.group(1)


async def test_a_file_over_the_limit_is_refused_next_to_its_field(
    desk: httpx.AsyncClient,
) -> None:
    csrf = await _signed_in(desk)
    form = {"csrf": csrf, "site": "sz", "channel": "email", "customer_id": "C-1",
            "customer_name": "华东汽车", "description": "外壳开裂"}  # fmt: skip
    big = {"attachments": ("大照片.png", b"\x89PNG" + b"0" * LIMIT, "image/png")}
    refused = await desk.post("/complaints/new", data=form, files=big)
    assert refused.status_code == 422, refused.text
    assert _error(refused.text, "f-attachments-error") == "大照片.png 超过 4 KB。"
    assert 'value="华东汽车"' in refused.text  # what was typed stays


async def test_a_file_is_attached_on_the_case_page_and_passed_back(
    desk: httpx.AsyncClient, settings: ServiceSettings, mongo: Any
) -> None:
    case_id = await _case(settings, mongo)
    csrf = await _signed_in(desk)
    big = {"file": ("big.csv", b"a,b\n" * LIMIT, "text/csv")}
    refused = await desk.post(f"/cases/{case_id}/attachments", data={"csrf": csrf}, files=big)
    assert refused.status_code == 422
    assert _error(refused.text, "attach-file-error") == "big.csv 超过 4 KB。"
    lots = "批号,数量\nL1,3\n".encode()
    sent = {"file": ("批号.csv", lots, "text/csv")}
    done = await desk.post(f"/cases/{case_id}/attachments", data={"csrf": csrf}, files=sent)
    assert done.status_code == 303 and done.headers["location"].endswith("#attachments")
    page = await desk.get(f"/cases/{case_id}")
    link = re.search(r'<a href="/attachments/(att_[0-9a-f]+)">批号.csv</a>', page.text)
    assert link, page.text
    back = await desk.get(f"/attachments/{link.group(1)}")
    assert back.status_code == 200 and back.content == lots
    assert back.headers["content-type"].startswith("text/csv")
    assert "attachment;" in back.headers["content-disposition"]
