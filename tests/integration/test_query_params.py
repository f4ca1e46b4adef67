"""A query parameter a route does not declare is refused with 422 and its name, in the one
validation body shape every service answers (it used to be ignored: `GET /cases?
owner_department=quality` answered every case)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.settings import ServiceSettings
from services.reporting.app import create_app as create_reporting
from services.workflow.app import create_app as create_workflow
from tests.support.keys import write_key_file
from tests.support.services import running

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("create", "path"),
    [(create_workflow, "/cases?site=sz"), (create_reporting, "/reports/sz/live")],
)
async def test_unknown_query_parameters_are_refused_by_name(
    settings: ServiceSettings, tmp_path: Path, create: object, path: str
) -> None:
    keys = write_key_file(tmp_path / "keys.yaml", {"reader": (["sz"], ["read"])})
    settings = settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": ROOT / "rules"}
    )
    headers = {"X-API-Key": keys["reader"]}
    async with running(create(settings)) as (client, _):  # type: ignore[operator]
        known = await client.get(path, headers=headers)
        assert known.status_code == 200, known.text
        joiner = "&" if "?" in path else "?"
        refused = await client.get(f"{path}{joiner}owner_department=quality", headers=headers)
        assert refused.status_code == 422
        [error] = refused.json()["detail"]
        assert error["loc"] == ["query", "owner_department"]
        assert error["type"] == "extra_forbidden" and "unknown query parameter" in error["msg"]
