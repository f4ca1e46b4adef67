"""The desk in headless Chromium (Debian's /usr/bin/chromium driven by Playwright): a clerk
signs in, finds the case in "my work", opens it, runs the action the stage asks for and
sees the case move on; the management representative approves a case with an electronic
signature (a wrong password refused next to the field). The desk and the workflow run as
processes; the desk reaches the workflow over HTTP with each person's own token.

Screenshots: docs/desk-case-zh.png and docs/desk-work-en.png (QLOOP_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.rules import SiteRules
from services.common.rules.loader import load_rules
from services.common.settings import ServiceSettings
from services.common.storage.locks import DocumentLocks
from services.workflow.domain.opening import open_for_complaint
from services.workflow.store_mongo import MongoCaseStore
from tests.support.accessibility import violations
from tests.support.desk import ARGS, CHROMIUM, CLERK, PASSWORD, REPRESENTATIVE, desk_stack
from tests.support.processes import ROOT
from tests.support.site_rules import rules_as
from tests.unit.workflow.builders import Driver, registered, to_review

pytestmark = pytest.mark.e2e


async def _open_case(
    settings: ServiceSettings, mongo: AsyncMongoClient[Any], rules: SiteRules
) -> str:
    start = datetime.now(UTC) - timedelta(hours=3)
    case = open_for_complaint(registered(rules, start, number=_number()), rules, start).case
    store = MongoCaseStore(mongo[f"{settings.database}_workflow"], DocumentLocks())
    assert await store.open(case, [])
    return case.id


async def _case_to_approve(
    settings: ServiceSettings, mongo: AsyncMongoClient[Any], rules: SiteRules
) -> str:
    d = Driver(rules, datetime.now(UTC) - timedelta(days=1), number=_number())
    to_review(d)
    d.do("accept_answer")
    store = MongoCaseStore(mongo[f"{settings.database}_workflow"], DocumentLocks())
    assert await store.open(d.case, [])
    return d.case.id


def _number() -> str:
    return f"SZ-E-{uuid.uuid4().hex[:8]}"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
async def test_a_clerk_signs_in_finds_the_case_and_moves_it_on(
    settings: ServiceSettings, tmp_path: Path, mongo: AsyncMongoClient[Any], site: str
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    rules_dir = rules_as(tmp_path, site)  # the abc procedure, under this test's own site
    rules = load_rules(rules_dir / "site.yaml")
    case_id = await _open_case(settings, mongo, rules)
    to_approve = await _case_to_approve(settings, mongo, rules)
    people = [CLERK, REPRESENTATIVE]
    with desk_stack(settings, tmp_path, people, rules_dir=rules_dir, site=site) as base:
        FOUND.clear()
        await _in_the_browser(playwright_api, base, case_id, to_approve, site)
    assert FOUND == {}  # no page with an accessibility violation


async def _sign_in_by_keyboard(page: Any, base: str, login: str) -> None:
    """Tab to each field in order, type, and send with Enter: no mouse."""
    await page.goto(f"{base}/sign-in")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "login"
    await page.keyboard.type(login)
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "password"
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/work")


FOUND: dict[str, list[str]] = {}


async def _accessible(page: Any, name: str) -> None:
    """axe-core's WCAG A/AA findings on the page as it stands, kept by page name."""
    found = await violations(page)
    if found:
        FOUND[name] = found


async def _in_the_browser(
    playwright_api: Any, base: str, case_id: str, to_approve: str, site: str
) -> None:
    shots = os.environ.get("QLOOP_SCREENSHOTS") == "1"
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(locale="zh-CN", viewport={"width": 1200, "height": 900})
            # The checker really checks: an unlabelled input and an image without text.
            await page.set_content("<html><body><input><img src='x.png'></body></html>")
            assert {v.split(":")[0] for v in await violations(page)} >= {"label", "image-alt"}
            await page.goto(f"{base}/sign-in")
            assert await page.locator("h1").inner_text() == "登录 qloop"
            await _accessible(page, "sign-in")
            await page.fill("#login", "li.na")
            await page.fill("#password", "wrong password")
            await page.click("button[type=submit]")
            assert "账号不存在或密码错误" in await page.locator("#error").inner_text()
            assert await page.input_value("#login") == "li.na"  # what was typed is kept
            await page.fill("#password", PASSWORD)
            await page.click("form[action='/sign-in'] button[type=submit]")
            await page.wait_for_url(f"{base}/work")

            row = page.locator(f"tr[data-case='{case_id}']")
            assert "接收登记" in await row.inner_text()  # the stage's name, in Chinese
            assert "24小时内响应客户" in await row.inner_text()  # a running clock, named
            assert "UTC" not in await page.content()
            await _accessible(page, "my work")
            await row.locator("a").click()
            await page.wait_for_url(f"{base}/cases/{case_id}")
            await _accessible(page, "case")
            form = page.locator("#action-register")
            await form.locator("button[type=submit]").click()
            await page.wait_for_url(f"{base}/cases/{case_id}")
            assert await page.locator("#stage").inner_text() == "安抚客户并回执"
            history = await page.locator("section", has_text="处理记录").inner_text()
            assert "登记 → 安抚客户并回执" in history
            assert "李娜" in history and "li.na" not in history  # people by name
            if shots:
                await page.screenshot(path=str(ROOT / "docs" / "desk-case-zh.png"), full_page=True)

            async with page.expect_navigation():  # the switch submits itself
                await page.select_option("#lang", "en")
            assert await page.locator("#stage").inner_text() == "Acknowledge the customer"
            await page.click("text=My work")
            row = page.locator(f"tr[data-case='{case_id}']")
            assert "Acknowledge the customer" in await row.inner_text()
            if shots:
                await page.screenshot(path=str(ROOT / "docs" / "desk-work-en.png"), full_page=True)
            await _register_a_complaint(page, base, shots)
            await _approve_with_a_signature(browser, base, to_approve, shots, site)
        finally:
            await browser.close()


