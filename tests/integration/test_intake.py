"""Intake on the real broker and database: HTTP and event paths, duplicates, gap-free
numbers under concurrency, bad inputs, recovery of an interrupted registration."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.complaints import ComplaintSubmitted
from services.common.contracts.registry import new_event, parse_event, to_json
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.runtime import ServiceContext
from services.common.settings import ServiceSettings
from services.intake.app import create_app
from services.intake.handlers import Intake
from tests.support.complaints import complaint
from tests.support.infra import Infra
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    return write_key_file(
        tmp_path / "keys.yaml",
        {
            "crm": (["sz", "nb"], ["submit", "read"]),
            "reader-nb": (["nb"], ["read"]),
            "hq": (["*"], ["read"]),
        },
    )


@pytest.fixture
def intake_settings(
    settings: ServiceSettings, tmp_path: Path, keys: dict[str, str]
) -> ServiceSettings:
    return settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": ROOT / "rules"}
    )


@pytest.fixture
async def intake(
    intake_settings: ServiceSettings,
) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceContext]]:
    async with running(create_app(intake_settings)) as service:
        yield service


async def _registered_events(infra: Infra, site: str) -> tuple[Any, Any]:
    connection = await aio_pika.connect(infra.amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(EVENTS_EXCHANGE, routing_key=f"{site}.complaint.*")
    return connection, queue


async def _drain(queue: Any, want: int) -> list[Any]:
    found: list[Any] = []

    async def probe() -> bool:
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            found.append(parse_event(message.body))
        return len(found) >= want

    await eventually(probe)
    return found


async def test_http_submission_is_registered_classified_and_announced(
    intake: tuple[httpx.AsyncClient, ServiceContext], keys: dict[str, str], infra: Infra
) -> None:
    client, _ = intake
    connection, queue = await _registered_events(infra, "sz")
    async with connection:
        body = complaint(description="客户投诉：外壳断裂 cracked housing, 要求索赔")
        reply = await client.post("/complaints", json=body, headers={"X-API-Key": keys["crm"]})
        assert reply.status_code == 201, reply.text
        registration = reply.json()
        year = datetime.now(UTC).astimezone().year
        assert registration["number"].startswith(f"SZ-{year}-")
        assert registration["classification"]["kind"] == "claim"
        assert registration["classification"]["category"] == "a"
        assert registration["classification"]["matched_rule"]
        assert registration["rules_version"].startswith("2025.3+sha256:")
        assert registration["registration_on_time"] is True
        assert "acknowledge" in registration["deadlines"]
        events = [e for e in await _drain(queue, 1) if e.type == "complaint.registered"]
    assert events[0].subject == registration["number"]
    assert events[0].data.complaint.external_ref == body["external_ref"]
    fetched = await client.get(
        f"/complaints/{registration['number']}", headers={"X-API-Key": keys["hq"]}
    )
    assert fetched.status_code == 200 and fetched.json()["number"] == registration["number"]


async def test_resubmission_returns_the_existing_registration(
    intake: tuple[httpx.AsyncClient, ServiceContext], keys: dict[str, str]
) -> None:
    client, ctx = intake
    headers = {"X-API-Key": keys["crm"]}
    body = complaint()
    first = await client.post("/complaints", json=body, headers=headers)
    again = await client.post("/complaints", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["number"] == first.json()["number"]
    keyed = complaint(external_ref=None)
    with_key = {**headers, "Idempotency-Key": "form-42"}
    one = await client.post("/complaints", json=keyed, headers=with_key)
    two = await client.post("/complaints", json=keyed, headers=with_key)
    assert one.json()["number"] == two.json()["number"]
    assert await ctx.db["complaints"].count_documents({}) == 2


async def test_fifty_concurrent_submissions_get_fifty_gap_free_numbers(
    intake: tuple[httpx.AsyncClient, ServiceContext], keys: dict[str, str]
) -> None:
    client, _ = intake
    headers = {"X-API-Key": keys["crm"]}
    bodies = [complaint() for _ in range(50)]
    bodies += bodies[:10]  # concurrent duplicates must not take numbers
    replies = await asyncio.gather(
        *(client.post("/complaints", json=b, headers=headers) for b in bodies)
    )
    assert all(r.status_code in (200, 201) for r in replies), [r.text for r in replies]
    numbers = {r.json()["number"] for r in replies}
    sequences = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert sequences == list(range(1, 51))


async def test_bad_submissions_get_field_paths_and_are_announced_as_rejected(
    intake: tuple[httpx.AsyncClient, ServiceContext], keys: dict[str, str], infra: Infra
) -> None:
    client, ctx = intake
    headers = {"X-API-Key": keys["crm"]}
    bad = complaint(received_at="2026-11-01T10:00:00", defect_ratio=1.5)
    del bad["customer"]["name"]
    reply = await client.post("/complaints", json=bad, headers=headers)
    assert reply.status_code == 422
    fields = {e["field"]: e["message"] for e in reply.json()["errors"]}
    assert set(fields) == {"customer.name", "received_at", "defect_ratio"}
    assert "timezone" in fields["received_at"]
    unknown = await client.post(
        "/complaints", json=complaint(site="zz"), headers={"X-API-Key": new_key_for(keys, "crm")}
    )
    assert unknown.status_code == 403  # zz is not in the key's scope
    assert (await client.post("/complaints", json=complaint())).status_code == 401
    reader = await client.post(
        "/complaints", json=complaint(site="nb"), headers={"X-API-Key": keys["reader-nb"]}
    )
    assert reader.status_code == 403
    rejected = await eventually(lambda: ctx.db["rejections"].find_one({"outbox_n": 0}))
    assert rejected["reason"] == "invalid" and rejected["site"] == "sz"


def new_key_for(keys: dict[str, str], name: str) -> str:
    return keys[name]


async def test_unknown_site_in_scope_is_a_clear_422(
    intake_settings: ServiceSettings, tmp_path: Path
) -> None:
    keys = write_key_file(tmp_path / "all.yaml", {"hq": (["*"], ["submit"])})
    settings = intake_settings.model_copy(update={"api_keys_file": tmp_path / "all.yaml"})
    async with running(create_app(settings)) as (client, _):
        reply = await client.post(
            "/complaints", json=complaint(site="zz"), headers={"X-API-Key": keys["hq"]}
        )
    assert reply.status_code == 422
    assert "unknown site 'zz'" in json.dumps(reply.json())


async def test_submitted_events_are_registered_once_and_bad_ones_dead_lettered(
    intake: tuple[httpx.AsyncClient, ServiceContext],
    infra: Infra,
    intake_settings: ServiceSettings,
) -> None:
    _, ctx = intake
    submission = ComplaintSubmission.model_validate(complaint(site="nb", channel="other_system"))
    event = new_event(
        ComplaintSubmitted(complaint=submission),
        site="nb",
        source="/erp/nb",
        time=datetime.now(UTC),
    )
    wrong_site = new_event(
        ComplaintSubmitted(
            complaint=submission.model_copy(update={"site": "zz", "external_ref": "X-1"})
        ),
        site="zz",
        source="/erp",
        time=datetime.now(UTC),
    )
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for envelope in (event, event, wrong_site):
            await exchange.publish(
                aio_pika.Message(to_json(envelope), message_id=str(envelope.id)),
                routing_key=envelope.routing_key,
            )
        await exchange.publish(
            aio_pika.Message(b'{"type": "complaint.submitted"}', message_id="broken"),
            routing_key="nb.complaint.submitted",
        )
        dead_queue = await channel.get_queue(
            f"{intake_settings.queue_prefix}intake.submissions.dead"
        )
        dead: dict[str, Any] = {}

        async def dead_lettered() -> bool:
            while (message := await dead_queue.get(no_ack=True, fail=False)) is not None:
                dead[message.message_id] = message.headers
            return len(dead) >= 2

        await eventually(dead_lettered)
    stored = await eventually(
        lambda: ctx.db["complaints"].find_one(
            {"external_ref": submission.external_ref, "status": "registered"}
        )
    )
    assert stored["source"] == "/erp/nb" and stored["number"].startswith("NB-")
    assert await ctx.db["complaints"].count_documents({}) == 1
    assert dead["broken"]["x-qloop-error"] == "invalid"
    assert dead[str(wrong_site.id)]["x-qloop-error"] == "rejected"
    assert "unknown site 'zz'" in dead[str(wrong_site.id)]["x-qloop-reason"]


async def test_a_registration_interrupted_after_claiming_its_number_is_finished(
    intake: tuple[httpx.AsyncClient, ServiceContext], keys: dict[str, str]
) -> None:
    client, ctx = intake
    intake_uc: Intake = ctx.state["intake"]
    first = await client.post("/complaints", json=complaint(), headers={"X-API-Key": keys["crm"]})
    # Simulate a crash between claiming a number and storing the registration.
    submission = ComplaintSubmission.model_validate(complaint())
    key = f"sz|{uuid.uuid4()}"
    accepted, _ = await intake_uc.store.accept(
        key, submission, source="crashed", now=ctx.clock.now() - timedelta(minutes=5)
    )
    from services.intake import domain

    series = domain.number_series(
        intake_uc.rulebook.for_site("sz"), accepted.document["accepted_at"]
    )
    seq = await intake_uc.store.claim_number(
        series, key, now=ctx.clock.now() - timedelta(minutes=5)
    )
    assert await intake_uc.recover() == 1
    finished = await intake_uc.store.get(key)
    assert finished is not None and finished.document["sequence"] == seq
    later = await client.post("/complaints", json=complaint(), headers={"X-API-Key": keys["crm"]})
    numbers = [first.json()["number"], finished.number, later.json()["number"]]
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == [1, 2, 3]


async def test_a_registration_that_failed_in_this_process_is_finished_by_id(
    intake: tuple[httpx.AsyncClient, ServiceContext], keys: dict[str, str]
) -> None:
    # The database fails between the number's claim and the registration; the process
    # goes on. On FerretDB recovery no longer scans while the process runs: it finishes
    # what this process saw fail, by `_id`, with the number already claimed.
    client, ctx = intake
    intake_uc: Intake = ctx.state["intake"]
    store: Any = intake_uc.store
    complete, failures = store.complete, []

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(args[0])
            raise ConnectionError("database gone mid-registration")
        return await complete(*args, **kwargs)

    store.complete = failing_once
    try:
        with pytest.raises(ConnectionError):
            await intake_uc.submit(
                ComplaintSubmission.model_validate(complaint()), source="/crm", reference="r-1"
            )
    finally:
        store.complete = complete
    [key] = failures
    assert intake_uc.interrupted == {key}
    stuck = await intake_uc.store.get(key)
    assert stuck is not None and stuck.number is None
    assert await intake_uc.recover_known() == 1
    assert intake_uc.interrupted == set()
    finished = await intake_uc.store.get(key)
    assert finished is not None and finished.number is not None
    claims = await ctx.db["number_claims"].find({"key": key}).to_list()
    assert [c["seq"] for c in claims] == [finished.document["sequence"]]  # one number
    assert await intake_uc.recover_known() == 0
    later = await client.post("/complaints", json=complaint(), headers={"X-API-Key": keys["crm"]})
    numbers = [finished.number, later.json()["number"]]
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == [1, 2]  # no gap


async def test_a_handed_back_number_is_taken_by_the_next_complaint(
    intake: tuple[httpx.AsyncClient, ServiceContext],
) -> None:
    _, ctx = intake
    intake_uc: Intake = ctx.state["intake"]
    from services.intake import domain

    series = domain.number_series(intake_uc.rulebook.for_site("sz"), ctx.clock.now())
    now = ctx.clock.now()
    first = await intake_uc.store.claim_number(series, "sz|a", now=now)
    assert await intake_uc.store.claim_number(series, "sz|a", now=now) == first  # held
    await intake_uc.store.return_number(series, first, "sz|a")  # a duplicate won the race
    assert await intake_uc.store.claim_number(series, "sz|b", now=now) == first
    assert await intake_uc.store.claim_number(series, "sz|c", now=now) == first + 1
