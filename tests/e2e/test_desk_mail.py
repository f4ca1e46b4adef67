"""A demonstration's caught mails on the desk: the SMTP catcher `qloop up` runs (aiosmtpd
with its Mailbox handler, a real SMTP server here too) keeps every mail in a Maildir, and
/mail shows each signed-in person the mails addressed to them, in their language's page,
newest first, never someone else's."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from services.common.settings import ServiceSettings
from tests.support.accessibility import violations
from tests.support.desk import ARGS, CHROMIUM, CLERK, ENGINEER, desk_stack, mail_catcher, sign_in

pytestmark = pytest.mark.e2e


def _send(port: int, to: str, subject: str, text: str) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "qloop <qloop@example.com>", to, subject
    mail["Date"] = "Mon, 07 Dec 2026 02:00:00 +0000"
    mail.set_content(text)
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(mail)


async def test_each_person_sees_the_mails_caught_for_them(
    settings: ServiceSettings, tmp_path: Path
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    maildir = tmp_path / "mail"
    with mail_catcher(maildir) as port:
        _send(port, CLERK["email"], "新投诉 SZ-2026-000042 已登记", "请在 24 小时内回执客户。")
        _send(port, ENGINEER["email"], "案件 SZ-2026-000007 已逾期", "调查分析已逾期。")
    env = {"QLOOP_DESK_DEMO_MAILDIR": str(maildir)}
    with desk_stack(settings, tmp_path, [CLERK, ENGINEER], desk_env=env) as base:
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = await sign_in(browser, base, CLERK["id"])
                await page.click("header >> text=我的邮件（演示）")
                await page.wait_for_url(f"{base}/mail")
                shown = await page.locator("main").inner_text()
                assert "新投诉 SZ-2026-000042 已登记" in shown
                assert "请在 24 小时内回执客户。" in shown
                assert "2026年12月7日 10:00:00" in shown  # 02:00 UTC, in Shenzhen's time
                assert "SZ-2026-000007" not in shown  # the engineer's mail is not hers
                assert await violations(page) == []
            finally:
                await browser.close()
