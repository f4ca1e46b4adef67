"""Schemathesis against each service's OpenAPI document, in-process, on the real broker
and database: no generated request gets a 5xx, and every 4xx explains itself in JSON."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aio_pika
import httpx
import pytest
from schemathesis import Case, GenerationMode

from services.common.contracts.registry import to_json
from services.common.messaging.topology import EVENTS_EXCHANGE
from tests.fuzz import messages
from tests.fuzz.openapi_cases import (
    Tally,
    can_be_invalid,
    explained,
    has_inputs,
    needs_key,
    no_server_error,
    operations,
    run_operation,
)
from tests.fuzz.services import Service, Start
from tests.support.complaints import complaint
from tests.support.infra import Infra
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SERVICES = ("intake", "workflow", "survey", "reporting")
EXAMPLES = 6  # per operation and generation mode, in CI
BUDGETS = [
    pytest.param(EXAMPLES, id="ci"),
    pytest.param(100, id="long", marks=[pytest.mark.slow, pytest.mark.timeout(3600)]),
]
KEY_EXAMPLES = 2  # per operation and caller


async def seed(service: Service, infra: Infra) -> None:
    """Something for the fuzzed requests to find: a complaint, a case, a campaign."""
    headers = {"X-API-Key": service.keys["all"]}
    if service.name == "intake":
        reply = await service.client.post(
            "/complaints", json=complaint(service.site), headers=headers
        )
        service.known["number"] = reply.json()["number"]
    elif service.name == "workflow":
        event = messages.registered(service.site)
        connection = await aio_pika.connect(infra.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(EVENTS_EXCHANGE)
            await exchange.publish(aio_pika.Message(to_json(event)), event.routing_key)

        async def opened() -> list[Any]:
            own = {"site": service.site}
            reply = await service.client.get("/cases", params=own, headers=headers)
            items: list[Any] = reply.json()["items"]
            return items

        service.known["case_id"] = (await eventually(opened))[0]["id"]
    elif service.name == "survey":
        profile = {"customer_name": "Acme", "contacts": [{"email": "qa@acme.example"}]}
        path = f"/customers/{service.site}/C-100"
        assert (await service.client.put(path, json=profile, headers=headers)).is_success
        service.known["customer_id"] = "C-100"
        body = {"site": service.site}
        reply = await service.client.post("/campaigns", json=body, headers=headers)
        assert reply.is_success, reply.text
        service.known["campaign_id"] = reply.json()["campaign_id"]


async def fuzz(service: Service, examples: int) -> Tally:
    tally = Tally()
    loop = asyncio.get_running_loop()
    for operation in operations(service):
        modes = [GenerationMode.POSITIVE]
        if can_be_invalid(operation):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            await asyncio.to_thread(
                run_operation,
                service,
                loop,
                operation,
                mode=mode,
                max_examples=examples if has_inputs(operation) else 1,
                key=service.keys["all"],
                tally=tally,
                expect=no_server_error,
            )
    return tally


@pytest.mark.parametrize("examples", BUDGETS)
@pytest.mark.parametrize("name", SERVICES)
async def test_generated_requests_get_no_server_error(
    name: str, examples: int, start: Start, infra: Infra
) -> None:
    async with start(name) as service:
        await seed(service, infra)
        tally = await fuzz(service, examples)
        assert (await service.client.get("/healthz")).status_code == 200
    print(f"{name}: {tally.examples} requests, statuses {sorted(tally.statuses.items())}")
    assert tally.failures == []


def refused_with(status: int) -> Callable[[Case, httpx.Response], str | None]:
    def expect(case: Case, response: httpx.Response) -> str | None:
        if response.status_code != status:
            return f"{response.status_code} instead of {status}: {response.text[:200]!r}"
        return explained(response)

    return expect


@pytest.mark.parametrize("name", SERVICES)
async def test_requests_without_a_valid_key_or_role_are_refused(name: str, start: Start) -> None:
    """Valid requests (positive cases) with no key, an unknown key, and a known key without
    the role: 401, 401, 403 from every operation that takes a key."""
    async with start(name) as service:
        tally = Tally()
        loop = asyncio.get_running_loop()
        callers = {None: 401, "qk_not-a-key-anyone-holds": 401, service.keys["nobody"]: 403}
        protected = [op for op in operations(service) if needs_key(op)]
        for operation in protected:
            for key, status in callers.items():
                await asyncio.to_thread(
                    run_operation,
                    service,
                    loop,
                    operation,
                    mode=GenerationMode.POSITIVE,
                    max_examples=KEY_EXAMPLES,
                    key=key,
                    tally=tally,
                    expect=refused_with(status),
                )
    assert protected and tally.examples >= len(protected) * len(callers)
    assert tally.failures == []
