"""The four services as processes on loopback, against given servers, for fault tests.

`Stack` starts intake, workflow, survey and reporting with one site's rules (the
qds-company example under the test's site id), a key that may submit and read, fast
outbox and recovery settings; it kills and restarts them, and `supervise` restarts any
that died (as systemd would), so crash points can kill a service again and again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from services.common.deadletters import management_url_from
from services.common.rules import load_rules
from tests.support.keys import write_key_file
from tests.support.processes import ServiceProcess
from tests.support.rabbit import queue_depths
from tests.support.surveys import SECRET, site_rules

SERVICES = ("intake", "workflow", "survey", "reporting")


class Stack:
    def __init__(
        self,
        tmp: Path,
        site: str,
        *,
        amqp_url: str,
        mongodb_url: str,
        database: str,
        queue_prefix: str,
        services: tuple[str, ...] = SERVICES,
    ) -> None:
        self.site, self.database, self.mongodb_url = site, database, mongodb_url
        self.queue_prefix = queue_prefix
        # Messages per queue of this stack (ready + unacked); a private node answers with
        # rabbitmqctl, the shared one with its management API.
        self.depths: Callable[[], dict[str, int]] = lambda: queue_depths(
            management_url_from(amqp_url), queue_prefix
        )
        self.rules_dir = site_rules(tmp, "qds-company", site, any_year=True)
        rules = load_rules(self.rules_dir / "qds-company.yaml")
        self.stages = {stage.id for stage in rules.workflow.stages}
        keys = {"load": (["*"], ["submit", "read", "survey"])}
        self.key = write_key_file(tmp / "keys.yaml", keys)["load"]
        self.env = {
            "QLOOP_AMQP_URL": amqp_url,
            "QLOOP_MONGODB_URL": mongodb_url,
            "QLOOP_DATABASE": database,
            "QLOOP_QUEUE_PREFIX": queue_prefix,
            "QLOOP_API_KEYS_FILE": str(tmp / "keys.yaml"),
            "QLOOP_RULES_DIR": str(self.rules_dir),
            "QLOOP_SURVEY_LINK_SECRET": SECRET,
            "QLOOP_OUTBOX_POLL_SECONDS": "0.2",
            "QLOOP_RECOVERY_SCAN_SECONDS": "5",
            "QLOOP_TRANSIENT_RETRY_SECONDS": "5",
            "QLOOP_LOG_LEVEL": "WARNING",
        }
        self.processes = {
            name: ServiceProcess(name, dict(self.env), tmp / f"{name}.log") for name in services
        }
        self.kills: dict[str, int] = dict.fromkeys(services, 0)
        self.crashes: dict[str, int] = dict.fromkeys(services, 0)
        self.crash_plan: dict[str, list[str]] = {}
        self.unready_restarts: dict[str, int] = dict.fromkeys(services, 0)
        self.unready_reasons: list[str] = []
        self.stopped: set[str] = set()

    def url(self, name: str = "intake") -> str:
        return f"http://127.0.0.1:{self.processes[name].port}"

    def start(self, *names: str) -> None:
        for name in names or tuple(self.processes):
            self.stopped.discard(name)
            self.processes[name].start()

    def stop(self, *names: str) -> None:
        for name in names or tuple(self.processes):
            self.stopped.add(name)
            self.processes[name].stop()

    async def kill(self, name: str, *, restart: bool = True) -> None:
        """SIGKILL `name` (requests and messages in flight are cut), then start it again."""
        self.kills[name] += 1
        await asyncio.to_thread(self.processes[name].kill)
        if restart:
            await asyncio.to_thread(self.processes[name].start)
        else:
            self.stopped.add(name)

    def crash_at(self, name: str, *points: str, after: int = 1) -> None:
        """Let `name` kill itself at each of `points` in turn (`point` or `point@text`, see
        services/common/crashpoints.py), the `after`-th time it gets there; `supervise`
        restarts it armed with the next point, and the last start runs without any."""
        self.crash_plan[name] = list(points)
        self.processes[name].env["QLOOP_CRASH_AFTER"] = str(after)
        self._arm(name)

    def _arm(self, name: str) -> None:
        env, plan = self.processes[name].env, self.crash_plan.get(name) or []
        if plan:
            env["QLOOP_CRASH_AT"] = plan.pop(0)
        else:
            env.pop("QLOOP_CRASH_AT", None)

    @contextlib.asynccontextmanager
    async def supervise(
        self, interval: float = 0.3, *, unready_after: float | None = None
    ) -> AsyncIterator[None]:
        """Restart services that died (not those stopped on purpose) while inside; with
        `unready_after`, also kill and restart one whose /readyz failed that long (as an
        orchestrator's probe would), counted in `unready_restarts`."""
        unready_since: dict[str, float] = {}

        async def watch() -> None:
            while True:
                for name, process in self.processes.items():
                    if name in self.stopped or process.process is None:
                        continue
                    if process.alive():
                        state = (
                            await asyncio.to_thread(process.readiness)
                            if unready_after is not None
                            else "ready"
                        )
                        if state != "ready" and unready_after is not None:
                            since = unready_since.setdefault(name, time.monotonic())
                            if time.monotonic() - since > unready_after:
                                self.unready_restarts[name] += 1
                                # Why, as the probe saw it last (kept with the run's figures).
                                self.unready_reasons.append(f"{name}: {state}")
                                unready_since.pop(name)
                                await asyncio.to_thread(process.kill)
                        else:
                            unready_since.pop(name, None)
                        continue
                    self.crashes[name] += 1
                    self._arm(name)
                    await asyncio.to_thread(process.start, wait=False)
                await asyncio.sleep(interval)

        task = asyncio.create_task(watch())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_ready(self, *names: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        for name in names or tuple(self.processes):
            while not await asyncio.to_thread(self.processes[name].ready):
                if time.monotonic() > deadline:
                    raise AssertionError(f"{name} not ready within {timeout}s")
                await asyncio.sleep(0.3)

    def client(self) -> AsyncMongoClient[dict[str, Any]]:
        # Settling and scoring count whole collections: a scan each on FerretDB (over a
        # minute at 20,000 complaints while the services run). Bounded, never endless.
        return AsyncMongoClient(self.mongodb_url, tz_aware=True, socketTimeoutMS=900_000)

    def db_name(self, service: str) -> str:
        return f"{self.database}_{service}"
