"""The survey service on the real broker and database: deliveries and contacts in,
a campaign dispatched, answered over HTTP, scored and acted on through the outbox, once
even when messages are redelivered; closed with response rate and effectiveness."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from services.common.clock import ManualClock
from services.common.contracts.cases import CaseClosed
from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.complaints import ClassificationRecord, ComplaintRegistered
from services.common.contracts.deliveries import DeliveryRecorded
from services.common.contracts.registry import new_event, to_json
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.runtime import ServiceContext
from services.common.settings import ServiceSettings
from services.survey import jobs
from services.survey.app import create_app
from services.survey.service import SurveyService
from tests.support.complaints import complaint
from tests.support.infra import Infra
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.support.surveys import Listener, site_rules, survey_settings
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
# Monday 3 March 2025, 10:00 in Ningbo: a quarterly (March) campaign month for qds.
START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


@dataclass
class Running:
    client: httpx.AsyncClient
    ctx: ServiceContext
    clock: ManualClock
    keys: dict[str, str]
    site: str

    @property
    def svc(self) -> SurveyService:
        svc: SurveyService = self.ctx.state["survey"]
        return svc

    def headers(self, name: str = "ops") -> dict[str, str]:
        return {"X-API-Key": self.keys[name]}


@pytest.fixture
async def survey(settings: ServiceSettings, tmp_path: Path, site: str) -> AsyncIterator[Running]:
    keys = write_key_file(
        tmp_path / "keys.yaml",
        {"ops": ([site], ["survey", "read"]), "other": (["elsewhere"], ["survey", "read"])},
    )
    configured = survey_settings(
        settings,
        api_keys_file=tmp_path / "keys.yaml",
        rules_dir=site_rules(tmp_path, "qds-company", site),
        survey_public_url="http://survey.test",
    )
    clock = ManualClock(START)
    async with running(create_app(configured, clock=clock)) as (client, ctx):
        yield Running(client, ctx, clock, keys, site)


async def _publish(infra: Infra, site: str, *events: Any) -> None:
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for event in events:
            message = aio_pika.Message(to_json(event), message_id=str(event.id))
            await exchange.publish(message, routing_key=f"{site}.{event.type}")


def _delivery(site: str, customer: str, quantity: int, day: int) -> Any:
    fact = DeliveryRecorded(
        delivery_id=f"{customer}-{day}",
        customer_id=customer,
        customer_name=f"Customer {customer}",
        delivered_on=f"2025-02-{day:02d}",  # type: ignore[arg-type]
        quantity=quantity,
        lot=f"L{day}",
        due_on=f"2025-02-{day:02d}",  # type: ignore[arg-type]
        late=False,
    )
    return new_event(fact, site=site, source="/erp/test", time=START)


async def _profile(r: Running, customer: str, *emails: str) -> None:
    body = {
        "customer_name": f"Customer {customer}",
        "contacts": [{"name": f"Contact {e}", "email": e} for e in emails],
    }
    reply = await r.client.put(f"/customers/{r.site}/{customer}", json=body, headers=r.headers())
    assert reply.status_code == 200, reply.text


def _token(link: str) -> str:
    return link.rsplit("/s/", 1)[1]


QDS_LOW = {  # on_time at 70 (the item limit) and response speed 60: two item actions
    "pass_rate": 90,
    "failure_rate": 80,
    "on_time": 70,
    "intact": 100,
    "response_speed": 60,
    "attitude": 90,
}


async def test_campaign_dispatch_answer_score_and_actions_once(
    survey: Running, infra: Infra
) -> None:
    r = survey
    async with Listener(infra.amqp_url, r.site) as listener:
        # Activity arrives as events, twice (a redelivery must not count twice).
        deliveries = [_delivery(r.site, "C1", 50_000, d) for d in (3, 10, 17)]
        await _publish(infra, r.site, *deliveries, *deliveries)
        await eventually(lambda: r.ctx.db["deliveries"].count_documents({}), timeout=10)

        async def three() -> bool:
            return await r.ctx.db["deliveries"].count_documents({}) == 3

        await eventually(three)
        await _profile(r, "C1", "a@c1.example", "b@c1.example")
        await _profile(r, "C2")  # no contact: eligible, nobody to invite

        eligibility = await r.client.get(
            "/eligibility", params={"site": r.site}, headers=r.headers()
        )
        verdicts = {v["customer_id"]: v for v in eligibility.json()["customers"]}
        assert verdicts["C1"]["eligible"] and verdicts["C1"]["reasons"] == [
            "every customer is surveyed"
        ]

        done = await jobs.run_once(r.svc)
        assert done.opened == 1
        campaign_id = f"{r.site}-2025-03"
        again = await jobs.run_once(r.svc)
        assert again.opened == 0

        opened = await listener.wait_for("survey.campaign_opened")
        assert opened[0].data.campaign_id == campaign_id
        assert str(opened[0].data.period_start) == "2024-12-01"
        assert str(opened[0].data.period_end) == "2025-02-28"
        # 5 working days from Monday 10:00 local: Monday 10 March 10:00 local.
        assert opened[0].data.answer_due == datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
        dispatched = await listener.wait_for("survey.dispatched", 2)
        assert {d.data.contact_email for d in dispatched} == {"a@c1.example", "b@c1.example"}
        assert all(d.data.link.startswith("http://survey.test/s/") for d in dispatched)
        assert all(d.data.language == "zh" for d in dispatched)

        first, second = dispatched[0].data, dispatched[1].data
        r.clock.advance(timedelta(days=1))
        body = {"items": QDS_LOW, "comments": "ok", "suggestions": ["更快回复 reply faster"]}
        reply = await r.client.post(f"/api/answers/{_token(first.link)}", json=body)
        assert reply.status_code == 201, reply.text
        assert reply.json()["on_time"] and reply.json()["actions"] == 3
        # Answering twice (a resubmitted form) changes nothing.
        repeat = await r.client.post(f"/api/answers/{_token(first.link)}", json=body)
        assert repeat.status_code == 200

        answered = await listener.wait_for("survey.answered")
        scored = await listener.wait_for("survey.scored")
        actions = await listener.wait_for("survey.action_required", 3)
        assert answered[0].data.on_time and answered[0].data.counted_as_returned
        assert scored[0].data.scope == "response"
        assert scored[0].data.overall == 81.1 and scored[0].data.band == "grade_a"
        assert scored[0].data.dimensions == {"quality": 85.0, "delivery": 82.0, "service": 75.0}
        triggers = sorted((a.data.trigger, a.data.owner_department) for a in actions)
        assert triggers == [
            ("every-suggestion", "sales"),
            ("item-at-or-below-70", "pmc"),
            ("item-at-or-below-70", "sales"),
        ]
        # Due by the site's survey.action_due (20 working days) from when they were raised.
        assert all(a.data.due is not None and a.data.due > a.data.raised_at for a in actions)

        # The second contact answers after the window (Tuesday 11 March): kept, not returned.
        r.clock.set(datetime(2025, 3, 11, 2, 0, tzinfo=UTC))
        late = await r.client.post(
            f"/api/answers/{_token(second.link)}",
            json={"items": dict.fromkeys(QDS_LOW, 100)},
        )
        assert late.status_code == 201 and late.json()["on_time"] is False
        assert late.json()["counted_as_returned"] is False

        closing = await jobs.run_once(r.svc)
        assert closing.closed == 1
        closed = (await listener.wait_for("survey.campaign_closed"))[0].data
        assert (closed.sent, closed.returned, closed.late) == (2, 1, 1)
        assert closed.response_rate == 50.0 and closed.target_rate == 99.0
        assert closed.target_met is False
        assert closed.overall == 81.1 and closed.band == "grade_a"
        await listener.settle()
        close_actions = [
            a
            for a in listener.of("survey.action_required")
            if a.data.trigger == "response-below-target"
        ]
        assert len(close_actions) == 1
        assert close_actions[0].data.score == 50.0 and close_actions[0].data.threshold == 99.0

    # Once, even though every message above went through the outbox and the relay.
    ids = [e.id for e in listener.events if e.type.startswith("survey.")]
    assert len(ids) == len(set(ids))
    assert len(listener.of("survey.answered")) == 2
    results = await r.client.get(f"/campaigns/{campaign_id}/results", headers=r.headers())
    assert results.json()["results"]["customers"]["C1"]["overall"] == 81.1
    metrics = (await r.client.get("/metrics")).text
    assert f'qloop_survey_response_rate_percent{{site="{r.site}"}} 50.0' in metrics
    assert f'qloop_survey_dimension_score{{dimension="delivery",site="{r.site}"}} 82.0' in metrics
    assert f'qloop_survey_answers_received_total{{on_time="false",site="{r.site}"}} 1.0' in metrics


async def test_form_refuses_tampered_and_expired_links(survey: Running, infra: Infra) -> None:
    r = survey
    await _profile(r, "C1", "a@c1.example")
    reply = await r.client.post(
        "/campaigns", json={"site": r.site, "kind": "manual"}, headers=r.headers()
    )
    assert reply.status_code == 201, reply.text
    invitation = await r.ctx.db["invitations"].find_one({})
    assert invitation is not None
    token = _token(invitation["link"])
    page = await r.client.get(f"/s/{token}")
    assert page.status_code == 200 and "产品质量" in page.text and "合格率" in page.text
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = await r.client.get(f"/s/{forged}")
    assert refused.status_code == 403 and "此调查链接无效" in refused.text
    other = token.replace(invitation["_id"], "0" * 32)
    assert (await r.client.get(f"/s/{other}")).status_code == 403
    r.clock.set(invitation["expires_at"] + timedelta(seconds=1))
    expired = await r.client.get(f"/s/{token}")
    assert expired.status_code == 410 and "has expired" in expired.text
    api = await r.client.post(f"/api/answers/{token}", json={"items": {"pass_rate": 90}})
    assert api.status_code == 410 and api.json()["reason"] == "expired"


async def test_api_keys_are_role_and_site_scoped(survey: Running) -> None:
    r = survey
    body = {"site": r.site, "kind": "manual"}
    assert (await r.client.post("/campaigns", json=body)).status_code == 401
    assert (
        await r.client.post("/campaigns", json=body, headers=r.headers("other"))
    ).status_code == 403
    listed = await r.client.get("/campaigns", headers=r.headers("other"))
    assert listed.json()["count"] == 0


async def test_refuses_to_start_without_a_link_secret(settings: ServiceSettings) -> None:
    unsafe = survey_settings(settings).model_copy(update={"survey_link_secret": None})
    with pytest.raises(RuntimeError, match="QLOOP_SURVEY_LINK_SECRET"):
        async with running(create_app(unsafe)):
            pass


CSV = """customer_id,customer_name,delivered_on,quantity,lot,delivery_id,due_on,late
A,Big and frequent,2025-01-10,100000,L1,D1,2025-01-10,no
A,Big and frequent,2025-02-10,100000,L2,D2,2025-02-09,yes
A,Big and frequent,2025-03-10,50000,L3,D3,2025-03-10,no
B,Big but rare,2025-02-11,300000,L4,D4,,
C,Outside the period,2024-11-30,900000,L5,D5,,
X,Broken row,2025-02-30,10,L6,D6,,
"""


async def test_csv_deliveries_count_once_and_decide_eligibility(
    settings: ServiceSettings, tmp_path: Path, site: str
) -> None:
    keys = write_key_file(tmp_path / "keys.yaml", {"ops": ([site], ["survey", "read"])})
    configured = survey_settings(
        settings,
        api_keys_file=tmp_path / "keys.yaml",
        rules_dir=site_rules(tmp_path, "bands-company", site),
    )
    path = tmp_path / "deliveries.csv"
    path.write_text(CSV, encoding="utf-8")
    env = {
        **os.environ,
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
        "QLOOP_DATABASE": settings.database,
        "QLOOP_RULES_DIR": str(configured.rules_dir),
    }
    for expected in ("recorded 5, already recorded 0", "recorded 0, already recorded 5"):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CLI, "survey", "import-deliveries", str(path), "--site", site,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        assert process.returncode == 1  # the broken row is refused, the rest recorded
        assert f"{expected}, refused 1" in out.decode()
        assert "deliveries.csv:7: delivered_on" in err.decode()
    async with running(create_app(configured, clock=ManualClock(START))) as (client, _):
        reply = await client.get(
            "/eligibility",
            params={"site": site, "period_start": "2025-01-01", "period_end": "2025-06-30"},
            headers={"X-API-Key": keys["ops"]},
        )
    verdicts = {v["customer_id"]: v for v in reply.json()["customers"]}
    assert verdicts["A"]["eligible"]
    assert verdicts["A"]["reasons"] == ["quantity 250,000 >= 200,000 and 3 deliveries >= 3"]
    assert not verdicts["B"]["eligible"]
    assert verdicts["B"]["reasons"] == ["quantity 300,000 >= 200,000 and 1 deliveries < 3"]
    assert "C" not in verdicts


CLI = """
import argparse, sys
from services.survey.cli import register
parser = argparse.ArgumentParser(prog="qloop")
register(parser.add_subparsers(dest="command", required=True))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


