"""The notify service on the real broker and database: a category-a complaint registered
at the abc site (under the test's own site id; published twice, as a redelivery would)
reaches the quality engineer, the manager and the GM once each through a real SMTP
server; the directory is read over HTTP with the service's API key, as from the desk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aiosmtpd.controller import Controller
from pymongo import AsyncMongoClient

from services.common.clock import ManualClock
from services.common.contracts.registry import new_event, to_json
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.rulebook import Rulebook
from services.common.rules import load_rules
from services.common.settings import ServiceSettings
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from services.workflow.app import create_app as create_workflow
from tests.support.fake_desk import fake_desk
from tests.support.infra import Infra
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.support.site_rules import rules_as
from tests.support.waiting import eventually
from tests.unit.notify.test_notify_email import (
    PEOPLE,
    START,
    Catcher,
    free_port,
    registered_envelope,
)
from tests.unit.notify.test_notify_triggers import (
    answered,
    campaign_opened,
    missed_item,
    opened,
    reopened,
    stage_changed,
)
from tests.unit.notify.test_notify_triggers import envelope as fact_envelope
from tests.unit.workflow.builders import registered

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KEY = "notify-test-key"


@pytest.fixture
def desk(site: str) -> Iterator[str]:
    people = [
        {**p, "grants": [{**g, "site": site if g["site"] == "sz" else g["site"]}
                         for g in p["grants"]]}
        for p in PEOPLE
    ]  # fmt: skip
    with fake_desk(people, KEY) as url:
        yield url


async def test_registered_complaint_mailed_once_to_each(
    infra: Infra, settings: ServiceSettings, desk: str, site: str, tmp_path: Path
) -> None:
    catcher = Catcher()
    smtp = Controller(catcher, hostname="127.0.0.1", port=free_port())
    smtp.start()
    keys = write_key_file(
        tmp_path / "keys.yaml", {"desk": ([site], ["read"]), "nb-desk": (["nb"], ["read"])}
    )
    notify = NotifySettings(
        **settings.model_dump(exclude={"rules_dir", "api_keys_file"}),
        rules_dir=rules_as(tmp_path, site, "abc-company.yaml", "sz"),
        api_keys_file=tmp_path / "keys.yaml",
        notify_desk_url=desk,
        notify_desk_api_key=KEY,
        notify_smtp_port=smtp.port,
        notify_send_seconds=0.2,
    )
    app = create_app(notify)
    try:
        async with running(app) as (http, ctx):
            sz = registered_envelope(Rulebook.load(ROOT / "rules"))
            envelope = sz.model_copy(update={"site": site})
            connection = await aio_pika.connect(infra.amqp_url)
            async with connection:
                exchange = await (await connection.channel()).get_exchange(EVENTS_EXCHANGE)
                for _ in range(2):
                    message = aio_pika.Message(to_json(envelope), message_id=str(envelope.id))
                    await exchange.publish(message, routing_key=f"{site}.{envelope.type}")

            async def three_sent() -> bool:
                return len(catcher.mails) >= 3 and not await ctx.db["notify_queue"].find_one({})

            await eventually(three_sent, timeout=20)
            assert sorted(r[0] for r, _ in catcher.mails) == [
                "gm@abc.test", "mgr@abc.test", "qe@abc.test"
            ]  # fmt: skip
            stored = await ctx.db["notifications"].find_one({"_id": f"{envelope.id}|qe|email"})
            assert stored is not None and stored["status"] == "sent"
            assert stored["event_type"] == "complaint.registered"
            # The person's history, for the desk: with a key of the site, not another's.
            url = "/people/qe/notifications"
            history = await http.get(url, headers={"X-API-Key": keys["desk"]})
            assert history.status_code == 200, history.text
            (item,) = history.json()["items"]
            assert (item["id"], item["status"]) == (f"{envelope.id}|qe|email", "sent")
            assert item["cause"] == "complaint_registered" and item["why"] == ["quality"]
            elsewhere = await http.get(url, headers={"X-API-Key": keys["nb-desk"]})
            assert elsewhere.json() == {"items": [], "count": 0}
            assert (await http.get(url)).status_code == 401
    finally:
        smtp.stop()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
        await client.drop_database(f"{settings.database}_notify")
        await client.close()


async def test_every_new_trigger_mails_the_right_people(
    infra: Infra, settings: ServiceSettings, site: str, tmp_path: Path
) -> None:
    """On a copy of the wx rules under this test's own site: an approval asked, a CAPA
    item missed (its owner a person), a recurrence reopening (the case's team and the GM),
    a survey action's case opened, and a campaign's response rate judged low before its
    window ends (the clock moved by hand) each mail their people, once."""
    rules = rules_as(tmp_path, site, "bands-company.yaml", "wx")
    people = [
        {"id": pid, "name": pid, "email": f"{pid}@wx.test", "language": "en",
         "grants": [{"site": site, "departments": [department]}]}
        for pid, department in (("qc", "quality_control"), ("mkt", "marketing"),
                                ("gm", "gm_office"), ("line", "production"))
    ]  # fmt: skip
    catcher = Catcher()
    smtp = Controller(catcher, hostname="127.0.0.1", port=free_port())
    smtp.start()
    clock = ManualClock(START)
    try:
        with fake_desk(people, KEY) as desk_url:
            configured = NotifySettings(
                **settings.model_dump(exclude={"rules_dir"}), rules_dir=rules,
                notify_desk_url=desk_url, notify_desk_api_key=KEY,
                notify_smtp_port=smtp.port, notify_send_seconds=0.1,
            )  # fmt: skip
            async with running(create_app(configured, clock=clock)) as (_, ctx):
                await publish(infra, site, [("case.opened", opened(owner="quality_control"))])
                await eventually(lambda: ctx.db["notify_cases"].find_one({}), timeout=20)
                due = START + timedelta(days=14)
                await publish(infra, site, [
                    ("case.stage_changed", stage_changed("approval")),
                    ("case.deadline_missed", missed_item("line")),
                    ("case.reopened", reopened()),
                    ("case.opened", opened(origin="survey_action", owner="marketing")),
                    ("survey.campaign_opened", campaign_opened(10, due)),
                ])  # fmt: skip
                await eventually(lambda: ctx.db["notify_campaigns"].find_one({}), timeout=20)
                await publish(infra, site, [("survey.answered", answered(1))])
                await eventually(lambda: _returned(ctx.db), timeout=20)
                clock.set(due - timedelta(hours=1))  # inside the last working day

                async def six_sent() -> bool:
                    queue = await ctx.db["notify_queue"].find_one({})
                    return len(catcher.mails) >= 6 and queue is None

                await eventually(six_sent, timeout=20)
    finally:
        smtp.stop()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
        await client.drop_database(f"{settings.database}_notify")
        await client.close()
    assert sorted((rcpt[0], str(mail["Subject"])) for rcpt, mail in catcher.mails) == [
        ("gm@wx.test", "Case SZ-000001 awaits your approval (Approval)"),
        ("gm@wx.test", "Case SZ-000001 reopened: the complaint recurred"),
        ("line@wx.test", "Case SZ-000001: action missed: Replace the die"),
        ("mkt@wx.test", "Survey action SZ-000001 assigned (Acme Auto)"),
        ("mkt@wx.test", "Survey wx-2026-1: response rate 10% is below the target of 80%"),
        ("qc@wx.test", "Case SZ-000001 reopened: the complaint recurred"),
    ]


async def test_a_capa_action_recorded_by_a_workflow_command_mails_its_owner(
    infra: Infra, settings: ServiceSettings, desk: str, site: str, tmp_path: Path
) -> None:
    """The workflow and notify on the real broker and database: a command recording an
    action item owned by a person (the quality engineer, who reads Chinese) mails them the
    action; recording the same list again tells nobody, a second item tells them again."""
    rules = rules_as(tmp_path, site, "abc-company.yaml", "sz")
    keys = write_key_file(
        tmp_path / "keys.yaml", {"cs": ([site], ["read", "act", "complaint_owner"])}
    )
    workflow = settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": rules}
    )
    catcher = Catcher()
    smtp = Controller(catcher, hostname="127.0.0.1", port=free_port())
    smtp.start()
    notify = NotifySettings(
        **settings.model_dump(exclude={"rules_dir"}), rules_dir=rules,
        notify_desk_url=desk, notify_desk_api_key=KEY,
        notify_smtp_port=smtp.port, notify_send_seconds=0.1,
    )  # fmt: skip
    number = f"{site.upper()}-1"
    fact = registered(load_rules(rules / "site.yaml"), START, number=number)
    first = {"what": "更换模具镶件", "owner": "qe", "due": "2026-03-20"}
    second = {"what": "增加裂纹检测", "owner": "qe", "due": "2026-03-27"}
    try:
        async with (
            running(create_workflow(workflow)) as (http, wf),
            running(create_app(notify)) as (_, ctx),
        ):
            await _to_workflow(infra, settings, new_event(fact, site=site, source="/t", time=START))
            case_id = f"{site}:{number}"
            await eventually(lambda: wf.db["cases"].find_one({"_id": case_id}), timeout=20)
            url, cs = f"/cases/{case_id}/commands", {"X-API-Key": keys["cs"]}
            for actions in ([first], [first], [first, second]):
                done = await http.post(url, json={"fields": {"actions": actions}}, headers=cs)
                assert done.status_code == 200, done.text

            async def two_sent() -> bool:
                queue = await ctx.db["notify_queue"].find_one({})
                return len(catcher.mails) >= 2 and queue is None

            await eventually(two_sent, timeout=20)
    finally:
        smtp.stop()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
        await client.drop_database(f"{settings.database}_notify")
        await client.close()
        await _delete_workflow_queues(infra, settings)
    assert sorted((rcpt[0], str(mail["Subject"])) for rcpt, mail in catcher.mails) == [
        ("qe@abc.test", f"案件 {number}：措施 已指派：增加裂纹检测"),
        ("qe@abc.test", f"案件 {number}：措施 已指派：更换模具镶件"),
    ]


WORKFLOW_QUEUES = (
    "workflow.complaints", "workflow.survey_actions", "workflow.survey_results",
    "workflow.commands", "workflow.events", "workflow.privacy",
)  # fmt: skip


async def _to_workflow(infra: Infra, settings: ServiceSettings, envelope: Any) -> None:
    """Straight to this test's workflow queue: no notify (nor another stack's workflow)
    hears the registration, only the case facts that follow."""
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        message = aio_pika.Message(to_json(envelope), content_type="application/json")
        key = f"{settings.queue_prefix}workflow.complaints"
        await channel.default_exchange.publish(message, routing_key=key)


async def _delete_workflow_queues(infra: Infra, settings: ServiceSettings) -> None:
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in WORKFLOW_QUEUES:
            for suffix in ("", ".dead"):
                await channel.queue_delete(f"{settings.queue_prefix}{name}{suffix}")


async def _returned(db: Any) -> bool:
    found = await db["notify_campaigns"].find_one({})
    return bool(found and found.get("returned"))


async def publish(infra: Infra, site: str, facts: list[tuple[str, Any]]) -> None:
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        exchange = await (await connection.channel()).get_exchange(EVENTS_EXCHANGE)
        for type_, data in facts:
            envelope = fact_envelope(type_, data, site)
            message = aio_pika.Message(to_json(envelope), message_id=str(envelope.id))
            await exchange.publish(message, routing_key=f"{site}.{type_}")
