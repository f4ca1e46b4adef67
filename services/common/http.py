"""The HTTP edge every service's API routers share: a request-body limit and refusals that
always explain themselves (found by fuzzing the APIs, see docs/reliability.md).

- A body over `MAX_BODY_BYTES` is refused with 413 and a JSON reason, instead of failing
  at the database (16 MB per document). (FastAPI's own `max_body_size` answers in plain
  text; a limit in the ASGI server or proxy in front still bounds what is read at all.)
- A validation error is re-raised with its inputs made safe to render: FastAPI echoes the
  offending input back, and an input holding a lone surrogate (valid JSON, `"\\ud800"`,
  but not encodable as UTF-8) made that 422 a 500; a 10 MB input was echoed whole.
- A JSON body holding a lone surrogate anywhere is refused with 422 and the field path:
  Python decodes it into a `str` that the database and every later answer fail on (500).
- A body FastAPI cannot decode (bad UTF-8, nesting too deep, a 5000-digit number) is
  refused with 400 and the reason, not only "There was an error parsing the body".
- A query parameter the route does not declare is refused with 422 and its name (a
  misspelt filter such as `?owner_department=` used to be ignored, answering everything).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from services.common.contracts import text
from services.common.contracts.registry import MAX_MESSAGE_BYTES
from services.common.contracts.text import lone_surrogate_at

MAX_BODY_BYTES = MAX_MESSAGE_BYTES  # one limit for every way in: HTTP and the broker
MAX_ECHO = 200  # characters of an offending input repeated in a refusal
_UNPARSED = "There was an error parsing the body"


def renderable(value: Any) -> Any:
    """`value` with every string shortened and made encodable as UTF-8."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    if isinstance(value, str):
        text = value.encode("utf-8", "backslashreplace").decode("utf-8")
        return text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "..."
    if isinstance(value, dict):
        return {renderable(k): renderable(v) for k, v in list(value.items())[:20]}
    if isinstance(value, list | tuple):
        return [renderable(v) for v in list(value)[:20]]
    return value


async def _refuse_large(request: Request) -> None:
    declared = request.headers.get("content-length", "")
    too_large = len(declared) > 15 or (declared.isdecimal() and int(declared) > MAX_BODY_BYTES)
    if too_large or len(await request.body()) > MAX_BODY_BYTES:  # body() keeps it for FastAPI
        raise HTTPException(
            413, f"the request body is larger than {MAX_BODY_BYTES} bytes, the limit of this API"
        )


async def _refuse_unstorable_text(request: Request) -> None:
    if "json" not in request.headers.get("content-type", "json"):
        return
    try:
        document = json.loads(await request.body())
    except (ValueError, RecursionError):
        return  # FastAPI refuses it, with the reason (see GuardedRoute)
    path = lone_surrogate_at(document)
    if path is not None:
        error = {"type": "string_unicode", "loc": ("body", *path), "msg": text.REASON}
        # No body: a handler that records refusals must not store the unstorable text.
        raise RequestValidationError([error], body=None)


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route declares, its dependencies' included."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _refuse_unknown_query(request: Request, known: frozenset[str]) -> None:
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        errors = [
            {
                "type": "extra_forbidden",
                "loc": ("query", renderable(name)),
                "msg": f"unknown query parameter (this route takes: {allowed})",
            }
            for name in unknown
        ]
        raise RequestValidationError(errors, body=None)


class GuardedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known = frozenset(_query_names(self.dependant))

        async def guarded(request: Request) -> Response:
            _refuse_unknown_query(request, known)
            await _refuse_large(request)
            await _refuse_unstorable_text(request)
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise RequestValidationError(renderable(exc.errors()), body=exc.body) from None
            except HTTPException as exc:
                cause = exc.__cause__
                if exc.status_code != 400 or exc.detail != _UNPARSED or cause is None:
                    raise
                reason = renderable(f"{type(cause).__name__}: {cause}")
                raise HTTPException(400, f"the body cannot be read as JSON: {reason}") from None

        return guarded


def guarded_router(**options: Any) -> APIRouter:
    """An `APIRouter` with the body limit and the guarded refusals above."""
    return APIRouter(route_class=GuardedRoute, **options)
