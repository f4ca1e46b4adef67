"""Bulk import against the real database: file order numbering, idempotent re-runs,
bad rows reported with file and line and counted as rows, imported rows published by the
running intake service, their times treated as history."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from services.common.clock import SystemClock
from services.common.contracts.registry import new_event, parse_event, to_json
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.rulebook import Rulebook
from services.common.rules import load_rules
from services.common.settings import ServiceSettings
from services.common.storage.locks import DocumentLocks
from services.common.storage.mongo import ensure_indexes
from services.intake import store
from services.intake.app import create_app
from services.intake.cli import run_import
from services.intake.handlers import Intake
from services.intake.importer import import_file
from services.intake.metrics import intake_metrics
from services.workflow.app import create_app as create_workflow
from services.workflow.store import from_document
from tests.support.infra import Infra
from tests.support.services import running
from tests.support.surveys import site_rules
from tests.support.waiting import eventually
from tests.unit.workflow.builders import registered

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


async def test_import_registers_in_file_order_once(
    settings: ServiceSettings,
    mongo: AsyncMongoClient,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    db = mongo[f"{settings.database}_intake"]
    await ensure_indexes(db, store.INDEXES)
    intake = Intake(
        store=store.MongoComplaintStore(db, DocumentLocks()),
        rulebook=Rulebook.load(ROOT / "rules"),
        clock=SystemClock(),
        metrics=intake_metrics(CollectorRegistry()),
    )
    history = tmp_path / "history.csv"
    lines = (ROOT / "docs/examples/complaints.csv").read_text(encoding="utf-8").splitlines()
    bad_rows = [
        "HIST-9,email,not-a-time,C-1,X,,,,,broken,,",
        "HIST-10,pigeon,2026-01-09T10:30:00+08:00,C-1,X,,,,,two bad fields,-3,",
    ]
    history.write_text("\n".join([*lines, *bad_rows]) + "\n", encoding="utf-8")
    first = await import_file(intake, history, site="sz", source="legacy", progress=False)
    again = await import_file(intake, history, site="sz", source="legacy", progress=False)
    assert (first.registered, first.already_registered, first.refused) == (3, 0, 2)
    assert (again.registered, again.already_registered, again.refused) == (0, 3, 2)
    assert first.errors == [
        f"{history}:5: received_at: Input should be a valid datetime or "
        "date, invalid character in year",
        f"{history}:6: channel: Input should be 'letter', 'fax', 'mail', 'email', 'phone', "
        "'visit', 'online_form', 'returned_goods', 'claim' or 'other_system'",
        f"{history}:6: defect_quantity: Input should be greater than or equal to 0",
    ]
    documents = await db["complaints"].find({}, {"external_ref": 1, "sequence": 1}).to_list()
    by_ref = {d["external_ref"]: d["sequence"] for d in documents}
    assert by_ref == {"HIST-0001": 1, "HIST-0002": 2, "HIST-0003": 3}
    claims = await db["number_claims"].find({}, {"seq": 1, "done": 1}).to_list()
    assert sorted((c["seq"], c["done"]) for c in claims) == [(1, True), (2, True), (3, True)]
    # A row twice in one file, and rows registered before beside new ones.
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("\n".join([*lines, lines[1].replace("HIST-0001", "HIST-0004"), lines[1]]))
    mixed = await import_file(intake, repeated, site="sz", source="legacy", progress=False)
    assert (mixed.registered, mixed.already_registered, mixed.refused) == (1, 4, 0)
    newest = await db["complaints"].find_one({"external_ref": "HIST-0004"})
    assert newest is not None and newest["sequence"] == 4


async def test_rows_imported_beside_the_running_service_are_published_at_once(
    settings: ServiceSettings, infra: Infra, tmp_path: Path, test_id: str
) -> None:
    # On FerretDB the relay passes over the complaints only at start, and on MongoDB every
    # minute: the import's marks must bring its rows out by `_id`, within seconds.
    intake_settings = settings.model_copy(update={"rules_dir": ROOT / "rules"})
    source = f"legacy-{test_id}"  # tells this test's events from other tests' at site sz
    history = _example_history(tmp_path)
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection, running(create_app(intake_settings)) as (_, ctx):
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key="sz.complaint.registered")
        await eventually(lambda: _true(ctx.relay.idle and ctx.relay.full_passes >= 1))
        report = await run_import(intake_settings, history, site="sz", source=source)
        assert (report.registered, report.refused) == (3, 0)
        found: list[Any] = []
        published = _collector(queue, source, found)

        await eventually(published, timeout=30)
        await eventually(lambda: _true(ctx.relay.idle))
        assert ctx.metrics.outbox_pending._value.get() == 0
    assert sorted(e.external_ref for e in found) == ["HIST-0001", "HIST-0002", "HIST-0003"]
    assert all(e.imported and e.registration_on_time for e in found)


async def test_rows_imported_while_intake_is_stopped_are_published_when_it_starts(
    settings: ServiceSettings, infra: Infra, tmp_path: Path, test_id: str
) -> None:
    """No service runs during the import; the registrations wait in the database with their
    marks, and the service publishes them within seconds of its start, once each."""
    intake_settings = settings.model_copy(update={"rules_dir": ROOT / "rules"})
    source = f"offline-{test_id}"
    history = _example_history(tmp_path)
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key="sz.complaint.registered")
        report = await run_import(intake_settings, history, site="sz", source=source)
        assert (report.registered, report.refused) == (3, 0)
        found: list[Any] = []
        published = _collector(queue, source, found)

        assert not await published()  # nothing is published while no service runs
        async with running(create_app(intake_settings)) as (_, ctx):
            await eventually(published, timeout=30)
            await eventually(lambda: _true(ctx.relay.idle))
            assert ctx.metrics.outbox_pending._value.get() == 0
        await asyncio.sleep(0.5)
        await published()
    assert sorted(e.external_ref for e in found) == ["HIST-0001", "HIST-0002", "HIST-0003"]


def _example_history(tmp_path: Path) -> Path:
    """docs/examples/complaints.csv, three rows, as a file of the test's own."""
    history = tmp_path / "history.csv"
    history.write_text(
        (ROOT / "docs/examples/complaints.csv").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return history


def _collector(queue: Any, source: str, found: list[Any]) -> Callable[[], Awaitable[bool]]:
    """A probe that takes the registrations of `source` off `queue` into `found`: true once
    the three example rows are there."""

    async def published() -> bool:
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            event = parse_event(message.body)
            if event.data.source == source:
                found.append(event.data)
        return len(found) >= 3

    return published


async def _true(value: bool) -> bool:
    return value


async def test_imported_history_opens_cases_with_the_past_recorded_not_announced(
    settings: ServiceSettings, infra: Infra, tmp_path: Path, site: str
) -> None:
    # The example rows were received in January 2026: every due time of their first stage
    # and its escalations is over. Their cases open with due times from the receipt, the
    # past in their history, and no alarm; a live complaint received as long ago (the
    # control) fires its missed deadline and escalation at once.
    rules_dir = site_rules(tmp_path, "abc-company", site)  # no other test's cases
    service_settings = settings.model_copy(update={"rules_dir": rules_dir})
    history = _example_history(tmp_path)
    control_number = "SZ-CONTROL-1"
    control = registered(
        load_rules(rules_dir / "abc-company.yaml"),
        datetime(2026, 1, 5, 1, 10, tzinfo=UTC),
        number=control_number,
    )
    connection = await aio_pika.connect(infra.amqp_url)
    async with (
        connection,
        running(create_app(service_settings)) as (_, intake_ctx),
        running(create_workflow(service_settings)) as (_, workflow_ctx),
    ):
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key=f"{site}.case.*")
        await eventually(lambda: _true(intake_ctx.relay.full_passes >= 1))
        report = await run_import(service_settings, history, site=site, source="legacy")
        assert report.registered == 3
        cases = workflow_ctx.db["cases"]

        async def opened() -> list[dict[str, Any]]:
            found = await cases.find({}).to_list()
            return found if len(found) == 3 else []

        imported = await eventually(opened, timeout=30)
        message = aio_pika.Message(
            to_json(new_event(control, site=site, source="/qloop/intake", time=_now())),
            content_type="application/json",
        )
        await channel.default_exchange.publish(
            message, routing_key=f"{settings.queue_prefix}workflow.complaints"
        )
        seen: list[Any] = []

        async def control_alarmed() -> bool:
            while (got := await queue.get(no_ack=True, fail=False)) is not None:
                seen.append(parse_event(got.body))
            alarms = {e.type for e in seen if e.subject == f"{site}:{control_number}"}
            return {"case.deadline_missed", "case.escalated"} <= alarms

        await eventually(control_alarmed, timeout=30)
        imported_ids = {c["_id"] for c in imported}
        fired = await workflow_ctx.db["fired"].find({}, {"case_id": 1}).to_list()
        assert imported_ids.isdisjoint(f["case_id"] for f in fired)
    alarms = {"case.deadline_missed", "case.escalated", "case.deadline_approaching"}
    assert not [e for e in seen if e.subject in imported_ids and e.type in alarms]
    for case in map(from_document, imported):
        received = case.event_times["received"]
        assert case.event_times["registered"] == received  # history: from the receipt
        assert case.visits[0].entered_at == received
        assert case.due is not None and case.due < case.opened_at
        past = [h for h in case.history if h.what == "over_before_import"]
        kinds = {(o["kind"], o["rule"]) for o in past[0].changes["over"]}
        assert ("missed", None) in kinds and ("escalation", "missed-manager") in kinds


