"""Notifications reach people and the desk shows them: the clerk registers a complaint on
the desk; notify (a process on the real broker) mails the owning department's engineer
through a real SMTP server (aiosmtpd keeping a Maildir, as `qloop up`'s catcher does);
the engineer finds it under "my notifications" (sent, by e-mail, why: their department)
and reads the mail itself under "my mail"; its link opens the complaint's case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.common.settings import ServiceSettings
from tests.e2e.test_desk_case_flow import _register
from tests.support.accessibility import violations
from tests.support.desk import ARGS, CHROMIUM, CLERK, ENGINEER, desk_stack, mail_catcher, sign_in
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def test_the_owning_department_is_mailed_and_sees_it_on_the_desk(
    settings: ServiceSettings, tmp_path: Path, site: str
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    maildir = tmp_path / "mail"
    env = {"QLOOP_DESK_DEMO_MAILDIR": str(maildir)}
    people = [CLERK, ENGINEER]
    with (
        mail_catcher(maildir) as smtp,
        desk_stack(settings, tmp_path, people, desk_env=env, smtp_port=smtp, site=site) as base,
    ):
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                clerk = await sign_in(browser, base, CLERK["id"])
                case_id = await _register(clerk, base, site)
                engineer = await sign_in(browser, base, ENGINEER["id"])
                await _told(engineer, base, case_id)
            finally:
                await browser.close()


async def _told(page: Any, base: str, case_id: str) -> None:
    number = case_id.split(":", 1)[1]

    async def listed() -> bool:
        await page.goto(f"{base}/notifications")
        rows = page.locator("#notifications tr", has_text=number)
        return await rows.count() > 0 and "已发送" in await rows.first.inner_text()

    await eventually(listed, timeout=60, interval=1.0)
    row = page.locator("#notifications tr", has_text=number).first
    text = await row.inner_text()
    assert "电子邮件" in text and "品质部" in text  # by e-mail, as the owning department
    assert "UTC" not in await page.content()
    assert await violations(page) == []
    await page.click("header >> text=我的邮件（演示）")
    mail = await page.locator("main").inner_text()
    assert number in mail and "华东汽车零部件有限公司" in mail
    await page.goto(f"{base}/notifications")
    await page.locator("#notifications tr", has_text=number).first.locator("a").click()
    await page.wait_for_url(f"{base}/cases/{case_id}")
