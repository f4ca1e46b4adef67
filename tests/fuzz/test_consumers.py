"""Every consumer queue of every service, sent bad messages straight from the default
exchange: the service stays up, each bad message ends in `<queue>.dead` with its reason,
the dead-letter count equals the bad messages sent, and a replayed event has one effect."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from prometheus_client import Counter

from services.common.contracts.registry import to_json
from services.common.deadletters import management_url_from
from services.common.messaging.topology import EVENTS_EXCHANGE
from tests.fuzz import messages
from tests.fuzz.messages import FASTSTREAM_CHOKES_ON
from tests.fuzz.services import Service, Start
from tests.support.infra import Infra
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

GENERATED = 15  # per queue, in CI
BUDGETS = [
    pytest.param(GENERATED, id="ci"),
    pytest.param(500, id="long", marks=[pytest.mark.slow, pytest.mark.timeout(1200)]),
]
# Each service's consumer queues; the first is where its domain events arrive.
QUEUES = {
    "intake": ("intake.submissions", "intake.events"),
    "workflow": (
        "workflow.complaints",
        "workflow.events",
        "workflow.survey_actions",
        "workflow.survey_results",
        "workflow.commands",
    ),
    "survey": ("survey.activity", "survey.events"),
    "reporting": ("reporting.events",),
}
DOMAIN_EVENT: dict[str, Callable[[str], Any]] = {
    "intake": messages.submitted,
    "workflow": messages.registered,
    "survey": messages.delivered,
    "reporting": messages.registered,
}
# Reporting keeps the facts of a site that has no rule file (reported in UTC, without
# bands) rather than losing them; every other service refuses them.
KEEPS_UNKNOWN_SITES = {"reporting"}


@dataclass
class Sent:
    bad: dict[str, dict[str, bytes]] = field(default_factory=dict)  # queue -> id -> body
    # queue -> event type -> (stored, duplicates) expected
    valid: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)


def generated(strategy: st.SearchStrategy[bytes], count: int) -> list[bytes]:
    """`count` bodies drawn by Hypothesis (used here as a generator, not a test runner)."""
    found: list[bytes] = []

    @hypothesis_settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(body: bytes) -> None:
        found.append(body)

    collect()
    return found


async def publish(
    channel: aio_pika.abc.AbstractChannel,
    queue: str,
    body: bytes,
    mid: str,
    content_type: str | None = None,
) -> None:
    message = aio_pika.Message(
        body,
        message_id=mid,
        content_type=content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    await channel.default_exchange.publish(message, routing_key=queue)


def total(counter: Counter, queue: str, **labels: str) -> float:
    return sum(
        sample.value
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
        and sample.labels.get("queue") == queue
        and all(sample.labels.get(k) == v for k, v in labels.items())
    )


async def drain(infra: Infra, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    found = []
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        dead = await channel.get_queue(f"{queue}.dead")
        while (message := await dead.get(no_ack=True, fail=False)) is not None:
            found.append(message)
    return found


def bindings(infra: Infra, queue: str) -> list[str]:
    """The routing keys binding `queue` to the events exchange (management API)."""
    parts = urllib.parse.urlsplit(management_url_from(infra.amqp_url))
    path = f"/api/queues/%2F/{urllib.parse.quote(queue, safe='')}/bindings"
    request = urllib.request.Request(f"{parts.scheme}://{parts.hostname}:{parts.port}{path}")
    token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as reply:
        found = json.loads(reply.read())
    return [b["routing_key"] for b in found if b["source"] == EVENTS_EXCHANGE]


async def isolate(infra: Infra, service: Service) -> None:
    """Unbind the service's queues from the events exchange and empty them: only what the
    test sends straight to a queue arrives (other tests on the same broker publish events
    that every `*.<type>` binding would route here too)."""
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        for base in QUEUES[service.name]:
            name = service.ctx.settings.queue_prefix + base
            queue = await channel.get_queue(name)
            for key in await asyncio.to_thread(bindings, infra, name):
                await queue.unbind(EVENTS_EXCHANGE, key)
            await queue.purge()


async def send_everything(infra: Infra, service: Service, generated_count: int) -> Sent:
    sent = Sent()
    prefix = service.ctx.settings.queue_prefix
    site, unknown = service.site, f"{service.site}-unknown"
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for position, base in enumerate(QUEUES[service.name]):
            queue = prefix + base
            bad = dict(messages.fixed_corpus(site))
            bodies = generated(messages.bad_bodies(site), generated_count)
            bad.update({f"generated-{i}": body for i, body in enumerate(bodies)})
            valid: dict[str, tuple[int, int]] = {}
            replayed = messages.ping(site) if position else DOMAIN_EVENT[service.name](site)
            if position == 0:
                stranger = DOMAIN_EVENT[service.name](unknown)
                if service.name in KEEPS_UNKNOWN_SITES:
                    valid[stranger.type] = (1, 0)
                else:
                    bad["unknown-site"] = to_json(stranger)
                await publish(channel, queue, to_json(stranger), "unknown-site")
            for mid, body in bad.items():
                if mid in FASTSTREAM_CHOKES_ON:  # a content type FastStream leaves alone
                    await publish(channel, queue, body, mid, "application/octet-stream")
                elif mid != "unknown-site":
                    await publish(channel, queue, body, mid)
            if base.endswith(".events") or position == 0:  # queues that handle `replayed`
                for attempt in ("first", "replay"):
                    await publish(channel, queue, to_json(replayed), f"valid-{attempt}")
                stored, _ = valid.get(replayed.type, (0, 0))
                valid[replayed.type] = (stored + 1, 1)  # the replay changes nothing
            else:
                bad["unhandled-ping"] = to_json(replayed)
                await publish(channel, queue, bad["unhandled-ping"], "unhandled-ping")
            sent.bad[queue], sent.valid[queue] = bad, valid
    return sent


async def assert_all_accounted_for(infra: Infra, service: Service, sent: Sent) -> None:
    metrics = service.ctx.metrics

    async def finished() -> bool:
        for queue, bad in sent.bad.items():
            if total(metrics.events_dead_lettered, queue) < len(bad):
                return False
            for event_type, (stored, duplicates) in sent.valid[queue].items():
                done = total(metrics.events_consumed, queue, event_type=event_type) + total(
                    metrics.events_duplicate, queue, event_type=event_type
                )
                if done < stored + duplicates:
                    return False
        return True

    await eventually(finished, timeout=60)
    for queue, bad in sent.bad.items():
        dead = await drain(infra, queue)
        assert sorted(m.message_id or "" for m in dead) == sorted(bad), queue
        assert total(metrics.events_dead_lettered, queue) == len(bad), queue
        for message in dead:
            headers = message.headers
            assert headers["x-qloop-error"] in ("invalid", "unhandled", "rejected"), headers
            assert str(headers["x-qloop-reason"]).strip(), (message.message_id, headers)
            assert message.body == bad[message.message_id or ""], message.message_id
        explained(dead)
        for event_type, expected in sent.valid[queue].items():
            stored = total(metrics.events_consumed, queue, event_type=event_type)
            duplicate = total(metrics.events_duplicate, queue, event_type=event_type)
            assert (stored, duplicate) == expected, (queue, event_type)


def explained(dead: list[aio_pika.abc.AbstractIncomingMessage]) -> None:
    """The reasons of the named bad messages say what is wrong, and where."""
    headers = {m.message_id: m.headers for m in dead}
    assert headers["malformed-json"]["x-qloop-reason"].startswith("body is not JSON")
    assert "codec can't decode" in headers["invalid-utf8"]["x-qloop-reason"]
    assert "codec can't decode" in headers["invalid-utf8-in-json"]["x-qloop-reason"]
    assert headers["wrong-type"]["x-qloop-fields"] == "data.note"
    assert "diagnostic.pong" in headers["unknown-event-type"]["x-qloop-reason"]
    # Refused by size before it is read (MAX_MESSAGE_BYTES), so no field inside it is named.
    assert headers["huge-2mb"]["x-qloop-fields"] == "body"
    assert headers["lone-surrogate"]["x-qloop-fields"] == "data.note"
    assert headers["huge-schema-version"]["x-qloop-fields"] == "dataschema"
    if "unknown-site" in headers:
        assert headers["unknown-site"]["x-qloop-error"] == "rejected"
        assert "unknown site" in headers["unknown-site"]["x-qloop-reason"]


@pytest.mark.parametrize("generated_count", BUDGETS)
@pytest.mark.parametrize("name", sorted(QUEUES))
async def test_bad_messages_are_dead_lettered_with_reasons_and_replays_count_once(
    name: str, generated_count: int, infra: Infra, start: Start
) -> None:
    async with start(name) as service:
        await isolate(infra, service)
        sent = await send_everything(infra, service, generated_count)
        await assert_all_accounted_for(infra, service, sent)
        assert (await service.client.get("/healthz")).status_code == 200
        assert (await service.client.get("/readyz")).status_code == 200
    print(f"{name}: {sum(len(b) for b in sent.bad.values())} bad messages dead-lettered")


async def test_bodies_faststream_cannot_decode_are_dead_lettered(
    infra: Infra, start: Start
) -> None:
    async with start("reporting") as service:
        await isolate(infra, service)
        queue = service.ctx.settings.queue_prefix + "reporting.events"
        corpus = messages.fixed_corpus(service.site)
        probe = messages.ping(service.site)
        connection = await aio_pika.connect(infra.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            for name in FASTSTREAM_CHOKES_ON:  # no content type: FastStream decodes JSON
                await publish(channel, queue, corpus[name], name)
            await publish(channel, queue, to_json(probe), "probe")
        metrics = service.ctx.metrics

        async def probe_handled() -> bool:
            return total(metrics.events_consumed, queue) >= 1

        await eventually(probe_handled)  # one consumer, in order: the others went first
        dead = total(metrics.events_dead_lettered, queue)
    assert dead == len(FASTSTREAM_CHOKES_ON)
