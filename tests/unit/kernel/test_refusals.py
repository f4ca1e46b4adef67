"""One 422 shape on every service (`code`, `reason`, `errors` with field paths, beside the
`detail` each route answered before), and the refusals the OpenAPI documents declare."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.common.auth import Caller, require
from services.common.http import UniformRefusals, declare_refusals, guarded_router, uniform_refusal

pytestmark = pytest.mark.unit


def test_fastapis_list_keeps_its_place_and_gains_paths_code_and_reason() -> None:
    detail = [
        {"loc": ["body", "customer", "name"], "msg": "Field required", "type": "missing"},
        {"loc": ["query", "owner_department"], "msg": "unknown", "type": "extra_forbidden"},
    ]
    body = uniform_refusal({"detail": detail})
    assert body["detail"] == detail and body["code"] == "invalid"
    assert body["errors"] == [
        {"field": "customer.name", "message": "Field required"},
        {"field": "query.owner_department", "message": "unknown"},
    ]
    assert "customer.name: Field required" in body["reason"]


def test_a_workflow_refusal_keeps_detail_code_and_fields_where_they_were() -> None:
    detail = {"code": "missing_fields", "reason": "fill in team", "fields": ["team"]}
    body = uniform_refusal({"detail": detail})
    assert body["detail"] == detail  # read there by the desk's pages
    assert (body["code"], body["reason"]) == ("missing_fields", "fill in team")
    assert body["errors"] == [{"field": "team", "message": "fill in team"}]


def test_a_sentence_and_a_routes_own_errors_are_kept() -> None:
    said = uniform_refusal({"detail": "site 'sz' has no department 'qa'"})
    assert said["errors"] == [{"field": "body", "message": "site 'sz' has no department 'qa'"}]
    assert said["reason"] == said["detail"] and said["code"] == "invalid"
    own = [{"field": "received_at", "message": "needs a timezone"}]
    kept = uniform_refusal({"detail": "the request is not valid", "errors": own})
    assert kept["errors"] == own


class Body(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(UniformRefusals)
    router = guarded_router()

    @router.post("/things/{thing_id}")
    async def change(
        thing_id: str, body: Body, who: Annotated[Caller, Depends(require("act"))]
    ) -> dict[str, Any]:
        return {}

    @router.get("/refused")
    async def refused() -> JSONResponse:
        raise HTTPException(422, {"code": "consent_required", "reason": "ask", "fields": []})

    @router.get("/open")
    async def open_() -> dict[str, Any]:
        return {}

    app.include_router(router)
    return app


async def test_every_422_is_amended_whoever_wrote_it() -> None:
    app = _app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        unknown = await client.get("/open?color=red")
        refused = await client.get("/refused")
        fine = await client.get("/open")
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid"
    assert unknown.json()["errors"][0]["field"] == "query.color"
    assert refused.json()["detail"]["code"] == refused.json()["code"] == "consent_required"
    assert int(refused.headers["content-length"]) == len(refused.content)
    assert fine.json() == {}


def test_the_document_declares_what_each_route_can_refuse() -> None:
    app = _app()
    document = declare_refusals(app.openapi(), app.routes)
    change = document["paths"]["/things/{thing_id}"]["post"]["responses"]
    assert set(change) == {"200", "401", "403", "404", "413", "422"}
    assert change["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ValidationRefusal"
    )
    assert set(document["paths"]["/open"]["get"]["responses"]) == {"200", "422"}
    schemas = document["components"]["schemas"]
    assert {"code", "reason", "errors", "detail"} <= set(schemas["ValidationRefusal"]["required"])
    assert "HTTPValidationError" not in schemas
