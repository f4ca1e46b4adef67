"""The workflow's worklists on the real database: a case is listed in its stage's
worklist when opened, moves with its stage, leaves it when closed; GET /worklist gives a
person the cases their roles act on now, nearest due first."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.common.settings import ServiceSettings
from services.workflow.app import create_app
from tests.support.people import TestIssuer
from tests.support.services import running
from tests.unit.workflow.builders import Driver, rules_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def workflow(settings: ServiceSettings) -> AsyncIterator[tuple[Any, Any, TestIssuer]]:
    issuer = TestIssuer()
    app = create_app(settings.model_copy(update={"rules_dir": ROOT / "rules"}))
    app.state.tokens = issuer.verifier()
    async with running(app) as (client, ctx):
        yield client, ctx, issuer


async def test_a_case_moves_between_worklists_and_a_person_sees_theirs(
    workflow: tuple[Any, Any, TestIssuer],
) -> None:
    client, ctx, issuer = workflow
    store = ctx.state["cases"].store
    start = datetime.now(UTC) - timedelta(days=2)
    def number() -> str:
        return f"SZ-W-{uuid.uuid4().hex[:8]}"

    older = Driver(rules_for("sz"), start, number=number())
    newer = Driver(rules_for("sz"), start + timedelta(days=1), number=number())
    for d in (older, newer):
        assert await store.open(d.case, [])
    assert {older.case.id, newer.case.id} <= set(await store.listed("sz", "register"))

    clerk = {"Authorization": f"Bearer {issuer.token('clerk', {'sz': ['complaint_owner']})}"}
    mine = (await client.get("/worklist", headers=clerk)).json()
    ids = [c["id"] for c in mine["items"]]
    assert ids.index(older.case.id) < ids.index(newer.case.id)  # nearest due first
    assert all("seconds_left" in clock for c in mine["items"] for clock in c["clocks"])

    base = older.case
    await store.save(older.do("register"), base=base, events=[])
    assert older.case.id not in await store.listed("sz", "register")
    assert older.case.id in await store.listed("sz", "acknowledge")

    quality = {"Authorization": f"Bearer {issuer.token('qe', {'sz': ['quality']})}"}
    theirs = (await client.get("/worklist?site=sz", headers=quality)).json()
    everywhere = {"Authorization": f"Bearer {issuer.token('hq', {'nowhere': ['quality']})}"}
    unknown = await client.get("/worklist?site=nowhere", headers=everywhere)
    assert unknown.status_code == 404 and "nowhere" in unknown.text  # not a crash
    assert older.case.id not in [c["id"] for c in theirs["items"]]  # not at investigate yet
