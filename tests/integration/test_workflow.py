"""The workflow service on the real broker and database: cases opened once from
complaint.registered (and survey.action_required), commands over HTTP and the broker with
refusal reasons, the 8D report, and deadlines that fire exactly once across restarts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from services.common.clock import ManualClock
from services.common.contracts.cases import CaseCommand
from services.common.contracts.registry import new_event, parse_event, to_json
from services.common.contracts.surveys import SurveyActionRequired, SurveyScored
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.rules import load_rules
from services.common.runtime import ServiceContext
from services.common.settings import ServiceSettings
from services.survey.domain import actions as survey_actions
from services.workflow.app import create_app
from services.workflow.domain.commands import ExecuteTransition
from services.workflow.domain.transitions import execute
from tests.support.infra import Infra
from tests.support.keys import write_key_file
from tests.support.people import TestIssuer
from tests.support.services import running
from tests.support.waiting import eventually
from tests.unit.workflow.builders import Driver, registered, review_to_close, to_review

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shenzhen
QUEUES = (
    "workflow.complaints",
    "workflow.survey_actions",
    "workflow.survey_results",
    "workflow.commands",
)


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    return write_key_file(
        tmp_path / "keys.yaml",
        {
            "cs-sz": (["sz"], ["read", "act", "complaint_owner"]),
            "qa-sz": (["sz"], ["read", "act", "quality"]),
            "finance-sz": (["sz"], ["read", "act", "finance"]),
            "reader-nb": (["nb"], ["read"]),
        },
    )


@pytest.fixture
async def wf_settings(
    settings: ServiceSettings, tmp_path: Path, keys: dict[str, str], infra: Infra
) -> AsyncIterator[ServiceSettings]:
    yield settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": ROOT / "rules"}
    )
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in QUEUES:
            for suffix in ("", ".dead"):
                await channel.queue_delete(f"{settings.queue_prefix}{name}{suffix}")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


class Tap:
    """Every event about one case that reaches the broker, and a publisher that delivers
    straight to this test's queues (other workflow instances on the broker, e.g. a running
    `qloop up`, are bound to the same routing keys and must not see our messages)."""

    def __init__(self, channel: Any, queue: Any, prefix: str) -> None:
        self.channel, self.queue, self.prefix, self.seen = channel, queue, prefix, []

    async def events(self, subject: str, want: int = 0) -> list[Any]:
        async def probe() -> bool:
            while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
                self.seen.append(parse_event(message.body))
            return len([e for e in self.seen if e.subject == subject]) >= want

        await eventually(probe, timeout=15)
        return [e for e in self.seen if e.subject == subject]

    async def publish(self, envelope: Any) -> None:
        message = aio_pika.Message(to_json(envelope), content_type="application/json")
        queue = {
            "complaint.registered": "workflow.complaints",
            "survey.action_required": "workflow.survey_actions",
            "survey.scored": "workflow.survey_results",
            "case.command": "workflow.commands",
        }[envelope.type]
        await self.channel.default_exchange.publish(message, routing_key=self.prefix + queue)


@pytest.fixture
async def tap(infra: Infra, settings: ServiceSettings) -> AsyncIterator[Tap]:
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key="sz.case.*")
        yield Tap(channel, queue, settings.queue_prefix)


def _registration(number: str, at: datetime = T0, **overrides: Any) -> Any:
    rules = load_rules(ROOT / "rules" / "abc-company.yaml")
    fact = registered(rules, at, number=number, **overrides)
    return new_event(fact, site="sz", source="/qloop/intake", time=at, subject=number)


def _of_stage(events: list[Any], stage: str) -> list[Any]:
    """Distinct events (by id) about one stage's deadline (not a case clock's)."""
    unique = {e.id: e for e in events}.values()
    return [e for e in unique if getattr(e.data, "stage", None) == stage]


async def _opened(ctx: ServiceContext, case_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        return await ctx.db["cases"].find_one({"_id": case_id})

    return await eventually(probe, timeout=15)


async def test_registered_twice_opens_one_case_announced_once(
    wf_settings: ServiceSettings, clock: ManualClock, tap: Tap
) -> None:
    number = f"SZ-T-{uuid.uuid4().hex[:8]}"
    event = _registration(number)
    async with running(create_app(wf_settings, clock=clock)) as (_, ctx):
        await tap.publish(event)
        await tap.publish(event)  # a redelivery
        case = await _opened(ctx, f"sz:{number}")
        assert case["stage"] == "register" and case["owner_department"] == "quality"
        opened = [e for e in await tap.events(f"sz:{number}", 1) if e.type == "case.opened"]
        await asyncio.sleep(1.0)  # a second case.opened would have arrived by now
        opened = [e for e in await tap.events(f"sz:{number}") if e.type == "case.opened"]
        assert len(opened) == 1 and opened[0].data.complaint_number == number
        assert await ctx.db["cases"].count_documents({"reference": number}) == 1


async def test_http_commands_refusals_history_and_8d(
    wf_settings: ServiceSettings, clock: ManualClock, tap: Tap, keys: dict[str, str]
) -> None:
    number = f"SZ-T-{uuid.uuid4().hex[:8]}"
    case_id = f"sz:{number}"
    cs, qa = {"X-API-Key": keys["cs-sz"]}, {"X-API-Key": keys["qa-sz"]}
    async with running(create_app(wf_settings, clock=clock)) as (client, ctx):
        await tap.publish(_registration(number))
        await _opened(ctx, case_id)
        url = f"/cases/{case_id}/commands"
        wrong = await client.post(url, json={"action": "approve"}, headers=cs)
        assert wrong.status_code == 409 and wrong.json()["detail"]["code"] == "wrong_stage"
        denied = await client.post(url, json={"action": "register"}, headers=qa)
        assert denied.status_code == 403 and "complaint_owner" in denied.json()["detail"]["reason"]
        moved = await client.post(url, json={"action": "register", "reason": "logged"}, headers=cs)
        assert moved.status_code == 200 and moved.json()["stage"] == "acknowledge"
        missing = await client.post(url, json={"action": "acknowledge"}, headers=cs)
        assert missing.status_code == 422 and missing.json()["detail"]["fields"] == ["team"]
        said = missing.json()  # the one 422 shape beside the workflow's own detail
        assert said["code"] == said["detail"]["code"] == "missing_fields"
        assert [e["field"] for e in said["errors"]] == ["team"] and said["reason"]
        ok = await client.post(
            url, json={"action": "acknowledge", "fields": {"team": ["QA"]}}, headers=cs
        )
        assert ok.json()["stage"] == "investigate"
        stale = await client.post(
            url,
            json={
                "action": "determine_responsibility",
                "fields": {"responsibility": "company"},
                "expected_version": 1,
            },
            headers=qa,
        )
        assert stale.status_code == 409 and stale.json()["detail"]["code"] == "conflict"
        history = (await client.get(f"/cases/{case_id}/history", headers=cs)).json()
        assert history["chain_intact"] and [h["what"] for h in history["entries"]] == [
            "opened",
            "transition",
            "transition",
        ]
        assert history["entries"][1]["reason"] == "logged"
        html = await client.get(f"/cases/{case_id}/8d", headers=cs)
        assert html.headers["content-type"].startswith("text/html")
        assert "D3 临时围堵措施" in html.text and number in html.text
        report = (await client.get(f"/cases/{case_id}/8d?format=json&lang=en", headers=cs)).json()
        assert report["disciplines"][1]["entries"][0]["value"] == ["QA"]
        hidden = await client.get(f"/cases/{case_id}", headers={"X-API-Key": keys["reader-nb"]})
        assert hidden.status_code == 404
        listed = (await client.get("/cases?site=sz&stage=investigate", headers=cs)).json()
        assert [c["id"] for c in listed["items"]] == [case_id]
        changed = [e for e in await tap.events(case_id, 3) if e.type == "case.stage_changed"]
        assert [e.data.to_stage for e in changed] == ["acknowledge", "investigate"]
        metrics = (await client.get("/metrics")).text
        assert 'qloop_workflow_transitions_total{site="sz",to_stage="investigate"} 1.0' in metrics
        assert "qloop_workflow_commands_refused_total" in metrics, metrics


async def test_broker_commands_run_or_are_dead_lettered_with_the_reason(
    wf_settings: ServiceSettings, clock: ManualClock, tap: Tap, infra: Infra
) -> None:
    number = f"SZ-T-{uuid.uuid4().hex[:8]}"
    case_id = f"sz:{number}"
    issuer = TestIssuer()
    app = create_app(wf_settings, clock=clock)
    app.state.tokens = issuer.verifier()
    async with running(app) as (_, ctx):
        await tap.publish(_registration(number))
        await _opened(ctx, case_id)
        quality = issuer.token("qe-sz", {"sz": ["quality"]})
        bad = CaseCommand(case_id=case_id, action="approve", token=quality)
        owner = issuer.token("cs-sz", {"sz": ["complaint_owner"]})
        good = CaseCommand(case_id=case_id, action="register", token=owner)
        good_event = new_event(good, site="sz", source="/crm", time=T0)
        for envelope in (new_event(bad, site="sz", source="/erp", time=T0), good_event, good_event):
            await tap.publish(envelope)

        async def stage() -> bool:
            found = await ctx.db["cases"].find_one({"_id": case_id})
            return bool(found and found["stage"] == "acknowledge")

        await eventually(stage, timeout=15)
        dead = await tap.channel.declare_queue(
            f"{wf_settings.queue_prefix}workflow.commands.dead", passive=True
        )

        async def dead_letter() -> Any:
            return await dead.get(no_ack=True, fail=False)

        message = await eventually(dead_letter, timeout=15)
        assert message.headers["x-qloop-error"] == "rejected"
        assert "wrong_stage" in str(message.headers["x-qloop-reason"])
        found = await ctx.db["cases"].find_one({"_id": case_id})
        assert found["version"] == 1  # the duplicate command had no second effect
        assert found["history"][-1]["actor"] == "cs-sz"  # the token's person


async def test_spoofed_broker_commands_are_dead_lettered_unauthenticated(
    wf_settings: ServiceSettings, clock: ManualClock, tap: Tap
) -> None:
    """Self-declared roles, a token signed by someone else's key, an expired token and a
    person of another site: each refused with its reason, the case untouched."""
    number = f"SZ-T-{uuid.uuid4().hex[:8]}"
    case_id = f"sz:{number}"
    issuer, forger = TestIssuer(), TestIssuer()
    app = create_app(wf_settings, clock=clock)
    app.state.tokens = issuer.verifier()
    async with running(app) as (_, ctx):
        await tap.publish(_registration(number))
        await _opened(ctx, case_id)
        rep = {"sz": ["management_rep", "complaint_owner"]}
        spoofed = [
            CaseCommand(
                case_id=case_id, action="register", actor="anyone", roles=("management_rep",)
            ),
            CaseCommand(case_id=case_id, action="register", token=forger.token("x", rep)),
            CaseCommand(
                case_id=case_id, action="register", token=issuer.token("x", rep, lifetime=-120)
            ),
            CaseCommand(
                case_id=case_id,
                action="register",
                token=issuer.token("nb-owner", {"nb": ["complaint_owner"]}),
            ),
        ]
        for command in spoofed:
            await tap.publish(new_event(command, site="sz", source="/spoof", time=T0))
        dead = await tap.channel.declare_queue(
            f"{wf_settings.queue_prefix}workflow.commands.dead", passive=True
        )
        reasons: list[str] = []

        async def dead_letters() -> bool:
            while (message := await dead.get(no_ack=True, fail=False)) is not None:
                assert message.headers["x-qloop-error"] == "rejected"
                reasons.append(str(message.headers["x-qloop-reason"]))
            return len(reasons) == len(spoofed)

        await eventually(dead_letters, timeout=15)
        expected = (
            "must carry the acting person's access token",
            "invalid token: unknown signing key",
            "invalid token: Signature has expired",
            "person 'nb-owner' holds no role at site 'sz'",
        )  # handled concurrently: in any order
        assert all(any(e in r for r in reasons) for e in expected), reasons
        found = await ctx.db["cases"].find_one({"_id": case_id})
        assert found["stage"] == "register" and found["version"] == 0


async def test_survey_action_opens_one_corrective_action_case(
    wf_settings: ServiceSettings, clock: ManualClock, tap: Tap
) -> None:
    action_id = uuid.uuid4().hex[:8]
    action = SurveyActionRequired(
        action_id=action_id,
        campaign_id="camp-1",
        customer_id="C-7",
        customer_name="Beta",
        trigger="item-at-or-below-70",
        what="cause analysis of delivery score",
        why="on_time scored 65",
        score=65.0,
        threshold=70.0,
        owner_department="pmc",
        due=T0 + timedelta(days=10),
        raised_at=T0,
    )
    event = new_event(action, site="sz", source="/qloop/survey", time=T0)
    async with running(create_app(wf_settings, clock=clock)) as (_, ctx):
        await tap.publish(event)
        await tap.publish(event)
        case = await _opened(ctx, f"sz:action:{action_id}")
        assert case["owner_department"] == "pmc" and case["case_due"] is not None
        assert case["stage"] == "action_assign"  # the action procedure, not the 8D's register
        await asyncio.sleep(0.5)
        assert await ctx.db["cases"].count_documents({"origin": "survey_action"}) == 1


def _execute(command: ExecuteTransition, case: Any, rules: Any, now: datetime) -> Any:
    return execute(case, command, rules, now)


def _nb_action(items: dict[str, float]) -> Any:
    """A survey action as the survey service raises it at nb (due by its rules)."""
    rules = load_rules(ROOT / "rules" / "qds-company.yaml")
    invitation = uuid.uuid4().hex[:8]
    ctx = survey_actions.Context("nb-2025-03", invitation, T0, "C-7", "Beta Ltd")
    measures = survey_actions.Measures(items=items)
    [(action, _)] = survey_actions.raise_actions(rules, ctx, measures, ("item_score",))
    return action


async def test_survey_actions_run_their_own_procedure_and_the_next_survey_verifies_them(
    wf_settings: ServiceSettings, clock: ManualClock, tap: Tap
) -> None:
    await tap.queue.bind(EVENTS_EXCHANGE, routing_key="nb.case.*")
    customer = f"C-{uuid.uuid4().hex[:8]}"
    quality = _nb_action({"pass_rate": 60.0}).model_copy(update={"customer_id": customer})
    delivery = _nb_action({"on_time": 55.0}).model_copy(update={"customer_id": customer})
    assert quality.due is not None and quality.due > T0  # survey.action_due: 20 working days
    async with running(create_app(wf_settings, clock=clock)) as (_, ctx):
        service = ctx.state["cases"]
        ids = []
        for action in (quality, delivery):
            event = new_event(action, site="nb", source="/qloop/survey", time=T0)
            await tap.publish(event)
            await tap.publish(event)  # a redelivery opens nothing twice
            ids.append(f"nb:action:{action.action_id}")
            opened = await _opened(ctx, ids[-1])
            assert opened["stage"] == "action_assign" and opened["case_due"] == action.due
        for case_id in ids:  # the owning department assigns an owner and acts
            case = await service.store.get(case_id)
            roles = ("quality",) if case.owner_department == "qa" else ("pmc",)
            for action, fields in (
                ("assign_action_owner", {"action_owner": "li.wei"}),
                ("action_done", {"action_taken": "new inspection plan"}),
            ):
                clock.advance(timedelta(days=1))
                command = ExecuteTransition(case_id, action, fields, "li.wei", roles)
                await service.run(case_id, partial(_execute, command))
        waits = await ctx.db["survey_waits"].find_one({"_id": f"nb|{customer}"})
        assert sorted(waits["cases"]) == sorted(ids)
        clock.advance(timedelta(days=80))
        scored = SurveyScored(
            scope="customer",
            campaign_id="nb-2025-06",
            customer_id=customer,
            customer_name="Beta Ltd",
            overall=88.0,
            band="grade_a",
            items={"pass_rate": 85.0},
            rules_version="t",
            scored_at=clock.now(),
        )  # measures pass_rate again, not on_time (a follow-up asks some items only)
        event = new_event(scored, site="nb", source="/qloop/survey", time=clock.now())
        await tap.publish(event)
        await tap.publish(event)  # a redelivery records nothing twice

        async def closed() -> dict[str, Any] | None:
            found = await ctx.db["cases"].find_one({"_id": ids[0]})
            return found if found and found["stage"] == "action_closed" else None

        case = await eventually(closed, timeout=15)
        assert case["terminal"] and case["outcome"] == "corrected" and case["on_time"] is True
        closing = [e for e in await tap.events(ids[0], 1) if e.type == "case.closed"]
        await asyncio.sleep(1.0)  # a second handling would have written by now
        case = await ctx.db["cases"].find_one({"_id": ids[0]})
        assert len(case["survey_checks"]) == 1 and case["survey_checks"][0]["effective"]
        assert case["applied_events"] == [str(event.id)]
        closing = [e for e in await tap.events(ids[0]) if e.type == "case.closed"]
        assert len({e.id for e in closing}) == 1
        waiting = await ctx.db["cases"].find_one({"_id": ids[1]})
        assert waiting["stage"] == "action_verify" and waiting["survey_checks"] == []
        waits = await ctx.db["survey_waits"].find_one({"_id": f"nb|{customer}"})
        assert waits["cases"] == [ids[1]]


async def test_each_deadline_event_fires_once_across_restarts(
    wf_settings: ServiceSettings, clock: ManualClock, tap: Tap
) -> None:
    number = f"SZ-T-{uuid.uuid4().hex[:8]}"
    case_id = f"sz:{number}"
    async with running(create_app(wf_settings, clock=clock)) as (_, ctx):
        await tap.publish(_registration(number))
        case = await _opened(ctx, case_id)
        due = case["due"]
        assert due == T0 + timedelta(days=1)  # register-ab: 1 working day from receipt
        clock.set(due - timedelta(hours=3))  # inside the 4-hour lead
        # opened; approaching and near-owner of the stage and of the response clock (24 h
        # from receipt: the same due time here; test_workflow_clocks.py has the clocks)
        approaching = await tap.events(case_id, 5)
    approaching = _of_stage(approaching, "register")
    assert [e.type for e in approaching].count("case.deadline_approaching") == 1
    clock.set(due + timedelta(minutes=5))  # past due while the service was down
    async with running(create_app(wf_settings, clock=clock)):
        seen = _of_stage(await tap.events(case_id, 9), "register")
        missed = [e for e in seen if e.type == "case.deadline_missed"]
        assert len({e.id for e in missed}) == 1 and missed[0].data.stage == "register"
    async with running(create_app(wf_settings, clock=clock)) as (_, ctx):
        await asyncio.sleep(1.5)  # three scheduler passes
        fired = await ctx.db["fired"].count_documents({"case_id": case_id, "stage": "register"})
    # At-least-once on the broker: a relay stopped between publishing and removing an
    # entry publishes it again at the next start, with the same id (consumers drop it).
    # Fired once means one event id per deadline.
    events = _of_stage(await tap.events(case_id), "register")
    kinds = [e.type for e in events]
    assert kinds.count("case.deadline_approaching") == 1
    assert kinds.count("case.deadline_missed") == 1
    escalated = [e.data for e in events if e.type == "case.escalated"]
    assert {(e.rule, e.occurrence) for e in escalated} == {("near-owner", 0), ("missed-manager", 0)}
    assert fired == 4  # approaching, near-owner, missed, missed-manager


async def test_audit_verify_detects_a_tampered_history(
    wf_settings: ServiceSettings, clock: ManualClock, tap: Tap, keys: dict[str, str]
) -> None:
    import subprocess
    import sys

    from pymongo import AsyncMongoClient

    number = f"SZ-T-{uuid.uuid4().hex[:8]}"
    case_id = f"sz:{number}"
    async with running(create_app(wf_settings, clock=clock)) as (client, ctx):
        await tap.publish(_registration(number))
        await _opened(ctx, case_id)
        moved = await client.post(
            f"/cases/{case_id}/commands",
            json={"action": "register", "reason": "logged"},
            headers={"X-API-Key": keys["cs-sz"]},
        )
        assert moved.status_code == 200
        env = {
            "QLOOP_AMQP_URL": wf_settings.amqp_url,
            "QLOOP_MONGODB_URL": wf_settings.mongodb_url,
            "QLOOP_DATABASE": wf_settings.database,
            "PATH": "/usr/bin:/bin",
        }

        def qloop(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "services.cli", *args],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )

        intact = qloop("audit", "verify", "--site", "sz")
        assert intact.returncode == 0 and "0 broken" in intact.stdout
        shown = qloop("case", "history", case_id)
        assert shown.returncode == 0 and "chain: intact" in shown.stdout
        assert "because: logged" in shown.stdout
    # With the service stopped (so no write of its own races the edit), someone edits
    # the reason of entry 2 in the database.
    client_db = AsyncMongoClient(wf_settings.mongodb_url)
    await client_db[f"{wf_settings.database}_workflow"]["cases"].update_one(
        {"_id": case_id}, {"$set": {"history.1.reason": "covered up"}}
    )
    await client_db.close()
    caught = qloop("audit", "verify", "--site", "sz")
    assert caught.returncode == 1 and f"tampered: {case_id}: entry 2" in caught.stderr
    assert "BROKEN at entry 2" in qloop("case", "history", case_id).stdout


async def test_a_repeat_complaint_is_linked_and_reopens_the_closed_case(
    wf_settings: ServiceSettings, clock: ManualClock, tap: Tap
) -> None:
    """sz's rules: same customer and product within 12 months is a repeat, and the closed
    case reopens. The closed case is stored through the store's own closing path (which
    lists it in the recurrence index document the lookup reads)."""
    tag = uuid.uuid4().hex[:8]
    customer = {"id": f"C-{tag}", "name": "Acme Auto Parts"}
    first, second, third = (f"SZ-R{i}-{tag}" for i in (1, 2, 3))
    driver = Driver(
        load_rules(ROOT / "rules" / "abc-company.yaml"), T0, number=first, customer=customer
    )
    opened = driver.case.model_copy(deep=True)
    to_review(driver)
    review_to_close(driver)
    assert driver.case.closed_at is not None
    later = T0 + timedelta(days=60)
    clock.set(later)
    async with running(create_app(wf_settings, clock=clock)) as (_, ctx):
        store = ctx.state["cases"].store
        assert await store.open(opened, [])
        assert await store.save(driver.case, base=opened, events=[])

        await tap.publish(_registration(second, later, customer=customer))
        repeat = await _opened(ctx, f"sz:{second}")
        assert repeat["repeat"] is True and repeat["repeat_of"] == f"sz:{first}"
        # Its deadline records were placed while the earlier case was read, and are the
        # ones the repeat case itself needs.
        stored = await store.get(f"sz:{second}")
        assert stored is not None
        needed = ctx.state["cases"].schedule.planned(stored)
        assert needed
        last = max(d.fire_at for d in needed) + timedelta(hours=2)
        records = await store.deadlines_between(later - timedelta(hours=1), last)
        assert {d.id for d in records if d.case_id == stored.id} == {d.id for d in needed}
        # case.stage_changed, case.reopened (no events were stored with the closed case)
        reopened = [e for e in await tap.events(f"sz:{first}", 2) if e.type == "case.reopened"]
        assert len(reopened) == 1 and reopened[0].data.by_complaint_number == second
        old = await store.get(f"sz:{first}")
        assert old.stage == "investigate" and old.closed_at is None and old.reopen_count == 1
        assert old.repeats == [f"sz:{second}"]

        # The reopened case is still listed in the index, but is no longer closed.
        await tap.publish(_registration(third, later + timedelta(days=1), customer=customer))
        fresh = await _opened(ctx, f"sz:{third}")
        assert not fresh.get("repeat") and fresh.get("repeat_of") is None


async def test_a_case_stored_by_a_cancelled_handler_is_announced_on_redelivery(
    wf_settings: ServiceSettings, clock: ManualClock, tap: Tap
) -> None:
    # The broker connection closed while the handler ran: it was cancelled after the case
    # was inserted and before it kicked the relay (found by the broker-restart test: on
    # FerretDB no periodic pass reads the cases, so case.opened waited for a restart).
    from services.workflow.domain.opening import open_for_complaint
    from services.workflow.handlers import CaseService

    number = f"SZ-T-{uuid.uuid4().hex[:8]}"
    event = _registration(number)
    async with running(create_app(wf_settings, clock=clock)) as (_, ctx):
        service: CaseService = ctx.state["cases"]

        async def started() -> bool:  # the start-up pass over every collection is done
            return ctx.relay.idle and ctx.relay.full_passes >= 1

        await eventually(started)
        rules = service.rulebook.for_site("sz")
        decision = open_for_complaint(event.data, rules, clock.now(), earlier=[])
        facts = service.events_for(decision.case, decision.facts, str(event.id), str(event.id))
        assert await service.store.open(decision.case, facts)  # stored, nobody kicked
        await tap.publish(event)  # the unacknowledged delivery comes again
        opened = [e for e in await tap.events(f"sz:{number}", 1) if e.type == "case.opened"]
        assert [e.id for e in opened] == [facts[0].id]

        async def relayed() -> bool:  # every entry of the case, not only case.opened
            stored = await ctx.db["cases"].find_one({"_id": f"sz:{number}"})
            return stored is not None and stored["outbox_n"] == 0

        await eventually(relayed)
