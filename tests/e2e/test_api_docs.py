"""Every service's API documents open in a browser that reaches nothing but the service:
Swagger UI (/docs) and ReDoc (/redoc) load their scripts from the service itself
(fastapi-offline's packaged assets), as plants often run without internet. Debian's
Chromium driven by Playwright, every request to another host aborted and counted: no
script, style sheet or font comes from elsewhere (ReDoc's logo image does, and is refused)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.common.settings import ServiceSettings
from tests.support.keys import write_key_file
from tests.support.processes import ROOT, service_process

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


async def test_swagger_ui_and_redoc_work_without_internet(
    settings: ServiceSettings, tmp_path: Path
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    write_key_file(tmp_path / "keys.yaml", {"admin": (["*"], ["admin"])})
    env = {
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
        "QLOOP_DATABASE": settings.database,
        "QLOOP_QUEUE_PREFIX": settings.queue_prefix,
        "QLOOP_API_KEYS_FILE": str(tmp_path / "keys.yaml"),
        "QLOOP_RULES_DIR": str(ROOT / "rules"),
    }
    with service_process("reporting", env, tmp_path / "reporting.log") as port:
        base = f"http://127.0.0.1:{port}"
        outside: list[str] = []

        async def local_only(route: Any) -> None:
            if route.request.url.startswith(base):
                await route.continue_()
            else:
                outside.append(f"{route.request.resource_type} {route.request.url}")
                await route.abort()

        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = await browser.new_page()
                await page.route("**/*", local_only)
                await page.goto(f"{base}/docs")
                title = page.locator(".swagger-ui .info .title")
                await title.wait_for(timeout=30_000)
                assert "qloop reporting" in await title.inner_text()
                assert await page.locator(".opblock").count() > 5  # the operations listed
                await page.goto(f"{base}/redoc")
                heading = page.locator("h1", has_text="qloop reporting")
                await heading.wait_for(timeout=30_000)
            finally:
                await browser.close()
        # Only ReDoc's "powered by" logo image asks a CDN, and the page works without it.
        assert [o for o in outside if not o.startswith("image ")] == []
