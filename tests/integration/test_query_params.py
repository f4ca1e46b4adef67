"""A query parameter a route does not declare is refused with 422 and its name, in the one
validation body shape every service answers (it used to be ignored: `GET /cases?
owner_department=quality` answered every case): `code`, `reason` and `errors` (field path
and message) on every service, beside the `detail` each answered before."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from services.common.settings import ServiceSettings
from services.desk.app import create_app as create_desk
from services.intake.app import create_app as create_intake
from services.reporting.app import create_app as create_reporting
from services.survey.app import create_app as create_survey
from services.workflow.app import create_app as create_workflow
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.support.surveys import survey_settings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _survey(settings: ServiceSettings) -> FastAPI:
    return create_survey(survey_settings(settings))


@pytest.mark.parametrize(
    ("create", "path", "unknown"),
    [
        (create_workflow, "/cases?site=sz", "owner_department"),
        (create_reporting, "/reports/sz/live", "owner_department"),
        (create_intake, "/complaints?site=sz", "owner_dept"),  # owner_department is known
        (_survey, "/campaigns?site=sz", "owner_department"),
        (create_desk, "/admin/people", "owner_department"),
    ],
    ids=["workflow", "reporting", "intake", "survey", "desk"],
)
async def test_unknown_query_parameters_are_refused_by_name(
    settings: ServiceSettings,
    tmp_path: Path,
    create: Callable[[ServiceSettings], FastAPI],
    path: str,
    unknown: str,
) -> None:
    keys = write_key_file(tmp_path / "keys.yaml", {"reader": (["sz"], ["read", "admin"])})
    settings = settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": ROOT / "rules"}
    )
    headers = {"X-API-Key": keys["reader"]}
    async with running(create(settings)) as (client, _):
        known = await client.get(path, headers=headers)
        assert known.status_code == 200, known.text
        joiner = "&" if "?" in path else "?"
        refused = await client.get(f"{path}{joiner}{unknown}=quality", headers=headers)
        assert refused.status_code == 422
        body: dict[str, Any] = refused.json()
        [error] = body["errors"]
        assert error["field"] == f"query.{unknown}"
        assert "unknown query parameter" in error["message"]
        assert body["code"] == "invalid" and body["reason"]
        if isinstance(body["detail"], list):  # FastAPI's own, kept for its clients
            [fastapi_error] = body["detail"]
            assert fastapi_error["loc"] == ["query", unknown]
            assert fastapi_error["type"] == "extra_forbidden"
