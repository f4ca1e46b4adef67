"""From an external-style publisher (plain aio-pika, docs/examples) to a stored
registration and its complaint.registered event, with intake running as a process."""

from __future__ import annotations

import importlib.util
import json
import urllib.request
from pathlib import Path

import aio_pika
import pytest

from services.common.contracts.registry import parse_event
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.settings import ServiceSettings
from tests.support.keys import write_key_file
from tests.support.processes import ROOT, service_process
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


def _example() -> object:
    spec = importlib.util.spec_from_file_location(
        "publish_complaint", ROOT / "docs" / "examples" / "publish_complaint.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_external_publisher_to_registration_and_event(
    settings: ServiceSettings, tmp_path: Path
) -> None:
    keys = write_key_file(tmp_path / "keys.yaml", {"hq": (["*"], ["read"])})
    env = {
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
        "QLOOP_DATABASE": settings.database,
        "QLOOP_QUEUE_PREFIX": settings.queue_prefix,
        "QLOOP_API_KEYS_FILE": str(tmp_path / "keys.yaml"),
        "QLOOP_RULES_DIR": str(ROOT / "rules"),
    }
    example = _example()
    complaint = example.example_complaint("sz")  # type: ignore[attr-defined]
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        answers = await channel.declare_queue(exclusive=True)
        await answers.bind(EVENTS_EXCHANGE, routing_key="sz.complaint.registered")
        with service_process("intake", env, tmp_path / "intake.log") as port:
            await example.publish_complaint(  # type: ignore[attr-defined]
                settings.amqp_url, complaint, source="/erp/e2e"
            )
            registered = []

            async def answered() -> bool:
                while (message := await answers.get(no_ack=True, fail=False)) is not None:
                    event = parse_event(message.body)
                    if event.data.complaint.external_ref == complaint["external_ref"]:  # type: ignore[attr-defined]
                        registered.append(event)
                return bool(registered)

            await eventually(answered, timeout=20)
            number = registered[0].data.number  # type: ignore[attr-defined]
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/complaints/{number}", headers={"X-API-Key": keys["hq"]}
            )
            with urllib.request.urlopen(request, timeout=5) as reply:
                stored = json.loads(reply.read())
    assert stored["source"] == "/erp/e2e"
    assert stored["external_ref"] == complaint["external_ref"]
    assert stored["classification"]["owner_department"]
    log = (tmp_path / "intake.log").read_text()
    assert "li.lei@acme.example" not in log and "Li Lei" not in log
