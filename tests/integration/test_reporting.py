"""Reporting on the real broker and database: events published to the exchange become
read models and API figures; duplicates have no effect; a rebuild equals the incremental
result; HQ roll-up and site scopes."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from openpyxl import load_workbook

from services.common.contracts.registry import to_json
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.rulebook import Rulebook
from services.common.runtime import ServiceContext
from services.common.settings import ServiceSettings
from services.common.storage.locks import DocumentLocks
from services.reporting.app import create_app
from services.reporting.domain.policy import Policy
from services.reporting.domain.projection import UtcSites
from services.reporting.domain.replay import Replay
from services.reporting.rebuild import rebuild
from services.reporting.settings import ReportingSettings
from services.reporting.sites import RuleSites
from services.reporting.store import MongoReadModels
from tests.support import histories as h
from tests.support.infra import Infra
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keys(tmp_path: Path, site: str) -> dict[str, str]:
    return write_key_file(
        tmp_path / "keys.yaml",
        {
            "hq": (["*"], ["read"]),
            "local": ([site], ["read"]),
            "other": (["elsewhere"], ["read"]),
            "writer": ([site], ["submit"]),
        },
    )


@pytest.fixture
async def reporting(
    settings: ServiceSettings, tmp_path: Path, keys: dict[str, str]
) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceContext]]:
    configured = settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": ROOT / "rules"}
    )
    async with running(create_app(configured)) as service:
        yield service


async def publish(infra: Infra, events: list[Any]) -> None:
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for event in events:
            await exchange.publish(
                aio_pika.Message(to_json(event), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=event.routing_key,
            )


async def projected(ctx: ServiceContext, site: str, history: list[Any]) -> None:
    """Wait until the site's buckets hold what the history projects to. (Other sessions
    may publish on the same broker: counting consumed messages would not do.)"""
    expected = {
        k.id: c for k, c in Replay(UtcSites(), Policy()).apply_all(history).buckets().items()
    }

    async def probe() -> bool:
        found = snapshot(await all_buckets(ctx.db, site))
        return {k: v for k, v in found.items() if v} == expected

    await eventually(probe, timeout=120)


async def all_buckets(db: Any, site: str) -> list[dict[str, Any]]:
    """Every bucket of the site, across the month collections."""
    found = []
    for name in await MongoReadModels(db, DocumentLocks()).bucket_collections():
        found += await db[name].find({"site": site}).to_list()
    return found


def snapshot(buckets: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    return {b["_id"]: {k: v for k, v in b["counters"].items() if v} for b in buckets}


async def test_published_history_becomes_api_figures(
    reporting: tuple[httpx.AsyncClient, ServiceContext],
    infra: Infra,
    site: str,
    keys: dict[str, str],
) -> None:
    client, ctx = reporting
    history = h.march_complaints(site) + h.march_feedback(site)
    redelivered = history + history[::4]
    random.Random(7).shuffle(redelivered)
    await publish(infra, redelivered)
    await projected(ctx, site, history)
    reply = await client.get(f"/reports/{site}/kpis/2026-03", headers={"X-API-Key": keys["local"]})
    figures = reply.json()["values"][0]
    c = figures["complaints"]
    # The test site has no rule file: its months are UTC months, so 0005 (received 1 April
    # 00:30 in Shanghai = 31 March 16:30 UTC) is a March complaint here: 5 received.
    assert (c["received"], c["repeat_rate"], c["answered_share"], c["overdue"]) == (
        5,
        20.0,
        40.0,
        1,
    )
    assert c["on_time"]["acknowledgement"]["rate"] == 66.67
    assert figures["satisfaction"]["index"] == 81.7
    assert figures["satisfaction"]["response_rate"] == 70.0
    assert figures["delivery"]["on_time_rate"] == 90.0


async def test_rebuild_equals_the_incremental_read_models(
    settings: ServiceSettings,
    tmp_path: Path,
    keys: dict[str, str],
    infra: Infra,
    site: str,
    mongo: Any,
) -> None:
    history = h.march_complaints(site) + h.march_feedback(site)
    redelivered = history + history[::3]
    random.Random(11).shuffle(redelivered)
    configured = settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": ROOT / "rules"}
    )
    async with running(create_app(configured)) as (_, ctx):
        await publish(infra, redelivered)
        await projected(ctx, site, history)
        await eventually(lambda: stored_events(ctx, site, len(history)), timeout=60)
    # The service is stopped, as `qloop reporting rebuild` wants it.
    db = mongo[f"{settings.database}_reporting"]
    mine = {"site": site}
    incremental = snapshot(await all_buckets(db, site))
    entities = {d["_id"]: d["state"] for d in await db["entities"].find(mine).to_list()}
    march = {d["_id"]: d["state"] for d in await db[f"items_{site}_2026_03"].find(mine).to_list()}
    assert len([k for k in march if k.startswith("complaint|")]) == 5
    assert not any(b["applied_events"] for b in await all_buckets(db, site))
    done = await rebuild(
        MongoReadModels(db, DocumentLocks()),
        sites=RuleSites(Rulebook.load(ROOT / "rules")),
        policy=ReportingSettings().policy(),
        progress=False,
    )
    assert done.events >= len(history)
    rebuilt = snapshot(await all_buckets(db, site))
    assert {k: v for k, v in rebuilt.items() if v} == {k: v for k, v in incremental.items() if v}
    assert {d["_id"]: d["state"] for d in await db["entities"].find(mine).to_list()} == entities
    assert {
        d["_id"]: d["state"] for d in await db[f"items_{site}_2026_03"].find(mine).to_list()
    } == march


async def stored_events(ctx: ServiceContext, site: str, count: int) -> bool:
    return await ctx.db["events"].count_documents({"site": site}) == count


async def test_reports_in_every_format_scopes_and_hq_rollup(
    reporting: tuple[httpx.AsyncClient, ServiceContext],
    infra: Infra,
    site: str,
    keys: dict[str, str],
) -> None:
    client, ctx = reporting
    history = h.march_complaints(site)
    await publish(infra, history)
    await projected(ctx, site, history)
    local, hq = {"X-API-Key": keys["local"]}, {"X-API-Key": keys["hq"]}

    report = (await client.get(f"/reports/{site}/monthly/2026-03", headers=local)).json()
    assert (len(report["items"]), report["unfinished"]) == (5, 3)
    first = report["items"][0]
    assert first["improvement_effect"] == "corrective action verified and standardised"
    assert [i["unfinished"] for i in report["items"]] == [False, True, False, True, True]

    html = await client.get(f"/reports/{site}/monthly/2026-03?format=html", headers=local)
    assert html.status_code == 200 and 'class="unfinished"' in html.text
    csv = await client.get(f"/reports/{site}/yearly/2026?format=csv", headers=local)
    assert "# Against targets" in csv.text and "Repeat rate %" in csv.text
    xlsx = await client.get(f"/reports/{site}/review/2026?format=xlsx", headers=local)
    book = load_workbook(io.BytesIO(xlsx.content))
    assert "Repeated complaints" in book.sheetnames
    repeated = list(book["Repeated complaints"].values)
    assert len(repeated) == 2 and f"{site.upper()}-0003" in repeated[1]

    rollup = (await client.get("/reports/*/kpis/2026-03", headers=hq)).json()
    assert rollup["values"][0]["complaints"]["received"] >= 5
    assert (await client.get("/reports/*/kpis/2026-03", headers=local)).status_code == 403
    other = {"X-API-Key": keys["other"]}
    assert (await client.get(f"/reports/{site}/live", headers=other)).status_code == 403
    writer = {"X-API-Key": keys["writer"]}
    assert (await client.get(f"/reports/{site}/live", headers=writer)).status_code == 403
    assert (await client.get(f"/reports/{site}/live")).status_code == 401
    live = (await client.get(f"/reports/{site}/live", headers=local)).json()
    assert live["by_stage"]["investigate"] == {"open": 1, "overdue": 1}