class Inbox:
    """A tiny SMTP server (aiosmtpd) collecting what it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    from tests.support.processes import free_port

    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


async def test_invitations_and_reminders_by_smtp_when_switched_on(
    settings: ServiceSettings, tmp_path: Path, site: str, infra: Infra,
    inbox: tuple[Inbox, int],
) -> None:  # fmt: skip
    handler, port = inbox
    keys = write_key_file(tmp_path / "keys.yaml", {"ops": ([site], ["survey", "read"])})
    configured = survey_settings(
        settings,
        api_keys_file=tmp_path / "keys.yaml",
        rules_dir=site_rules(tmp_path, "qds-company", site),
        smtp_enabled=True,
        smtp_port=port,
        smtp_sender="quality@plant.example",
    )
    clock = ManualClock(START)
    async with (
        Listener(infra.amqp_url, site) as listener,
        running(create_app(configured, clock=clock)) as (client, ctx),
    ):
        r = Running(client, ctx, clock, keys, site)
        await _profile(r, "C1", "a@c1.example")
        first = await jobs.run_once(r.svc, ctx.state["mailer"])
        assert (first.opened, first.mailed) == (1, 1)
        assert handler.messages[0]["To"] == "a@c1.example"
        assert handler.messages[0]["Subject"] == "顾客满意度调查"
        link = (await listener.wait_for("survey.dispatched"))[0].data.link
        assert link in handler.messages[0].get_content()
        # Thursday: nothing yet. Friday 7 March 10:00 local, one working day before Monday's close.
        clock.set(datetime(2025, 3, 6, 2, 0, tzinfo=UTC))
        assert (await jobs.run_once(r.svc, ctx.state["mailer"])).reminded == 0
        clock.set(datetime(2025, 3, 7, 2, 0, tzinfo=UTC))
        second = await jobs.run_once(r.svc, ctx.state["mailer"])
        assert (second.reminded, second.mailed) == (1, 1)
        assert (await jobs.run_once(r.svc, ctx.state["mailer"])).reminded == 0
        reminders = [e for e in await listener.wait_for("survey.dispatched", 2) if e.data.reminder]
    assert len(reminders) == 1 and reminders[0].data.link == link
    assert handler.messages[1]["Subject"] == "提醒：顾客满意度调查"
    assert len(handler.messages) == 2


def _registered(site: str, number: str) -> Any:
    submission = ComplaintSubmission.model_validate(complaint(site))
    fact = ComplaintRegistered(
        number=number,
        sequence=1,
        complaint=submission,
        classification=ClassificationRecord(
            nature="quality",
            kind="appeal",
            category=None,
            severity="general",
            owner_department="qa",
            matched_rule=None,
        ),  # fmt: skip
        rules_version="test",
        source="/test",
        registered_at=START,
    )
    return new_event(fact, site=site, source="/qloop/intake", time=START)


def _case_closed(site: str, number: str) -> Any:
    fact = CaseClosed(
        case_id=f"case-{number}", complaint_number=number, customer_id="C-100",
        customer_name="Acme Auto Parts", nature="quality", category=None, outcome="corrected",
        nonconformity=True, repeat=False, closed_at=START, on_time=True,
        owner_department="qa", stage="closed", review_rounds=0, opened_at=START,
        rules_version="test",
    )  # fmt: skip
    return new_event(fact, site=site, source="/qloop/workflow", time=START)


async def test_follow_up_after_a_closed_case_asks_the_complaint_contact(
    survey: Running, infra: Infra
) -> None:
    r = survey
    closed = _case_closed(r.site, "NB-202503-00001")
    async with Listener(infra.amqp_url, r.site) as listener:
        await _publish(infra, r.site, _registered(r.site, "NB-202503-00001"))
        await eventually(lambda: r.ctx.db["complaint_contacts"].find_one({}))
        await _publish(infra, r.site, closed, closed)  # redelivered: planned once
        campaign_id = f"{r.site}-follow_up-case-NB-202503-00001"
        pending = await eventually(lambda: r.ctx.db["campaigns"].find_one({"_id": campaign_id}))
        # qds: 10 working days after Monday 3 March 10:00 -> Monday 17 March 10:00 local.
        assert pending["status"] == "pending"
        assert pending["opened_at"] == datetime(2025, 3, 17, 2, 0, tzinfo=UTC)
        assert pending["items"] == ["response_speed", "attitude"]
        r.clock.set(datetime(2025, 3, 17, 2, 0, tzinfo=UTC))
        await jobs.run_once(r.svc)  # the March campaign opens too: this is March
        opened = await listener.wait_for("survey.campaign_opened", 2)
        [follow_up] = [e.data for e in opened if e.data.kind == "follow_up"]
        assert follow_up.follow_up_of_case == "case-NB-202503-00001"
        sent = await listener.wait_for("survey.dispatched", 2)
        [dispatched] = [e.data for e in sent if e.data.campaign_id == campaign_id]
        assert dispatched.contact_email == "li.lei@acme.example"
        token = _token(dispatched.link)
        questions = await r.client.get(f"/api/answers/{token}")
        asked = [i["id"] for d in questions.json()["dimensions"] for i in d["items"]]
        assert asked == ["response_speed", "attitude"]
        refused = await r.client.post(f"/api/answers/{token}", json={"items": {"pass_rate": 90}})
        assert refused.status_code == 422 and "not asked" in refused.text
        ok = await r.client.post(
            f"/api/answers/{token}", json={"items": {"response_speed": 90, "attitude": 80}}
        )
        assert ok.status_code == 201
        scored = (await listener.wait_for("survey.scored"))[0].data
    assert scored.overall == 85.0 and scored.dimensions == {"service": 85.0}
    assert await r.ctx.db["campaigns"].count_documents({"kind": "follow_up"}) == 1


async def test_actions_of_one_campaign_are_judged_by_the_next(
    survey: Running, infra: Infra
) -> None:
    r = survey
    await _profile(r, "C1", "a@c1.example")
    async with Listener(infra.amqp_url, r.site) as listener:
        await jobs.run_once(r.svc)  # March campaign
        link = (await listener.wait_for("survey.dispatched"))[0].data.link
        answers = {**QDS_LOW, "response_speed": 90}  # only on_time (70) triggers
        await r.client.post(f"/api/answers/{_token(link)}", json={"items": answers})
        r.clock.set(datetime(2025, 3, 11, 2, 0, tzinfo=UTC))
        await jobs.run_once(r.svc)
        r.clock.set(datetime(2025, 6, 3, 2, 0, tzinfo=UTC))  # June campaign
        await jobs.run_once(r.svc)
        links = await listener.wait_for("survey.dispatched", 2)
        better = {**answers, "on_time": 88}
        await r.client.post(f"/api/answers/{_token(links[1].data.link)}", json={"items": better})
        r.clock.set(datetime(2025, 6, 11, 2, 0, tzinfo=UTC))
        assert (await jobs.run_once(r.svc)).closed == 1
        closed = await listener.wait_for("survey.campaign_closed", 2)
    june = next(c.data for c in closed if c.data.campaign_id == f"{r.site}-2025-06")
    [effect] = june.effectiveness
    assert (effect.trigger, effect.subject, effect.before, effect.after, effect.effective) == (
        "item-at-or-below-70", "on_time", 70.0, 88.0, True,
    )  # fmt: skip


async def test_scorecards_trend_beside_campaign_results(survey: Running) -> None:
    r = survey
    for period, score, out_of in (("2024-H2", 4.0, 5), ("2025-H1", 4.6, 5)):
        body = {"site": r.site, "customer_id": "C1", "customer_name": "Customer C1",
                "period": period, "score": score, "out_of": out_of, "comments": "ok"}  # fmt: skip
        reply = await r.client.post("/scorecards", json=body, headers=r.headers())
        assert reply.status_code == 201, reply.text
    again = await r.client.post("/scorecards", json=body, headers=r.headers())
    assert again.status_code == 200
    trend = await r.client.get(f"/customers/{r.site}/C1/results", headers=r.headers())
    assert [
        (p["period"], p["score"], p["band"], p["change"]) for p in trend.json()["scorecards"]
    ] == [
        ("2024-H2", 80.0, "grade_a", None),
        ("2025-H1", 92.0, "grade_a", 12.0),
    ]


async def test_internal_survey_samples_staff_and_stores_no_identity(survey: Running) -> None:
    r = survey
    staff = [f"E{i:02d}" for i in range(10)]
    # qds has no internal survey: refused with the reason
    refused = await r.client.post(
        "/internal-surveys", json={"site": r.site, "staff": staff}, headers=r.headers()
    )
    assert refused.status_code == 422 and "no internal survey" in refused.text

    wx_rules = site_rules(r.ctx.settings.rules_dir.parent / "wx", "bands-company", r.site)
    configured = survey_settings(
        r.ctx.settings, rules_dir=wx_rules, survey_public_url="http://survey.test"
    )
    async with running(create_app(configured, clock=r.clock)) as (client, ctx):
        reply = await client.post(
            "/internal-surveys", json={"site": r.site, "staff": staff, "seed": 1},
            headers=r.headers(),
        )  # fmt: skip
        assert reply.status_code == 201, reply.text
        drawn = reply.json()
        assert (drawn["staff"], drawn["sample"], drawn["coverage"]) == (10, 6, 0.6)
        links = [h["link"].replace("http://survey.test", "") for h in drawn["handout"]]
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        for link, score in zip(links[:2], ("90", "70"), strict=True):
            page = await client.post(link, content=f"score={score}&comments=ok", headers=form)
            assert page.status_code == 200 and "谢谢" in page.text
        again = await client.post(links[0], content="score=10", headers=form)
        assert again.status_code == 200  # a second answer on one link is not stored
        tampered = await client.post(links[2][:-2] + "zz", content="score=1", headers=form)
        assert tampered.status_code == 403
        results = await client.get(f"/internal-surveys/{drawn['survey_id']}", headers=r.headers())
        stored = await ctx.db["internal_surveys"].find_one({})
        answers = await ctx.db["internal_answers"].find({}).to_list()
    assert results.json()["answers"] == 2 and results.json()["response_rate"] == 33.33
    assert results.json()["score"] == 80.0
    assert results.json()["band"] == "generally_satisfied"
    flat = repr(stored) + repr(answers)
    assert not any(person in flat for person in staff)  # nobody can be identified
