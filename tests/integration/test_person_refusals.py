"""People's bearer tokens on intake, survey and reporting (the workflow's are in
test_workflow.py and test_worklist.py): no credentials and a token the desk did not sign
are 401; a person of another site is refused what belongs to a site they do not belong to
(403 naming the role and site, or 404 for a record named by id); a missing role is 403
naming it. Each answer is one the route's OpenAPI operation declares."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.common.settings import ServiceSettings
from services.intake.app import create_app as create_intake
from services.reporting.app import create_app as create_reporting
from services.survey.app import create_app as create_survey
from tests.support.complaints import complaint
from tests.support.people import TestIssuer
from tests.support.services import running
from tests.support.surveys import survey_settings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ISSUER = TestIssuer()
SZ = {"Authorization": f"Bearer {ISSUER.token('clerk-sz', {'sz': ['complaint_owner']})}"}
NB = {"Authorization": f"Bearer {ISSUER.token('clerk-nb', {'nb': ['complaint_owner']})}"}
FORGED = {"Authorization": f"Bearer {TestIssuer().token('clerk-sz', {'sz': ['admin']})}"}


class Service:
    """One service in-process, with people's tokens checked against ISSUER."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app, self.client = app, client

    async def refused(
        self, method: str, path: str, status: int, headers: dict[str, str], **kwargs: Any
    ) -> str:
        """The reason of a refusal with `status`, which the route's operation declares."""
        reply = await self.client.request(method, path, headers=headers, **kwargs)
        assert reply.status_code == status, reply.text
        operation = _operation(self.app.openapi(), method, path)
        assert str(status) in operation["responses"], (method, path, status)
        reason = reply.json()["detail"]
        assert isinstance(reason, str)
        return reason


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The OpenAPI operation a concrete path answers to ({name} matches one segment)."""
    parts = path.split("?")[0].strip("/").split("/")
    for template, operations in document["paths"].items():
        pattern = template.strip("/").split("/")
        if len(pattern) == len(parts) and all(
            p == q or p.startswith("{") for p, q in zip(pattern, parts, strict=True)
        ):
            if method.lower() in operations:
                operation: dict[str, Any] = operations[method.lower()]
                return operation
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


@pytest.fixture
def configured(settings: ServiceSettings) -> ServiceSettings:
    return settings.model_copy(update={"rules_dir": ROOT / "rules"})


async def _service(
    create: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings
) -> AsyncIterator[Service]:
    app = create(settings)
    app.state.tokens = ISSUER.verifier()
    async with running(app) as (client, _):
        yield Service(app, client)


@pytest.fixture
async def intake(configured: ServiceSettings) -> AsyncIterator[Service]:
    async for service in _service(create_intake, configured):
        yield service


@pytest.fixture
async def survey(configured: ServiceSettings) -> AsyncIterator[Service]:
    async for service in _service(lambda s: create_survey(survey_settings(s)), configured):
        yield service


@pytest.fixture
async def reporting(configured: ServiceSettings) -> AsyncIterator[Service]:
    async for service in _service(create_reporting, configured):
        yield service


async def _no_credentials_and_forged_tokens_are_401(service: Service, path: str) -> None:
    missing = await service.refused("GET", path, 401, {})
    assert "no credentials" in missing
    forged = await service.refused("GET", path, 401, FORGED)
    assert "invalid bearer token" in forged


async def test_intake_refuses_people_outside_their_site(intake: Service) -> None:
    await _no_credentials_and_forged_tokens_are_401(intake, "/complaints?site=sz")
    submitted = await intake.client.post("/complaints", json=complaint(), headers=SZ)
    assert submitted.status_code == 201, submitted.text
    number = submitted.json()["number"]
    mine = await intake.client.get(f"/complaints/{number}", headers=SZ)
    assert mine.status_code == 200
    other = await intake.refused("GET", f"/complaints/{number}", 404, NB)
    assert number in other
    listed = await intake.refused("GET", "/complaints?site=sz", 403, NB)
    assert "person 'clerk-nb' does not hold the role 'read' at site 'sz'" in listed
    foreign = await intake.refused("POST", "/complaints", 403, NB, json=complaint())
    assert "person 'clerk-nb' does not hold the role 'submit' at site 'sz'" in foreign


async def test_survey_refuses_people_outside_their_site_and_role(survey: Service) -> None:
    await _no_credentials_and_forged_tokens_are_401(survey, "/campaigns?site=sz")
    assert (await survey.client.get("/campaigns?site=sz", headers=SZ)).status_code == 200
    listed = await survey.refused("GET", "/campaigns?site=sz", 403, NB)
    assert "person 'clerk-nb' does not hold the role 'read' at site 'sz'" in listed
    trend = await survey.refused("GET", "/customers/sz/C-100/results", 403, NB)
    assert "at site 'sz'" in trend
    # `survey` is granted explicitly: belonging to the site is not enough to open campaigns.
    opened = await survey.refused("POST", "/campaigns", 403, SZ, json={"site": "sz"})
    assert "person 'clerk-sz' holds the role 'survey' at no site" in opened
    unknown = await survey.refused("GET", "/campaigns/sz-manual-x", 404, SZ)
    assert "sz-manual-x" in unknown


async def test_reporting_refuses_people_outside_their_site(reporting: Service) -> None:
    await _no_credentials_and_forged_tokens_are_401(reporting, "/reports/sz/live")
    assert (await reporting.client.get("/reports/sz/live", headers=SZ)).status_code == 200
    live = await reporting.refused("GET", "/reports/sz/live", 403, NB)
    assert "person 'clerk-nb' does not hold the role 'read' at site 'sz'" in live
    hq = await reporting.refused("GET", "/reports/*/live", 403, SZ)
    assert "every site" in hq
