"""The reply to the customer on the real database: an abc (site sz) case approved with a
real signature (the management representative re-enters their password at the desk) is
answered as a PDF in Chinese whose text names the complaint, the site, the root cause and
the signer with the signing time in Shenzhen's zone, and as printable HTML in English."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pypdf import PdfReader

from services.common.settings import ServiceSettings
from tests.support.signing import desk_and_workflow
from tests.unit.workflow.builders import Driver, rules_for, to_review

pytestmark = pytest.mark.integration
PASSWORD = "a long enough password"
SHENZHEN = ZoneInfo("Asia/Shanghai")
PERSON = "mr-zhangwei"  # the management representative's person id: never shown


@pytest.fixture
async def both(settings: ServiceSettings, tmp_path: Path) -> AsyncIterator[tuple[Any, ...]]:
    keys = {"admin": (["*"], ["admin"]), "nb": (["nb"], ["read"])}
    async with desk_and_workflow(settings, tmp_path, keys) as running:
        yield running


async def _signed_in(desk: httpx.AsyncClient, keys: dict[str, str]) -> dict[str, str]:
    admin = {"X-API-Key": keys["admin"]}
    new = {
        "id": PERSON, "name": "张伟", "email": "zw@example.com",
        "grants": [{"site": "sz", "departments": ["management"]}], "password": PASSWORD,
    }  # fmt: skip
    assert (await desk.post("/admin/people", json=new, headers=admin)).status_code == 201
    reply = await desk.post("/auth/token", json={"login": PERSON, "password": PASSWORD})
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


async def _approved_case(desk: httpx.AsyncClient, workflow: httpx.AsyncClient, ctx: Any,
                         rep: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    """An abc case through review, approved by 张伟 with a real signature."""
    d = Driver(rules_for("sz"), datetime.now(UTC), number=f"SZ-R-{uuid.uuid4().hex[:8]}")
    to_review(d)
    d.do("accept_answer")
    assert await ctx.state["cases"].store.open(d.case, [])
    url = f"/cases/{d.case.id}"
    head = (await workflow.get(url, headers=rep)).json()["history_head"]
    ask = {"case_id": d.case.id, "meaning": "approved", "signed": head, "password": PASSWORD}
    signed = await desk.post("/signatures", json=ask, headers=rep)
    assert signed.status_code == 200, signed.text
    command = {"action": "approve", "signature": signed.json()["signature"]}
    done = await workflow.post(f"{url}/commands", json=command, headers=rep)
    assert done.status_code == 200, done.text
    case: dict[str, Any] = done.json()
    return case


async def test_the_reply_of_an_approved_case_as_pdf_in_chinese_and_html_in_english(
    both: tuple[Any, ...],
) -> None:
    desk, workflow, ctx, keys = both
    rep = await _signed_in(desk, keys)
    case = await _approved_case(desk, workflow, ctx, rep)
    [signature] = case["signatures"]
    signed_at = datetime.fromisoformat(signature["signed_at"]).astimezone(SHENZHEN)
    url = f"/cases/{case['id']}/reply"

    pdf = await workflow.get(url, params={"format": "pdf", "lang": "zh"}, headers=rep)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert case["reference"] in text
    assert "深圳工厂" in text  # the site by its name
    assert "根本原因分析" in text and "mould wear" in text  # D4 and its root cause
    assert "张伟" in text and "签名人" in text  # the signature block
    assert signed_at.strftime("%Y-%m-%d %H:%M") in text  # signed, in Shenzhen's time
    assert "UTC" not in text and PERSON not in text

    html = await workflow.get(url, params={"lang": "en"}, headers=rep)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "script-src" not in html.headers["content-security-policy"]  # no script runs
    page = html.text
    assert "Shenzhen plant" in page and "Reply to the customer" in page
    assert case["reference"] in page and "mould wear" in page
    assert "Signed by" in page and "张伟" in page
    assert "UTC" not in page and PERSON not in page

    default = await workflow.get(url, headers=rep)  # the site's first language, HTML
    assert default.status_code == 200 and "客户回复" in default.text


async def test_the_reply_refuses_a_language_the_site_does_not_speak_and_other_sites(
    both: tuple[Any, ...],
) -> None:
    desk, workflow, ctx, keys = both
    rep = await _signed_in(desk, keys)
    case = await _approved_case(desk, workflow, ctx, rep)
    url = f"/cases/{case['id']}/reply"
    french = await workflow.get(url, params={"lang": "fr"}, headers=rep)
    assert french.status_code == 422 and "zh, en" in french.text
    elsewhere = await workflow.get(url, headers={"X-API-Key": keys["nb"]})
    assert elsewhere.status_code == 404
