"""Rolling out rule files to a running service: good files are hot-reloaded, a bad set
is refused with FILE:LINE:COLUMN errors and the last good rules stay in force."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.common.settings import ServiceSettings
from services.intake.app import create_app
from tests.support.keys import write_key_file
from tests.support.services import running
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


async def test_hot_reload_takes_good_rules_and_keeps_the_last_good_on_errors(
    settings: ServiceSettings, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    keys = write_key_file(tmp_path / "keys.yaml", {"ops": (["*"], ["admin"])})
    settings = settings.model_copy(
        update={
            "rules_dir": rules,
            "rules_reload_seconds": 0.1,
            "api_keys_file": tmp_path / "keys.yaml",
        }
    )
    async with running(create_app(settings)) as (client, ctx):
        before = ctx.rulebook.versions()["demo"]
        default = rules / "default.yaml"
        default.write_text(
            default.read_text(encoding="utf-8").replace('version: "1.0"', 'version: "1.1"'),
            encoding="utf-8",
        )

        async def reloaded() -> bool:
            return ctx.rulebook.versions()["demo"].startswith("1.1+")

        await eventually(reloaded)
        good = ctx.rulebook.versions()["demo"]
        assert good != before
        default.write_text(
            default.read_text(encoding="utf-8").replace(
                "timezone: ", "timezone: Mars/Olympus_Mons #"
            ),
            encoding="utf-8",
        )
        reply = await client.post("/admin/rules/reload", headers={"X-API-Key": keys["ops"]})
        assert reply.status_code == 422
        refusal = reply.json()
        [error] = refusal["errors"]  # the one 422 shape: where (FILE:LINE:COLUMN) and what
        assert error["field"].startswith(f"{default}:") and "timezone" in error["message"]
        assert refusal["code"] == "rules_refused" and refusal["reason"]
        assert ctx.rulebook.versions()["demo"] == good
        metrics = (await client.get("/metrics")).text
        assert 'qloop_rules_reloads_total{result="failed"}' in metrics
        assert f'qloop_rules_info{{site="demo",version="{good}"}} 1.0' in metrics
