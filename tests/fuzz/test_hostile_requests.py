"""Requests no schema describes: bodies that are not UTF-8, nested too deep, numbers too
long for Python or too large for the database, lone surrogates, bodies over the limit;
and the same hostile values inside otherwise valid requests. No 5xx, always a reason."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode

from services.common.http import MAX_BODY_BYTES, GuardedRoute
from tests.fuzz.openapi_cases import (
    Tally,
    explained,
    no_server_error,
    operations,
    run_operation,
)
from tests.fuzz.services import Service, Start

pytestmark = pytest.mark.integration

SERVICES = ("intake", "workflow", "survey")  # reporting's API takes no request bodies
HOSTILE_BODIES: dict[str, bytes] = {
    "invalid-utf8": b'{"site": "\xff\xfe"}',
    "deep-nesting": b'{"site": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "huge-integer": b'{"quantity": ' + b"9" * 5000 + b"}",
    "lone-surrogate": b'{"site": "\\ud800", "customer_name": "\\udfff"}',
    "not-an-object": b"[1, 2, 3]",
    "over-the-limit": json.dumps({"description": "x" * (MAX_BODY_BYTES + 1)}).encode(),
}
EXAMPLES = 4  # per operation and hostile value


def with_body(operation: Any) -> bool:
    return operation.body is not None and len(operation.body) > 0


def hostile(value: Any, text: str, number: int) -> Any:
    """`value` with every string and integer inside it replaced by hostile ones."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return text
    if isinstance(value, int):
        return number
    if isinstance(value, dict):
        return {k: v if k == "site" else hostile(v, text, number) for k, v in value.items()}
    if isinstance(value, list):
        return [hostile(v, text, number) for v in value]
    return value


@pytest.mark.parametrize("name", SERVICES)
async def test_hostile_bodies_are_refused_with_a_reason(name: str, start: Start) -> None:
    async with start(name) as service:
        answers: dict[tuple[str, str], httpx.Response] = {}
        for operation in filter(with_body, operations(service)):
            path = operation.path.replace("{", "").replace("}", "")  # any path parameters
            for label, body in HOSTILE_BODIES.items():
                headers = {"X-API-Key": service.keys["all"], "Content-Type": "application/json"}
                answers[(operation.label, label)] = await service.client.request(
                    operation.method.upper(), path, content=body, headers=headers
                )
        assert (await service.client.get("/healthz")).status_code == 200
    assert answers, "no operation with a body"
    problems = {
        key: f"{r.status_code} {r.text[:200]}"
        for key, r in answers.items()
        if r.status_code >= 500 or explained(r) is not None
    }
    assert problems == {}
    too_large = {key: r.status_code for key, r in answers.items() if key[1] == "over-the-limit"}
    assert too_large and set(too_large.values()) <= {413, 422}
    guarded = {key for key in too_large if guarded_route(service, key[0])}
    assert guarded and {too_large[key] for key in guarded} == {413}


def guarded_route(service: Service, label: str) -> bool:
    """Whether the operation is served by a GuardedRoute (routers of other modules, e.g.
    the privacy routes, may not be, and refuse an oversized body by its content: 422)."""
    method, path = label.split(" ", 1)
    routes = [
        route
        for entry in service.app.routes
        for route in getattr(getattr(entry, "original_router", None), "routes", [entry])
    ]
    return any(
        isinstance(route, GuardedRoute) and route.path == path and method in route.methods
        for route in routes
    )


@pytest.mark.parametrize("name", SERVICES)
async def test_hostile_values_inside_valid_requests(name: str, start: Start) -> None:
    async with start(name) as service:
        tally = Tally()
        loop = asyncio.get_running_loop()
        for operation in filter(with_body, operations(service)):
            for text, number in (("bad \ud800 text", 2**70), ("x" * 70_000, -(2**64))):

                def spoil(case: Case, text: str = text, number: int = number) -> bytes:
                    return json.dumps(hostile(case.body, text, number)).encode()

                await asyncio.to_thread(
                    run_operation,
                    service,
                    loop,
                    operation,
                    mode=GenerationMode.POSITIVE,
                    max_examples=EXAMPLES,
                    key=service.keys["all"],
                    tally=tally,
                    expect=no_server_error,
                    spoil=spoil,
                )
        assert (await service.client.get("/healthz")).status_code == 200
    assert tally.examples > 0
    assert tally.failures == []


@pytest.fixture
async def survey(start: Start) -> Any:
    async with start("survey") as service:
        yield service


async def test_survey_forms_take_any_bytes(survey: Service) -> None:
    """The customers' and the staff's HTML forms (not in the OpenAPI document)."""
    loop = asyncio.get_running_loop()
    statuses: list[int] = []

    @settings(max_examples=40, deadline=None, database=None)
    @given(
        path=st.sampled_from(["/s/", "/i/"]),
        token=st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1),
        body=st.binary(max_size=500) | st.text(max_size=200).map(str.encode),
    )
    def post(path: str, token: str, body: bytes) -> None:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        future = asyncio.run_coroutine_threadsafe(
            survey.client.post(path + token, content=body, headers=headers), loop
        )
        response = future.result(timeout=60)
        statuses.append(response.status_code)
        assert response.status_code < 500, response.text[:300]
        assert response.text.strip()

    await asyncio.to_thread(post)
    assert statuses
