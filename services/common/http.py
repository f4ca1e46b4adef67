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
- Every 422 of every service has one shape (`ValidationRefusal`): `detail` as before (FastAPI's
  list of {loc, msg, type}, or a route's own), plus `code`, `reason` and `errors` (field
  path + message), added by `UniformRefusals` whoever wrote the answer; `declare_refusals`
  declares it, and 401/403/404/413 where a route can answer them, in the OpenAPI document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.auth import caller
from services.common.contracts import text
from services.common.contracts.complaints import FieldError
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


# --- One shape for refusals -------------------------------------------------------------


class Refusal(BaseModel):
    """A refusal (401, 403, 404, 409, 413, ...): `detail` says why, as a sentence or, for
    the workflow's refused commands, as {code, reason, fields}."""

    detail: str | dict[str, Any] = Field(description="Why the request was refused")


class ValidationProblem(BaseModel):
    """One item of FastAPI's own list (`detail` of a request its schema refuses)."""

    model_config = ConfigDict(extra="allow")
    loc: list[str | int]
    msg: str
    type: str


class ValidationRefusal(BaseModel):
    """Every 422 of every qloop API. `code`, `reason` and `errors` are the same on every
    route; `detail` stays as each route answered before, for the clients that read it."""

    detail: list[ValidationProblem] | dict[str, Any] | str = Field(
        description="As the route answered before: FastAPI's list of {loc, msg, type} for a "
        "request its schema refuses, the workflow's {code, reason, fields} for a refused "
        "command, else a sentence"
    )
    code: str = Field(
        description="`invalid` for a request the schema refuses; else the refusal's own code "
        "(e.g. the workflow's missing_fields, consent_required, signature_invalid)"
    )
    reason: str = Field(description="One sentence for people")
    errors: list[FieldError] = Field(
        description="Each field path (from the body's top, dotted: customer.name; "
        "query.NAME, path.NAME, header.NAME for parameters; body for the whole body) "
        "and what is wrong with it"
    )


def uniform_refusal(body: Mapping[str, Any]) -> dict[str, Any]:
    """A 422 body with `code`, `reason` and `errors` added from what it says already
    (nothing it holds is renamed or removed)."""
    detail = body.get("detail")
    errors = body.get("errors")
    if not (isinstance(errors, list) and all(_is_field_error(e) for e in errors)):
        errors = _field_errors(detail)
    code = body.get("code") or (isinstance(detail, dict) and detail.get("code")) or "invalid"
    reason = body.get("reason") or (isinstance(detail, dict) and detail.get("reason"))
    if not reason:
        reason = detail if isinstance(detail, str) else _summary(errors)
    return {**body, "code": str(code), "reason": str(reason), "errors": errors}


def _is_field_error(value: Any) -> bool:
    return isinstance(value, dict) and {"field", "message"} <= set(value)


def field_path(loc: Sequence[Any]) -> str:
    """pydantic's `loc` as one path: `("body", "customer", "name")` -> `customer.name`."""
    parts = [str(p) for p in loc]
    if parts[:1] == ["body"]:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _field_errors(detail: Any) -> list[dict[str, str]]:
    if isinstance(detail, list):
        return [
            {"field": field_path(e.get("loc", ())), "message": str(e.get("msg", ""))}
            for e in detail
            if isinstance(e, dict)
        ]
    if isinstance(detail, dict):
        reason = str(detail.get("reason") or detail.get("code") or "not valid")
        named = [str(f) for f in detail.get("fields") or ()]
        return [{"field": f, "message": reason} for f in named or ["body"]]
    return [{"field": "body", "message": str(detail or "the request is not valid")}]


def _summary(errors: Sequence[Mapping[str, str]]) -> str:
    said = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return f"the request is not valid: {said}{more}" if said else "the request is not valid"


class UniformRefusals:
    """ASGI middleware: every JSON 422 answer gets `code`, `reason` and `errors`
    (`uniform_refusal`), whichever handler wrote it: FastAPI's, a service's own, a route's.
    Other answers pass through untouched, unbuffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def amend(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and _json_422(message):
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = _amended(b"".join(chunks))
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, amend)


def _json_422(start: Message) -> bool:
    if start["status"] != 422:
        return False
    types = [v for k, v in start.get("headers", ()) if k.lower() == b"content-type"]
    return bool(types) and b"json" in types[0]


def _amended(raw: bytes) -> bytes:
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(body, dict):
        return raw
    return json.dumps(uniform_refusal(body), ensure_ascii=False).encode()


# --- Refusals declared in the OpenAPI documents -------------------------------------------

_DECLARED: dict[int, str] = {
    401: "No valid credentials: a person's bearer token or a system's API key",
    403: "The caller lacks the role or the site (the reason names which)",
    404: "Not found, or not at a site the caller may read",
    413: f"The request body is larger than {MAX_BODY_BYTES} bytes",
    422: "The request is not valid: every 422 has this shape (code, reason, errors)",
}


def declare_refusals(document: dict[str, Any], routes: Sequence[Any]) -> dict[str, Any]:
    """Declare in the OpenAPI `document` of `routes` the refusals each route can answer:
    401 and 403 where it checks the caller, 404 where it names something by path, 413
    where it takes a body (guarded), 422 in the one shape wherever it takes input (and on
    every guarded route: an unknown query parameter). Returns `document`, changed."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (Refusal, ValidationRefusal):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for context in iter_route_contexts(routes):
        route = context.original_route  # as its router declared it
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        operations = document.get("paths", {}).get(context.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            answers = operation.setdefault("responses", {})
            for code in _refusals_of(route):
                model = ValidationRefusal if code == 422 else Refusal
                declared = {
                    "description": _DECLARED[code],
                    "content": {"application/json": {"schema": {"$ref": _ref(model)}}},
                }
                if code == 422 or str(code) not in answers:  # FastAPI's own 422 is replaced
                    answers[str(code)] = declared
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"{_ref_name(unused)}"' not in json.dumps(document.get("paths", {})):
            schemas.pop(unused, None)
    return document


def _refusals_of(route: APIRoute) -> list[int]:
    dependant = route.dependant
    codes = []
    if _checks_caller(dependant):
        codes += [401, 403]
    if _all(dependant, "path_params"):
        codes.append(404)
    guarded = isinstance(route, GuardedRoute)
    if route.body_field is not None and guarded:
        codes.append(413)
    if guarded or _has_inputs(route):
        codes.append(422)
    return codes


def _ref(model: type[BaseModel]) -> str:
    return _ref_name(model.__name__)


def _ref_name(name: str) -> str:
    return f"#/components/schemas/{name}"


def _checks_caller(dependant: Dependant) -> bool:
    return dependant.call is caller or any(_checks_caller(d) for d in dependant.dependencies)


def _all(dependant: Dependant, kind: str) -> list[Any]:
    found = list(getattr(dependant, kind))
    for sub in dependant.dependencies:
        found += _all(sub, kind)
    return found


def _has_inputs(route: APIRoute) -> bool:
    kinds = ("path_params", "query_params", "header_params", "cookie_params", "body_params")
    return any(_all(route.dependant, kind) for kind in kinds)
