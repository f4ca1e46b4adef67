"""A person's own notification preference lives in their directory record at the desk
(real database): an admin sets it, the admin API lists it, and the notify service reads
it from that listing as it does the directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time
from pathlib import Path

import httpx
import pytest

from services.common.settings import ServiceSettings
from services.desk.app import create_app as create_desk
from services.notify.directory import recipients_at
from tests.support.keys import write_key_file
from tests.support.services import running

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def desk(
    settings: ServiceSettings, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    keys = write_key_file(tmp_path / "keys.yaml", {"admin": (["*"], ["admin"])})
    configured = settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": ROOT / "rules"}
    )
    async with running(create_desk(configured)) as (client, _):
        yield client, {"X-API-Key": keys["admin"]}


async def test_an_admin_sets_quiet_hours_and_a_digest_that_notify_reads(
    desk: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, admin = desk
    new = {"id": "qe", "name": "Li Qiang", "email": "qe@abc.test",
           "grants": [{"site": "sz", "departments": ["quality"]}]}  # fmt: skip
    assert (await client.post("/admin/people", json=new, headers=admin)).status_code == 201
    wanted = {"quiet_hours": {"start": "22:00", "end": "07:00"}, "digest": "08:00"}
    url = "/admin/people/qe/notifications"
    changed = await client.put(url, json=wanted, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["notifications"] == {**wanted, "channels": None}
    bad = await client.put(url, json={"digest": "8pm"}, headers=admin)
    assert bad.status_code == 422 and "HH:MM" in bad.text
    listed = (await client.get("/admin/people", headers=admin)).json()["items"]
    (person,) = recipients_at("sz", listed)
    assert person.preference is not None and person.preference.digest == time(8)
    assert person.preference.quiet_hours is not None
    assert person.preference.quiet_hours.start == time(22)
    muted = await client.put(url, json={"channels": []}, headers=admin)
    assert muted.json()["notifications"]["channels"] == []
