"""The reporting service as a process: a year of events published to the broker, the
site's dashboard loaded in headless Chromium (Debian's /usr/bin/chromium driven by
Playwright), its KPIs and charts checked in the DOM, and a screenshot kept as
docs/dashboard.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from services.common.contracts.registry import to_json
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.settings import ServiceSettings
from services.reporting.domain import kpis
from services.reporting.domain.buckets import ALL, summed
from services.reporting.domain.policy import Policy
from services.reporting.domain.projection import UtcSites
from services.reporting.domain.replay import Replay
from tests.support import histories as h
from tests.support.keys import write_key_file
from tests.support.processes import service_process
from tests.support.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SCREENSHOT = ROOT / "docs" / "dashboard.png"


async def publish(url: str, events: list[Any]) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for event in events:
            await exchange.publish(aio_pika.Message(to_json(event)), routing_key=event.routing_key)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
async def test_dashboard_in_headless_chromium(
    settings: ServiceSettings, tmp_path: Path, site: str
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    keys = write_key_file(tmp_path / "keys.yaml", {"viewer": ([site], ["read"])})
    headers = {"X-API-Key": keys["viewer"]}
    env = {
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
        "QLOOP_DATABASE": settings.database,
        "QLOOP_QUEUE_PREFIX": settings.queue_prefix,
        "QLOOP_API_KEYS_FILE": str(tmp_path / "keys.yaml"),
        "QLOOP_RULES_DIR": str(ROOT / "rules"),
    }
    history = h.year_history(site)
    buckets = Replay(UtcSites(), Policy()).apply_all(history).buckets()
    year = kpis.figures(
        summed(c for k, c in buckets.items() if k.dimension == ALL and k.month.startswith("2026"))
    )
    with service_process("reporting", env, tmp_path / "reporting.log") as port:
        base = f"http://127.0.0.1:{port}"
        await publish(settings.amqp_url, history)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as api:

            async def caught_up() -> bool:
                reply = await api.get(f"/reports/{site}/yearly/2026")
                return bool(reply.json()["kpis"] == year)

            await eventually(caught_up, timeout=240, interval=1.0)
            svg = await api.get(f"/charts/{site}/pareto.svg?month=2026-11")
            assert svg.headers["content-type"].startswith("image/svg+xml")

        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            context = await browser.new_context(
                viewport={"width": 1280, "height": 1600}, extra_http_headers=headers
            )
            page = await context.new_page()
            reply = await page.goto(f"{base}/dashboard/{site}?month=2026-11")
            assert reply is not None and reply.status == 200
            assert site in await page.inner_text("#title")
            charts = page.locator(".chart svg")
            assert await charts.count() == 5
            pareto = await page.inner_html("#chart-pareto")
            assert "Pareto of defect types" in pareto and "%" in pareto
            received = page.locator('[data-kpi="received"] .value')
            november = kpis.figures(
                buckets[next(k for k in buckets if k.month == "2026-11" and k.dimension == ALL)]
            )
            assert await received.inner_text() == str(november["complaints"]["received"])
            assert await page.locator("#unfinished tbody tr").count() == min(
                25, november["complaints"]["open"]
            )
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
            await browser.close()
    assert SCREENSHOT.stat().st_size > 20_000
