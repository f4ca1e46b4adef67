"""SIGKILL under load, scored with a ledger (as RabbitMQ's Jepsen test does).

The load generator logs each complaint as confirmed (HTTP 2xx), refused, or unclear
(connection cut by the kill). Intake is killed twice mid-stream and the workflow once.
Unclear submissions are sent again (idempotent by external reference). Afterwards:
nothing lost (every confirmed complaint registered), nothing doubled (one registration and
one number per reference, numbers 1..N without gaps), one case per complaint.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.common.settings import ServiceSettings
from tests.support.complaints import complaint
from tests.support.keys import write_key_file
from tests.support.processes import ROOT, ServiceProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.reliability
COMPLAINTS = 60


async def test_nothing_lost_nothing_doubled_when_services_are_killed(
    settings: ServiceSettings, site: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "shared", rules / "shared")
    text = (ROOT / "rules" / "abc-company.yaml").read_text(encoding="utf-8")
    (rules / "site.yaml").write_text(
        text.replace("  id: sz\n", f"  id: {site}\n", 1), encoding="utf-8"
    )
    key = write_key_file(tmp_path / "keys.yaml", {"load": (["*"], ["submit", "read"])})["load"]
    env = {
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
        "QLOOP_DATABASE": settings.database,
        "QLOOP_QUEUE_PREFIX": settings.queue_prefix,
        "QLOOP_API_KEYS_FILE": str(tmp_path / "keys.yaml"),
        "QLOOP_RULES_DIR": str(rules),
    }
    intake = ServiceProcess("intake", env, tmp_path / "intake.log")
    workflow = ServiceProcess("workflow", env, tmp_path / "workflow.log")
    ledger: dict[str, str] = {}  # external_ref -> confirmed | unclear
    bodies = {
        f"LEDGER-{i:04d}": complaint(site=site, external_ref=f"LEDGER-{i:04d}")
        for i in range(COMPLAINTS)
    }

    async def submit(http: httpx.AsyncClient, ref: str) -> None:
        try:
            reply = await http.post(
                f"http://127.0.0.1:{intake.port}/complaints",
                json=bodies[ref],
                headers={"X-API-Key": key},
            )
        except httpx.HTTPError:
            ledger[ref] = "unclear"
            return
        ledger[ref] = "confirmed" if reply.status_code in (200, 201) else "unclear"

    intake.start()
    workflow.start()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            refs = list(bodies)
            for start in range(0, COMPLAINTS, 10):
                batch = refs[start : start + 10]
                sending = [asyncio.create_task(submit(http, ref)) for ref in batch]
                if start in (20, 40):  # kill intake with requests in flight
                    await asyncio.sleep(0.05)
                    intake.kill()
                    intake.start()
                if start == 30:
                    workflow.kill()
                    workflow.start()
                await asyncio.gather(*sending)
            unclear = sorted(r for r, state in ledger.items() if state == "unclear")
            print(f"unclear after the kills: {len(unclear)} of {COMPLAINTS}")
            for _ in range(3):  # the sender retries what it could not confirm
                for ref in [r for r, state in ledger.items() if state == "unclear"]:
                    await submit(http, ref)
        assert set(ledger.values()) == {"confirmed"}, ledger

        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url)
        intake_db = client[f"{settings.database}_intake"]
        workflow_db = client[f"{settings.database}_workflow"]

        async def all_registered() -> list[dict[str, Any]]:
            found = (
                await intake_db["complaints"]
                .find({}, {"external_ref": 1, "number": 1, "sequence": 1, "status": 1})
                .to_list()
            )
            done = [d for d in found if d.get("status") == "registered"]
            return done if len(done) == COMPLAINTS else []

        registered = await eventually(all_registered, timeout=60)
        refs_seen = [d["external_ref"] for d in registered]
        assert sorted(refs_seen) == sorted(bodies)  # nothing lost, nothing doubled
        assert sorted(d["sequence"] for d in registered) == list(range(1, COMPLAINTS + 1))

        async def all_cases() -> list[dict[str, Any]]:
            cases = await workflow_db["cases"].find({"site": site}, {"reference": 1}).to_list()
            return cases if len(cases) >= COMPLAINTS else []

        cases = await eventually(all_cases, timeout=90)
        assert sorted(c["reference"] for c in cases) == sorted(d["number"] for d in registered)
        await client.close()
    finally:
        intake.stop()
        workflow.stop()
