"""Approvals as electronic signatures on the real database: the management representative
re-enters their password at the desk, which signs the case as it stands; the workflow runs
the approval only with that signature, records it in the hash-chained history and the 8D,
and refuses an unsigned approval, a wrong password, a case changed since it was signed and
an access token passed off as a signature."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.settings import ServiceSettings
from tests.support.signing import desk_and_workflow
from tests.unit.workflow.builders import Driver, rules_for, to_review

pytestmark = pytest.mark.integration
PASSWORD = "a long enough password"


@pytest.fixture
async def both(settings: ServiceSettings, tmp_path: Path) -> AsyncIterator[tuple[Any, ...]]:
    async with desk_and_workflow(settings, tmp_path, {"admin": (["*"], ["admin"])}) as stack:
        desk, workflow, ctx, keys = stack
        yield desk, workflow, ctx, {"X-API-Key": keys["admin"]}


async def _person(desk: httpx.AsyncClient, admin: dict[str, str], person_id: str) -> dict[str, str]:
    new = {
        "id": person_id, "name": "张伟", "email": f"{person_id}@example.com",
        "grants": [{"site": "sz", "departments": ["management"]}], "password": PASSWORD,
    }  # fmt: skip
    assert (await desk.post("/admin/people", json=new, headers=admin)).status_code == 201
    reply = await desk.post("/auth/token", json={"login": person_id, "password": PASSWORD})
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


async def test_an_approval_is_signed_by_the_person_and_tied_to_the_case_as_it_stood(
    both: tuple[Any, ...],
) -> None:
    desk, workflow, ctx, admin = both
    rep = await _person(desk, admin, "rep")
    d = Driver(rules_for("sz"), datetime.now(UTC), number=f"SZ-T-{uuid.uuid4().hex[:8]}")
    to_review(d)
    d.do("accept_answer")
    assert await ctx.state["cases"].store.open(d.case, [])
    url = f"/cases/{d.case.id}"

    unsigned = await workflow.post(f"{url}/commands", json={"action": "approve"}, headers=rep)
    assert unsigned.status_code == 422, unsigned.text
    assert unsigned.json()["detail"]["code"] == "signature_required"

    head = (await workflow.get(url, headers=rep)).json()["history_head"]
    ask = {"case_id": d.case.id, "meaning": "approved", "signed": head}
    wrong = await desk.post("/signatures", json={**ask, "password": "not mine"}, headers=rep)
    assert wrong.status_code == 401
    key = await desk.post("/signatures", json={**ask, "password": PASSWORD}, headers=admin)
    assert key.status_code == 403  # a system cannot sign
    signed = await desk.post("/signatures", json={**ask, "password": PASSWORD}, headers=rep)
    assert signed.status_code == 200, signed.text
    signature = signed.json()["signature"]

    # An access token is no signature, and a signature is no access token.
    access = rep["Authorization"].split()[1]
    fake = {"action": "approve", "signature": access}
    passed_off = await workflow.post(f"{url}/commands", json=fake, headers=rep)
    assert passed_off.status_code == 422 and "signature_invalid" in passed_off.text
    as_bearer = await workflow.get(url, headers={"Authorization": f"Bearer {signature}"})
    assert as_bearer.status_code == 401

    # The case changes after it was signed: the signature no longer fits it.
    note = {"fields": {"secondary_causes": ["a late finding"]}}
    assert (await workflow.post(f"{url}/commands", json=note, headers=rep)).status_code == 200
    stale = await workflow.post(
        f"{url}/commands", json={"action": "approve", "signature": signature}, headers=rep
    )
    assert stale.status_code == 422 and "changed since it was signed" in stale.text

    head = (await workflow.get(url, headers=rep)).json()["history_head"]
    ask["signed"] = head
    signature = (await desk.post("/signatures", json={**ask, "password": PASSWORD},
                                 headers=rep)).json()["signature"]  # fmt: skip
    done = await workflow.post(
        f"{url}/commands", json={"action": "approve", "signature": signature}, headers=rep
    )
    assert done.status_code == 200, done.text
    case = done.json()
    assert case["stage"] == "reply" and case["fields"]["approved_by"] == "rep"
    [record] = case["signatures"]
    assert (record["person_id"], record["name"], record["meaning"]) == ("rep", "张伟", "approved")
    assert record["signed_hash"] == head
    history = (await workflow.get(f"{url}/history", headers=rep)).json()
    assert history["chain_intact"] is True
    assert [e["what"] for e in history["entries"][-2:]] == ["signature", "transition"]
    report = (await workflow.get(f"{url}/8d?lang=zh", headers=rep)).text
    assert "电子签名" in report and "张伟 (rep), 批准" in report
