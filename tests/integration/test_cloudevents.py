"""qloop's events as the official CloudEvents SDK reads and writes them, on the real broker:
qloop publishes structured mode (`application/cloudevents+json`, no null attributes) and
consumes both structured and binary mode (attributes as `ce_` headers)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import jsonschema
import pytest
from cloudevents.core.bindings import amqp, rabbitmq
from cloudevents.core.v1.event import CloudEvent

from services.common.http import MAX_BODY_BYTES
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.settings import ServiceSettings
from services.intake.app import create_app as intake_app
from services.reporting.app import create_app as reporting_app
from tests.support.complaints import complaint
from tests.support.infra import Infra
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "events"


def _sdk_ping(site: str, note: str) -> CloudEvent:
    return CloudEvent(
        {
            "type": "diagnostic.ping",
            "source": "/tests/sdk",
            "id": str(uuid.uuid4()),
            "time": datetime.now(UTC),
            "datacontenttype": "application/json",
            "dataschema": "urn:qloop:event:diagnostic.ping:1",
            "site": site,
            "correlationid": "sdk-test",
        },
        {"note": note, "origin": "sdk"},
    )


async def _publish(infra: Infra, message: aio_pika.Message, routing_key: str) -> None:
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        await exchange.publish(message, routing_key=routing_key)


def _message(event: CloudEvent, mode: str) -> aio_pika.Message:
    """The event as the SDK's RabbitMQ binding (`ce-` headers) or AMQP binding
    (`cloudEvents_` properties) writes it, or with the `ce_` headers many clients use."""
    if mode == "structured":
        written = rabbitmq.to_structured_event(event)
        return aio_pika.Message(written.body, content_type=written.content_type)
    if mode == "binary-amqp":
        amqp_message = amqp.to_binary_event(event)
        properties = amqp_message.application_properties
        return aio_pika.Message(
            amqp_message.application_data,
            headers=dict(properties),
            content_type=amqp_message.properties.get("content-type"),
        )
    written = rabbitmq.to_binary_event(event)
    headers: dict[str, Any] = dict(written.headers)
    if mode == "binary-underscore":
        headers = {name.replace("ce-", "ce_", 1): value for name, value in headers.items()}
    return aio_pika.Message(written.body, headers=headers, content_type=written.content_type)


@pytest.mark.parametrize("mode", ["structured", "binary", "binary-underscore", "binary-amqp"])
async def test_an_event_written_by_the_sdk_is_consumed_in_either_mode(
    settings: ServiceSettings, site: str, infra: Infra, mode: str
) -> None:
    event = _sdk_ping(site, f"sdk {mode}")
    message = _message(event, mode)
    async with running(reporting_app(settings)) as (reporting, ctx):
        await _publish(infra, message, f"{site}.diagnostic.ping")

        async def received() -> bool:
            reply = await reporting.get(f"/diagnostics/pings/{event.get_id()}")
            return bool(reply.json()["received"])

        await eventually(received)
        stored = await ctx.db["diagnostic_pings"].find({"_id": event.get_id()}).to_list()
    assert [(d["note"], d["site"], d["origin"]) for d in stored] == [(f"sdk {mode}", site, "sdk")]


async def test_qloop_publishes_structured_cloudevents_the_sdk_reads_and_the_schema_accepts(
    settings: ServiceSettings, site: str, infra: Infra
) -> None:
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        listener = await channel.declare_queue(exclusive=True)
        await listener.bind(exchange, routing_key=f"{site}.#")
        async with running(intake_app(settings)) as (intake, _):
            response = await intake.post("/diagnostics/ping", params={"site": site})
            assert response.status_code == 202
            found: list[aio_pika.abc.AbstractIncomingMessage] = []

            async def published() -> bool:
                while (message := await listener.get(no_ack=True, fail=False)) is not None:
                    found.append(message)
                return bool(found)

            await eventually(published)
    message = found[0]
    assert message.content_type == "application/cloudevents+json"
    document = json.loads(message.body)
    assert None not in document.values()  # e.g. no "subject": null
    event = rabbitmq.from_rabbitmq_event(
        rabbitmq.RabbitMQMessage(
            headers=dict(message.headers or {}),
            content_type=message.content_type,
            body=message.body,
        )
    )
    assert event.get_type() == "diagnostic.ping"
    assert event.get_extension("site") == site
    data = event.get_data()
    assert isinstance(data, dict) and data["origin"] == "intake"
    schema = json.loads((SCHEMAS / f"{event.get_type()}.v1.json").read_text())
    jsonschema.validate(document, schema)


def _sdk_submission(site: str, correlation: str) -> CloudEvent:
    body = complaint(site=site, external_ref=f"ERP-{uuid.uuid4().hex[:12]}")
    return CloudEvent(
        {
            "type": "complaint.submitted",
            "source": "/tests/erp",
            "datacontenttype": "application/json",
            "dataschema": "urn:qloop:event:complaint.submitted:1",
            "site": site,
            "correlationid": correlation,
        },
        {"complaint": body},
    )


async def test_submissions_from_the_sdk_are_answered_with_events_the_sdk_and_schemas_accept(
    settings: ServiceSettings, infra: Infra, tmp_path: Path
) -> None:
    """An ERP publishes one submission in binary mode and one for an unknown site in
    structured mode; intake's answers (complaint.registered, complaint.rejected) read as
    CloudEvents and match their published JSON Schemas."""
    write_key_file(tmp_path / "keys.yaml", {"crm": (["sz"], ["submit", "read"])})
    intake_settings = settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": ROOT / "rules"}
    )
    correlation = f"erp-{uuid.uuid4().hex}"
    good, unknown = _sdk_submission("sz", correlation), _sdk_submission("nosuchsite", correlation)
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        listener = await channel.declare_queue(exclusive=True)
        for pattern in ("*.complaint.registered", "*.complaint.rejected"):
            await listener.bind(EVENTS_EXCHANGE, routing_key=pattern)
        async with running(intake_app(intake_settings)):
            await _publish(infra, _message(good, "binary-underscore"), "sz.complaint.submitted")
            await _publish(infra, _message(unknown, "structured"), "nosuchsite.complaint.submitted")
            answers: list[aio_pika.abc.AbstractIncomingMessage] = []

            async def answered() -> bool:
                while (message := await listener.get(no_ack=True, fail=False)) is not None:
                    if json.loads(message.body).get("correlationid") == correlation:
                        answers.append(message)
                return len(answers) >= 2

            await eventually(answered)
    types = set()
    for message in answers:
        assert message.content_type == "application/cloudevents+json"
        document = json.loads(message.body)
        assert None not in document.values()
        event = rabbitmq.from_rabbitmq_event(
            rabbitmq.RabbitMQMessage(
                headers={}, content_type=message.content_type, body=message.body
            )
        )
        schema = json.loads((SCHEMAS / f"{event.get_type()}.v1.json").read_text())
        jsonschema.validate(document, schema)
        types.add(event.get_type())
    assert types == {"complaint.registered", "complaint.rejected"}


async def test_a_bad_submission_is_dead_lettered_by_intake_only(
    settings: ServiceSettings, site: str, infra: Infra
) -> None:
    """Reporting binds `*.complaint.*` but leaves submissions to intake: a schema-invalid
    one lands once, in intake's dead letters, and not in reporting's."""
    bad = _sdk_submission(site, f"bad-{uuid.uuid4().hex}")
    data = bad.get_data()
    assert isinstance(data, dict)
    data["complaint"]["channel"] = "carrier pigeon"
    ping = _sdk_ping(site, "after the bad submission")
    async with (
        running(reporting_app(settings)) as (reporting, reporting_ctx),
        running(intake_app(settings)) as (_, intake_ctx),
    ):
        await _publish(infra, _message(bad, "structured"), f"{site}.complaint.submitted")
        await _publish(infra, _message(ping, "structured"), f"{site}.diagnostic.ping")

        async def ping_seen() -> bool:
            reply = await reporting.get(f"/diagnostics/pings/{ping.get_id()}")
            return bool(reply.json()["received"])

        await eventually(ping_seen)
        intake_dead = intake_ctx.metrics.events_dead_lettered.labels(
            f"{settings.queue_prefix}intake.submissions", "invalid"
        )

        async def intake_refused() -> bool:
            return intake_dead._value.get() >= 1

        await eventually(intake_refused)
        reporting_dead = reporting_ctx.metrics.events_dead_lettered.labels(
            f"{settings.queue_prefix}reporting.events", "invalid"
        )
        assert reporting_dead._value.get() == 0
        assert intake_dead._value.get() == 1


async def test_an_event_larger_than_the_http_limit_is_refused_with_the_reason(
    settings: ServiceSettings, site: str, infra: Infra
) -> None:
    """The broker takes no larger message than HTTP does (1 MiB)."""
    big = _sdk_submission(site, f"big-{uuid.uuid4().hex}")
    data = big.get_data()
    assert isinstance(data, dict)
    data["complaint"]["description"] = "x" * (MAX_BODY_BYTES + 1)
    async with running(intake_app(settings)) as (_, ctx):
        await _publish(infra, _message(big, "structured"), f"{site}.complaint.submitted")
        queue = f"{settings.queue_prefix}intake.submissions"
        connection = await aio_pika.connect(infra.amqp_url)
        async with connection:
            channel = await connection.channel()
            dead = await channel.get_queue(f"{queue}.dead")
            found: list[aio_pika.abc.AbstractIncomingMessage] = []

            async def dead_lettered() -> bool:
                while (message := await dead.get(no_ack=True, fail=False)) is not None:
                    found.append(message)
                return bool(found)

            await eventually(dead_lettered)
        assert await ctx.db["complaints"].count_documents({}) == 0
    headers = found[0].headers or {}
    assert headers["x-qloop-error"] == "invalid"
    assert "larger than the limit of 1048576 bytes" in str(headers["x-qloop-reason"])
