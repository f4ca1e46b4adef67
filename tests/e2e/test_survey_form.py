"""A customer on a phone opens the invitation link in headless Chromium (Debian's
/usr/bin/chromium driven by Playwright), fills in the form in the site's language and
sends it; the answer comes out as events. The survey service runs as a process.

QLOOP_SCREENSHOTS=1 also writes the filled form to docs/survey-form.png.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from services.common.settings import ServiceSettings
from tests.support.keys import write_key_file
from tests.support.processes import ROOT, service_process
from tests.support.surveys import SECRET, Listener, site_rules

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
PHONE = {"width": 390, "height": 844}
ANSWERS = {
    "pass_rate": "95", "failure_rate": "90", "on_time": "65", "intact": "100",
    "response_speed": "85", "attitude": "90",
}  # fmt: skip


@pytest.fixture
def env(settings: ServiceSettings, tmp_path: Path, site: str) -> dict[str, str]:
    return {
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
        "QLOOP_DATABASE": settings.database,
        "QLOOP_QUEUE_PREFIX": settings.queue_prefix,
        "QLOOP_API_KEYS_FILE": str(tmp_path / "keys.yaml"),
        "QLOOP_RULES_DIR": str(site_rules(tmp_path, "qds-company", site, any_year=True)),
        "QLOOP_SURVEY_LINK_SECRET": SECRET,
        "QLOOP_SURVEY_JOB_SECONDS": "3600",
        "QLOOP_OUTBOX_POLL_SECONDS": "0.2",
    }


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
async def test_phone_user_fills_and_sends_the_form(
    env: dict[str, str], settings: ServiceSettings, tmp_path: Path, site: str
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    keys = write_key_file(tmp_path / "keys.yaml", {"ops": ([site], ["survey", "read"])})
    headers = {"X-API-Key": keys["ops"]}
    async with Listener(settings.amqp_url, site) as listener:
        with service_process("survey", env, tmp_path / "survey.log") as port:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=10) as api:
                profile = {
                    "customer_name": "宁波汽配有限公司",
                    "contacts": [{"name": "王芳", "email": "wang.fang@customer.example"}],
                }
                assert (
                    await api.put(f"/customers/{site}/C1", json=profile, headers=headers)
                ).status_code == 200
                opened = await api.post("/campaigns", json={"site": site}, headers=headers)
                assert opened.status_code == 201, opened.text
            dispatched = (await listener.wait_for("survey.dispatched"))[0].data
            token = dispatched.link.rsplit("/s/", 1)[1]

            async with playwright_api.async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                context = await browser.new_context(
                    viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
                )
                page = await context.new_page()
                reply = await page.goto(f"{base}/s/{token}")
                assert reply is not None and reply.status == 200
                assert "顾客满意度调查" in await page.title()
                assert await page.locator("legend").all_inner_texts() == [
                    "产品质量",
                    "交付",
                    "服务",
                ]
                # Nothing wider than the phone: no sideways scrolling.
                assert await page.evaluate(
                    "document.documentElement.scrollWidth <= window.innerWidth"
                )
                for item, value in ANSWERS.items():
                    await page.fill(f"#item-{item}", value)
                await page.fill("#comments", "交付准时率需要提高。")
                await page.fill("#suggestions", "希望提前通知发货时间")
                shot = tmp_path / "survey-form.png"
                await page.screenshot(path=str(shot), full_page=True)
                await page.click("#send")
                await page.wait_for_selector("#thanks")
                assert "谢谢" in await page.inner_text("#thanks")

                forged = await page.goto(f"{base}/s/{token[:-3]}xyz")
                assert forged is not None and forged.status == 403
                assert "此调查链接无效" in await page.inner_text("#refused")
                await browser.close()

            answered = (await listener.wait_for("survey.answered"))[0].data
            actions = await listener.wait_for("survey.action_required", 2)
        log = (tmp_path / "survey.log").read_text()
    assert answered.via == "form" and answered.on_time
    assert answered.items == {k: float(v) for k, v in ANSWERS.items()}
    assert answered.suggestions == ("希望提前通知发货时间",)
    assert sorted(a.data.trigger for a in actions) == ["every-suggestion", "item-at-or-below-70"]
    assert "wang.fang@customer.example" not in log and "王芳" not in log
    if os.environ.get("QLOOP_SCREENSHOTS") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "survey-form.png")
