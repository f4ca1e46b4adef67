"""Survey test helpers: a rules directory holding one example site under a test's own
site id, survey settings with a link secret, and a listener for survey events."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import aio_pika

from services.common.contracts.registry import parse_event
from services.common.messaging.topology import EVENTS_EXCHANGE
from services.common.settings import ServiceSettings
from services.survey.settings import SurveySettings
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret-" + "x" * 40


def site_rules(tmp: Path, example: str, site: str, *, any_year: bool = False) -> Path:
    """`rules/<example>.yaml` with its site id replaced by `site`, plus the fragments.
    `any_year`: compute beyond the calendar's published years (tests on the real clock)."""
    directory = tmp / "rules"
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "rules" / "shared", directory / "shared", dirs_exist_ok=True)
    text = (ROOT / "rules" / f"{example}.yaml").read_text(encoding="utf-8")
    original = next(line for line in text.splitlines() if line.startswith("  id: "))
    text = text.replace(original, f"  id: {site}", 1)
    if any_year:
        text = text.replace("\ncalendar:\n", "\ncalendar:\n  allow_uncovered_years: true\n", 1)
    (directory / f"{example}.yaml").write_text(text, encoding="utf-8")
    return directory


def survey_settings(base: ServiceSettings, **overrides: Any) -> SurveySettings:
    values = {**base.model_dump(), "survey_link_secret": SECRET, "survey_job_seconds": 3600.0}
    return SurveySettings(**{**values, **overrides})


class Listener:
    """Every event published for a site, parsed, in arrival order."""

    def __init__(self, amqp_url: str, site: str) -> None:
        self.amqp_url, self.site = amqp_url, site
        self.events: list[Any] = []

    async def __aenter__(self) -> Listener:
        self._connection = await aio_pika.connect(self.amqp_url)
        channel = await self._connection.channel()
        self._queue = await channel.declare_queue(exclusive=True)
        await self._queue.bind(EVENTS_EXCHANGE, routing_key=f"{self.site}.#")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()

    async def _pull(self) -> None:
        while (message := await self._queue.get(no_ack=True, fail=False)) is not None:
            self.events.append(parse_event(message.body))

    def of(self, event_type: str) -> list[Any]:
        return [e for e in self.events if e.type == event_type]

    async def wait_for(self, event_type: str, count: int = 1, timeout: float = 15.0) -> list[Any]:
        async def probe() -> bool:
            await self._pull()
            return len(self.of(event_type)) >= count

        await eventually(probe, timeout=timeout)
        return self.of(event_type)

    async def settle(self) -> None:
        """Collect what is still in flight (the relay publishes within its poll interval)."""
        import asyncio

        await asyncio.sleep(1.0)
        await self._pull()