def _now() -> datetime:
    return datetime.now(UTC)


async def test_rows_with_their_outcome_open_closed_cases_counted_closed_at_their_date(
    settings: ServiceSettings, infra: Infra, tmp_path: Path, site: str
) -> None:
    rules_dir = site_rules(tmp_path, "abc-company", site)  # history_import: closed_stage closed
    service_settings = settings.model_copy(update={"rules_dir": rules_dir})
    example = (ROOT / "docs/examples/complaints.csv").read_text(encoding="utf-8").splitlines()
    rows = [f"{example[0]},outcome,closed_at"]
    rows += [f"{example[1]},credit_note,2026-01-20", f"{example[2]},,"]
    rows += [f"{example[3]},won,2026-01-20T10:00:00"]
    history = tmp_path / "history.csv"
    history.write_text("\n".join(rows) + "\n", encoding="utf-8")
    connection = await aio_pika.connect(infra.amqp_url)
    async with (
        connection,
        running(create_app(service_settings)) as (_, intake_ctx),
        running(create_workflow(service_settings)) as (_, workflow_ctx),
    ):
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key=f"{site}.#")
        await eventually(lambda: _true(intake_ctx.relay.full_passes >= 1))
        report = await run_import(service_settings, history, site=site, source="legacy")
        assert (report.registered, report.refused) == (2, 1)
        assert report.errors == [
            f"{history}:4: outcome: unknown outcome 'won' "
            "(known: corrected, explanation, credit_note, replacement)"
        ]
        seen: list[Any] = []

        async def closed_announced() -> bool:
            while (got := await queue.get(no_ack=True, fail=False)) is not None:
                seen.append(parse_event(got.body))
            return any(e.type == "case.closed" for e in seen)

        await eventually(closed_announced, timeout=30)
        cases = await workflow_ctx.db["cases"].find({}).to_list()
        assert len(cases) == 2
        fired = await workflow_ctx.db["fired"].find({}, {"case_id": 1}).to_list()
    closed_at = datetime(2026, 1, 20, 15, 59, 59, 999000, tzinfo=UTC)  # the end of that day
    registered_facts = {e.data.external_ref: e.data for e in seen if e.type.endswith("registered")}
    assert registered_facts["HIST-0001"].closed_outcome == "credit_note"
    assert registered_facts["HIST-0001"].closed_at == closed_at
    assert registered_facts["HIST-0002"].closed_at is None
    by_state = {c["terminal"]: from_document(c) for c in cases}
    done, still_open = by_state[True], by_state[False]
    assert (done.stage, done.outcome, done.closed_at) == ("closed", "credit_note", closed_at)
    assert done.on_time is None and still_open.stage == "register"
    about_done = [e for e in seen if e.subject == done.id]
    assert {e.type for e in about_done} == {"case.opened", "case.closed"}  # no alarm, no clock
    [closing] = [e.data for e in about_done if e.type == "case.closed"]
    assert closing.closed_at == closed_at and closing.outcome == "credit_note"
    assert done.id not in {f["case_id"] for f in fired}
