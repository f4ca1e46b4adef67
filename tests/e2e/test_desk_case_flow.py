"""One complaint through every stage of the abc site's 8D procedure, in the browser, by the
people of the procedure: the clerk registers it on the desk's form and acknowledges it;
the quality engineer investigates, contains, finds the cause and answers; the clerk
accepts the answer; the management representative sends it back once with a signature
(meaning: rejected), then approves it with a signature; the reply is sent; the first
internal verification is NG and the case goes back to the root cause; then it is verified
by the plant and the customer, standardised and closed. Each form is the one the case page
offers the person (labels from the rule file, in Chinese); nothing is set behind the
desk's back. Debian's Chromium driven by Playwright, on the real broker and database."""

from __future__ import annotations

import io
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from services.common.settings import ServiceSettings
from tests.support.accessibility import violations
from tests.support.desk import (
    ARGS,
    CHROMIUM,
    CLERK,
    ENGINEER,
    PASSWORD,
    REPRESENTATIVE,
    desk_stack,
    sign_in,
)
from tests.support.processes import ROOT
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
TODAY = "2026-12-07"
SHENZHEN = ZoneInfo("Asia/Shanghai")


async def act(
    page: Any, base: str, case_id: str, action: str, values: dict[str, str], stage: str
) -> None:
    """Open the case, fill the action's form as offered, send it; the case is then in
    `stage` (its Chinese name)."""
    await page.goto(f"{base}/cases/{case_id}")
    form = page.locator(f"#action-{action}")
    assert await form.count() == 1, f"{action} not offered: {await page.inner_text('main')}"
    for field, value in values.items():
        box = form.locator(f"#action-{action}-{field}")
        if await box.evaluate("e => e.tagName") == "SELECT":
            await box.select_option(value)
        else:
            await box.fill(value)
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    shown = await page.locator("#stage").inner_text()
    assert shown == stage, f"{action}: {shown} ({await page.inner_text('main')})"