async def _register_a_complaint(page: Any, base: str, shots: bool) -> None:
    """The clerk registers a complaint: errors next to their fields in Chinese, what was
    typed kept; then the number, the classification and the routing, in words."""
    async with page.expect_navigation():
        await page.select_option("#lang", "zh")  # the switch submits itself
    await page.goto(f"{base}/complaints/new")
    await page.select_option("#f-channel", "email")
    await page.fill("#f-customer_name", "华东汽车零部件有限公司")
    await page.fill("#f-quantity", "一千")
    await page.fill("#f-serial_numbers", "SN-0001\nSN-0002")
    await page.fill("#f-description", "客户来料检验发现外壳开裂，批量退货")
    await page.click("form[action='/complaints/new'] button[type=submit]")
    await page.wait_for_load_state()
    assert await page.locator("#f-customer_id-error").inner_text() == "请填写此项。"
    assert await page.locator("#f-quantity-error").inner_text() == "请输入整数。"
    assert await page.input_value("#f-customer_name") == "华东汽车零部件有限公司"
    await _accessible(page, "register, with errors")
    if shots:
        await page.screenshot(path=str(ROOT / "docs" / "desk-register-zh.png"), full_page=True)
    await page.fill("#f-customer_id", "C-1001")
    await page.fill("#f-quantity", "1000")
    await page.click("form[action='/complaints/new'] button[type=submit]")
    await page.wait_for_load_state()
    heading = await page.locator("h1").inner_text()
    assert heading.startswith("投诉 SZ-") and heading.endswith("已登记"), heading
    routing = await page.locator("#routing").inner_text()
    assert "归口部门" in routing and "质量" in routing  # a quality complaint, by name
    assert "quality" not in routing and "UTC" not in routing  # no codes, no UTC


async def _read_the_reports(page: Any, base: str, shots: bool, site: str) -> None:
    """The dashboard and the monthly summary from the navigation, in Chinese, with the
    site's name, not its id."""
    await page.click("header >> text=报表")
    await page.wait_for_url(f"{base}/reports")
    await _accessible(page, "reports")
    await page.click(f"#reports-{site} >> text=看板")
    await page.wait_for_url(f"{base}/reports/{site}/dashboard")
    title = await page.locator("#title").inner_text()
    assert title.startswith("看板 — 深圳工厂 — "), title
    tiles = await page.locator(".tiles").inner_text()
    assert "收到的投诉" in tiles and "Complaints received" not in tiles
    assert await page.locator(".chart svg").count() == 5
    assert "缺陷类型柏拉图" in await page.inner_html("#chart-pareto")
    await _accessible(page, "dashboard")
    if shots:
        await page.screenshot(path=str(ROOT / "docs" / "desk-dashboard-zh.png"), full_page=True)
    await page.click("text=全部报表")
    await page.click(f"#reports-{site} >> text=本月")
    heading = await page.locator(".report h1").inner_text()
    assert heading.startswith("月度汇总 — 深圳工厂 — "), heading
    assert "本月反馈" in await page.locator(".report").inner_text()
    await _accessible(page, "monthly summary")


async def _approve_with_a_signature(
    browser: Any, base: str, case_id: str, shots: bool, site: str
) -> None:
    """The management representative signs the approval: the password again, the meaning
    stated on the form; a wrong password is refused next to its field."""
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    await _sign_in_by_keyboard(page, base, "zhang.wei")
    await page.goto(f"{base}/cases/{case_id}")
    assert await page.locator("#stage").inner_text() == "批准"
    form = page.locator("#action-approve")
    assert "批准" in await form.locator("fieldset").inner_text()  # the meaning, named
    assert await form.locator("#action-approve-approved_by").count() == 0  # the signer fills it
    await form.locator("input[type=password]").fill("not my password")
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    assert await page.locator("#stage").inner_text() == "批准"  # nothing happened
    error = page.locator("#action-approve-password-error")
    assert await error.inner_text() == "密码不正确。"
    await _accessible(page, "signature refused")
    if shots:
        await page.screenshot(path=str(ROOT / "docs" / "desk-sign-zh.png"), full_page=True)
    await page.locator("#action-approve-password").fill(PASSWORD)
    await page.locator("#action-approve button[type=submit]").click()
    await page.wait_for_url(f"{base}/cases/{case_id}")
    assert await page.locator("#stage").inner_text() == "回复客户"
    history = await page.locator("section", has_text="处理记录").inner_text()
    assert "张伟" in history and "批准 → 回复客户" in history
    assert "complaint SZ-" not in history  # the system's own reasons are said in words
    await _read_the_reports(page, base, shots, site)
    await context.close()
