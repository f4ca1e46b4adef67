"""Every service's /metrics passes `promtool check metrics` (names, types, help)."""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path

import pytest

from services.common.settings import ServiceSettings
from tests.support.keys import write_key_file
from tests.support.services import running

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", ["intake", "workflow", "survey", "reporting", "desk"])
async def test_metrics_pass_promtool(
    service: str, settings: ServiceSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QLOOP_SURVEY_LINK_SECRET", "x" * 40)
    write_key_file(tmp_path / "keys.yaml", {"ops": (["*"], ["admin"])})
    settings = settings.model_copy(
        update={"api_keys_file": tmp_path / "keys.yaml", "rules_dir": ROOT / "rules"}
    )
    app = importlib.import_module(f"services.{service}.app").create_app(settings)
    async with running(app) as (client, _):
        await client.post("/diagnostics/ping", params={"site": "sz"})
        text = (await client.get("/metrics")).text
    assert "qloop_outbox_pending" in text
    done = subprocess.run(
        ["promtool", "check", "metrics"], input=text, text=True, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