async def _register(clerk: Any, base: str, site: str) -> str:
    await clerk.goto(f"{base}/complaints/new")
    await clerk.select_option("#f-channel", "email")
    await clerk.fill("#f-customer_id", "C-2001")
    await clerk.fill("#f-customer_name", "华东汽车零部件有限公司")
    await clerk.fill("#f-product_model", "BX-200")
    await clerk.fill("#f-quantity", "5000")
    await clerk.fill("#f-description", "客户来料检验发现外壳开裂，不良 120 件")
    await clerk.click("form[action='/complaints/new'] button[type=submit]")
    await clerk.wait_for_load_state()
    heading = await clerk.locator("h1").inner_text()
    number = heading.removeprefix("投诉 ").removesuffix(" 已登记")
    case_id = f"{site}:{number}"

    async def opened() -> bool:  # the workflow opens the case from intake's event
        reply = await clerk.goto(f"{base}/cases/{case_id}")
        return bool(reply and reply.status == 200)

    await eventually(opened, timeout=30)
    return case_id


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
async def test_a_complaint_is_worked_through_every_stage_in_the_browser(
    settings: ServiceSettings, tmp_path: Path, site: str
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    with desk_stack(settings, tmp_path, [CLERK, ENGINEER, REPRESENTATIVE], site=site) as base:
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                clerk = await sign_in(browser, base, CLERK["id"])
                engineer = await sign_in(browser, base, ENGINEER["id"])
                rep = await sign_in(browser, base, REPRESENTATIVE["id"])
                case_id = await _register(clerk, base, site)
                await _found_by_search(clerk, base, case_id)
                await _work(base, case_id, clerk, engineer, rep)
                await _history_tells_who_did_what(clerk, base, case_id)
                await _the_reply_is_a_signed_pdf(clerk, base, case_id)
            finally:
                await browser.close()


async def _found_by_search(page: Any, base: str, case_id: str) -> None:
    """The clerk finds the complaint by words of the description and by a filter, once
    reporting has indexed it; the page passes axe-core."""
    number = case_id.split(":", 1)[1]

    row = page.locator("#results tr", has_text=number)

    async def found() -> bool:  # indexed, and its case opened (stage by name)
        await page.goto(f"{base}/search?q=外壳开裂")
        return await row.count() == 1 and "接收登记" in await row.inner_text()

    await eventually(found, timeout=60, interval=0.5)
    assert await violations(page) == []
    await page.fill("#s-q", "外壳开裂 不存在的词")
    await page.click("form[role=search] button[type=submit]")
    await page.wait_for_load_state()
    assert await page.locator("#total").inner_text() == "找到 0 条投诉"
    await page.fill("#s-q", "")
    await page.select_option("#s-department", "quality")
    await page.click("form[role=search] button[type=submit]")
    await page.wait_for_load_state()
    assert number in await page.locator("#results").inner_text()  # routed to quality
    if os.environ.get("QLOOP_SCREENSHOTS") == "1":
        await page.screenshot(path=str(ROOT / "docs" / "desk-search-zh.png"), full_page=True)
    await row.locator("a").click()
    await page.wait_for_url(f"{base}/cases/{case_id}")


async def _work(base: str, case_id: str, clerk: Any, engineer: Any, rep: Any) -> None:
    await act(clerk, base, case_id, "register", {}, "安抚客户并回执")
    await act(clerk, base, case_id, "acknowledge", {"team": "王强\n李娜"}, "调查分析")
    # The engineer sees the case in their own work now.
    await engineer.goto(f"{base}/work")
    assert await engineer.locator(f"tr[data-case='{case_id}']").count() == 1
    await act(
        engineer, base, case_id, "determine_responsibility", {"responsibility": "company"},
        "临时围堵",
    )  # fmt: skip
    contained = {
        "contained_stock_qty": "500", "contained_wip_qty": "120", "contained_customer_qty": "40"
    }  # fmt: skip
    await _returned_goods_handled(engineer, base, case_id)
    await act(engineer, base, case_id, "contained", contained, "根本原因分析")
    await act(engineer, base, case_id, "cause_found", {"main_cause": "模具磨损"}, "纠正预防措施")
    actions = {"actions": f"增加裂纹检测 | quality | {TODAY}"}
    await act(engineer, base, case_id, "submit_answer", actions, "客服审核回复")
    await act(clerk, base, case_id, "accept_answer", {}, "批准")

    # Sent back once, signed with the meaning "rejected".
    back = {"rejection_reason": "措施未覆盖库存品", "password": PASSWORD}
    await act(rep, base, case_id, "send_back", back, "纠正预防措施")
    await act(engineer, base, case_id, "submit_answer", {}, "客服审核回复")
    await act(clerk, base, case_id, "accept_answer", {}, "批准")
    await act(rep, base, case_id, "approve", {"password": PASSWORD}, "回复客户")
    await _due_extended_with_consent(clerk, base, case_id)
    reply = {"reply_format": "eight_d", "reply_sent_at": TODAY}
    await act(clerk, base, case_id, "reply_sent", reply, "实施")
    await act(engineer, base, case_id, "implemented", {"implemented_at": TODAY}, "内部效果验证")

    # The first verification is NG: back to the root cause.
    ng = {"verification_result": "ng", "ng_reason": "复检仍有裂纹"}
    await act(engineer, base, case_id, "record_verification", ng, "根本原因分析")
    await act(engineer, base, case_id, "cause_found", {}, "纠正预防措施")
    await act(engineer, base, case_id, "submit_answer", {}, "客服审核回复")
    await act(clerk, base, case_id, "accept_answer", {}, "批准")
    await act(rep, base, case_id, "approve", {"password": PASSWORD}, "回复客户")
    await act(clerk, base, case_id, "reply_sent", {}, "实施")
    await act(engineer, base, case_id, "implemented", {}, "内部效果验证")
    ok = {"verification_result": "ok"}
    await act(engineer, base, case_id, "record_verification", ok, "客户确认效果")
    await act(clerk, base, case_id, "record_customer_verification", ok, "标准化与横向展开")
    closing = {"standards_revised": "作业指导书 WI-07\nFMEA"}
    await act(engineer, base, case_id, "close_case", closing, "结案")


async def _due_extended_with_consent(page: Any, base: str, case_id: str) -> None:
    """The clerk asks the customer for more time: refused without the customer's consent
    (abc requires it), then recorded with it; the new due time shows on the case."""
    later = datetime.now(SHENZHEN) + timedelta(days=3, hours=12)
    await page.goto(f"{base}/cases/{case_id}")
    await page.fill("#ext-new_due", later.strftime("%Y-%m-%dT%H:%M"))
    await page.click("#extension button[type=submit]")
    await page.wait_for_load_state()
    assert (
        await page.locator("#ext-given_by-error").inner_text()
        == "请记录客户方由谁、何时、以何种方式同意。"
    )
    assert await page.input_value("#ext-new_due") == later.strftime("%Y-%m-%dT%H:%M")
    await page.fill("#ext-given_by", "陈经理")
    await page.fill("#ext-given_at", datetime.now(SHENZHEN).strftime("%Y-%m-%dT%H:%M"))
    await page.select_option("#ext-channel", "phone")
    await page.click("#extension button[type=submit]")
    await page.wait_for_url(f"{base}/cases/{case_id}")
    assert await page.locator("#ext-given_by-error").count() == 0
    history = await page.locator("section", has_text="处理记录").inner_text()
    assert "李娜\t延期" in history


async def _returned_goods_handled(page: Any, base: str, case_id: str) -> None:
    """The engineer records the returned parts reworked and re-inspected OK; a quantity
    that is no number is refused next to its field first."""
    await page.goto(f"{base}/cases/{case_id}")
    await page.select_option("#disp-disposition", "rework")
    await page.fill("#disp-quantity", "一百二十")
    await page.click("#disposition button[type=submit]")
    await page.wait_for_load_state()
    assert await page.locator("#disp-quantity-error").inner_text() == "请输入整数。"
    await page.fill("#disp-quantity", "120")
    await page.select_option("#disp-reinspection", "ok")
    await page.click("#disposition button[type=submit]")
    await page.wait_for_url(f"{base}/cases/{case_id}")
    listed = await page.locator("#disposition li").inner_text()
    assert "返工" in listed and "120" in listed
    assert await violations(page) == []


async def _history_tells_who_did_what(page: Any, base: str, case_id: str) -> None:
    await page.goto(f"{base}/cases/{case_id}")
    history = await page.locator("section", has_text="处理记录").inner_text()
    for name in ("李娜", "王强", "张伟"):
        assert name in history
    assert "li.na" not in history and "UTC" not in history
    assert history.count("批准 → 回复客户") == 2 and "退回 → 纠正预防措施" in history
    assert "记录验证结果 → 根本原因分析" in history  # the NG verification


async def _the_reply_is_a_signed_pdf(page: Any, base: str, case_id: str) -> None:
    """The reply to the customer, from the case page's link: a PDF whose text names the
    complaint, the site, the root cause and the approver, in Chinese, without UTC."""
    await page.goto(f"{base}/cases/{case_id}")
    link = page.locator("#reply a", has_text="下载 PDF")
    reply = await page.request.get(f"{base}{await link.get_attribute('href')}")
    assert reply.ok and reply.headers["content-type"].startswith("application/pdf")
    pages = PdfReader(io.BytesIO(await reply.body())).pages
    text = "".join(p.extract_text() for p in pages)
    number = case_id.split(":", 1)[1]
    for said in (number, "深圳工厂", "模具磨损", "张伟", "华东汽车零部件有限公司"):
        assert said in text, said
    assert "UTC" not in text and "zhang.wei" not in text
