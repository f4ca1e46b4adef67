"""The desk as people use it in end-to-end tests: the desk with intake, the workflow and
reporting as processes on the real broker and database, the sz site's people in its
directory, and Debian's Chromium (driven by Playwright) signing them in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from services.common.settings import ServiceSettings
from tests.support.keys import write_key_file
from tests.support.processes import ROOT, free_port, service_process
from tests.support.site_rules import rules_as

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
PASSWORD = "a long enough password"


def person(person_id: str, name: str, departments: list[str]) -> dict[str, Any]:
    """A person of the sz site who reads Chinese."""
    return {
        "id": person_id, "name": name, "email": f"{person_id}@example.com", "language": "zh",
        "password": PASSWORD, "grants": [{"site": "sz", "departments": departments}],
    }  # fmt: skip


CLERK = person("li.na", "李娜", ["customer_service"])
ENGINEER = person("wang.qiang", "王强", ["quality"])
REPRESENTATIVE = person("zhang.wei", "张伟", ["management"])


@contextmanager
def desk_stack(
    settings: ServiceSettings,
    tmp_path: Path,
    people: list[dict[str, Any]],
    desk_env: dict[str, str] | None = None,
    smtp_port: int | None = None,
    rules_dir: Path | None = None,
    site: str = "sz",
) -> Iterator[str]:
    """The desk's base URL, with intake, workflow and reporting behind it and `people` in
    its directory. A first desk process serves the signing keys' JWKS to the services; a
    second one, on the same database and keys, is told where the services are.

    `site`: the test's own copy of the abc rules (rules_as) under that id, and the people's
    grants there, so that no other stack on the broker (a demo, another test run) hears
    this test's complaints or speaks into it."""
    if site != "sz":
        rules_dir = rules_dir or rules_as(tmp_path, site)
        people = [{**p, "grants": [{**g, "site": site} for g in p["grants"]]} for p in people]
    keys = write_key_file(tmp_path / "keys.yaml", {"admin": (["*"], ["admin"])})
    env = {
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
        "QLOOP_DATABASE": settings.database,
        "QLOOP_QUEUE_PREFIX": settings.queue_prefix,
        "QLOOP_API_KEYS_FILE": str(tmp_path / "keys.yaml"),
        # A test's own site (tests/support/site_rules.py) keeps the complaints other
        # tests register meanwhile on the shared broker out of its workflow.
        "QLOOP_RULES_DIR": str(rules_dir or ROOT / "rules"),
    }
    with ExitStack() as stack:
        first = stack.enter_context(service_process("desk", env, tmp_path / "desk.log"))
        jwks = {"QLOOP_TOKEN_JWKS_URL": f"http://127.0.0.1:{first}/.well-known/jwks.json"}
        urls = {}
        for name in ("workflow", "intake", "reporting"):
            port = stack.enter_context(
                service_process(name, {**env, **jwks}, tmp_path / f"{name}.log")
            )
            urls[f"QLOOP_DESK_{name.upper()}_URL"] = f"http://127.0.0.1:{port}"
        if smtp_port is not None:  # notify, mailing through the SMTP server on that port
            notify_env = {
                **env, **jwks, "QLOOP_NOTIFY_DESK_URL": f"http://127.0.0.1:{first}",
                "QLOOP_NOTIFY_DESK_API_KEY": keys["admin"],
                "QLOOP_NOTIFY_SMTP_PORT": str(smtp_port), "QLOOP_NOTIFY_SEND_SECONDS": "0.5",
            }  # fmt: skip
            port = stack.enter_context(
                service_process("notify", notify_env, tmp_path / "notify.log")
            )
            urls["QLOOP_DESK_NOTIFY_URL"] = f"http://127.0.0.1:{port}"
        desk = {**env, **urls, **(desk_env or {})}
        port = stack.enter_context(service_process("desk", desk, tmp_path / "desk2.log"))
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"X-API-Key": keys["admin"]}) as admin:
            for one in people:
                added = admin.post("/admin/people", json=one)
                assert added.status_code == 201, added.text
        yield base


async def sign_in(browser: Any, base: str, login: str) -> Any:
    """A new browser context (its own cookies) with `login` signed in: its page."""
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    await page.goto(f"{base}/sign-in")
    await page.fill("#login", login)
    await page.fill("#password", PASSWORD)
    await page.click("form[action='/sign-in'] button[type=submit]")
    await page.wait_for_url(f"{base}/work")
    return page


@contextmanager
def mail_catcher(maildir: Path) -> Iterator[int]:
    """A real SMTP server (aiosmtpd) keeping every mail in `maildir`, as `qloop up`'s
    catcher does: its port."""
    catcher = Controller(Mailbox(maildir), hostname="127.0.0.1", port=free_port())
    catcher.start()
    try:
        yield catcher.port
    finally:
        catcher.stop()
