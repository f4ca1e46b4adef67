"""When intake's recovery reads every claim and complaint: on MongoDB at every pass
(indexed), on FerretDB (a scan) only twice after a start; after that only the
registrations this process saw fail are finished."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace

import pytest

from services.intake import app, store


class Recovery:
    def __init__(self) -> None:
        self.scans = 0
        self.known = 0

    async def recover(self) -> int:
        self.scans += 1
        return 0

    async def recover_known(self) -> int:
        self.known += 1
        return 0


async def run_for(seconds: float, *, id_filters_only: bool) -> Recovery:
    recovery = Recovery()
    ctx = SimpleNamespace(id_filters_only=id_filters_only, state={"intake": recovery})
    task = asyncio.create_task(app.recover_interrupted(ctx))  # type: ignore[arg-type]
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return recovery


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "RECOVERY_SECONDS", 0.01)
    monkeypatch.setattr(store, "STALE_AFTER", timedelta(seconds=0.05))


async def test_on_ferretdb_two_scans_after_start_then_only_known_failures() -> None:
    recovery = await run_for(0.5, id_filters_only=True)
    assert recovery.scans == 2
    assert recovery.known >= 5


async def test_the_second_scan_waits_until_the_last_process_s_claims_are_stale() -> None:
    recovery = await run_for(0.03, id_filters_only=True)
    assert (recovery.scans, recovery.known) == (1, 0)


async def test_on_mongodb_every_pass_reads_everything() -> None:
    recovery = await run_for(0.3, id_filters_only=False)
    assert recovery.scans >= 5
    assert recovery.known == 0
