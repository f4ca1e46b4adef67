"""Attachments in the browser (Debian's Chromium driven by Playwright, the desk, intake,
the workflow and reporting as processes on the real broker and database, at a site of
the test's own with the abc rule file): the clerk
registers a complaint with a photo on the desk's form; the case page shows the photo's
thumbnail, and the file downloads byte for byte as it was sent; a file of a type not
accepted is refused next to the case page's file field, in Chinese; every page passes
axe-core. Screenshot: docs/desk-attachments-zh.png (QLOOP_SCREENSHOTS=1)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.async_api import async_playwright

from services.common.settings import ServiceSettings
from tests.support.accessibility import violations
from tests.support.desk import ARGS, CHROMIUM, CLERK, desk_stack, sign_in
from tests.support.processes import ROOT
from tests.support.site_rules import rules_as
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


def photo() -> bytes:
    """A small photo of a cracked housing: a grey box with a dark crack."""
    image = Image.new("RGB", (640, 480), (180, 180, 185))
    ImageDraw.Draw(image).line([(100, 80), (300, 260), (520, 400)], fill=(40, 30, 30), width=9)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def _register_with_photo(clerk: Any, base: str, site: str, picture: Path) -> str:
    await clerk.goto(f"{base}/complaints/new")
    assert await violations(clerk) == []
    await clerk.select_option("#f-channel", "email")
    await clerk.fill("#f-customer_id", "C-2002")
    await clerk.fill("#f-customer_name", "华东汽车零部件有限公司")
    await clerk.fill("#f-product_model", "BX-200")
    await clerk.fill("#f-description", "外壳开裂，见照片")
    await clerk.set_input_files("#f-attachments", str(picture))
    await clerk.click("form[action='/complaints/new'] button[type=submit]")
    await clerk.wait_for_load_state()
    heading = await clerk.locator("h1").inner_text()
    assert heading.startswith("投诉 ") and heading.endswith(" 已登记"), heading
    case_id = f"{site}:{heading.removeprefix('投诉 ').removesuffix(' 已登记')}"

    async def opened() -> bool:  # the workflow opens the case from intake's event
        reply = await clerk.goto(f"{base}/cases/{case_id}")
        return bool(reply and reply.status == 200)

    await eventually(opened, timeout=30)
    return case_id


async def test_a_photo_registered_with_a_complaint_is_shown_and_downloads_identical(
    settings: ServiceSettings, tmp_path: Path, site: str
) -> None:
    # The abc rule file as this test's own site: complaints other tests register on the
    # shared broker at the same time (also numbered 1) stay out of this test's workflow.
    rules = rules_as(tmp_path, site)
    clerk_here = {**CLERK, "grants": [{**CLERK["grants"][0], "site": site}]}
    picture = tmp_path / "裂纹.png"
    picture.write_bytes(photo())
    program = tmp_path / "setup.png"
    program.write_bytes(b"MZ\x90\x00" + b"\x00" * 500)
    with desk_stack(settings, tmp_path, [clerk_here], rules_dir=rules) as base:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                clerk = await sign_in(browser, base, CLERK["id"])
                case_id = await _register_with_photo(clerk, base, site, picture)
                await _thumbnail_and_download(clerk, picture.read_bytes())
                await _refused_next_to_the_field(clerk, base, case_id, program)
            finally:
                await browser.close()


async def _thumbnail_and_download(clerk: Any, sent: bytes) -> None:
    section = clerk.locator("#attachments")
    assert "裂纹.png" in await section.inner_text()
    thumbnail = section.locator("img.thumbnail")
    await thumbnail.wait_for()
    width = await thumbnail.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width == 240  # the thumbnail's longer side, as the workflow made it
    assert await violations(clerk) == []
    if os.environ.get("QLOOP_SCREENSHOTS"):
        await clerk.locator("#attachments").screenshot(
            path=str(ROOT / "docs" / "desk-attachments-zh.png")
        )
    async with clerk.expect_download() as downloading:
        await section.get_by_role("link", name="裂纹.png").click()
    download = await downloading.value
    assert download.suggested_filename == "裂纹.png"
    assert Path(await download.path()).read_bytes() == sent


async def _refused_next_to_the_field(clerk: Any, base: str, case_id: str, program: Path) -> None:
    await clerk.goto(f"{base}/cases/{case_id}")
    await clerk.set_input_files("#attach-file", str(program))
    await clerk.click("form#attach button[type=submit]")
    await clerk.wait_for_load_state()
    error = clerk.locator("#attach-file-error")
    assert await error.inner_text() == "setup.png 不是照片、PDF 或电子表格。"
    assert await clerk.get_attribute("#attach-file", "aria-describedby") == "attach-file-error"
    assert await violations(clerk) == []
