"""Schemathesis cases against a service running in the test's event loop.

Hypothesis drives each operation's strategy in a worker thread (it is synchronous); every
request is handed back to the test's loop, where the app, its database client and its
broker live (an AsyncMongoClient belongs to one loop).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode

from tests.fuzz.services import Service

KEY_HEADER = "x-api-key"
PLAIN = {"type", "title", "default", "description", "examples"}


@dataclass
class Tally:
    """What one run sent and what came back."""

    examples: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    impossible: list[str] = field(default_factory=list)

    def count(self, status: int) -> None:
        self.examples += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1


def operations(service: Service) -> list[Any]:
    schema = schemathesis.openapi.from_dict(service.app.openapi())
    return [result.ok() for result in schema.get_all_operations()]


def needs_key(operation: Any) -> bool:
    return any(p.name.lower() == KEY_HEADER for p in operation.iter_parameters())


def has_inputs(operation: Any) -> bool:
    """Anything to vary besides the key (else one example says all)."""
    if operation.body is not None and len(operation.body) > 0:
        return True
    return any(p.name.lower() != KEY_HEADER for p in operation.iter_parameters())


def can_be_invalid(operation: Any) -> bool:
    """Whether a negative case exists: a body, or a parameter with a type or constraint
    (a plain optional string accepts anything, and Hypothesis would search in vain)."""
    if operation.body is not None and len(operation.body) > 0:
        return True
    for parameter in operation.iter_parameters():
        if parameter.name.lower() == KEY_HEADER:
            continue
        schema = parameter.definition.get("schema", {})
        for option in schema.get("anyOf", [schema]):
            if option.get("type") not in ("string", "null") or set(option) - PLAIN:
                return True
    return False


def pin(case: Case, known: dict[str, str]) -> Case:
    """Point the case at things that exist (the test's own site, a case id, ...), so the
    handler goes past the lookups into the code behind them."""
    for container in (case.path_parameters, case.query):
        for name in set(known) & set(container or {}):
            container[name] = known[name]  # type: ignore[index]
    if isinstance(case.body, dict):
        for name in set(known) & set(case.body):
            case.body[name] = known[name]
    return case


def with_key(case: Case, key: str | None) -> Case:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != KEY_HEADER}
    if key is not None:
        headers["X-API-Key"] = key
    case.headers = headers
    return case


def request_of(case: Case) -> dict[str, Any]:
    """Schemathesis serialises for `requests`; httpx names raw bodies `content`."""
    kwargs = case.as_transport_kwargs(base_url="http://service")
    request = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": kwargs.get("headers") or {},
        "params": kwargs.get("params") or None,
    }
    if "json" in kwargs:
        request["content"] = json.dumps(kwargs["json"]).encode()
        request["headers"] = {"Content-Type": "application/json", **request["headers"]}
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        request["content" if isinstance(data, bytes | str) else "data"] = data
    return request


def send(
    service: Service, loop: asyncio.AbstractEventLoop, case: Case, body: bytes | None = None
) -> httpx.Response:
    request = request_of(case)
    if body is not None:
        request.pop("data", None)
        request["content"] = body
    future = asyncio.run_coroutine_threadsafe(service.client.request(**request), loop)
    return future.result(timeout=60)


def explained(response: httpx.Response) -> str | None:
    """Why a 4xx answer does not explain itself, or None when it does."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"{response.status_code} without a JSON body: {response.text[:200]!r}"
    body = response.json()
    detail = body.get("detail") if isinstance(body, dict) else None
    if not detail:
        return f"{response.status_code} without a detail: {body!r:.300}"
    if isinstance(detail, list):  # FastAPI's validation errors: each names its field
        vague = [e for e in detail if not e.get("loc") or not e.get("msg")]
        if vague:
            return f"{response.status_code}: validation errors without a field: {vague!r:.300}"
    return None


def run_operation(
    service: Service,
    loop: asyncio.AbstractEventLoop,
    operation: Any,
    *,
    mode: GenerationMode,
    max_examples: int,
    key: str | None,
    tally: Tally,
    expect: Callable[[Case, httpx.Response], str | None],
    spoil: Callable[[Case], bytes] | None = None,
) -> None:
    """`spoil`: the raw JSON body to send instead of the case's (which Schemathesis would
    validate, and cannot when it holds what the test is after, e.g. lone surrogates)."""
    """Send `max_examples` generated cases; record each one whose answer `expect` refuses."""
    cases = st.tuples(operation.as_strategy(generation_mode=mode), st.booleans())

    @hypothesis_settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(drawn=cases)
    def check(drawn: tuple[Case, bool]) -> None:
        case, existing = drawn
        if existing:
            pin(case, {"site": service.site, **service.known})
        with_key(case, key)
        try:
            response = send(service, loop, case, spoil(case) if spoil else None)
        except Exception as exc:  # an exception that escaped the app: the worst answer
            request = f"{request_of(case)!r:.600}"
            raise AssertionError(
                f"{case.method} {case.formatted_path}: {exc!r} for {request}"
            ) from exc
        tally.count(response.status_code)
        problem = expect(case, response)
        assert problem is None, f"{case.method} {case.formatted_path}: {problem}"

    try:
        check()
    except Unsatisfiable:  # nothing to make invalid (e.g. no parameters besides the key)
        tally.impossible.append(f"{operation.label} [{mode.value}]")
    except AssertionError as exc:
        tally.failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")


def no_server_error(case: Case, response: httpx.Response) -> str | None:
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:500]!r} for {request_of(case)!r:.600}"
    if 400 <= response.status_code < 500:
        return explained(response)
    return None
